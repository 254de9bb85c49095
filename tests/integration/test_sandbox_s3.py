"""The sandbox reads the lake from the S3 object store (a real S3 server on loopback)
through httpfs: exact ``s3://`` objects only, a secret the researcher cannot touch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.sandbox import views
from hub.sandbox.runtime import uninstall
from hub.sandbox.s3lake import S3Access, S3Lake
from hub.sandbox.scope import scope_for
from hub.sandbox.verified import VerifiedLake
from hub.sandbox.worker import Limits, Outcome, Pool, WorkerJob
from hub.storage.s3 import S3Store
from tests.support.factories import make_context
from tests.support.ingest_fixtures import s3_settings
from tests.support.sandbox_fixtures import (
    SandboxWorld,
    build_sandbox_world,
    contract_doc,
    write_batch,
)

BY_SCHOOL = "SELECT school_id, count(DISTINCT pupil_id) AS p FROM statements GROUP BY 1 ORDER BY 1"


@pytest.fixture
def s3_sandbox(s3_endpoint: str, tmp_path: Path, lake: Path) -> Iterator[SandboxWorld]:
    """The default sandbox world on a hub whose object store is a fresh S3 bucket."""
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path / "hub")
    ctx.settings.storage = s3_settings(s3_endpoint)
    client = TestClient(create_app(context=ctx), raise_server_exceptions=False)
    ctx.store = S3Store(ctx.settings.storage)
    ctx.store.ensure_bucket()
    world = build_sandbox_world(client, ctx, lake)
    yield world
    uninstall(ctx)
    ctx.engine.dispose()


def rows(outcome: Outcome) -> list[tuple[object, ...]]:
    table = pa.ipc.open_stream(outcome.ipc[0]).read_all()
    return [tuple(r.values()) for r in table.to_pylist()]


def test_the_api_serves_queries_from_the_bucket(s3_sandbox: SandboxWorld) -> None:
    assert isinstance(s3_sandbox.runtime.lake, VerifiedLake)
    assert isinstance(s3_sandbox.runtime.lake.inner, S3Lake) and s3_sandbox.runtime.s3 is not None
    job, result = s3_sandbox.run(BY_SCHOOL)
    assert job["status"] == "released", job
    assert [r[1] for r in result["rows"]] == [50, 50, 50, 50]


def test_researcher_sql_cannot_create_read_or_drop_secrets(s3_sandbox: SandboxWorld) -> None:
    for sql in (
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "DROP SECRET edh_lake",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM which_secret('s3://x/lake/a.parquet', 's3')",
        "SELECT count(*) AS n FROM read_parquet('s3://other-bucket/x.parquet')",
        "SET s3_secret_access_key = 'x'",
    ):
        resp = s3_sandbox.submit(sql)
        assert resp.status_code == 400, (sql, resp.text)
        assert resp.json()["type"] == "urn:edh:problem:query-refused"


def upload_batch(store: S3Store, lake: Path, salt: str, seq: int) -> str:
    path = write_batch(lake, "prov", "c", "videos", statements=500, pupils=50, salt=salt, seq=seq)
    key = "lake/" + path.relative_to(lake).as_posix()
    store.put(key, path.read_bytes())
    return key


def test_only_the_exact_registered_objects_are_readable(s3_endpoint: str, lake: Path) -> None:
    cfg = s3_settings(s3_endpoint)
    store = S3Store(cfg)
    store.ensure_bucket()
    registered = upload_batch(store, lake, "a", 1)
    unregistered = upload_batch(store, lake, "b", 2)
    odd = [  # listed by the store, never served: dots, an extra folder, not Parquet
        "lake/prov/c/videos/date=2026-09-01/a..b.parquet",
        "lake/prov/c/videos/date=2026-09-01/sub/x.parquet",
        "lake/prov/c/videos/date=2026-09-01/x.csv",
    ]
    for key in odd:
        store.put(key, b"x")
    s3lake = S3Lake(store, cfg.bucket)
    scope = scope_for(
        "p",
        {"c": contract_doc("c", "p", "prov")},
        s3lake,
        b"k",
        date.today(),
        lambda _cid: frozenset({registered, *odd}),
    )
    assert scope.paths == (f"s3://{cfg.bucket}/{registered}",)
    every = s3lake.files("prov", "c", ("videos",), None)
    assert len(every) == 2 and not any(k in p for p in every for k in odd)
    assert s3lake.files("..", "c", ("videos",), None) == ()
    view_set = views.build(scope)
    queries = (
        "SELECT count(*) FROM statements",
        f"SELECT count(*) FROM read_parquet('s3://{cfg.bucket}/{unregistered}')",
        "SELECT secret_string FROM duckdb_secrets()",
    )
    pool = Pool()
    try:
        outcomes = [
            pool.run(WorkerJob(view_set.ddl, scope.paths, (q,), Limits(), "key", S3Access.of(cfg)))
            for q in queries
        ]
    finally:
        pool.close()
    assert outcomes[0].status == "ok" and rows(outcomes[0]) == [(500,)]
    assert outcomes[1].status == "error" and "Permission" in outcomes[1].message
    listed = str(rows(outcomes[2])) if outcomes[2].status == "ok" else outcomes[2].message
    assert cfg.secret_key.get_secret_value() + "'" not in listed and "redacted" in listed
