"""Disclosure attacks against the sandbox API: small cells, isolating WHERE clauses,
differencing, dominance, FILTER tricks, pseudonym leaks; and legitimate queries pass."""

from __future__ import annotations

from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

from hub.context import HubContext
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world


def pupil_times(world: SandboxWorld, pupils: list[int], contract: str = "c-alice") -> str:
    """An SQL list of the timestamps of the given pupils' statements (attacker knowledge)."""
    files = [str(p) for p in world.lake.glob(f"{world.provider}/{contract}/videos/*/*.parquet")]
    names = ", ".join(f"sha256('{contract}pupil-{p}')" for p in pupils)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT strftime(CAST(timezone('UTC', \"timestamp\") AS TIMESTAMP), "
            "'%Y-%m-%d %H:%M:%S') FROM read_parquet(?) WHERE actor_pseudonym IN (" + names + ")",
            [files],
        ).fetchall()
    return "(" + ", ".join(f"TIMESTAMP '{r[0]}'" for r in rows) + ")"


def test_small_cells_are_suppressed_and_explained(sandbox: SandboxWorld) -> None:
    isolate = pupil_times(sandbox, [0, 4, 8])  # three pupils of school-0
    sql = (
        "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements "
        f"WHERE school_id <> 'school-0' OR \"timestamp\" IN {isolate} GROUP BY 1 ORDER BY 1"
    )
    job, result = sandbox.run(sql)
    assert job["status"] == "succeeded"
    rows = dict((r[0], r[1]) for r in result["rows"])
    assert rows["school-0"] is None
    report = sandbox.report(job["id"])
    cell = report["cells"][0]
    assert cell["status"] == "suppressed" and "3 pupils" in cell["reasons"][0]
    # secondary suppression: school-0 cannot be recovered from a total minus the others
    assert report["summary"]["secondary_suppressions"] == 1
    assert sum(1 for v in rows.values() if v is None) == 2


def test_isolating_where_clause_releases_nothing(sandbox: SandboxWorld) -> None:
    sql = (
        "SELECT count(*) AS n, avg(result_score_scaled) AS score FROM statements "
        f'WHERE "timestamp" IN {pupil_times(sandbox, [7])}'
    )
    job, result = sandbox.run(sql)
    assert result["rows"] == [[None, None]]
    assert "1 pupils" in sandbox.report(job["id"])["cells"][0]["reasons"][0]


def test_differencing_by_one_pupil_is_suppressed(sandbox: SandboxWorld) -> None:
    base = "SELECT count(DISTINCT pupil_id) AS pupils, sum(result_duration_s) AS d FROM statements"
    _, first = sandbox.run(base + " WHERE school_id = 'school-0'")
    assert first["rows"][0][0] == 50
    minus_one = (
        f" WHERE school_id = 'school-0' AND \"timestamp\" NOT IN {pupil_times(sandbox, [0])}"
    )
    job, second = sandbox.run(base + minus_one)
    assert second["rows"] == [[None, None]]
    reasons = sandbox.report(job["id"])["cells"][0]["reasons"]
    assert any("differencing" in r for r in reasons)


def test_differencing_on_large_groups_is_suppressed(sandbox: SandboxWorld) -> None:
    base = "SELECT count(DISTINCT pupil_id) AS pupils FROM statements"
    _, everyone = sandbox.run(base)
    assert everyone["rows"][0][0] == 200
    _, minus_two = sandbox.run(base + f' WHERE "timestamp" NOT IN {pupil_times(sandbox, [5, 9])}')
    assert minus_two["rows"] == [[None]]
    _, other_group = sandbox.run(base + " WHERE school_id IN ('school-0', 'school-1')")
    assert other_group["rows"] == [[100]]


def test_dominance_and_filter_tricks_are_suppressed(sandbox: SandboxWorld) -> None:
    target = pupil_times(sandbox, [12])
    sql = (
        "SELECT school_id, count(*) AS n, "
        f'sum(CASE WHEN "timestamp" IN {target} THEN 1000000 ELSE 1 END) AS dominated, '
        f'count(*) FILTER (WHERE "timestamp" IN {target}) AS filtered, '
        f'avg(CASE WHEN "timestamp" IN {target} THEN result_duration_s END) AS isolated_mean, '
        f'sum(result_duration_s) FILTER (WHERE "timestamp" IN {target}) AS isolated_sum, '
        f'count(result_duration_s) FILTER (WHERE "timestamp" IN {target}) AS isolated_count '
        "FROM statements GROUP BY 1 ORDER BY 1"
    )
    job, result = sandbox.run(sql)
    school0 = result["rows"][0]
    assert school0[:2] == ["school-0", 500]
    assert school0[2:] == [None, None, None, None, None]
    items = sandbox.report(job["id"])["cells"][0]["items"]
    assert "dominance" in items["dominated"][0]
    assert "1 pupils" in items["filtered"][0] and "isolated_mean" in items
    assert "1 pupils" in items["isolated_sum"][0] and "1 pupils" in items["isolated_count"][0]
    assert result["rows"][1][4] is None and result["rows"][1][2] == 500


def test_individual_values_are_never_released(sandbox: SandboxWorld) -> None:
    sql = (
        "SELECT school_id, count(*) AS n, max(result_duration_s) AS longest, "
        "median(result_score_scaled) AS med FROM statements GROUP BY 1"
    )
    job, result = sandbox.run(sql)
    assert all(r[2] is None and r[3] is None and r[1] == 500 for r in result["rows"])
    columns = {c["name"]: c for c in sandbox.report(job["id"])["columns"]}
    assert columns["longest"]["status"] == "suppressed" and columns["med"]["reason"]


def test_pseudonyms_cannot_leak(sandbox: SandboxWorld) -> None:
    attempts = [
        "SELECT pupil_id, count(*) FROM statements GROUP BY pupil_id",
        "SELECT count(*) AS n FROM statements GROUP BY pupil_id",
        "SELECT string_agg(pupil_id, ',') FROM statements",
        "SELECT max(pupil_id) AS p, count(*) FROM statements",
        "SELECT left(pupil_id, 8) AS p, count(*) FROM statements GROUP BY 1",
        "SELECT count(*) FROM statements WHERE pupil_id < '8'",
        "SELECT * FROM statements",
        "WITH t AS (SELECT pupil_id AS p FROM statements) SELECT p, count(*) FROM t GROUP BY p",
        "WITH t AS (SELECT verb AS pupil_id FROM statements) "
        "SELECT count(DISTINCT pupil_id) FROM t",
        "SELECT list(verb) FROM statements",
    ]
    leaked = [sql for sql in attempts if sandbox.submit(sql).status_code != 400]
    assert not leaked


def test_legitimate_research_queries_succeed(sandbox: SandboxWorld) -> None:
    queries = [
        # engagement over time
        "SELECT date_trunc('week', day) AS week, count(DISTINCT pupil_id) AS active, "
        "count(*) AS statements FROM statements GROUP BY 1 ORDER BY 1",
        # completion rates by school
        "SELECT school_id, avg(CASE WHEN result_completion THEN 1.0 ELSE 0.0 END) AS rate, "
        "count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY 1 ORDER BY 1",
        # early signs of dropout: days since a pupil's last activity
        "WITH last_seen AS (SELECT pupil_id, school_id, max(day) AS last_day "
        "FROM pupil_days GROUP BY pupil_id, school_id) "
        "SELECT school_id, count(*) AS pupils, avg(date_diff('day', last_day, DATE '2026-10-01')) "
        "AS mean_days_idle FROM last_seen GROUP BY 1 ORDER BY 1",
        "SELECT verb, count(*) AS n, avg(result_score_scaled) AS score FROM results GROUP BY 1",
    ]
    for sql in queries:
        job, result = sandbox.run(sql)
        assert job["status"] == "succeeded", (sql, job)
        assert result["rows"] and all(v is not None for r in result["rows"] for v in r), sql


def test_contract_rounding_and_higher_k_apply(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    world = build_sandbox_world(client, hub_ctx, lake, rounding_base=5, min_cell_size=60)
    try:
        job, result = world.run(
            "SELECT school_id IN ('school-0', 'school-1') AS first_half, count(*) AS n, "
            "count(DISTINCT pupil_id) AS pupils FROM statements "
            "WHERE result_score_scaled IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        assert job["status"] == "succeeded"
        assert all(r[1] % 5 == 0 and r[2] % 5 == 0 for r in result["rows"])
        assert world.report(job["id"])["k"] == 60
        _, by_school = world.run("SELECT school_id, count(*) AS n FROM statements GROUP BY 1")
        assert all(r[1] is None for r in by_school["rows"])  # 50 pupils < k = 60
    finally:
        world.runtime.close()


def test_columns_outside_the_contract_are_not_visible(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    fields = ["actor_pseudonym", "verb_id", "timestamp"]
    world = build_sandbox_world(client, hub_ctx, lake, allowed_fields=fields)
    try:
        refused = world.submit("SELECT school_id, count(*) AS n FROM statements GROUP BY 1")
        assert refused.status_code == 400  # at submission, naming the field and the contract
        assert refused.json()["reasons"] == [
            "field 'school_id' is not allowed by contract c-alice (not in its allowed_fields)"
        ]
        assert world.submit("SELECT count(*) FROM results").status_code == 400
        ok, result = world.run(
            "SELECT verb, count(DISTINCT pupil_id) AS p FROM statements GROUP BY 1"
        )
        assert ok["status"] == "succeeded" and len(result["rows"]) == 4
    finally:
        world.runtime.close()
