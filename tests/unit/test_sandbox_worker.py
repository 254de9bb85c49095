"""The worker's own lockdown, even for SQL that never went through the checker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from hub.sandbox import sqlcheck, views
from hub.sandbox.observed import ReleaseTick, coarse
from hub.sandbox.scope import ProjectScope, scope_for
from hub.sandbox.worker import WORKER_NICE, Limits, Pool, WorkerJob
from tests.support.sandbox_fixtures import contract_doc, write_batch


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    p = Pool()
    yield p
    p.close()


def _scope(lake: Path, project: str) -> ProjectScope:
    docs = {"c": contract_doc("c", project)}
    return scope_for(project, docs, lake, b"master", date.today())


def _run(pool: Pool, scope: ProjectScope, sql: str, tmp: Path) -> tuple[str, str, list[dict]]:
    job = WorkerJob(
        views.build(scope).ddl,
        scope.paths,
        (sql,),
        Limits(temp_directory=str(tmp / "spill"), deadline_s=5),
        scope.pseudonym_key,
    )
    out = pool.run(job)
    rows = pa.ipc.open_stream(out.ipc[0]).read_all().to_pylist() if out.ipc else []
    return out.status, out.message, rows


TICK = ReleaseTick(tick_s=5, min_s=10)


def test_lockdown_holds_without_the_checker(pool: Pool, lake: Path, tmp_path: Path) -> None:
    write_batch(lake, "prov-1", "c", "videos", statements=50, pupils=10)
    other = write_batch(lake, "prov-1", "other", "videos", statements=50, pupils=10)
    scope = _scope(lake, "p1")
    sneaky = f"{lake}/prov-1/c/videos/date=2026-09-01/../../../other/videos/{other.parent.name}"
    for sql in (
        f"SELECT * FROM read_parquet('{other}')",
        f"SELECT * FROM read_parquet('{sneaky}/{other.name}')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET memory_limit = '100GB'",
        "INSTALL httpfs",
        "COPY (SELECT 1) TO '/tmp/edh-sandbox-leak.csv'",
        "ATTACH '/tmp/edh-sandbox.db' AS x",
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    ):
        status, message, _ = _run(pool, scope, sql, tmp_path)
        assert status == "error", (sql, status)
        assert scope.pseudonym_key not in message
    assert not Path("/tmp/edh-sandbox-leak.csv").exists()
    status, _, rows = _run(pool, scope, "SELECT count(*) AS n FROM statements", tmp_path)
    assert status == "ok" and rows == [{"n": 50}]


def test_two_projects_cannot_join_pupils(pool: Pool, lake: Path, tmp_path: Path) -> None:
    write_batch(lake, "prov-1", "c", "videos", statements=50, pupils=10)
    sql = "SELECT DISTINCT pupil_id FROM statements ORDER BY 1"
    ids = [set(r["pupil_id"] for r in _run(pool, _scope(lake, p), sql, tmp_path)[2]) for p in "ab"]
    assert len(ids[0]) == len(ids[1]) == 10
    assert not ids[0] & ids[1]


def test_a_project_without_data_sees_empty_views(pool: Pool, lake: Path, tmp_path: Path) -> None:
    status, message, rows = _run(
        pool, _scope(lake, "p"), "SELECT count(*) AS n FROM results", tmp_path
    )
    assert (status, rows) == ("ok", [{"n": 0}]), message


def test_a_job_creates_the_views_its_query_names_a_shadowing_cte_included(
    pool: Pool, lake: Path, tmp_path: Path
) -> None:
    """Only the views a query names are created (each costs a bind); a CTE named like a
    view and reading it still finds it (DuckDB resolves the name inside to the view)."""
    write_batch(lake, "prov-1", "c", "videos", statements=50, pupils=10)
    view_set = views.build(_scope(lake, "p"))
    scope = _scope(lake, "p")
    sql = (
        "WITH pupil_days AS (SELECT pupil_id, day FROM pupil_days WHERE n_statements > 0) "
        "SELECT count(DISTINCT pupil_id) AS pupils FROM pupil_days"
    )
    checked = sqlcheck.check(sql, views.VIEW_NAMES, row_level=False)
    assert checked.tables == () and checked.views_named == ("pupil_days",)
    limits = Limits(temp_directory=str(tmp_path / "spill"), deadline_s=5)
    needed = view_set.ddl_for(checked.views_named)
    assert len(needed) == 2 and len(view_set.ddl) == 3  # statements, pupil_days; no results
    out = pool.run(WorkerJob(needed, scope.paths, (sql,), limits, scope.pseudonym_key))
    assert out.status == "ok", out.message
    assert pa.ipc.open_stream(out.ipc[0]).read_all().to_pylist() == [{"pupils": 10}]
    other = pool.run(WorkerJob(needed, scope.paths, ("SELECT count(*) FROM results",), limits, "k"))
    assert other.status == "error"  # a view it does not name is not there


def test_workers_run_below_the_hubs_cpu_priority(pool: Pool, lake: Path, tmp_path: Path) -> None:
    write_batch(lake, "prov-1", "c", "videos", statements=50, pupils=10)
    scope = _scope(lake, "p")
    job = WorkerJob(
        views.build(scope).ddl,
        scope.paths,
        ("SELECT count(*) AS n FROM statements",),
        Limits(temp_directory=str(tmp_path / "spill"), deadline_s=5),
        scope.pseudonym_key,
    )
    expected = os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE
    seen: list[int] = []

    def settled_priority(proc: object) -> None:
        """The child's priority once it lowered it (its first act, before it reads a job:
        a child spawned for this job may not have got there when the job is handed over)."""
        deadline = time.monotonic() + 5
        priority = os.getpriority(os.PRIO_PROCESS, proc.pid)  # type: ignore[attr-defined]
        while priority != expected and time.monotonic() < deadline:
            time.sleep(0.01)
            priority = os.getpriority(os.PRIO_PROCESS, proc.pid)  # type: ignore[attr-defined]
        seen.append(priority)

    out = pool.run(job, on_start=settled_priority)
    assert out.status == "ok"
    assert seen == [expected]


def _thread_priorities(pid: int) -> list[int]:
    """The nice value of each live thread of process ``pid`` (Linux: one per thread)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # a thread that just ended
            continue
        found.append(int(stat.rpartition(")")[2].split()[16]))  # field 19, nice
    return found


