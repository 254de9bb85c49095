"""Class 6 (timing): what a researcher observes of a job does not show how long it ran.

Two queries differ only by a hidden per-pupil predicate (``result_duration_s >= 0``: every
row; ``>= 1000``: none) that makes one run far longer than the other. Ground truth: on a
release grid of 10 ms the reported DuckDB time follows the real one, and the two differ
more than tenfold, and so do their reported ``finished_at - started_at``. On a
production-like grid (a tick of 1 s, at least 10 s), both jobs, submitted together, show
the same states in the same order over polling, are never seen ended before their
reported ``finished_at``, report ``finished_at - started_at`` of exactly 10 s and the
same resources; on both release paths (differential privacy, and the airlock, whose
resources are shown with the release).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.context import HubContext
from hub.sandbox.models import ACTIVE
from hub.sandbox.runtime import SandboxRuntime, install, uninstall
from hub.sandbox.scope import RegistryContracts
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world

HIDDEN = (
    "WITH h AS (SELECT pupil_id, result_duration_s AS d FROM statements "
    "WHERE result_duration_s >= {threshold}), p AS (SELECT pupil_id, count(*) AS n "
    "FROM h JOIN h AS h2 USING (pupil_id) JOIN h AS h3 USING (pupil_id) "
    "JOIN h AS h4 USING (pupil_id) JOIN h AS h5 USING (pupil_id) GROUP BY pupil_id) "
    "SELECT count(*) AS pupils FROM p"
)
SLOW, FAST = HIDDEN.format(threshold=0), HIDDEN.format(threshold=1000)
FINE = {"release_tick_s": 0.01, "release_min_s": 0.0}
GRID = {"release_tick_s": 1.0, "release_min_s": 10.0}
POLL_S = 0.02


@pytest.fixture(params=["differential_privacy", "reviewed"])
def world(
    request: pytest.FixtureRequest, client: TestClient, hub_ctx: HubContext, lake: Path
) -> Iterator[SandboxWorld]:
    """100 pupils of 10 statements each, on either release path."""
    world = build_sandbox_world(
        client, hub_ctx, lake, pupils=100, deadline_s=30, release_mode=request.param
    )
    yield world
    uninstall(hub_ctx)


@dataclass
class Seen:
    """What polling showed of one job: its distinct states in order, when (UTC) the first
    answer showing it ended was received, and its last answer."""

    states: list[str] = field(default_factory=list)
    ended_seen: datetime | None = None
    job: dict[str, Any] = field(default_factory=dict)


def _on_grid(world: SandboxWorld, values: dict[str, float]) -> None:
    settings = world.runtime.settings.model_copy(update=values)
    world.runtime = install(SandboxRuntime(world.ctx, settings, RegistryContracts()))


def _observe(world: SandboxWorld, *sqls: str) -> list[Seen]:
    """Submit ``sqls`` together, poll every 20 ms until all have ended, then release a
    held result (two output checkers) to read its resources."""
    ids, seen = [], []
    for sql in sqls:
        resp = world.submit(sql)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
        seen.append(Seen([resp.json()["status"]]))
    while any(s.states[-1] in ACTIVE for s in seen):
        for job_id, s in zip(ids, seen, strict=True):
            if s.states[-1] not in ACTIVE:
                continue
            body = world.client.get(f"/api/v1/queries/{job_id}", headers=world.headers()).json()
            if body["status"] != s.states[-1]:
                s.states.append(body["status"])
            if body["status"] not in ACTIVE:
                s.ended_seen = datetime.now(UTC)
            s.job = body
        time.sleep(POLL_S)
    for s in seen:
        if s.job["status"] == "pending_review":
            s.job = world.approve(s.job["id"])
    return seen


def _instant(job: dict[str, Any], name: str) -> datetime:
    return datetime.fromisoformat(job[name]).replace(tzinfo=UTC)  # SQLite's are naive UTC


def _reported_s(job: dict[str, Any]) -> float:
    return (_instant(job, "finished_at") - _instant(job, "started_at")).total_seconds()


def _on_a_warm_worker(world: SandboxWorld, sql: str) -> Seen:
    """Observe ``sql`` once a warmed worker waits for it: a job that finds none warms
    its own on its clock, which on a loaded host can outweigh the fast query itself."""
    assert world.runtime.pool.wait_for_spare(30)
    return _observe(world, sql)[0]


def _fastest_of(world: SandboxWorld, sql: str, runs: int) -> Seen:
    """The quickest of ``runs`` observations of ``sql`` on warm workers: on a shared host
    another process can stall one run, and the ground truth is what the query costs."""
    seen = [_on_a_warm_worker(world, sql) for _ in range(runs)]
    return min(seen, key=lambda s: float(s.job["resources"]["query_s"]))


def test_a_tenfold_run_time_difference_is_not_observable(world: SandboxWorld) -> None:
    _on_grid(world, FINE)
    _observe(world, FAST)  # the new runtime's first worker warms up
    fast, slow = _fastest_of(world, FAST, runs=3), _on_a_warm_worker(world, SLOW)
    truth_fast, truth_slow = fast.job["resources"]["query_s"], slow.job["resources"]["query_s"]
    # ten ticks of the fine grid apart at least: plainly visible without the real grid
    assert truth_slow >= 10 * truth_fast and truth_slow - truth_fast >= 0.1, (fast, slow)
    assert _reported_s(slow.job) - _reported_s(fast.job) >= 0.1  # the grid is what hides it

    _on_grid(world, GRID)
    fast, slow = _observe(world, FAST, SLOW)
    assert fast.states == slow.states and fast.states[0] == "queued" and len(fast.states) >= 3
    assert _reported_s(fast.job) == _reported_s(slow.job) == GRID["release_min_s"]
    for s in (fast, slow):  # never seen ended before its release instant
        assert s.ended_seen is not None and s.ended_seen >= _instant(s.job, "finished_at")
    assert fast.job["resources"] == slow.job["resources"]
    assert fast.job["resources"]["query_s"] == GRID["release_min_s"]
