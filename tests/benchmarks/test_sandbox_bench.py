"""Sandbox benchmark: an aggregate query through the sandbox vs raw DuckDB on the same
Parquet (goal <= 1.2x), for the exact path held for review (its automatic rules) and for
the release under differential privacy (rewrite, clamping, contribution bounds, OpenDP
noise included; the raw query is the one a researcher would write on the raw Parquet for
the same answer), first result of a small query (< 1 s), runaway query stopped within 1 s
of its deadline, on 10 M simulated statements (``EDH_BENCH_SANDBOX_STATEMENTS`` sets
another size). It measures the engine (checks, worker, release) through the worker pool,
not the release grid (``hub.sandbox.observed``) that makes a job's end visible to its
researcher no earlier than ``EDH_SANDBOX__RELEASE_MIN_S``: that wait is a chosen delay,
not work, and holds no CPU. Raw DuckDB runs at the workers' CPU priority (nice
``WORKER_NICE``, from a thread of its own: Linux keeps a priority per thread, and
DuckDB's threads inherit it), so on a busy host both sides compete alike: the ratio is
the sandbox's cost, not the priority the hub gives its queries to protect its API; on an
idle host priorities change nothing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hub.sandbox import rewrite, sqlcheck, views
from hub.sandbox.airlock import findings
from hub.sandbox.dp import release as dp_release
from hub.sandbox.scope import ProjectScope, scope_for
from hub.sandbox.worker import WORKER_NICE, Limits, Pool, WorkerJob
from tests.benchmarks.goals import host_load, meet_or_xfail
from tests.support.sandbox_fixtures import RUNAWAY, contract_doc, write_batch

# the first test using the 10 M lake builds it (minutes on a busy host)
pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1200)]
STATEMENTS = int(os.environ.get("EDH_BENCH_SANDBOX_STATEMENTS", "10000000"))
SMALL_STATEMENTS = 100_000
RUNS = 5  # interleaved, best of each: another job on the shared host only slows a run
TINY_RUNS = 30  # a tiny query's best needs every hop between processes scheduled promptly
FILES = 8
THREADS = 2
GOAL = 1.2  # sandbox time <= 1.2 x raw DuckDB
REGRESSION_GUARD = 2.5  # DuckDB time of the disclosure-controlled query vs raw, busy host
FIXED_GOAL_MS = 15  # a tiny query's cost beyond raw DuckDB's
FIXED_GUARD_MS = 100  # a child re-importing the application costs more than that
SPARE_WARM_S = 60.0  # at most; at nice 10 on a busy host it takes seconds
RAW = (
    "SELECT school_id, verb_id, count(*) AS n, count(DISTINCT actor_pseudonym) AS pupils, "
    "avg(result_duration_s) AS d FROM read_parquet(?) GROUP BY ALL"
)
SANDBOXED = (
    "SELECT school_id, verb_id, count(*) AS n, count(DISTINCT pupil_id) AS pupils, "
    "avg(result_duration_s) AS d FROM statements GROUP BY ALL"
)

# The research question "per school: pupils, their mean activity and mean duration", as
# the DP shape asks for it (per-pupil features, then an aggregation over pupils) and as a
# researcher would write it on the raw Parquet.
DP_SANDBOXED = (
    "WITH p AS (SELECT pupil_id, any_value(school_id) AS school_id, count(*) AS n_statements, "
    "avg(result_duration_s) AS duration_s FROM statements GROUP BY pupil_id) "
    "SELECT school_id, count(*) AS pupils, avg(n_statements) AS n, avg(duration_s) AS d "
    "FROM p GROUP BY school_id"
)
DP_RAW = (
    "WITH p AS (SELECT actor_pseudonym, any_value(school_id) AS school_id, "
    "count(*) AS n_statements, avg(result_duration_s) AS duration_s FROM read_parquet(?) "
    "GROUP BY actor_pseudonym) SELECT school_id, count(*) AS pupils, avg(n_statements) AS n, "
    "avg(duration_s) AS d FROM p GROUP BY school_id"
)
DP = dp_release.Settings(delta=1e-6, max_cells_per_pupil=12)


def _lake(root: Path, statements: int) -> Path:
    lake = root / "lake"
    per_file = statements // FILES
    for seq in range(FILES):
        write_batch(
            lake,
            "prov-1",
            "c",
            "videos",
            statements=per_file,
            pupils=per_file // 50,
            schools=8,
            seq=seq + 1,
            salt=f"s{seq}",
        )
    return lake


@pytest.fixture(scope="module")
def bench_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _lake(tmp_path_factory.mktemp("bench"), STATEMENTS)


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project's small share: one school term of a few classes (100,000 statements)."""
    return _lake(tmp_path_factory.mktemp("small"), SMALL_STATEMENTS)


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    p = Pool()
    yield p
    p.close()


