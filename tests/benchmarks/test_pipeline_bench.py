"""Connector pipeline throughput per core (CPU time) and memory flatness in input size.

Measures validate → pseudonymise → minimise → Parquet → signed manifest on simulated
school traces, from parsed statements and from JSON Lines bytes. Goal: ≥ 100,000 statements/s
on one core; peak memory must not grow with the number of statements (streaming).
"""

from __future__ import annotations

import gc
import io
import os
import time
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.pipeline import lake
from connector.pipeline.batch import Transformer, build_batches
from connector.pipeline.lake import RowBuffer
from connector.pipeline.manifest import build_manifest
from connector.pipeline.pseudonymise import Pseudonymiser
from connector.pipeline.runner import Target, push
from connector.pipeline.simulate import SimulationSpec, simulate
from connector.pipeline.state import PipelineState
from connector.pipeline.validate import validate_times
from contracts.batch_manifest import sign_manifest
from contracts.minimisation import FieldFilter
from hub.ingest.complete import REGISTERED_TOPIC
from tests.benchmarks.goals import host_load, meet_or_xfail
from tests.support.ingest_fixtures import (
    LAKE_FIELDS,
    IngestSetup,
    collector,
    ingest_setup,
    kafka_settings,
    s3_settings,
)

pytestmark = pytest.mark.benchmark
GOAL = 100_000
# The guard catches a collapse, not the host: the same commit measured 20k to 44k per CPU
# second on this shared 2-core host from one day to the next (its CPU second varies).
GUARD = 15_000
SPEC = SimulationSpec(pupils=2000, weeks=4)


def run_pipeline(items: Iterable[tuple[int, Any]], batch_size: int) -> int:
    transform = Transformer(Pseudonymiser(b"k" * 32), FieldFilter(LAKE_FIELDS))
    key, rows = Ed25519PrivateKey.generate(), 0
    for seq, batch in enumerate(build_batches(items, transform, batch_size), start=1):
        keys = [f"lake/p/c/d/date={f.date}/x-{seq:012d}-{f.index}.parquet" for f in batch.files]
        manifest = build_manifest(
            batch,
            contract_id="c",
            connector_id="x",
            dataset_id="d",
            sequence=seq,
            keys=keys,
            key_version="v1",
        )
        sign_manifest(manifest, key)
        rows += batch.row_count
    return rows


def rate(items: Iterable[tuple[int, Any]]) -> tuple[int, float, float]:
    """Rows, rows per CPU second (all threads of the process) and per wall-clock second.

    CPU time is the per-core measure: it stays meaningful on a shared, busy machine."""
    cpu, wall = time.process_time(), time.perf_counter()
    rows = run_pipeline(items, 50_000)
    return rows, rows / (time.process_time() - cpu), rows / (time.perf_counter() - wall)


STAGES = ("validate", "pseudonymise", "minimise", "columns for Arrow", "Arrow and Parquet")
CHUNK = 2048
"""Statements timed stage by stage at a time (the batcher's pending rows, ``PENDING_ROWS``)."""


def stage_times(statements: list[Any]) -> str:
    """Each stage's CPU microseconds per statement, timed on its own over chunks of the
    input (whether the pipeline's modules are compiled or not: no profiler; garbage
    collection off, as the chunks' objects outlive a run's), and a whole run's.

    A stage on its own walks a chunk with caches colder than a run, where each statement
    goes through every stage at once: the stages sum to more than the run."""
    pseudonymiser, fields = Pseudonymiser(b"k" * 32), FieldFilter(LAKE_FIELDS)
    transform, buffer = Transformer(pseudonymiser, fields), RowBuffer()
    spent = dict.fromkeys(STAGES, 0.0)
    gc.disable()
    try:
        for start in range(0, len(statements), CHUNK):
            chunk = statements[start : start + CHUNK]
            clock = [time.process_time()]
            valid = [validate_times(s)[0] for s in chunk]
            clock.append(time.process_time())
            pseudonymised = [
                pseudonymiser.statement(s, context_agents=transform.context_agents) for s in valid
            ]
            clock.append(time.process_time())
            for each in pseudonymised:
                fields.apply(each)
            clock.append(time.process_time())
            rows = [transform(s) for s in chunk]  # not a stage: the input of the next
            clock.append(time.process_time())
            for row in rows:
                buffer.add(*row)
            clock.append(time.process_time())
            buffer.flush()
            clock.append(time.process_time())
            laps = [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6)]
            for stage, (begin, end) in zip(STAGES, laps, strict=True):
                spent[stage] += clock[end] - clock[begin]
            gc.collect()
    finally:
        gc.enable()
    started = time.process_time()
    run_pipeline(enumerate(statements, start=1), 50_000)
    total = 1e6 * (time.process_time() - started) / len(statements)
    return (
        ", ".join(f"{stage} {1e6 * t / len(statements):.1f} µs" for stage, t in spent.items())
        + f" on their own; a run {total:.1f} µs per statement in all ({_build()})"
    )


