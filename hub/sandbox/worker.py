"""The locked-down DuckDB worker: one fresh child process per query.

Children are forked from multiprocessing's fork server (a clean, single-threaded process
that preloaded DuckDB, Arrow and this module, never the application's main module), never
from the multi-threaded hub, so one starts in milliseconds; an idle child has already
opened its DuckDB. Priorities (Linux keeps one per thread, and a thread's children and
threads inherit it): the fork server is started at ``WORKER_NICE`` below the hub, so a
child is born there before it does anything; a spare's warm-up (opening DuckDB) runs in
a helper thread at ``WARM_NICE``, the lowest, so a warming spare always yields the CPU
to a running query (a child spawned for a job, no spare being ready, warms at the worker
priority: it is on the job's clock).

``run`` starts the child, which opens an in-memory DuckDB with extension autoinstall and
autoload off, allows exactly the hub-built Parquet paths, creates the project's views,
then disables external access and locks the configuration before it runs the query. The
child interrupts its own query at the deadline; ``run`` kills it one grace second later
if it is still alive, so a runaway query never outlives ``deadline_s + GRACE_S``. The
kernel bounds the child too (address space and CPU time). A failure reports the error's
class only (``failure_reason``), never its message. ``run`` never raises for query
problems: the outcome says what happened.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing as mp
import os
import re
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import forkserver, popen_forkserver, reduction, util
from multiprocessing import spawn as mp_spawn
from multiprocessing.connection import Connection
from multiprocessing.context import set_spawning_popen
from typing import Any

from hub.sandbox.s3lake import S3Access

GRACE_S = 0.5
HEADROOM_BYTES = 512 * 2**20  # the interpreter, DuckDB and Arrow themselves
CPU_GRACE_S = 2
WORKER_NICE = 10
WARM_NICE = 19  # the lowest priority: a spare opening its DuckDB
STARTUP_S = 30.0
STARTED = "started"
READY = "ready"  # the child has opened its DuckDB and waits for a job
_CTX = mp.get_context("forkserver")
_CTX.set_forkserver_preload(["duckdb", "pyarrow", "hub.sandbox.worker"])


class _LeanPopen(popen_forkserver.Popen):
    """Starts a child from the fork server without the application's main module.

    multiprocessing re-runs ``__main__`` in every child (under ``edh serve``, the whole
    CLI) so that objects defined there unpickle; the worker's target and job live in this
    package, so its children skip that (the fork server preloads only DuckDB, Arrow and
    this module)."""

    def _launch(self, process_obj: Any) -> None:
        # popen_forkserver.Popen._launch (CPython 3.11), minus the main module's keys
        prep = mp_spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump({k: v for k, v in prep.items() if k not in _MAIN_KEYS}, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the parent's sentinel, as in CPython
        close = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


_MAIN_KEYS = frozenset({"init_main_from_name", "init_main_from_path"})


class _WorkerProcess(_CTX.Process):  # type: ignore[name-defined,misc]
    @staticmethod
    def _Popen(process_obj: Any) -> _LeanPopen:
        return _LeanPopen(process_obj)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one query."""

    memory_limit: str = "1GB"
    threads: int = 2
    temp_directory: str = ""
    max_temp_directory_size: str = "1GB"
    deadline_s: float = 30.0
    max_rows: int = 10_000


@dataclass(frozen=True)
class WorkerJob:
    """What the child needs: views DDL, the files they read, the queries, limits, the key."""

    ddl: tuple[str, ...]
    paths: tuple[str, ...]
    queries: tuple[str, ...]
    limits: Limits
    secret: str
    s3: S3Access | None = None


@dataclass
class Outcome:
    """``status`` is ok, error, timeout, too_many_rows or cancelled; ``ipc`` holds one
    Arrow IPC stream per query."""

    status: str
    message: str = ""
    ipc: list[bytes] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Child:
    proc: Any
    conn: Connection


