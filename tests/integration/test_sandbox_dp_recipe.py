"""The documented recipe "weekly activity over a term" (docs/sandbox.md), on a project of
400 pupils with exactly 100 active pupils every week of a 12-week term, against ground
truth computed straight from the lake's Parquet files.

A 12-week series has L = 12: at the default ε (1) a 100-pupil week is within 10 % only
57 % of the time. The recipe previews the accuracy (``POST .../queries/preview``), then
spends the ε that buys it, within the contract's approved maximum per query (here 4:
within 10 % with probability 96 %). The noise is real (OpenDP, no seed): the test runs
24 releases of the recipe and checks that the fraction of cells within 10 % is at least
the stated probability minus 0.06 (over 288 cells the standard error is 0.011: a
false failure has a probability below 10⁻⁶, while the noise of ε = 1 or of a doubled
scale, 57 % or 81 %, fails it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.context import HubContext
from hub.sandbox.runtime import uninstall
from tests.integration.test_sandbox_dp import truth
from tests.support.sandbox_fixtures import (
    SandboxWorld,
    build_sandbox_world,
    register_batch,
    write_batch,
)
from tests.support.web import form

TERM = date(2026, 11, 30)  # a Monday, after the world's own batch (September)
WEEKS = [TERM + timedelta(weeks=w) for w in range(12)]
IN_WEEKS = ", ".join(f"DATE '{w}'" for w in WEEKS)
SERIES = (
    "WITH w AS (SELECT pupil_id, date_trunc('week', day) AS week FROM statements "
    "GROUP BY pupil_id, week) SELECT week, count(*) AS pupils FROM w "
    f"WHERE week IN ({IN_WEEKS}) GROUP BY week"
)
ONE_WEEK = SERIES.replace(f"IN ({IN_WEEKS})", f"IN (DATE '{WEEKS[0]}')")
RELEASES, TOLERANCE = 24, 0.06


@pytest.fixture
def term(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    """400 pupils in 4 groups of 100; group g is active every day of the weeks w with
    w % 4 == g (3 weeks each); ε: 1 per query by default, at most 4, 100 in all."""
    world = build_sandbox_world(
        client, hub_ctx, lake, pupils=400, release_mode="differential_privacy",
        epsilon_max_per_query=4.0, epsilon_budget=100.0,
    )  # fmt: skip
    for w, start in enumerate(WEEKS):
        path = write_batch(
            lake, world.provider, "c-alice", "videos", statements=700, pupils=100,
            day=start.isoformat(), seq=10 + w, salt=f"group-{w % 4}", days=7,
        )  # fmt: skip
        register_batch(hub_ctx, lake, world.connector, path)
    yield world
    uninstall(hub_ctx)


def _preview(world: SandboxWorld, sql: str, **body: Any) -> Any:
    url = f"/api/v1/projects/{world.project()}/queries/preview"
    return world.client.post(url, json={"sql": sql, **body}, headers=world.headers())


def _submit(world: SandboxWorld, sql: str, epsilon: float) -> Any:
    url = f"/api/v1/projects/{world.project()}/queries"
    body = {"sql": sql, "epsilon": epsilon}
    return world.client.post(url, json=body, headers=world.headers())


def test_the_preview_states_the_noise_of_each_choice(term: SandboxWorld) -> None:
    default = _preview(term, SERIES).json()
    [pupils] = default["measures"]
    assert default["epsilon"] == 1.0 and default["epsilon_max_per_query"] == 4.0
    assert default["max_cells_per_pupil"] == 12 and default["keys"] == "declared"
    assert pupils["scale"] == 12.0 and pupils["within_10_percent_at_100_pupils"] == 0.5654
    assert pupils["pupils_for_10_percent_95"] == 360
    bought = _preview(term, SERIES, epsilon=4).json()["measures"][0]
    assert bought["scale"] == 3.0 and bought["within_10_percent_at_100_pupils"] == 0.9643
    weekly = _preview(term, ONE_WEEK).json()  # one query per week: L = 1, 12 x ε in all
    assert weekly["max_cells_per_pupil"] == 1 and weekly["measures"][0]["scale"] == 1.0
    too_much = _preview(term, SERIES, epsilon=4.5)
    assert too_much.status_code == 403
    assert "a query may spend at most 4 ε under contract c-alice" in too_much.text
    budget = term.client.get(f"/api/v1/projects/{term.project()}/budget", headers=term.headers())
    assert budget.json()["epsilon_spent"] == 0  # a preview runs and spends nothing


def test_the_recipe_meets_its_stated_accuracy_on_100_pupil_weeks(term: SandboxWorld) -> None:
    exact = {str(row[0])[:10]: row[1] for row in truth(term, SERIES)}
    assert exact == {w.isoformat(): 100 for w in WEEKS}  # ground truth from the lake
    stated = _preview(term, SERIES, epsilon=4).json()["measures"][0]
    within, cells = 0, 0
    for _ in range(RELEASES):
        resp = _submit(term, SERIES, 4)
        assert resp.status_code == 202, resp.text
        job = term.wait(resp.json()["id"])
        assert job["status"] == "succeeded" and job["epsilon"] == 4, job
        rows = term.client.get(job["links"]["result"], headers=term.headers()).json()["rows"]
        assert [str(r[0])[:10] for r in rows] == sorted(exact)  # every declared week
        within += sum(abs(r[1] - exact[str(r[0])[:10]]) <= 10 for r in rows)
        cells += len(rows)
    report = term.report(job["id"])
    assert report["epsilon"] == pytest.approx(4) and report["steps"][0]["scale"] == 3.0
    assert report["budget"]["epsilon_spent"] == pytest.approx(4 * RELEASES)
    fraction = within / cells
    print(f"\nweekly recipe at ε = 4: {within}/{cells} cells within 10 % ({fraction:.3f})")
    assert fraction >= stated["within_10_percent_at_100_pupils"] - TOLERANCE, fraction


def test_the_research_page_previews_and_spends_the_chosen_epsilon(term: SandboxWorld) -> None:
    term.login()
    fields = {"project_id": term.project(), "sql": SERIES}
    page = term.client.post("/research/preview", data=form(term.client, **fields))
    assert page.status_code == 200 and "Précision attendue" in page.text
    assert "ε = 1</strong>" in page.text and "57 %" in page.text and "± 35,95 élèves" in page.text
    page = term.client.post("/research/preview", data=form(term.client, **fields, epsilon="4"))
    assert "ε = 4</strong>" in page.text and "96 %" in page.text and "± 8,99 élèves" in page.text
    bad = term.client.post("/research/preview", data=form(term.client, **fields, epsilon="20"))
    assert bad.status_code == 400 and "epsilon must be a number" in bad.text
    over = term.client.post("/research", data=form(term.client, **fields, epsilon="4,5"))
    assert over.status_code == 400 and "at most 4 ε under contract c-alice" in over.text
    sent = term.client.post(
        "/research", data=form(term.client, **fields, epsilon="4"), follow_redirects=False
    )
    assert sent.status_code == 303
    job = term.wait(sent.headers["location"].rsplit("/", 1)[-1])
    assert job["status"] == "succeeded" and job["epsilon"] == 4
    assert term.report(job["id"])["epsilon"] == pytest.approx(4)
