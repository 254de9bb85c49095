"""The researcher page and the ``edh query`` CLI against a live hub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.cli import main
from hub.sandbox.runtime import uninstall
from tests.support.browser import LiveHub
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world
from tests.support.web import form


def test_research_page_runs_a_query_and_shows_its_report(sandbox: SandboxWorld) -> None:
    assert sandbox.client.get("/research", follow_redirects=False).status_code in (302, 303, 401)
    sandbox.login()
    page = sandbox.client.get("/research")
    assert page.status_code == 200 and "Nouvelle requête" in page.text
    assert "Projet alice" in page.text and "Projet bob" not in page.text
    sql = "SELECT school_id, count(DISTINCT pupil_id) AS eleves FROM statements GROUP BY 1"
    data = form(sandbox.client, project_id=sandbox.project(), sql=sql)
    resp = sandbox.client.post("/research", data=data, follow_redirects=False)
    assert resp.status_code == 303
    job_id = resp.headers["location"].rsplit("/", 1)[-1]
    assert sandbox.wait(job_id)["status"] == "pending_review"
    held = sandbox.client.get(f"/research/jobs/{job_id}")
    assert "en attente du contrôle des sorties" in held.text and "school-0" not in held.text
    sandbox.approve(job_id)
    job_page = sandbox.client.get(f"/research/jobs/{job_id}")
    assert "diffusée après contrôle" in job_page.text
    assert "Résultat exact diffusé après approbation de deux contrôleurs" in job_page.text
    assert "school-0" in job_page.text
    csv_text = sandbox.client.get(f"/research/jobs/{job_id}/result.csv").text
    assert csv_text.startswith("school_id,eleves")


def test_research_page_explains_a_refusal(sandbox: SandboxWorld) -> None:
    sandbox.login()
    data = form(sandbox.client, project_id=sandbox.project(), sql="SELECT * FROM statements")
    resp = sandbox.client.post("/research", data=data)
    assert resp.status_code == 400
    assert "Requête refusée" in resp.text and "row-level output" in resp.text


@pytest.fixture
def live_world(live_hub: LiveHub, tmp_path: Path) -> Iterator[tuple[LiveHub, SandboxWorld]]:
    lake = tmp_path / "lake"
    lake.mkdir()
    world = build_sandbox_world(None, live_hub.ctx, lake)
    yield live_hub, world
    uninstall(live_hub.ctx)


def test_cli_submits_waits_and_fetches(
    live_world: tuple[LiveHub, SandboxWorld], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, world = live_world
    token = hub.ctx.issuer.mint("alice", ["researcher"])
    common = ["--url", hub.url, "--token", token]
    sql = "SELECT verb, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY 1 ORDER BY 1"
    code = main(["query", "submit", "--project", world.project(), "--sql", sql, "--wait", *common])
    job = json.loads(capsys.readouterr().out)
    assert code == 0 and job["status"] == "pending_review"  # exact: held in the airlock
    for checker in ("carol", "dave"):
        review = ["--url", hub.url, "--token", hub.ctx.issuer.mint(checker, ["output_checker"])]
        assert main(["outputs", "approve", job["id"], "--comment", "ok", *review]) == 0
    capsys.readouterr()
    assert main(["query", "report", job["id"], *common]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["rows_released"] == 4
    out = tmp_path / "r.parquet"
    assert main(["query", "result", job["id"], "--format", "parquet", "-o", str(out), *common]) == 0
    assert out.stat().st_size > 0
    bad = main(["query", "submit", "--project", world.project(), "--sql", "DROP VIEW x", *common])
    assert bad == 2 and "only SELECT" in capsys.readouterr().err
    preview = ["query", "preview", "--project", world.project(), "--sql", sql, *common]
    assert main(preview) == 0  # a reviewed project: exact results, no noise to preview
    assert json.loads(capsys.readouterr().out)["release_mode"] == "reviewed"
    asked = main([*preview, "--epsilon", "0.5"])
    assert asked == 2 and "epsilon is not used on the reviewed" in capsys.readouterr().err