def test_every_thread_of_a_query_runs_at_the_worker_priority(pool: Pool) -> None:
    """A spare opens its DuckDB in a helper thread at the lowest priority (so it yields
    to a running query); none of the query's threads, DuckDB's included, may inherit it."""
    if not Path("/proc/self/task").exists():
        pytest.skip("needs /proc")
    sql = "SELECT count(*) AS n FROM range(2000000000) t(x) WHERE x % 7 = 3"
    job = WorkerJob((), (), (sql,), Limits(threads=2, deadline_s=2), "k")
    expected = os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE
    seen: list[list[int]] = [[]]

    def while_running(proc: object) -> None:
        deadline = time.monotonic() + 5
        while len(seen[-1]) < 3 and time.monotonic() < deadline:  # main, timer, DuckDB's
            time.sleep(0.005)
            seen.append(_thread_priorities(proc.pid))  # type: ignore[attr-defined]

    out = pool.run(job, on_start=while_running)
    assert out.status == "timeout"  # still running when the threads were read
    assert len(seen[-1]) >= 3 and set(seen[-1]) == {expected}, seen[-1]


def test_a_string_past_the_memory_limit_is_stopped_by_the_kernel(pool: Pool) -> None:
    """DuckDB alone let a 1.5 GB string through a 1 GB limit; the worker's address-space
    limit stops it, and the measured peak is the process's real peak."""
    sql = "SELECT length(repeat('x', 1500000000)) AS n"
    out = pool.run(WorkerJob((), (), (sql,), Limits(memory_limit="1GB", deadline_s=60), "k"))
    assert out.status == "error" and "OutOfMemoryException" in out.message
    small = pool.run(WorkerJob((), (), ("SELECT 1 AS n",), Limits(), "k"))
    assert small.status == "ok"
    assert 0 < small.stats["peak_memory_bytes"] <= 1024 * 2**20  # the DPO's figure (audit)


def test_coarse_resources_hide_a_tenfold_time_difference() -> None:
    fast = coarse({"query_s": 0.08, "cpu_s": 0.1}, TICK)
    slow = coarse({"query_s": 0.8, "cpu_s": 1.0}, TICK)
    assert fast == slow == {"query_s": 10, "cpu_s": 10}  # the release minimum
    assert coarse({"query_s": 12.5}, TICK) == {"query_s": 15}  # longer: to the tick
    assert coarse({"rows_scanned": 123_456, "peak_memory_bytes": 2**27}, TICK) == {}


def test_the_release_tick_is_on_the_grid_after_the_start() -> None:
    """A run's end becomes visible at start + n ticks, never before the minimum."""
    start = datetime(2026, 9, 1, 8, 0, 0, 300_000, tzinfo=UTC)
    ends = [start + timedelta(seconds=s) for s in (0.01, 0.5, 4.9, 10.0)]
    assert {TICK.due(start, end) for end in ends} == {start + timedelta(seconds=10)}
    assert TICK.due(start, start + timedelta(seconds=10.2)) == start + timedelta(seconds=15)
    assert ReleaseTick(0.05, 0).due(start, start) == start + timedelta(seconds=0.05)


MAIN_SCRIPT = """
import sys
if __name__ == "__main__":
    from hub.sandbox.worker import Limits, Pool, WorkerJob

    pool = Pool()
    for _ in range(2):  # the first child is the warm spare, the second made after a query
        print(pool.run(WorkerJob((), (), ("SELECT 42 AS x",), Limits(), "k")).status)
    pool.close()
else:  # run again as __mp_main__: what a worker must never do
    with open(sys.argv[1] if len(sys.argv) > 1 else MARKER, "a") as f:
        f.write("re-imported\\n")
"""


def test_workers_do_not_run_the_application_main_module(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = tmp_path / "app_main.py"
    script.write_text(MAIN_SCRIPT.replace("MARKER", repr(str(marker))))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["ok", "ok"], done.stderr[-2000:]
    assert not marker.exists()  # multiprocessing's default re-runs it in every child