def _build() -> str:
    compiled = Path(lake.__file__ or "").suffix != ".py"
    return "compiled with mypyc" if compiled else "pure Python"


def test_pipeline_throughput_per_core() -> None:
    statements = list(simulate(SPEC, 150_000))
    lines = [orjson.dumps(s) for s in statements]
    run_pipeline(enumerate(statements[:20_000], start=1), 50_000)  # warm-up
    rows, parsed, parsed_wall = rate(enumerate(statements, start=1))
    _, from_bytes, bytes_wall = rate(
        (i, orjson.loads(line)) for i, line in enumerate(lines, start=1)
    )
    print(
        f"\npipeline per core, {rows} statements: {parsed:,.0f}/CPU-s from parsed statements "
        f"({parsed_wall:,.0f}/s wall), {from_bytes:,.0f}/CPU-s from JSON Lines "
        f"({bytes_wall:,.0f}/s wall); goal {GOAL:,}/s; {host_load()}\n"
        f"CPU time per statement (50,000 statements): {stage_times(statements[:50_000])}"
    )
    assert rows == 150_000
    meet_or_xfail("pipeline statements per CPU second", min(parsed, from_bytes), GOAL, GUARD)


def peak_bytes(count: int) -> int:
    tracemalloc.start()
    try:
        assert run_pipeline(enumerate(simulate(SPEC, count), start=1), 5_000) == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def process_peak_mb() -> float:
    """This process's peak resident set size (``VmHWM``) since :func:`reset_process_peak`."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if "VmHWM" in line) / 1024


def reset_process_peak() -> None:
    """Start ``VmHWM`` again from the current resident set (Linux ``clear_refs``)."""
    Path("/proc/self/clear_refs").write_text("5")


def test_pipeline_memory_is_flat_in_input_size() -> None:
    """Python's heap (``tracemalloc``) is flat in the input; Arrow's buffers, which it does
    not see, are printed from Arrow's pool, and the whole process's peak beside them
    (``test_connector_memory_bench`` measures a connector process on its own)."""
    pool = pa.default_memory_pool()
    gc.collect()
    reset_process_peak()
    before = process_peak_mb()
    small, large = peak_bytes(20_000), peak_bytes(80_000)
    print(
        f"\npeak traced memory: {small / 1e6:.1f} MB for 20k, {large / 1e6:.1f} MB for 80k; "
        f"Arrow pool ({pool.backend_name}) peak {pool.max_memory() / 1e6:.1f} MB; this test "
        f"process's peak RSS {process_peak_mb() - before:.0f} MB above its {before:.0f} MB "
        f"before the runs; {host_load()}"
    )
    assert large < small * 1.3


def test_simulated_statements_end_to_end_through_s3_and_kafka(
    tmp_path: Path, s3_endpoint: str, kafka_bootstrap: str
) -> None:
    """``EDH_BENCH_E2E_STATEMENTS`` simulated statements (default 200,000; the acceptance run
    uses 1,000,000) from the connector to the S3 lake, registered, announced on Kafka."""
    count = int(os.environ.get("EDH_BENCH_E2E_STATEMENTS", "200000"))
    storage, bus = s3_settings(s3_endpoint), kafka_settings(kafka_bootstrap)
    db = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    with ingest_setup(db, tmp_path, storage, bus) as setup:
        events: dict[str, Any] = {}
        assert setup.ctx.bus is not None
        setup.ctx.bus.subscribe(REGISTERED_TOPIC, "bench", collector(events, setup.contract_id))
        client = setup.hub_client()
        start = time.perf_counter()
        report = push(
            enumerate(simulate(SimulationSpec(pupils=20_000, weeks=20), count), start=1),
            source="bench",
            client=client,
            key=setup.connector_key,
            target=Target(client.terms(setup.contract_id), setup.dataset_id),
            state=PipelineState.load(tmp_path / "state.json"),
            batch_size=50_000,
        )
        elapsed = time.perf_counter() - start
        client.close()
        deadline = time.monotonic() + 120
        while len(events) < report.batches_registered and time.monotonic() < deadline:
            time.sleep(0.2)
        print(
            f"\nend to end (S3 + Kafka): {report.accepted} statements, "
            f"{report.batches_registered} batches in {elapsed:.1f} s "
            f"({report.accepted / elapsed:,.0f}/s wall); {host_load()}"
        )
        assert report.accepted == count and not report.rejected
        assert sum(e["row_count"] for e in events.values()) == count
        assert_no_simulated_identifier(setup)


def assert_no_simulated_identifier(setup: IngestSetup) -> None:
    store = setup.ctx.store
    assert store is not None
    for key in store.list("lake/"):
        table = pq.read_table(io.BytesIO(store.get(key)), columns=["statement_json"])
        text = "\n".join(table.column("statement_json").to_pylist())
        assert "eleve." not in text and "prof." not in text and "Prof " not in text
