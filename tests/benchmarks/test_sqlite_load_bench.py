"""One hub on the embedded SQLite default serves 100 concurrent clients with 0 errors.

The hub runs as ``edh serve`` in its own process (dev mode, SQLite, in-process OPA);
100 client threads each keep one request in flight for ``SECONDS``: DPO audit searches
(a policy decision and an audit event each: a write), operator and researcher list
reads, and ``/health``. Goal: no error of any kind (5xx, 403 from a policy that could
not read its data, a request waiting over 30 s), and the throughput printed and judged.
A status other than 200 always fails; timeouts are judged as a share of the requests
(goal 0; guard 25 %: a collapse), since a busy host makes some requests wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.auth import TokenIssuer
from hub.config import AuthSettings
from hub.keys import load_or_create_key
from tests.benchmarks.goals import host_load, meet_or_xfail
from tests.support.browser import free_port

CLIENTS = 100
SECONDS = 15.0
GOAL_RPS, GUARD_RPS = 150.0, 2.0
GOAL_TIMEOUTS, GUARD_TIMEOUTS = 0.0, 0.25
"""Goal: the issue's 220 req/s at 38 readers, kept at 100 clients (less the audit writes).
Guard: a collapse (stalls, lock convoys) rather than a slow or busy host."""


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {
        **os.environ,
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(tmp_path),
        "EDH_LOG_LEVEL": "WARNING",
        "EDH_AUDIT__SCHEDULER_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _client(url: str, headers: list[dict[str, str]], stop: float, tally: Counter[str]) -> None:
    paths = ["/api/v1/audit/events?limit=20", "/api/v1/organisations", "/health",
             "/api/v1/catalog"]  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while time.monotonic() < stop:
            path, who = paths[i % len(paths)], headers[i % len(headers)]
            i += 1
            try:
                status = client.get(path, headers=who).status_code
                tally["ok" if status == 200 else f"{status} {path}"] += 1
            except httpx.HTTPError as exc:
                tally[f"{type(exc).__name__} {path}"] += 1


def test_one_sqlite_hub_serves_100_concurrent_clients(sqlite_hub: tuple[str, Path]) -> None:
    url, data_dir = sqlite_hub
    key = load_or_create_key(data_dir / "keys" / "issuer-ed25519.pem", allow_create=False)
    issuer = TokenIssuer(key, AuthSettings())
    dpo = {"Authorization": f"Bearer {issuer.mint('dpo.1', ['dpo'])}"}
    op = {"Authorization": f"Bearer {issuer.mint('op.1', ['operator'])}"}
    # each path is read by the role that may read it: the DPO for audit, else the operator
    headers = [dpo, op, dpo, op]
    tallies: list[Counter[str]] = [Counter() for _ in range(CLIENTS)]
    stop = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=_client, args=(url, headers, stop, tally)) for tally in tallies
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    tally = sum(tallies, Counter())
    total = sum(tally.values())
    errors = {k: v for k, v in tally.items() if k != "ok"}
    rps = total / elapsed
    print(
        f"\n{CLIENTS} clients, {elapsed:.1f} s: {total} requests, {rps:.0f} req/s, {errors=}; "
        f"{host_load()}"
    )
    answered_wrong = {k: v for k, v in errors.items() if not k.startswith("ReadTimeout")}
    assert answered_wrong == {}, answered_wrong
    timeouts = sum(errors.values()) / total
    meet_or_xfail(
        f"{CLIENTS} clients on SQLite: share of requests over 30 s",
        timeouts,
        GOAL_TIMEOUTS,
        GUARD_TIMEOUTS,
        lower_is_better=True,
    )
    meet_or_xfail(f"{CLIENTS} concurrent clients on SQLite (req/s)", rps, GOAL_RPS, GUARD_RPS)
