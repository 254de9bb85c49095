"""Disclosure attacks against exact results, seen by the researcher once two output
checkers approved them (``SandboxWorld.run``) and by the checker while held: small cells,
isolating WHERE clauses and FILTER tricks drop rows whole (keys included, never partially
nulled), differencing on large groups is flagged, individual values never leave,
pseudonyms cannot leak; and legitimate queries pass. Oracle: group sizes read from the
lake's Parquet directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from hub.context import HubContext
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world


def lake_rows(world: SandboxWorld, sql: str, contract: str = "c-alice") -> list[tuple[Any, ...]]:
    """Ground truth: ``sql`` over the contract's raw Parquet files (view ``lake``)."""
    files = [str(p) for p in world.lake.glob(f"{world.provider}/{contract}/videos/*/*.parquet")]
    with duckdb.connect() as con:
        listed = ", ".join(f"'{f}'" for f in files)
        con.execute(f"CREATE VIEW lake AS SELECT * FROM read_parquet([{listed}])")
        return con.execute(sql).fetchall()


def pupil_times(world: SandboxWorld, pupils: list[int], contract: str = "c-alice") -> str:
    """An SQL list of the timestamps of the given pupils' statements (attacker knowledge)."""
    names = ", ".join(f"sha256('{contract}pupil-{p}')" for p in pupils)
    rows = lake_rows(
        world,
        "SELECT strftime(CAST(timezone('UTC', \"timestamp\") AS TIMESTAMP), "
        f"'%Y-%m-%d %H:%M:%S') FROM lake WHERE actor_pseudonym IN ({names})",
        contract,
    )
    return "(" + ", ".join(f"TIMESTAMP '{r[0]}'" for r in rows) + ")"


def held_findings(world: SandboxWorld, sql: str) -> dict[str, Any]:
    """Submit ``sql`` as alice, wait until it is held; the checker's view of it."""
    resp = world.submit(sql)
    assert resp.status_code == 202, resp.text
    job = world.wait(resp.json()["id"])
    assert job["status"] == "pending_review", job
    token = world.ctx.issuer.mint("carol", ["output_checker"])
    seen = world.client.get(
        f"/api/v1/reviews/outputs/{job['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    return dict(seen.json())


def test_small_cells_are_dropped_whole(sandbox: SandboxWorld) -> None:
    isolate = pupil_times(sandbox, [0, 4, 8])  # three pupils of school-0
    sql = (
        "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements "
        f"WHERE school_id <> 'school-0' OR \"timestamp\" IN {isolate} GROUP BY 1 ORDER BY 1"
    )
    job, result = sandbox.run(sql)
    assert job["status"] == "released"
    sizes = dict(lake_rows(sandbox, "SELECT school_id, count(DISTINCT actor_pseudonym) "
                                    "FROM lake GROUP BY 1"))  # fmt: skip
    keys = [r[0] for r in result["rows"]]
    assert "school-0" not in keys and all(v is not None for r in result["rows"] for v in r)
    assert all(pupils == sizes[school] >= 10 for school, pupils in result["rows"])
    # secondary drop: school-0 cannot be recovered from a total minus the others
    assert len(keys) == 2
    report = sandbox.report(job["id"])
    assert report["summary"]["rows_dropped"] == 2 and "school-0" not in str(report)


def test_isolating_where_clause_releases_nothing(sandbox: SandboxWorld) -> None:
    sql = (
        "SELECT count(*) AS n, avg(result_score_scaled) AS score FROM statements "
        f'WHERE "timestamp" IN {pupil_times(sandbox, [7])}'
    )
    job, result = sandbox.run(sql)
    assert result["rows"] == []
    assert sandbox.report(job["id"])["summary"] == {"rows_released": 0, "rows_dropped": 1}


def test_differencing_on_large_groups_is_flagged(sandbox: SandboxWorld) -> None:
    base = "SELECT count(DISTINCT pupil_id) AS pupils FROM statements"
    job, everyone = sandbox.run(base)
    assert everyone["rows"] == [[200]]
    minus_two = held_findings(
        sandbox, base + f' WHERE "timestamp" NOT IN {pupil_times(sandbox, [5, 9])}'
    )
    found = minus_two["findings"]["cells"][0]["findings"]
    assert {"code": "differencing", "column": None,
            "params": {"job_id": job["id"], "status": "released", "k": 10}} in found  # fmt: skip
    other_group = held_findings(sandbox, base + " WHERE school_id IN ('school-0', 'school-1')")
    assert other_group["findings"]["cells"][0]["findings"] == []


def test_filter_tricks_drop_the_row_whole(sandbox: SandboxWorld) -> None:
    target = pupil_times(sandbox, [12])
    sql = (
        "SELECT school_id, count(*) AS n, "
        f'count(*) FILTER (WHERE "timestamp" IN {target}) AS filtered, '
        f'avg(CASE WHEN "timestamp" IN {target} THEN result_duration_s END) AS isolated_mean, '
        f'sum(result_duration_s) FILTER (WHERE "timestamp" IN {target}) AS isolated_sum '
        "FROM statements GROUP BY 1 ORDER BY 1"
    )
    job, result = sandbox.run(sql)
    assert result["rows"] == []  # every row has an aggregate resting on 0 or 1 pupil
    assert sandbox.report(job["id"])["summary"]["rows_dropped"] == 4


def test_individual_values_are_never_released(sandbox: SandboxWorld) -> None:
    sql = (
        "SELECT school_id, count(*) AS n, max(result_duration_s) AS longest, "
        "median(result_score_scaled) AS med FROM statements GROUP BY 1"
    )
    seen = held_findings(sandbox, sql)
    columns = {c["name"]: c for c in seen["findings"]["columns"]}
    assert columns["longest"]["kind"] == columns["med"]["kind"] == "individual"
    assert all(r[2] is None and r[3] is None for r in seen["result"]["rows"])  # even held
    _, result = sandbox.run(sql)
    assert all(r[2] is None and r[3] is None and r[1] == 500 for r in result["rows"])


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
        assert job["status"] == "released", (sql, job)
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
        assert job["status"] == "released" and len(result["rows"]) == 2
        assert all(r[1] % 5 == 0 and r[2] % 5 == 0 for r in result["rows"])
        assert world.report(job["id"])["k"] == 60
        _, by_school = world.run("SELECT school_id, count(*) AS n FROM statements GROUP BY 1")
        assert by_school["rows"] == []  # 50 pupils < k = 60: every row dropped whole
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
        assert ok["status"] == "released" and len(result["rows"]) == 4
    finally:
        world.runtime.close()
