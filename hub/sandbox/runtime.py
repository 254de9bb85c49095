"""The sandbox's running parts: settings, contract source, worker pool, job executor."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hub.context import HubContext
from hub.sandbox.s3lake import S3Access, S3Lake
from hub.sandbox.scope import ContractSource, Lake, RegistryContracts, StaticContracts
from hub.sandbox.settings import SandboxSettings
from hub.sandbox.worker import Limits, Pool
from hub.storage.s3 import S3Store


class SandboxRuntime:
    """One per hub: runs jobs on ``concurrency`` threads, each driving one worker child."""

    def __init__(
        self, ctx: HubContext, settings: SandboxSettings, source: ContractSource | None = None
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.source = source or _default_source(settings)
        self.s3 = _s3_access(ctx, settings)
        self.lake: Lake = settings.lake_dir or _store_root(ctx) / "lake"
        if self.s3 is not None and ctx.store is not None:
            self.lake = S3Lake(ctx.store, self.s3.bucket)
        self.temp_root = ctx.settings.data_dir / "sandbox-tmp"
        self.pool = Pool()
        self.executor = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="sandbox")
        self.processes: dict[str, Any] = {}
        self.lock = threading.Lock()

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

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        return self.executor.submit(fn, *args)

    def close(self) -> None:
        """Stop accepting jobs, wait for running ones, stop the idle worker."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.pool.close()


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
            _RUNTIMES[id(ctx)] = SandboxRuntime(ctx, SandboxSettings())
        return _RUNTIMES[id(ctx)]


def install(runtime: SandboxRuntime) -> SandboxRuntime:
    """Use ``runtime`` for its context (tests, the demo); returns it."""
    with _RUNTIMES_LOCK:
        _RUNTIMES[id(runtime.ctx)] = runtime
    return runtime


def uninstall(ctx: HubContext) -> None:
    """Close and forget the runtime of ``ctx`` (idempotent)."""
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.pop(id(ctx), None)
    if runtime is not None:
        runtime.close()
