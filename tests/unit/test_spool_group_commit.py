"""Group commit: concurrent appends share commits, each still all or none and durable."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from connector.errors import Conflict, InvalidStatement
from connector.spool import Spool
from connector.spool.groupcommit import GroupCommit
from tests.unit.test_connector_spool import statement, voiding


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def test_queued_works_share_one_commit_and_a_refused_one_is_undone_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.sqlite3"
    db = _connect(path)
    db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    commits: list[str] = []
    db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    lock = threading.RLock()
    group = GroupCommit(db, lock)
    outcomes: dict[int, Any] = {}

    def work(n: int) -> None:
        def insert(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            if n == 3:
                raise ValueError("refused")
            return n * 10

        try:
            outcomes[n] = group.run(insert)
        except ValueError as exc:
            outcomes[n] = exc

    with lock:  # a commit in progress: the six works queue behind it
        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
    for thread in threads:
        thread.join(10)
    assert {n: o for n, o in outcomes.items() if n != 3} == {0: 0, 1: 10, 2: 20, 4: 40, 5: 50}
    assert isinstance(outcomes[3], ValueError)
    assert len(commits) == 1  # one commit (one fsync) for the whole group
    fresh = _connect(path)  # what another connection sees: committed rows only
    assert [r[0] for r in fresh.execute("SELECT n FROM t ORDER BY n")] == [0, 1, 2, 4, 5]


def test_concurrent_appends_are_each_all_or_none_and_durable(tmp_path: Path) -> None:
    """Oracle: an append that returned has every statement stored with its content; one
    that raised has none. Batches conflict with each other (a shared id with another
    content) or void a voiding statement, at random, from eight threads."""
    spool = Spool(tmp_path / "spool.sqlite3")
    shared_id = str(uuid.uuid4())
    voider = voiding(str(uuid.uuid4()))
    spool.append([voider])
    rng = random.Random(20)
    batches = []
    for n in range(80):
        batch = [statement() for _ in range(rng.randint(1, 5))]
        kind = rng.choice(["plain", "plain", "conflict", "void-voiding"])
        if kind == "conflict":  # the first to land wins; a different content conflicts
            batch.append(statement(id=shared_id, result={"response": str(n)}))
        elif kind == "void-voiding":
            batch.append(voiding(voider["id"]))
        batches.append(batch)
    results: dict[int, str] = {}

    def append(n: int) -> None:
        try:
            spool.append(batches[n])
            results[n] = "ok"
        except (Conflict, InvalidStatement):
            results[n] = "refused"

    threads = [threading.Thread(target=append, args=(n,)) for n in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    spool.close()
    stored = {s.statement["id"]: s.statement for s in Spool(spool.path).read_after(0, 10_000)}
    for n, batch in enumerate(batches):
        present = [s["id"] in stored and stored[s["id"]] == s for s in batch]
        assert all(present) if results[n] == "ok" else not any(present), n
    assert 10 < list(results.values()).count("refused") < 70  # both outcomes happened
