"""Connector pipeline throughput per core (CPU time) and memory flatness in input size.

Measures validate → pseudonymise → minimise → Parquet → signed manifest on simulated
school traces, from parsed statements and from JSON Lines bytes. Goal: ≥ 100,000 statements/s
on one core; peak memory must not grow with the number of statements (streaming).
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
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

from connector.pipeline.batch import Transformer, build_batches
from connector.pipeline.lake import RowBuffer
from connector.pipeline.manifest import build_manifest
from connector.pipeline.pseudonymise import Pseudonymiser
from connector.pipeline.runner import Target, push
from connector.pipeline.simulate import SimulationSpec, simulate
from connector.pipeline.state import PipelineState
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


# Where the time goes: the (file, function) of each stage, timed by cProfile in CPU time.
STAGES = {
    "validate": (("connector/pipeline/validate.py", "validate"),),
    "pseudonymise": (("connector/pipeline/pseudonymise.py", "statement"),),
    "minimise": (("contracts/minimisation.py", "apply"),),
    "columns for Arrow": (("connector/pipeline/lake.py", "add"),),
    "manifest and signature": (
        ("connector/pipeline/manifest.py", "build_manifest"),
        ("contracts/batch_manifest.py", "sign_manifest"),
    ),
}


def stage_shares(statements: list[Any]) -> str:
    """Each stage's share of the pipeline's CPU time, and its CPU microseconds per
    statement. Arrow's table build and Parquet encoding (``RowBuffer.flush``, native code)
    are timed directly in an unprofiled run; the Python stages share the rest as one
    profiled run splits it (the profiler slows Python code, so only its proportions are
    used)."""
    native, per_statement = _flush_share(statements)
    profile = cProfile.Profile(time.process_time)
    profile.runcall(run_pipeline, enumerate(statements, start=1), 50_000)
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    flush = sum(v[3] for (f, _, fn), v in stats.items() if (fn, True) in _match(f, FLUSH))
    python = sum(v[2] for v in stats.values()) - flush
    spent = {
        stage: sum(v[3] for (f, _, fn), v in stats.items() if (fn, True) in _match(f, funcs))
        for stage, funcs in STAGES.items()
    }
    scale = (1 - native) / python
    shares = {stage: t * scale for stage, t in spent.items()}
    shares["Arrow build and Parquet encode"] = native
    shares["the rest"] = (python - sum(spent.values())) * scale
    return (
        ", ".join(
            f"{stage} {100 * share:.0f} % ({share * per_statement:.1f} µs)"
            for stage, share in shares.items()
        )
        + f"; {per_statement:.1f} µs per statement in all"
    )


FLUSH = (("connector/pipeline/lake.py", "flush"),)


def _flush_share(statements: list[Any]) -> tuple[float, float]:
    """The share of an unprofiled run's CPU time spent in ``RowBuffer.flush``, and the
    run's CPU microseconds per statement."""
    spent, flush = [0.0], RowBuffer.flush

    def timed(self: RowBuffer) -> None:
        started = time.process_time()
        flush(self)
        spent[0] += time.process_time() - started

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RowBuffer, "flush", timed)
        started = time.process_time()
        run_pipeline(enumerate(statements, start=1), 50_000)
        elapsed = time.process_time() - started
    return spent[0] / elapsed, 1e6 * elapsed / len(statements)


def _match(file: str, functions: tuple[tuple[str, str], ...]) -> set[tuple[str, bool]]:
    return {(fn, file.endswith(path)) for path, fn in functions}


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
        f"where the CPU time goes (run of 50,000, split as a profiled run splits it): "
        f"{stage_shares(statements[:50_000])}"
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
