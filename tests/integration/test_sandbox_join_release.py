"""Joins of per-pupil CTEs through the real worker: released with correct suppression and
pupil counts, other joins refused, and the French /research page."""

from __future__ import annotations

import duckdb
import pytest

from tests.support.sandbox_fixtures import SandboxWorld
from tests.support.web import form

# b holds the pupils of class-1 and class-2 (schools 1 and 2, about 17 pupils each) and
# the few with a score >= 0.97 (about 7 per school): schools 0 and 3 fall under k = 10.
CTES = (
    "WITH a AS (SELECT pupil_id, school_id, count(*) AS n FROM statements GROUP BY ALL), "
    "b AS (SELECT pupil_id, avg(result_score_scaled) AS s FROM results "
    "WHERE class_id IN ('class-1', 'class-2') OR result_score_scaled >= 0.97 "
    "GROUP BY pupil_id) "
)


def join_query(statistic: str) -> str:
    return (
        CTES + f"SELECT school_id, {statistic} AS score, count(DISTINCT pupil_id) AS pupils "
        "FROM a JOIN b USING (pupil_id) WHERE n > 5 GROUP BY school_id ORDER BY school_id"
    )


def raw_truth(world: SandboxWorld, statistic: str) -> dict[str, tuple[int, float]]:
    """Per school: pupils and statistic, computed straight from alice's Parquet files."""
    files = [str(p) for p in world.lake.glob(f"{world.provider}/c-alice/videos/*/*.parquet")]
    sql = (
        "WITH s AS (SELECT actor_pseudonym AS pupil_id, school_id, class_id, "
        "result_score_scaled FROM read_parquet(?)), "
        + CTES.removeprefix("WITH ")
        .replace("FROM statements", "FROM s")
        .replace("FROM results", "FROM s")
        + f"SELECT school_id, count(DISTINCT pupil_id), {statistic} "
        "FROM a JOIN b USING (pupil_id) WHERE n > 5 GROUP BY 1"
    )
    with duckdb.connect() as con:
        rows = con.execute(sql, [files]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.mark.parametrize("statistic", ["avg(s)", "stddev(s)"])  # one pass / main + control
def test_a_join_of_per_pupil_ctes_is_released_with_small_rows_dropped_whole(
    sandbox: SandboxWorld, statistic: str
) -> None:
    truth = raw_truth(sandbox, statistic)
    small = sorted(school for school, (n, _) in truth.items() if n < 10)
    assert small == ["school-0", "school-3"] and len(truth) == 4  # the fixture's shape
    job, result = sandbox.run(join_query(statistic))
    assert job["status"] == "released", job
    schools = [row[0] for row in result["rows"]]
    assert sorted(schools) == ["school-1", "school-2"]  # small rows dropped, keys included
    for school, score, pupils in result["rows"]:
        n, expected = truth[school]
        assert pupils == n and score == pytest.approx(expected), school
    assert sandbox.report(job["id"])["summary"] == {"rows_released": 2, "rows_dropped": 2}


def test_a_join_on_school_is_refused_with_the_way_to_write_it(sandbox: SandboxWorld) -> None:
    sql = CTES + "SELECT a.school_id, avg(s) AS score FROM a JOIN b ON a.school_id = b.s GROUP BY 1"
    resp = sandbox.submit(sql)
    assert resp.status_code == 400, resp.text
    reasons = resp.json()["reasons"]
    assert reasons[0] == (
        "join conditions with ON are not allowed: join per-pupil tables with "
        "JOIN ... USING (pupil_id)"
    )
    job = sandbox.wait(resp.json()["job_id"])
    assert job["status"] == "refused"


def test_a_from_without_pupil_id_is_refused_before_it_runs(sandbox: SandboxWorld) -> None:
    sql = (
        "WITH per_school AS (SELECT school_id, count(*) AS n FROM statements GROUP BY 1) "
        "SELECT n > 400 AS big, count(*) AS schools FROM per_school GROUP BY 1"
    )
    resp = sandbox.submit(sql)
    assert resp.status_code == 400
    assert any(
        "every table in FROM must keep pupil_id so each released cell can be checked for k "
        "pupils" in r
        for r in resp.json()["reasons"]
    )


def test_the_research_page_shows_the_hold_then_the_dropped_rows_in_french(
    sandbox: SandboxWorld,
) -> None:
    token = sandbox.ctx.issuer.mint("alice", ["researcher"])
    data = form(sandbox.client, token=token)
    login = sandbox.client.post("/login", data=data, follow_redirects=False)
    assert login.status_code == 303
    resp = sandbox.client.post(
        "/research",
        data=form(sandbox.client, project_id=sandbox.project(), sql=join_query("avg(s)")),
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    job_id = resp.headers["location"].rsplit("/", 1)[-1]
    assert sandbox.wait(job_id)["status"] == "pending_review"
    held = sandbox.client.get(f"/research/jobs/{job_id}").text
    assert "retenu jusqu'à l'approbation de deux contrôleurs des sorties" in held
    assert "school-1" not in held  # the exact result stays in the airlock until release
    assert sandbox.approve(job_id)["status"] == "released"
    page = sandbox.client.get(f"/research/jobs/{job_id}").text
    small = [s for s, (n, _) in raw_truth(sandbox, "avg(s)").items() if n < 10]
    assert "school-1" in page and not [s for s in small if s in page]
    assert "(clés comprises) : 2" in page
