"""Group commit: writes from concurrent threads share one durable commit (one fsync).

Contract of :meth:`GroupCommit.run`: ``work(db)`` runs on the shared connection, under its
lock, in submission order, inside a transaction and its own savepoint. ``run`` returns
its result only once that transaction has committed (durable, ``synchronous=FULL``), or
raises what ``work`` raised, in which case nothing ``work`` did is kept (its savepoint is
rolled back) and the other works of the group commit regardless. A failed commit fails
every work of its group; nothing of it is kept.

How: a thread queues its work, then takes the connection lock; unless an earlier holder
already committed its work, it runs every queued work in one transaction and commits
once. While one group's commit waits on the disk, the next group queues up, so under
load an fsync serves many requests; alone, a work commits at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Queued(Generic[T]):
    work: Callable[[sqlite3.Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


class GroupCommit:
    """Shared durable commits on ``db``, serialised by ``lock`` (see module docstring)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock
        self._queue: list[_Queued[Any]] = []
        self._queue_lock = threading.Lock()

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(db)``'s result once durably committed (module docstring)."""
        queued: _Queued[T] = _Queued(work)
        with self._queue_lock:
            self._queue.append(queued)
        with self._lock:
            if not queued.done.is_set():  # no earlier holder committed it: lead a group
                with self._queue_lock:
                    group, self._queue = self._queue, []
                self._commit(group)
        if queued.error is not None:
            raise queued.error
        return queued.result  # type: ignore[return-value]

    def _commit(self, group: list[_Queued[Any]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for queued in group:
                    self._run_one(queued)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except BaseException as exc:
            for queued in group:
                queued.error = queued.error or exc
        finally:
            for queued in group:
                queued.done.set()

    def _run_one(self, queued: _Queued[Any]) -> None:
        self._db.execute("SAVEPOINT work")
        try:
            queued.result = queued.work(self._db)
        except Exception as exc:  # this work's own refusal: undone alone
            self._db.execute("ROLLBACK TO work")
            queued.error = exc
        self._db.execute("RELEASE work")