class Pool:
    """Keeps one idle child ready (DuckDB already imported) so a query skips the spawn.

    Each child runs exactly one query and exits; ``run`` takes the spare (or spawns one)
    and, once its query is over, starts the next spare in the background: a warming spare
    never competes with the query that took the last one. The first spare warms as the
    pool is made. Thread-safe; ``close`` stops it for good.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: _Child | None = None
        self._closed = False
        self._priority = min(WARM_NICE, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)
        _in_thread_at(self._priority, forkserver.ensure_running)
        threading.Thread(target=self._refill, daemon=True).start()  # ready for the first

    def run(self, job: WorkerJob, on_start: Callable[[Any], None] | None = None) -> Outcome:
        """Run ``job`` in a fresh child process and return its outcome (module docstring)."""
        started = time.monotonic()
        child = self._take()
        child.conn.send(job)
        if on_start:
            on_start(child.proc)
        try:
            outcome = _wait(child.conn, child.proc, job.limits.deadline_s + GRACE_S)
        finally:
            threading.Thread(target=self._retire, args=(child,), daemon=True).start()
        outcome.stats.setdefault("wall_s", round(time.monotonic() - started, 4))
        return outcome

    def close(self) -> None:
        """Stop the idle child; no spare is made after this (idempotent)."""
        with self._lock:
            spare, self._spare, self._closed = self._spare, None, True
        if spare is not None:
            spare.proc.kill()
            spare.conn.close()

    def _take(self) -> _Child:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.proc.is_alive():
            return spare
        return _spawn(self._priority, self._priority)  # on the job's clock: no lower

    def wait_for_spare(self, timeout: float) -> bool:
        """True once an idle child has opened its DuckDB, False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._spare is not None:
                    return True
            time.sleep(0.01)
        return False

    def _retire(self, child: _Child) -> None:
        """Reap a child whose outcome is in (off the query's clock), then warm the next."""
        child.proc.join(timeout=1)
        child.conn.close()
        self._refill()

    def _refill(self) -> None:
        child = _spawn(self._priority, WARM_NICE)
        if not (child.conn.poll(STARTUP_S) and child.conn.recv() == READY):
            child.proc.kill()
            return
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare, child = child, None  # type: ignore[assignment]
        if child is not None:
            child.proc.kill()


def _in_thread_at(priority: int, work: Callable[[], Any]) -> Any:
    """``work()`` run by a helper thread lowered to ``priority`` (at least its own), and
    its result; the caller's priority is untouched (Linux: per thread)."""
    done: list[Any] = []

    def lowered() -> None:
        _lower_own_priority(priority)
        done.append(work())

    helper = threading.Thread(target=lowered)
    helper.start()
    helper.join()
    if not done:
        raise RuntimeError("the helper thread failed")
    return done[0]


def _lower_own_priority(priority: int) -> None:
    """Lower the calling thread's priority to ``priority`` (never raise it)."""
    if os.getpriority(os.PRIO_PROCESS, 0) < priority:
        os.setpriority(os.PRIO_PROCESS, 0, priority)


def _spawn(priority: int, warm_priority: int) -> _Child:
    """A child running at ``priority`` that warms up at ``warm_priority``."""
    parent, child = _CTX.Pipe(duplex=True)
    args = (child, priority, warm_priority)
    proc = _WorkerProcess(target=_child_main, args=args, daemon=True)
    proc.start()
    child.close()
    return _Child(proc, parent)


def _wait(parent: Connection, proc: Any, budget: float) -> Outcome:
    """Wait for the child's "started" signal, then at most ``budget`` for its outcome.

    ``stats["run_s"]`` is the time from the start of the query to its outcome or kill.
    """
    began = time.monotonic()
    try:
        first = parent.recv() if parent.poll(STARTUP_S) else None
        if first == READY:  # a child spawned for this job: it opened DuckDB first
            first = parent.recv() if parent.poll(STARTUP_S) else None
        if isinstance(first, Outcome):
            return first
        began = time.monotonic()
        if first == STARTED and parent.poll(budget):
            result: Outcome = parent.recv()
            result.stats["run_s"] = round(time.monotonic() - began, 4)
            return result
    except (EOFError, OSError):
        proc.join(timeout=1)
    outcome = _dead_or_killed(proc)
    outcome.stats["run_s"] = round(time.monotonic() - began, 4)
    return outcome


def _dead_or_killed(proc: Any) -> Outcome:
    if proc.is_alive():
        proc.kill()
        return Outcome("timeout", "the query was stopped at its deadline (worker killed)")
    if proc.exitcode is not None and proc.exitcode < 0:
        return Outcome("cancelled", "the query was stopped (worker killed)")
    return Outcome("error", f"the worker ended unexpectedly (exit code {proc.exitcode})")


def _child_main(conn: Connection, priority: int, warm_priority: int) -> None:
    # born at ``priority`` from the fork server; lowered here if that one was started
    # elsewhere (it is shared by the process): the query never slows the hub
    _lower_own_priority(priority)
    # DuckDB starts while the child is idle, not on the job's clock; a spare warms in a
    # thread at the lowest priority, so it never slows a running query
    con = _in_thread_at(warm_priority, _warm)
    try:
        conn.send(READY)
        job: WorkerJob = conn.recv()
    except EOFError:
        return
    try:
        conn.send(_execute(job, con, conn))
    except Exception as exc:  # the child must always answer
        conn.send(Outcome("error", failure_reason(exc)))
    finally:
        conn.close()


