"""The SQLite default under concurrency: reads never wait for the write lock, and the
connection pool honours ``EDH_DATABASE__POOL_SIZE``."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from hub.app import create_app
from hub.db import make_engine
from tests.support.factories import make_context

Auth = Callable[..., dict[str, str]]


def test_a_read_request_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite3"
    ctx = make_context(f"sqlite:///{db}", tmp_path)
    token = ctx.issuer.mint("reader", ["researcher"])
    with TestClient(create_app(context=ctx)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/catalog", headers=headers).status_code == 200
        writer = sqlite3.connect(db, isolation_level=None, timeout=1)
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            started = time.monotonic()
            resp = client.get("/api/v1/catalog", headers=headers)
            waited = time.monotonic() - started
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    ctx.engine.dispose()
    assert resp.status_code == 200, resp.text
    assert waited < 5, f"the read waited {waited:.1f} s for the write lock"


def test_the_sqlite_pool_honours_its_size(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}", pool_size=37)
    assert engine.pool.size() == 37  # type: ignore[attr-defined]
    engine.dispose()
