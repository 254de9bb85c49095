"""Jobs that a hub process left behind (crash, kill, redeploy), and the keeper thread.

Each sandbox runtime has a keeper that, at start-up and then every ``heartbeat_s``,
renews the lease of the jobs the runtime works on and takes over the orphans
(``lease``: jobs whose hub has not renewed their lease for ``lease_s``):

- an orphan left **queued** is claimed, then vetted again exactly as on submission (SQL,
  scope, policy decision) and run; when the facts now refuse it (a contract suspended,
  an accreditation revoked meanwhile) it ends refused with the reasons;
- an orphan left **running** ends failed: "interrupted by a hub restart; submit again"
  (``jobs.interrupt`` says why it is not run again).

A job is claimed by one conditional UPDATE, so two hubs never take the same job, and a
job whose hub is alive (lease renewed) is never taken. Each outcome is audited in the
transaction that changes the job.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from hub.db import session_scope
from hub.sandbox import jobs, lease

if TYPE_CHECKING:
    from hub.sandbox.runtime import SandboxRuntime

log = logging.getLogger("hub.sandbox.recovery")


def sweep(runtime: SandboxRuntime) -> int:
    """Take over the orphaned jobs (module docstring); return how many this call took.
    A job that fails to be taken over is logged and left to a later sweep."""
    taken = 0
    found = lease.orphans(runtime.ctx.engine, runtime.settings.lease_s, runtime.active())
    for job_id, status in found:
        try:
            taken += _take(runtime, job_id, status)
        except Exception:
            log.exception("could not take over sandbox job %s", job_id)
    if taken:
        log.info("took over %d sandbox job(s) left by stopped hub processes", taken)
    return taken


def _take(runtime: SandboxRuntime, job_id: str, status: str) -> bool:
    settings, runner = runtime.settings, runtime.runner_id
    with session_scope(runtime.ctx.engine) as session:
        if not lease.claim(session, job_id, status, runner, settings.lease_s):
            return False  # another hub was first
        if status == "running":
            jobs.interrupt(session, job_id)
            return True
    jobs.resume(runtime, job_id)
    return True


class Keeper:
    """Renews the runtime's leases and sweeps for orphans, at start and then every
    ``heartbeat_s``, on a daemon thread until ``stop``."""

    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current tick (idempotent)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def tick(self) -> None:
        """One renewal and one sweep; errors are logged, never raised."""
        runtime = self._runtime
        try:
            lease.renew(runtime.ctx.engine, runtime.runner_id, runtime.active())
            sweep(runtime)
        except Exception:
            log.exception("sandbox keeper tick failed")

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.tick()
            self._stopped.wait(self._runtime.settings.heartbeat_s)
