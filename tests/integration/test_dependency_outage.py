"""A dependency that is down is a 503 problem (retry later), never a 500 (found by the
cluster harness: requests that reached a hub while PostgreSQL or the S3 server was
killed answered 500)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from contracts.problems import PROBLEM_JSON
from hub.app import create_app
from hub.storage.port import StoreError
from hub.storage.s3 import S3Store
from tests.support import pg
from tests.support.browser import free_port
from tests.support.factories import make_context
from tests.support.ingest_fixtures import s3_settings


def test_a_request_while_the_database_is_gone_is_a_503(pg_url: str, tmp_path: Path) -> None:
    ctx = make_context(pg_url, tmp_path)
    token = ctx.issuer.mint("claire", ["researcher"])
    try:
        with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
            name = pg_url.rsplit("/", 1)[1]
            with psycopg.connect(pg.ADMIN_DSN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            answer = client.get(
                "/api/v1/projects/p-1/queries", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        ctx.engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["type"] == "urn:edh:problem:database-unavailable"
    assert "Retry-After" in answer.headers and name not in answer.text


def test_an_unreachable_s3_server_is_a_store_error() -> None:
    store = S3Store(s3_settings(f"127.0.0.1:{free_port()}"))
    for call in (store.fingerprint, store.get, store.erase):
        with pytest.raises(StoreError):
            call("lake/p/c/d/date=2026-09-01/x.parquet")
