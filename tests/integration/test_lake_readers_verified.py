"""Erasure and retention read only verified lake objects: a registered object changed
behind the hub's back is neither rewritten nor purged; the request is refused with a
problem that names no pupil, the lake stays byte for byte as it was, and the DPO sees a
``lake-integrity`` alert (SQLite and PostgreSQL, real hub on loopback)."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlmodel import Session, select

from hub.db import session_scope
from hub.ingest.erasure import purge_expired
from hub.ingest.integrity import LakeObjectAltered
from hub.ingest.models import IngestBatch
from hub.pseudonym.models import ErasureRewrite
from hub.storage.local import LocalStore
from hub.trail.writer import SYSTEM
from tests.integration.test_erasure_register import (
    DPO_API,
    IDENTIFIER,
    _pseudonym,
    _ship,
    _target,
)
from tests.support.ingest_batches import recent_day
from tests.support.ingest_fixtures import IngestSetup


def alter_behind_the_hub(setup: IngestSetup) -> tuple[dict[str, bytes], Path]:
    """Duplicate the rows of the (only) lake object in place; the lake as it is then."""
    store = setup.ctx.store
    assert isinstance(store, LocalStore)
    (key,) = store.list("lake/")
    path = store.root / key
    table = pq.read_table(io.BytesIO(path.read_bytes()))
    sink = io.BytesIO()
    pq.write_table(pa.concat_tables([table, table]), sink)
    path.chmod(0o644)
    path.write_bytes(sink.getvalue())
    return {k: store.get(k) for k in store.list("lake/")}, path


def lake_alerts(setup: IngestSetup, timeout: float = 30) -> list[dict[str, Any]]:
    dpo = setup.world.auth("dpo", sub="dpo.1")
    deadline = time.monotonic() + timeout
    while True:
        body = setup.client.get("/api/v1/audit/alerts", headers=dpo).json()
        found = [a for a in body["alerts"] if a["rule"] == "lake-integrity"]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def registry(setup: IngestSetup) -> list[list[dict[str, Any]]]:
    with Session(setup.ctx.engine) as session:
        return [b.files for b in session.exec(select(IngestBatch)).all()]


def test_erasure_refuses_an_altered_object_and_alerts(ingest: IngestSetup) -> None:
    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(5))
    files_before = registry(ingest)
    lake, _path = alter_behind_the_hub(ingest)
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    resp = ingest.client.post(DPO_API, json={"identifier": IDENTIFIER}, headers=dpo)
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["reasons"] == ["lake-integrity"]
    assert problem["type"].endswith("lake-object-altered")
    assert IDENTIFIER not in resp.text
    assert _pseudonym(ingest, ingest.contract_id) not in resp.text
    store = ingest.ctx.store
    assert store is not None
    assert {k: store.get(k) for k in store.list("lake/")} == lake  # nothing rewritten
    assert registry(ingest) == files_before
    with Session(ingest.ctx.engine) as session:
        assert session.exec(select(ErasureRewrite)).all() == []
    (alert,) = lake_alerts(ingest)
    assert alert["contract_id"] == ingest.contract_id


def _past_retention() -> date:
    """A day when the recent test data are past the contract's 180 days."""
    return date.today() + timedelta(days=181)


def test_retention_refuses_to_purge_an_altered_object_and_alerts(ingest: IngestSetup) -> None:
    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(5))
    files_before = registry(ingest)
    lake, _path = alter_behind_the_hub(ingest)
    store = ingest.ctx.store
    assert store is not None
    with pytest.raises(LakeObjectAltered), session_scope(ingest.ctx.engine) as session:
        purge_expired(store, session, SYSTEM, ingest.contract_id, _past_retention())
    assert {k: store.get(k) for k in store.list("lake/")} == lake  # nothing deleted
    assert registry(ingest) == files_before
    (alert,) = lake_alerts(ingest)
    assert alert["contract_id"] == ingest.contract_id


def test_retention_purges_a_verified_object(ingest: IngestSetup) -> None:
    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(5))
    store = ingest.ctx.store
    assert store is not None and list(store.list("lake/"))
    with session_scope(ingest.ctx.engine) as session:
        change = purge_expired(store, session, SYSTEM, ingest.contract_id, _past_retention())
    assert len(change.objects_deleted) == 1 and list(store.list("lake/")) == []
    assert lake_alerts(ingest, timeout=0) == []