def _scope(lake: Path) -> ProjectScope:
    return scope_for("p", {"c": contract_doc("c", "p")}, lake, b"bench", date.today())


def _sandbox(
    pool: Pool, scope: ProjectScope, sql: str, tmp: Path, deadline: float = 120
) -> tuple[float, str, dict]:
    started = time.perf_counter()
    checked = sqlcheck.check(sql, views.VIEW_NAMES, row_level=False)
    plan = rewrite.plan(checked)
    job = WorkerJob(
        views.build(scope).ddl_for(checked.views_named),
        scope.paths,
        plan.queries,
        Limits(threads=THREADS, memory_limit="2GB", temp_directory=str(tmp), deadline_s=deadline),
        scope.pseudonym_key,
    )
    out = pool.run(job)
    if out.status == "ok":
        tables = [pa.ipc.open_stream(b).read_all() for b in out.ipc]
        main, control = tables[0], tables[-1]
        findings.assess(  # the reviewed path's automatic rules before a result is held
            checked,
            plan,
            main.column_names,
            main.to_pylist(),
            control.to_pylist(),
            scope.threshold,
            None,
        )
    return time.perf_counter() - started, out.status, out.stats


def _sandbox_dp(pool: Pool, scope: ProjectScope, sql: str, tmp: Path) -> tuple[float, str, dict]:
    started = time.perf_counter()
    checked = sqlcheck.check(sql, views.VIEW_NAMES, row_level=False)
    plan = dp_release.plan(checked, DP)
    limits = Limits(threads=THREADS, memory_limit="2GB", temp_directory=str(tmp), deadline_s=120)
    ddl = views.build(scope).ddl_for(checked.views_named)
    out = pool.run(WorkerJob(ddl, scope.paths, plan.queries, limits, "k"))
    if out.status == "ok":
        rows = pa.ipc.open_stream(out.ipc[0]).read_all().to_pylist()
        released = dp_release.release(rows, plan, scope, DP)
        assert released.rows, "the benchmark's cells must be released"
    return time.perf_counter() - started, out.status, out.stats


def _raw(scope: ProjectScope, sql: str = RAW) -> float:
    """Seconds raw DuckDB takes for ``sql``, run at the workers' priority (docstring)."""
    took: list[float] = []

    def at_worker_priority() -> None:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)
        started = time.perf_counter()
        with duckdb.connect(config={"threads": THREADS, "memory_limit": "2GB"}) as con:
            con.execute(sql, [list(scope.paths)]).to_arrow_table()
        took.append(time.perf_counter() - started)

    thread = threading.Thread(target=at_worker_priority)
    thread.start()
    thread.join()
    return took[0]


def test_aggregate_through_sandbox_vs_raw_duckdb(
    pool: Pool, bench_lake: Path, tmp_path: Path
) -> None:
    scope = _scope(bench_lake)
    _sandbox(pool, scope, SANDBOXED, tmp_path)  # warm the page cache and the pool
    raws, runs = [], []
    for _ in range(RUNS):
        raws.append(_raw(scope))
        runs.append(_sandbox(pool, scope, SANDBOXED, tmp_path))
    raw = min(raws)
    boxed = min(r[0] for r in runs)
    query_s = min(r[2]["query_s"] for r in runs)
    ratio = boxed / raw
    print(
        f"\nsandbox bench: {STATEMENTS:,} statements, raw {raw:.3f} s, sandbox {boxed:.3f} s "
        f"(of which DuckDB {query_s:.3f} s), ratio {ratio:.2f}x; {host_load()}"
    )
    assert query_s / raw <= REGRESSION_GUARD  # the DuckDB work, without the fixed job cost
    meet_or_xfail("sandbox vs raw DuckDB", ratio, GOAL, REGRESSION_GUARD, lower_is_better=True)


