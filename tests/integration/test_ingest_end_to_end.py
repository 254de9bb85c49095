"""End to end: the 22,000 shared statements go through the connector pipeline into the lake."""

from __future__ import annotations

import gc
import gzip
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq

from connector.pipeline.runner import PushReport, Target, push
from connector.pipeline.sources import read_statements
from connector.pipeline.state import PipelineState
from hub.ingest.complete import REGISTERED_TOPIC
from hub.storage.port import ObjectStore
from hub.storage.s3 import S3Store
from tests.conftest import SAMPLE_STATEMENTS
from tests.support.ingest_batches import recent_copy
from tests.support.ingest_fixtures import (
    IngestSetup,
    collector,
    ingest_setup,
    kafka_settings,
    s3_settings,
)


def run_push(setup: IngestSetup, path: Path, state_path: Path, batch_size: int) -> PushReport:
    client = setup.hub_client()
    try:
        terms = client.terms(setup.contract_id)
        state = PipelineState.load(state_path)
        return push(
            read_statements(path, state.cursors.get("file", 0)),
            source="file",
            client=client,
            key=setup.connector_key,
            target=Target(terms, setup.dataset_id),
            state=state,
            batch_size=batch_size,
        )
    finally:
        client.close()


def original_identifiers() -> set[str]:
    names = set()
    with gzip.open(SAMPLE_STATEMENTS, "rt") as fh:
        for line in fh:
            names.add(json.loads(line)["actor"]["account"]["name"])
    return names


def test_shared_statements_reach_the_lake_pseudonymised(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    sample = recent_copy(SAMPLE_STATEMENTS, tmp_path / "sample.jsonl.gz")
    report = run_push(sqlite_ingest, sample, tmp_path / "state.json", batch_size=5000)
    assert report.accepted == 22_000 and not report.rejected
    assert report.batches_registered == 5
    store = sqlite_ingest.ctx.store
    assert store is not None
    keys = list(store.list("lake/"))
    rows = sum(pq.read_table(io.BytesIO(store.get(k))).num_rows for k in keys)
    assert rows == 22_000
    assert_no_identifier(store)


def test_a_shipped_batch_is_freed_before_the_next_is_built(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    """An upload's request holds the batch's bytes in a reference cycle with its response;
    push frees them after each batch, not at some later full collection (with the
    collector off here, nothing else would)."""
    sample = recent_copy(SAMPLE_STATEMENTS, tmp_path / "sample.jsonl.gz")
    gc.disable()
    try:
        report = run_push(sqlite_ingest, sample, tmp_path / "state.json", batch_size=5000)
        held = sum(isinstance(o, httpx.Request) for o in gc.get_objects())
    finally:
        gc.enable()
    assert report.batches_registered == 5
    assert not held, f"{held} requests of shipped batches still held"


def decoded_text(store: ObjectStore) -> str:
    """Every object of the store, raw and decoded from Parquet, as one searchable text."""
    parts = []
    for key in store.list(""):
        data = store.get(key)
        parts.append(data.decode("latin-1"))
        parts.append(json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), default=str))
    return "\n".join(parts)


def assert_no_identifier(store: ObjectStore) -> None:
    text = decoded_text(store)
    names = original_identifiers()
    assert len(names) > 1000
    leaked = [name for name in names if name in text]
    assert leaked == []


def test_shared_statements_through_s3_and_kafka(
    tmp_path: Path, s3_endpoint: str, kafka_bootstrap: str
) -> None:
    storage, bus = s3_settings(s3_endpoint), kafka_settings(kafka_bootstrap)
    with ingest_setup(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path, storage, bus) as setup:
        events: dict[str, Any] = {}  # by event id: delivery is at-least-once
        assert setup.ctx.bus is not None
        setup.ctx.bus.subscribe(REGISTERED_TOPIC, "e2e", collector(events, setup.contract_id))
        sample = recent_copy(SAMPLE_STATEMENTS, tmp_path / "sample.jsonl.gz")
        report = run_push(setup, sample, tmp_path / "state.json", batch_size=8000)
        assert report.batches_registered == 3 and report.accepted == 22_000
        store = setup.ctx.store
        assert isinstance(store, S3Store)
        assert_no_identifier(store)
        deadline = time.monotonic() + 60
        while len(events) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(e["sequence"] for e in events.values()) == [1, 2, 3]
        assert sum(e["row_count"] for e in events.values()) == 22_000
