"""Connector xAPI throughput against Ralph, measured in the same run on the same statements.

Peer: Ralph (``ralph-malph``, the LRS of France Université Numérique) in a side
environment (``tests/benchmarks/ralph.py``), interleaved with ours, best pass of each.
- Strict validation: our ``validate_statements`` (batches of 100) against Ralph's strict
  ``BaseXapiStatement`` model, one statement at a time (its own API), in CPU seconds,
  each side in a long-lived process of its own (``validation_worker.py``).
  Goal: ≥ 25x Ralph.
- HTTP ingestion: the real ``edh-connector run`` server against Ralph's LRS on its
  file-system backend, each in its own process, the same client posting batches of 100
  from 4 threads. Ours answers 200 only once the batch is fsynced; Ralph's backend does
  not fsync. Goal: ≥ 15x Ralph's statements per second.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.benchmarks import ralph
from tests.benchmarks.goals import host_load, meet_or_xfail
from tests.benchmarks.validation_worker import ValidationWorker
from tests.support.connector_fixtures import basic, connector_env, serve_connector

pytestmark = pytest.mark.benchmark
VALIDATION_RATIO_GOAL, VALIDATION_RATIO_GUARD = 25, 10
HTTP_RATIO_GOAL, HTTP_RATIO_GUARD = 15, 5
PASSES = 5
CLIENTS = 4


def test_validation_against_ralph(sample_statements: list[dict[str, Any]], tmp_path: Path) -> None:
    jsonl = ralph.write_jsonl(sample_statements, tmp_path / "sample.jsonl")
    ours_argv = [sys.executable, "-m", "tests.benchmarks.validation_worker", str(jsonl)]
    workers = {"ours": ValidationWorker(ours_argv), "ralph": ralph.validation(jsonl)}
    passes: dict[str, list[float]] = {"ours": [], "ralph": []}
    try:
        assert {w.count for w in workers.values()} == {len(sample_statements)}
        for _ in range(PASSES):
            for side, worker in workers.items():
                seconds, refused = worker.run()
                assert refused == 0, "both sides must accept the same statements"
                passes[side].append(seconds)
    finally:
        for worker in workers.values():
            worker.close()
    our_rate, their_rate = (len(sample_statements) / min(passes[s]) for s in ("ours", "ralph"))
    ratio = our_rate / their_rate
    print(
        f"\nxAPI strict validation, {len(sample_statements):,} statements, best of {PASSES}"
        f" interleaved, each side in a process of its own: ours {our_rate:,.0f}/CPU-s,"
        f" Ralph {ralph.VERSION} {their_rate:,.0f}/CPU-s: {ratio:.1f}x"
        f" (goal {VALIDATION_RATIO_GOAL}x); {host_load()}"
    )
    meet_or_xfail(
        "validation speed-up over Ralph", ratio, VALIDATION_RATIO_GOAL, VALIDATION_RATIO_GUARD
    )


def _post_all(url: str, headers: dict[str, str], bodies: list[bytes]) -> float:
    """Wall seconds for ``CLIENTS`` threads to post every body (each must answer 200)."""
    with httpx.Client(headers=headers, timeout=120) as client:

        def post(body: bytes) -> int:
            return client.post(url, content=body).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            codes = list(pool.map(post, bodies))
        elapsed = time.perf_counter() - started
    assert set(codes) == {200}, sorted(set(codes))
    return elapsed


def _ours(tmp: Path, bodies: list[bytes]) -> float:
    with serve_connector(connector_env(tmp, "bench", "bench-secret")) as (url, _pid):
        headers = {
            "Authorization": basic("bench", "bench-secret"),
            "X-Experience-API-Version": "2.0.0",
            "Content-Type": "application/json",
        }
        return _post_all(f"{url}/statements", headers, bodies)


def _ralph(tmp: Path, bodies: list[bytes]) -> float:
    with ralph.serve(tmp) as (url, _pid):
        token = base64.b64encode(f"{ralph.USER}:{ralph.PASSWORD}".encode()).decode()
        headers = {
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
        }
        return _post_all(url, headers, bodies)


def test_http_ingestion_against_ralph(
    sample_statements: list[dict[str, Any]], tmp_path: Path
) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    bodies = [
        orjson.dumps(sample_statements[offset : offset + 100])
        for offset in range(0, len(sample_statements), 100)
    ]
    runs: dict[str, list[float]] = {"ours": [], "ralph": []}
    sides: dict[str, Callable[[Path, list[bytes]], float]] = {"ours": _ours, "ralph": _ralph}
    for round_ in range(2):
        for name, side in sides.items():
            runs[name].append(side(tmp_path / f"{name}-{round_}", bodies))
    ours = len(sample_statements) / min(runs["ours"])
    theirs = len(sample_statements) / min(runs["ralph"])
    ratio = ours / theirs
    print(
        f"\nxAPI HTTP ingestion, {len(sample_statements):,} statements in batches of 100 from"
        f" {CLIENTS} client threads, best of 2 interleaved: ours {ours:,.0f}/s (fsynced before"
        f" 200), Ralph {ralph.VERSION} fs backend {theirs:,.0f}/s: {ratio:.1f}x"
        f" (goal {HTTP_RATIO_GOAL}x); {host_load()}; {os.cpu_count()} cores shared by"
        " servers and client"
    )
    meet_or_xfail("HTTP ingestion speed-up over Ralph", ratio, HTTP_RATIO_GOAL, HTTP_RATIO_GUARD)