def test_dp_release_vs_raw_duckdb(pool: Pool, bench_lake: Path, tmp_path: Path) -> None:
    scope = _scope(bench_lake)
    _sandbox_dp(pool, scope, DP_SANDBOXED, tmp_path)  # warm the page cache and the pool
    raws, runs = [], []
    for _ in range(RUNS):
        raws.append(_raw(scope, DP_RAW))
        runs.append(_sandbox_dp(pool, scope, DP_SANDBOXED, tmp_path))
    raw, boxed = min(raws), min(r[0] for r in runs)
    ratio = boxed / raw
    print(
        f"\nsandbox DP bench: {STATEMENTS:,} statements, raw DuckDB (the researcher's query on "
        f"the raw Parquet) {raw:.3f} s, DP release (rewrite, clamping, noise) {boxed:.3f} s, "
        f"ratio {ratio:.2f}x; {host_load()}"
    )
    meet_or_xfail("sandbox DP vs raw DuckDB", ratio, GOAL, REGRESSION_GUARD, lower_is_better=True)


def test_first_result_of_a_small_query_under_one_second(
    pool: Pool, small_lake: Path, tmp_path: Path
) -> None:
    scope = _scope(small_lake)
    elapsed, status, _ = _sandbox(pool, scope, "SELECT count(*) AS n FROM statements", tmp_path)
    print(
        f"\nsandbox small query ({SMALL_STATEMENTS:,} statements): {elapsed:.3f} s; {host_load()}"
    )
    assert status == "ok" and elapsed < 1.0


def test_fixed_cost_of_a_tiny_query(pool: Pool, small_lake: Path, tmp_path: Path) -> None:
    """What a query costs beyond DuckDB's own work: check, plan, a warm child (no
    re-import of the application), lock-down, the result's transfer and the airlock's
    rules, measured as the sandbox's time minus raw DuckDB's on the same tiny query."""
    scope = _scope(small_lake)
    tiny = "SELECT count(*) AS n FROM statements"
    raw_tiny = "SELECT count(*) AS n FROM read_parquet(?)"
    _sandbox(pool, scope, tiny, tmp_path)
    raws, boxes = [], []
    for _ in range(TINY_RUNS):
        assert pool.wait_for_spare(SPARE_WARM_S)  # it warms once the previous query is over
        raws.append(_raw(scope, raw_tiny))
        boxes.append(_sandbox(pool, scope, tiny, tmp_path)[0])
    raw, boxed = min(raws), min(boxes)
    fixed_ms = (boxed - raw) * 1000
    print(
        f"\nsandbox tiny query: raw {raw * 1000:.1f} ms, sandbox {boxed * 1000:.1f} ms, "
        f"fixed cost {fixed_ms:.1f} ms (goal <= {FIXED_GOAL_MS} ms); {host_load()}"
    )
    meet_or_xfail(
        "tiny query fixed cost (ms)", fixed_ms, FIXED_GOAL_MS, FIXED_GUARD_MS, lower_is_better=True
    )


def test_runaway_query_stopped_within_one_second_of_deadline(
    pool: Pool, bench_lake: Path, tmp_path: Path
) -> None:
    scope = _scope(bench_lake)
    # an allowed query that runs for minutes (a per-pupil self-join, tests.support)
    _, status, stats = _sandbox(pool, scope, RUNAWAY, tmp_path, deadline=2.0)
    print(
        f"\nsandbox runaway: stopped {stats['run_s'] - 2.0:.3f} s after its 2 s deadline; "
        f"{host_load()}"
    )
    assert status == "timeout" and stats["run_s"] <= 2.0 + 1.0
