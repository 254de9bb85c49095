"""In-process policy decision latency (p50/p99) and throughput under 2 threads.

Goal (docs/architecture.md): p99 < 1 ms for an in-process decision, on realistic data documents
(2,000 researchers, 300 projects, 300 contracts, 100 connectors). The test machine is
shared, so each decision is timed twice: wall clock, and the CPU time of the calling
thread (the engine runs on it; time spent preempted by other processes is excluded).
The goal is asserted on CPU time, in the quietest of several rounds; all numbers print.

The enforcement point adds a freshness check before each decision (one primary-key read
of ``policy_data_version`` in the caller's session, then the lock shared with
republication): its overhead is measured on SQLite and PostgreSQL, interleaved with plain
engine decisions so both see the same machine load.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from typing import Any

import pytest
from sqlmodel import Session

from hub.app import POLICY_DOCUMENTS
from hub.db import make_engine, upgrade
from hub.enforcement.data import PolicyDataSync, read_version
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from tests.benchmarks.goals import host_load, meet_or_xfail

pytestmark = pytest.mark.benchmark

DECISIONS = 1_500
ROUNDS = 8
P99_GOAL_MS = 1.0
P99_GUARD_MS = 2.5
CHECK_P50_GOAL_MS = 1.0
CHECK_P50_GUARD_MS = 2.5
Samples = list[tuple[float, float]]


def _contract(i: int) -> dict[str, Any]:
    return {
        "id": f"c{i}", "version": 1, "state": "FINALIZED", "provider_id": f"p{i % 20}",
        "project_id": f"pr{i}", "datasets": [f"d{i}", "video"],
        "allowed_fields": ["actor_pseudonym", "verb_id", "object_id", "timestamp", "school_id"],
        "min_cell_size": 10, "row_level": False, "rounding_base": 5, "purpose": f"purpose {i}",
        "valid_from": "2026-01-01", "valid_until": "2026-12-31", "retention_days": 180,
        "connector_ids": [f"k{i % 100}"],
    }  # fmt: skip


def _researcher(i: int) -> dict[str, Any]:
    return {
        "id": f"id{i}", "lab_id": f"lab{i % 50}", "accredited_from": "2026-01-01",
        "accredited_until": "2026-12-31", "revoked": False,
    }  # fmt: skip


def _engine() -> InProcessPolicyEngine:
    engine = InProcessPolicyEngine(PolicyBundle.load())
    engine.put_data("edh/researchers", {f"r{i}": _researcher(i) for i in range(2_000)})
    projects = {
        f"pr{i}": {
            "lab_id": f"lab{i % 50}",
            "members": [f"r{j}" for j in range(i % 50, 2_000, 50)][:8],
            "purpose": f"purpose {i}",
        }
        for i in range(300)
    }
    engine.put_data("edh/projects", projects)
    engine.put_data("edh/contracts", {f"c{i}": _contract(i) for i in range(300)})
    connectors = {f"k{i}": {"organisation_id": f"p{i % 20}", "revoked": False} for i in range(100)}
    engine.put_data("edh/connectors", connectors)
    return engine


def _query(i: int) -> dict[str, Any]:
    project = i % 300
    return {
        "subject": {"sub": f"r{project % 50}", "role": "researcher", "org": None},
        "today": "2026-05-04",
        "project_id": f"pr{project}",
        "contract_id": f"c{project}",
        "purpose": f"purpose {project}",
        "tables": ["video"],
        "columns": [{"table": "video", "column": c} for c in ("verb_id", "school_id")],
        "row_level": False,
    }


def _timed(engine: InProcessPolicyEngine, start: int, out: Samples) -> None:
    """Decide ``DECISIONS`` queries, appending (wall, thread CPU) seconds per decision."""
    for i in range(start, start + DECISIONS):
        query = _query(i)
        wall, cpu = time.perf_counter(), time.thread_time()
        decision = engine.decide("edh/sandbox/query", query)
        out.append((time.perf_counter() - wall, time.thread_time() - cpu))
        assert decision.allow, decision.reasons


def _ms(values: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    quantiles = statistics.quantiles(values, n=100)
    return quantiles[49] * 1e3, quantiles[98] * 1e3


def _two_threads(engine: InProcessPolicyEngine) -> tuple[float, Samples]:
    """Decisions per second with 2 threads sharing the engine, and their samples."""
    samples: list[Samples] = [[], []]
    threads = [
        threading.Thread(target=_timed, args=(engine, n * DECISIONS, samples[n])) for n in range(2)
    ]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    both = samples[0] + samples[1]
    assert len(both) == 2 * DECISIONS
    return len(both) / (time.perf_counter() - t0), both


def test_policy_decision_latency_and_throughput() -> None:
    gc.collect()  # close the engines earlier tests left behind: the hub runs one
    engine = _engine()
    _timed(engine, 0, [])  # warm the prepared-query cache
    rounds: list[Samples] = []
    for r in range(ROUNDS):
        rounds.append([])
        _timed(engine, r * DECISIONS, rounds[-1])
    for r, samples in enumerate(rounds):
        wall, cpu = _ms([s[0] for s in samples]), _ms([s[1] for s in samples])
        line = f"wall p50 {wall[0]:.3f} p99 {wall[1]:.3f} ms; cpu p50 {cpu[0]:.3f} p99 {cpu[1]:.3f}"
        print(f"\nround {r}: {line} ms", end="")
    rate, both = _two_threads(engine)
    best = min(rounds, key=lambda samples: _ms([s[1] for s in samples])[1])
    cpu_p50, cpu_p99 = _ms([s[1] for s in best])
    wall_2t = _ms([s[0] for s in both])
    print(
        f"\npolicy edh/sandbox/query in-process, quietest round: cpu p50 {cpu_p50:.3f} ms, "
        f"p99 {cpu_p99:.3f} ms; 2 threads: {rate:,.0f} decisions/s, "
        f"wall p50 {wall_2t[0]:.3f} ms, p99 {wall_2t[1]:.3f} ms; {host_load()}"
    )
    meet_or_xfail("decision p99 CPU ms", cpu_p99, P99_GOAL_MS, P99_GUARD_MS, lower_is_better=True)


def _with_and_without_check(sync: PolicyDataSync, start: int) -> tuple[Samples, Samples]:
    """Wall seconds of plain engine decisions and of checked ones (own session each; the
    session's first statement is the version read, as in a request)."""
    plain: Samples = []
    checked: Samples = []
    for i in range(start, start + DECISIONS):
        query = _query(i)
        for out, session in ((plain, None), (checked, Session(sync.engine))):
            wall, cpu = time.perf_counter(), time.thread_time()
            if session is None:
                decision = sync.policy.decide("edh/sandbox/query", query)
            else:
                decision = sync.decide(session, "edh/sandbox/query", query)
            out.append((time.perf_counter() - wall, time.thread_time() - cpu))
            assert decision.allow, decision.reasons
            if session is not None:
                session.close()
    return plain, checked


def _checked_rate_two_threads(sync: PolicyDataSync) -> float:
    """Checked decisions per second with 2 threads, each in its own sessions."""

    def run(start: int) -> None:
        for i in range(start, start + DECISIONS):
            with Session(sync.engine) as session:
                assert sync.decide(session, "edh/sandbox/query", _query(i)).allow

    threads = [threading.Thread(target=run, args=(n * DECISIONS,)) for n in range(2)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * DECISIONS / (time.perf_counter() - t0)


def test_freshness_check_overhead(db_url: str) -> None:
    gc.collect()
    db_engine = make_engine(db_url)
    upgrade(db_engine)
    sync = PolicyDataSync(db_engine, _engine(), POLICY_DOCUMENTS)
    with Session(db_engine) as session:
        sync.published = read_version(session)  # the realistic documents stand for the facts
    _with_and_without_check(sync, 0)  # warm the engine and the connection pool
    rounds = [_with_and_without_check(sync, r * DECISIONS) for r in range(3)]
    rate = _checked_rate_two_threads(sync)
    db_engine.dispose()
    plain, checked = min(rounds, key=lambda pair: _ms([s[0] for s in pair[1]])[1])
    p50, p99 = _ms([s[0] for s in plain])
    c50, c99 = _ms([s[0] for s in checked])
    print(
        f"\n{db_engine.dialect.name}: plain wall p50 {p50:.3f} p99 {p99:.3f} ms; with version "
        f"check p50 {c50:.3f} p99 {c99:.3f} ms (overhead p50 {c50 - p50:.3f} ms); "
        f"2 threads, checked: {rate:,.0f} decisions/s; {host_load()}"
    )
    meet_or_xfail(
        "freshness check p50 ms",
        c50 - p50,
        CHECK_P50_GOAL_MS,
        CHECK_P50_GUARD_MS,
        lower_is_better=True,
    )