def _execute(job: WorkerJob, con: Any, conn: Connection) -> Outcome:
    import duckdb

    _lock_down(con, job)
    conn.send(STARTED)
    timer = threading.Timer(job.limits.deadline_s, con.interrupt)
    timer.start()
    t0 = time.monotonic()
    results, stats = [], []
    try:
        for sql in job.queries:
            reader = con.execute(sql).fetch_record_batch(job.limits.max_rows + 1)
            results.append(reader.read_all())
            stats.append(_stats(con))
    except duckdb.InterruptException:
        return Outcome(
            "timeout", f"the query was interrupted at its {job.limits.deadline_s:g} s deadline"
        )
    except duckdb.Error as exc:
        return Outcome("error", failure_reason(exc))
    finally:
        timer.cancel()
    if any(t.num_rows > job.limits.max_rows for t in results):
        return Outcome("too_many_rows", f"the result has more than {job.limits.max_rows} rows")
    total = _total(stats, time.monotonic() - t0)
    return Outcome("ok", ipc=[_to_ipc(t) for t in results], stats=total)


def _warm() -> Any:
    """What a spare does before its job: Arrow imported (the fork server preloaded it,
    unless it was started elsewhere) and DuckDB opened. No warm-up query: the memory it
    reserves would count against the job's address-space limit."""
    import pyarrow  # noqa: F401

    return _open()


def _open() -> Any:
    """An in-memory DuckDB that can neither install nor load extensions, with one thread:
    no DuckDB worker thread is started until the job's ``SET threads`` (from the child's
    main thread, so at its priority)."""
    import duckdb

    config: dict[str, Any] = {
        "threads": 1,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
    }
    return duckdb.connect(":memory:", config=config)


def _lock_down(con: Any, job: WorkerJob) -> None:
    """Apply the job's limits (DuckDB's, and the kernel's on this process: address
    space ``memory_limit + HEADROOM_BYTES``, CPU time ``deadline_s`` per thread), allow
    its paths, create its views, then lock DuckDB."""
    limits = job.limits
    memory = _bytes(limits.memory_limit) + HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(limits.deadline_s * limits.threads) + CPU_GRACE_S
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + CPU_GRACE_S))
    settings: dict[str, Any] = {
        "threads": limits.threads,
        "memory_limit": limits.memory_limit,
        "max_temp_directory_size": limits.max_temp_directory_size,
    }
    if limits.temp_directory:
        settings["temp_directory"] = limits.temp_directory
    for name, value in settings.items():
        con.execute(f"SET {name} = ?", [value])
    for statement in job.s3.setup() if job.s3 else ():
        con.execute(statement)
    con.execute("SET allowed_paths = ?", [list(job.paths)])
    for statement in job.ddl:
        con.execute(statement)
    con.execute("SET enable_profiling = 'no_output'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _stats(con: Any) -> dict[str, float]:
    info = json.loads(con.get_profiling_information())
    return {
        "cpu_s": float(info.get("cpu_time", 0.0)),
        "rows_scanned": float(info.get("cumulative_rows_scanned", 0)),
        "peak_temp_bytes": float(info.get("system_peak_temp_dir_size", 0)),
    }


def _total(stats: list[dict[str, float]], elapsed: float) -> dict[str, Any]:
    """Resources of the whole job: CPU summed; rows scanned of the first query; the
    process's peak resident memory (the kernel's measure) and the spill peak."""
    first = stats[0] if stats else {}
    return {
        "query_s": round(elapsed, 4),
        "cpu_s": round(sum(s["cpu_s"] for s in stats), 4),
        "rows_scanned": int(first.get("rows_scanned", 0)),
        "peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "peak_temp_bytes": int(max((s["peak_temp_bytes"] for s in stats), default=0)),
    }


def failure_reason(exc: BaseException) -> str:
    """What a researcher may read of a failed query: the error class and a fixed hint,
    never the message (DuckDB's messages can quote row values)."""
    kind = type(exc).__name__
    return f"the query failed: {kind} ({_HINTS.get(kind, 'see the sandbox documentation')})"


_HINTS = {
    "OutOfMemoryException": "out of memory: the memory or temp-space limit was reached",
    "MemoryError": "out of memory: the memory limit was reached",
    "ConversionException": "a value could not be converted; TRY_CAST gives NULL instead",
    "OutOfRangeException": "a value is out of range",
    "InvalidInputException": "an input value is invalid for a function",
    "BinderException": "a name or a type does not match the views",
    "ParserException": "syntax error",
    "InterruptException": "the query was interrupted",
}


def _bytes(size: str) -> int:
    """``'1GB'`` -> bytes (binary units, so never below DuckDB's own reading)."""
    number, unit = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?I?B?)\s*", size.upper()).groups()  # type: ignore[union-attr]
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[unit.rstrip("B").rstrip("I")]
    return int(float(number) * 1024**power)


def _to_ipc(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())
