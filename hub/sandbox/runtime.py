"""The sandbox's running parts: settings, contract source, worker pool, job executor,
and the keeper that holds the leases of its jobs and takes over orphaned ones."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hub.context import HubContext
from hub.ingest.public import IntegrityGuard
from hub.sandbox import lease, recovery
from hub.sandbox.dp.release import Settings as DpSettings
from hub.sandbox.observed import ReleaseTick
from hub.sandbox.s3lake import S3Access, S3Lake
from hub.sandbox.scope import ContractSource, Lake, RegistryContracts, StaticContracts
from hub.sandbox.verified import VerifiedLake
from hub.sandbox.worker import Limits, Pool
from hub.settings.sandbox import SandboxSettings
from hub.storage.s3 import S3Store

log = logging.getLogger("hub.sandbox.runtime")


class SandboxRuntime:
    """One per hub: runs jobs on ``concurrency`` threads, each driving one worker child.

    From its creation until ``close``, its keeper renews the lease of the jobs it works
    on and takes over the jobs that dead hub processes left behind (``recovery``).
    """

    def __init__(
        self, ctx: HubContext, settings: SandboxSettings, source: ContractSource | None = None
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.dp = DpSettings(settings.dp_delta, settings.dp_max_cells_per_pupil)
        self.tick = ReleaseTick(settings.release_tick_s, settings.release_min_s)
        self.source = source or _default_source(settings)
        self.s3 = _s3_access(ctx, settings)
        self.lake: Lake = settings.lake_dir or _store_root(ctx) / "lake"
        if self.s3 is not None and ctx.store is not None:
            self.lake = S3Lake(ctx.store, self.s3.bucket)
        self.verified = VerifiedLake(self.lake, IntegrityGuard(ctx.engine, lambda: ctx.bus))
        self.lake = self.verified
        self.temp_root = ctx.settings.data_dir / "sandbox-tmp"
        self.pool = Pool()
        self.executor = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="sandbox")
        self.processes: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.runner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._active: set[str] = set()
        self._active_lock = threading.Lock()
        self.keeper = recovery.Keeper(self)
        self.keeper.start()

    def limits(self, job_id: str) -> Limits:
        """The limits of one job, with its own spill directory."""
        temp = self.temp_root / job_id
        temp.mkdir(parents=True, exist_ok=True)
        s = self.settings
        return Limits(
            memory_limit=s.memory_limit,
            threads=s.threads,
            temp_directory=str(temp),
            max_temp_directory_size=s.max_temp_directory_size,
            deadline_s=s.deadline_s,
            max_rows=s.max_rows,
        )

    def submit(self, job_id: str, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on the executor; job ``job_id`` counts as active (its lease
        renewed) until ``fn`` returns."""

        def run() -> Any:
            try:
                return fn(*args)
            finally:
                with self._active_lock:
                    self._active.discard(job_id)

        with self._active_lock:
            self._active.add(job_id)
        try:
            return self.executor.submit(run)
        except RuntimeError:  # closed: the job's lease expires, another hub takes it
            with self._active_lock:
                self._active.discard(job_id)
            raise

    def active(self) -> frozenset[str]:
        """The jobs this runtime is working on (queued on its executor or running)."""
        with self._active_lock:
            return frozenset(self._active)

    def close(self) -> None:
        """Stop the keeper and accepting jobs, wait for running ones, stop the idle
        worker, and hand back the jobs still queued so another hub takes them at once
        (idempotent)."""
        self.keeper.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.pool.close()
        try:
            lease.hand_back(self.ctx.engine, self.runner_id)
        except SQLAlchemyError:
            log.warning("could not hand back the queued sandbox jobs; their lease will expire")


def _store_root(ctx: HubContext) -> Path:
    """The local object store's directory (where ingestion writes ``lake/...``)."""
    root = getattr(ctx.store, "root", None)
    return Path(root) if root is not None else ctx.settings.data_dir / "objects"


def _s3_access(ctx: HubContext, settings: SandboxSettings) -> S3Access | None:
    """The worker's access to the lake bucket, when the hub's store is the S3 adapter and
    no local ``lake_dir`` overrides it."""
    if settings.lake_dir is None and isinstance(ctx.store, S3Store):
        return S3Access.of(ctx.settings.storage)
    return None


def _default_source(settings: SandboxSettings) -> ContractSource:
    if settings.contracts_file:
        docs = json.loads(Path(settings.contracts_file).read_text(encoding="utf-8"))
        return StaticContracts(docs)
    return RegistryContracts()


_RUNTIMES: dict[int, SandboxRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


def runtime_for(ctx: HubContext) -> SandboxRuntime:
    """The runtime of ``ctx``, created on first use (``install`` may set one first)."""
    with _RUNTIMES_LOCK:
        if id(ctx) not in _RUNTIMES:
            _RUNTIMES[id(ctx)] = SandboxRuntime(ctx, ctx.settings.sandbox)
        return _RUNTIMES[id(ctx)]


def install(runtime: SandboxRuntime) -> SandboxRuntime:
    """Use ``runtime`` for its context (tests, the demo), closing the one it replaces;
    returns it."""
    with _RUNTIMES_LOCK:
        replaced = _RUNTIMES.get(id(runtime.ctx))
        _RUNTIMES[id(runtime.ctx)] = runtime
    if replaced is not None and replaced is not runtime:
        replaced.close()
    return runtime


def uninstall(ctx: HubContext) -> None:
    """Close and forget the runtime of ``ctx`` (idempotent)."""
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.pop(id(ctx), None)
    if runtime is not None:
        runtime.close()
