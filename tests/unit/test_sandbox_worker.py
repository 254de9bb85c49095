"""The worker's own lockdown, even for SQL that never went through the checker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from hub.sandbox import views
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
    seen: list[int] = []
    out = pool.run(
        job, on_start=lambda proc: seen.append(os.getpriority(os.PRIO_PROCESS, proc.pid))
    )
    assert out.status == "ok"
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE]
