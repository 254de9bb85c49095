"""The output checkers' page ``/controle-sorties`` and the ``edh outputs`` CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, select

from hub.cli import main
from hub.context import HubContext
from hub.sandbox.airlock.models import OutputHold, OutputReview
from hub.sandbox.runtime import uninstall
from hub.trail.models import AuditEvent
from hub.web.csrf import CSRF_FIELD
from tests.integration.test_sandbox_airlock import BY_SCHOOL, held, lake_sql
from tests.support.browser import LiveHub
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world
from tests.support.web import form


@pytest.fixture
def airlock(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    world = build_sandbox_world(client, hub_ctx, lake, release_mode="reviewed")
    yield world
    uninstall(hub_ctx)


def _login(world: SandboxWorld, sub: str, *roles: str) -> None:
    token = world.ctx.issuer.mint(sub, list(roles))
    data = form(world.client, token=token, next="/")
    resp = world.client.post("/login", data=data, follow_redirects=False)
    assert resp.status_code == 303


def _decide(world: SandboxWorld, job_id: str, action: str, comment: str, **kw: bool) -> Response:
    body = form(world.client, action=action, comment=comment)
    return world.client.post(f"/controle-sorties/{job_id}/decision", data=body, **kw)


def test_checker_page_shows_findings_and_records_decisions(airlock: SandboxWorld) -> None:
    isolate_sql = (
        "SELECT school_id, count(*) AS traces, max(result_duration_s) AS plus_long "
        "FROM statements GROUP BY school_id ORDER BY school_id"
    )
    job = held(airlock, isolate_sql)
    _login(airlock, "alice", "researcher")
    mine = airlock.client.get(f"/research/jobs/{job['id']}")
    assert "en attente du contrôle des sorties" in mine.text and "school-0" not in mine.text
    assert "retenu jusqu'à l'approbation de deux contrôleurs" in mine.text
    assert airlock.client.get("/controle-sorties").status_code == 403
    _login(airlock, "carol", "output_checker")
    queue = airlock.client.get("/controle-sorties")
    assert queue.status_code == 200 and job["id"][:8] in queue.text
    page = airlock.client.get(f"/controle-sorties/{job['id']}")
    assert "Résultat exact (non diffusé)" in page.text and "school-0" in page.text
    assert "effectifs exacts, non arrondis" in page.text
    assert "valeur individuelle" in page.text
    empty = _decide(airlock, job["id"], "approve", " ")
    assert empty.status_code == 400 and "commentaire" in empty.text
    ok = _decide(airlock, job["id"], "approve", "comptes par école", follow_redirects=False)
    assert ok.status_code == 303
    again = _decide(airlock, job["id"], "approve", "x")
    assert again.status_code == 403 and "a déjà donné son avis sur ce résultat" in again.text
    _login(airlock, "dave", "output_checker")
    _decide(airlock, job["id"], "approve", "d'accord")
    done = airlock.client.get(f"/controle-sorties/{job['id']}")
    assert "diffusé" in done.text and "comptes par école" in done.text
    _login(airlock, "alice", "researcher")
    released = airlock.client.get(f"/research/jobs/{job['id']}")
    assert "diffusée après contrôle" in released.text and "school-0" in released.text
    assert "Lignes écartées sous le seuil" in released.text


def test_a_decision_posted_cross_site_or_without_the_token_records_nothing(
    airlock: SandboxWorld,
) -> None:
    job = held(airlock, BY_SCHOOL)
    _login(airlock, "carol", "output_checker")
    url = f"/controle-sorties/{job['id']}/decision"
    good = form(airlock.client, action="approve", comment="depuis un site tiers")
    missing = {k: v for k, v in good.items() if k != CSRF_FIELD}
    for data, headers in [
        (good, {"Origin": "https://evil.example"}),
        (good, {"Referer": "https://evil.example/page"}),
        (missing, {}),
        ({**good, CSRF_FIELD: "x" * 43}, {}),
    ]:
        resp = airlock.client.post(url, data=data, headers=headers, follow_redirects=False)
        assert resp.status_code == 403, (data.keys(), headers)
        assert "jeton de sécurité" in resp.text
    with Session(airlock.ctx.engine) as session:  # ground truth: no review, still held
        assert session.exec(select(OutputReview)).all() == []
        assert session.exec(select(OutputHold.status)).all() == ["pending_review"]
        refused = session.exec(
            select(AuditEvent.resource_id).where(AuditEvent.action == "web.csrf.refused")
        ).all()
    assert refused == [f"POST {url}"] * 4


@pytest.fixture
def live_world(live_hub: LiveHub, tmp_path: Path) -> Iterator[tuple[LiveHub, SandboxWorld]]:
    lake = tmp_path / "lake"
    lake.mkdir()
    world = build_sandbox_world(None, live_hub.ctx, lake, release_mode="reviewed")
    yield live_hub, world
    uninstall(live_hub.ctx)


def test_cli_lists_shows_approves_and_rejects(
    live_world: tuple[LiveHub, SandboxWorld], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, world = live_world

    def as_(sub: str, role: str) -> list[str]:
        return ["--url", hub.url, "--token", hub.ctx.issuer.mint(sub, [role])]

    submit = ["query", "submit", "--project", world.project(), "--wait"]
    assert main([*submit, "--sql", BY_SCHOOL, *as_("alice", "researcher")]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "pending_review"
    assert main(["outputs", "list", *as_("carol", "output_checker")]) == 0
    assert [h["job_id"] for h in json.loads(capsys.readouterr().out)] == [job["id"]]
    assert main(["outputs", "show", job["id"], *as_("carol", "output_checker")]) == 0
    shown = json.loads(capsys.readouterr().out)
    truth = lake_sql(
        world,
        "SELECT school_id, count(DISTINCT actor_pseudonym), count(*), sum(result_duration_s) "
        "FROM lake GROUP BY 1 ORDER BY 1",
    )
    assert [tuple(r) for r in shown["result"]["rows"]] == truth
    approve = ["outputs", "approve", job["id"], "--comment", "ok"]
    assert main([*approve, *as_("carol", "output_checker")]) == 0
    capsys.readouterr()
    assert main([*approve, *as_("carol", "output_checker")]) == 2
    assert "already reviewed" in capsys.readouterr().err
    reject = ["outputs", "reject", job["id"], "--reason", "trop fin"]
    assert main([*reject, *as_("dave", "output_checker")]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "rejected"
    assert main(["query", "result", job["id"], *as_("alice", "researcher")]) == 2
