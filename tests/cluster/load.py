"""The vendors' side: emitters posting xAPI statements to a connector at a steady rate
(retrying what was not acknowledged, with the same ids) and a shipper running
``edh-connector ship`` in a loop."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from connector.config import DEV_XAPI_SECRET
from connector.pipeline.simulate import SimulationSpec, simulate
from tests.cluster.topology import CONNECTOR

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}


def statements(seed: int) -> Iterator[dict[str, Any]]:
    """An endless stream of simulated school statements with fresh ids."""
    for round_ in itertools.count():
        spec = SimulationSpec(pupils=60, weeks=2, seed=seed * 1000 + round_)
        for statement in simulate(spec, 5000):
            yield {**statement, "id": str(uuid.uuid4())}


class Emitter(threading.Thread):
    """Posts ``per_post`` statements every ``interval`` seconds to ``url`` until stopped;
    ``acknowledged`` holds the ids answered with 200."""

    def __init__(self, url: str, seed: int, per_post: int = 10, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.url, self.per_post, self.interval = url, per_post, interval
        self.source = statements(seed)
        self.acknowledged: set[str] = set()
        self.failures = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(auth=("edh-connector", DEV_XAPI_SECRET), timeout=10) as client:
            pending = list(itertools.islice(self.source, self.per_post))
            while not self.stopping.is_set():
                if self._post(client, pending):
                    pending = list(itertools.islice(self.source, self.per_post))
                self.stopping.wait(self.interval)

    def _post(self, client: httpx.Client, batch: list[dict[str, Any]]) -> bool:
        try:
            answer = client.post(f"{self.url}/xapi/statements", json=batch, headers=XAPI_HEADERS)
        except httpx.HTTPError:
            self.failures += 1
            return False
        if answer.status_code != 200:
            self.failures += 1
            return False
        self.acknowledged.update(answer.json())
        return True


class Shipper(threading.Thread):
    """Runs ``edh-connector ship`` every ``interval`` seconds (one at a time) until stopped."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Any, interval: float = 1.0):
        super().__init__(daemon=True)
        self.name, self.env, self.interval = name, env, interval
        self.log = log_dir / f"{name}-ship.log"
        self.current: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.stopping = threading.Event()

    def ship_once(self, timeout: float = 120) -> int:
        """One ``ship`` run; its exit code (-9 when killed, 124 on timeout)."""
        with self.log.open("ab") as out:
            self.current = subprocess.Popen(
                [*CONNECTOR, "ship"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            return self.current.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.current.kill()
            self.current.wait()
            return 124
        finally:
            self.runs += 1

    def kill_current(self) -> bool:
        """SIGKILL the ``ship`` run in flight, if any."""
        proc = self.current
        if proc is None or proc.poll() is not None:
            return False
        proc.kill()
        return True

    def run(self) -> None:
        while not self.stopping.is_set():
            self.ship_once()
            self.stopping.wait(self.interval)


def drain(shipper: Shipper, attempts: int = 10) -> bool:
    """Ship until a run succeeds (bounded); True if the spool was shipped."""
    for _ in range(attempts):
        if shipper.ship_once() == 0:
            return True
        time.sleep(1)
    return False
