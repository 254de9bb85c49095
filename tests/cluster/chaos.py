"""The chaos driver: for a bounded time, kill -9 (or pause) a random process of the
topology at random moments and bring it back after a random delay; some kills take two
processes of different kinds down together (overlapping outages)."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.cluster.load import Shipper
from tests.cluster.procs import Service

# Killed with SIGKILL and restarted, or paused (SIGSTOP/SIGCONT): every process of the
# topology, by kind ("ship" is a connector's ``edh-connector ship`` run in flight).
KILLABLE = ("hub-", "connector-", "ship", "proxy", "broker", "opa", "postgres", "s3")
PAUSABLE = ("hub-", "connector-", "proxy", "broker", "opa", "postgres", "s3")
# Two processes down at once come back in this order. A hub does not start without its
# database (it checks the schema is migrated) or its OPA server (it uploads its policies
# first): both come back before it, as an orchestrator's restarts eventually do; the
# broker keeps its log on the S3 server, which comes back first. The broker comes back
# last: a hub taken down with it starts during its outage (the bus connects later).
RESTART_ORDER = ("s3", "postgres", "opa", "proxy", "hub-", "connector-", "broker")


def _restart_rank(service: Service) -> int:
    ranks = (i for i, kind in enumerate(RESTART_ORDER) if service.name.startswith(kind))
    return next(ranks, len(RESTART_ORDER))


@dataclass
class ChaosReport:
    """What was done: actions by kind and target, and the services that did not come back."""

    actions: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    not_restarted: list[str] = field(default_factory=list)


@dataclass
class Chaos:
    """Random kills over ``services`` and ``shippers`` (``rng`` makes a run reproducible)."""

    services: dict[str, Service]
    shippers: list[Shipper]
    rng: random.Random
    report: ChaosReport = field(default_factory=ChaosReport)
    untried: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Every kind is killed once (in random order) before any is killed twice.
        self.untried = self.rng.sample(KILLABLE, len(KILLABLE))

    def run(
        self, kills: int, seconds: float, pause_share: float = 0.2, overlap_share: float = 0.2
    ) -> ChaosReport:
        """``kills`` kills (plus pauses, ``pause_share`` of the actions) spread over
        ``seconds`` (three times ``seconds`` at most: restarts take time); a kill takes a
        second service of another kind down with it in ``overlap_share`` of the cases.
        Always returns with every service running."""
        deadline = time.monotonic() + 3 * seconds
        gap = seconds / max(kills, 1)
        while self.report.kills < kills and time.monotonic() < deadline:
            if self.rng.random() < pause_share:
                self._pause()
            else:
                self._kill(overlap=self.rng.random() < overlap_share)
            time.sleep(self.rng.uniform(0, gap))
        return self.report

    def _pick(self, kind: str) -> Service:
        names = [n for n in self.services if n.startswith(kind)]
        return self.services[self.rng.choice(names)]

    def _kill(self, overlap: bool) -> None:
        kind = self.untried.pop() if self.untried else self.rng.choice(KILLABLE)
        if kind == "ship":
            shipper = self.rng.choice(self.shippers)
            if shipper.kill_current():
                self.report.kills += 1
                self.report.actions[f"kill {shipper.name} ship"] += 1
            else:
                self.untried.insert(0, kind)  # no run in flight: try again later
            return
        down = [self._pick(kind)]
        if overlap:
            other = self.rng.choice([k for k in KILLABLE if k not in (kind, "ship")])
            down.append(self._pick(other))
        for service in down:
            service.kill()
        self.report.kills += len(down)
        self.report.actions["kill " + " + ".join(s.name for s in down)] += 1
        time.sleep(self.rng.uniform(0.2, 3.0))
        for service in sorted(down, key=_restart_rank):
            self.restart(service)

    def _pause(self) -> None:
        service = self._pick(self.rng.choice(PAUSABLE))
        service.pause()
        self.report.actions[f"pause {service.name}"] += 1
        time.sleep(self.rng.uniform(0.2, 3.0))
        service.resume()

    def restart(self, service: Service) -> None:
        """Start ``service`` again; a service that does not answer is recorded."""
        try:
            service.start()
        except RuntimeError:
            self.report.not_restarted.append(service.name)
