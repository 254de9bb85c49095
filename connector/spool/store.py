"""The connector's durable spool: accepted statements in SQLite (WAL, synchronous=FULL).

Contract (shared with the ingestion pipeline):

- ``append(statements)`` stores fully prepared statements (``id``, ``stored``,
  ``authority``, ``version`` filled) atomically and durably before returning their ids;
  batches appended concurrently share one commit (``connector.spool.groupcommit``), each
  still all or none.
  It is idempotent per statement: an id already stored with the same content is a no-op;
  with a different content it raises :class:`connector.errors.Conflict` and nothing of the
  batch is stored. A voiding statement marks its target voided; targeting a voiding
  statement raises :class:`connector.errors.InvalidStatement`.
- ``read_after(cursor, limit)`` returns statements with ``seq > cursor`` in ``seq`` order.
- ``get_cursor`` / ``set_cursor`` persist a consumer's position (durable, resumable).
- ``counts()`` reports totals for ``edh-connector status``.
- ``purge(shipped_through, before)`` forgets shipped and voided statements and documents
  stored before a time (the retention window); ``forget_agent(agent)`` forgets one pupil;
  both vacuum the file and truncate the WAL so deleted rows do not linger.

The spool is safe to share between threads of one process.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from connector.errors import BadRequest, Conflict, InvalidStatement
from connector.spool import activities, layout
from connector.spool.durations import comparable
from connector.spool.groupcommit import GroupCommit
from connector.spool.index import (
    VOIDED_VERB,
    agent_key,
    index_rows,
    key_hash,
    statement_ref,
)
from connector.spool.query import StatementQuery, build_query

COMPARISON_IGNORED = ("stored", "authority", "version")
INDEX_BATCH = 4000
"""Statements a spool leaves out of ``statement_index`` at most: the commit that reaches
this many indexes them all, sorted (``Spool._index_pending``). Indexed with each commit,
their index rows dirtied about three pages a statement; sorted, in batches, a page takes
many rows at once. Queries and ``forget_agent`` index what is left first."""
WAL_AUTOCHECKPOINT_PAGES = 4000
"""WAL pages (4 KB) written before a commit copies them back into the database (SQLite's
default: 1,000). The random index keys of each group commit dirty the same pages again
and again; a checkpoint copies each page once, so fewer, larger checkpoints write less
and hold the write lock less often (``docs/connector.md``, Performance)."""
SCOPE_SEPARATOR = "\x1f"
"""Separates the owners (activity, agent key, registration) of a document's scope."""


@dataclass(frozen=True)
class SpooledStatement:
    """A statement as stored, its position ``seq`` (monotonic) and whether it is voided."""

    seq: int
    statement: dict[str, Any]
    voided: bool


@dataclass(frozen=True)
class Attachment:
    """Raw attachment content, addressed by its SHA-256 (hex)."""

    sha2: str
    content_type: str
    content: bytes


def fingerprint(statement: dict[str, Any]) -> str:
    """Digest comparing statements, ignoring what the LRS itself fills in (``stored``,
    ``authority``, ``version``, and ``timestamp`` when it was filled from ``stored``), with
    durations to 0.01 s (:mod:`connector.spool.durations`)."""
    kept = {k: v for k, v in comparable(statement).items() if k not in COMPARISON_IGNORED}
    if "stored" in statement and kept.get("timestamp") == statement["stored"]:
        del kept["timestamp"]
    kept["id"] = str(kept.get("id", "")).lower()
    return hashlib.sha256(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _Row(NamedTuple):
    """What the spool stores of a prepared statement, computed outside the write lock (a
    tuple: built for every statement, it costs less than a frozen dataclass)."""

    statement: dict[str, Any]
    sid: str  # the id, lower-cased
    stored: str
    body: bytes
    voiding: bool
    ref: str | None  # the StatementRef target, lower-cased
    keys: str  # JSON arrays of its index key hashes, broad 0 ...
    related_keys: str  # ... and broad 1 (``connector.spool.layout``)

    @classmethod
    def of(cls, statement: dict[str, Any]) -> _Row:
        keys: tuple[list[int], list[int]] = ([], [])
        for kind, key, broad in index_rows(statement):
            keys[broad].append(key_hash(kind, key))
        ref = statement_ref(statement)
        return cls(
            statement,
            str(statement["id"]).lower(),
            statement["stored"],
            orjson.dumps(statement),
            ref is not None and statement["verb"]["id"] == VOIDED_VERB,
            ref,
            orjson.dumps(keys[0]).decode(),
            orjson.dumps(keys[1]).decode(),
        )


class Spool:
    """Durable statement store over one SQLite file (see module docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA cache_size=-16384")
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        layout.open_layout(self._db)
        self._commits = GroupCommit(self._db, self._lock)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed durably on success."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def append(
        self,
        statements: Sequence[dict[str, Any]],
        attachments: Sequence[Attachment] = (),
    ) -> list[str]:
        """Store ``statements`` (all or none) and return their ids, durable on return.

        A resent id is the same statement when :func:`fingerprint` agrees;
        ``attachments`` are stored in the same transaction.
        """
        rows = [_Row.of(s) for s in statements]  # built before taking the write lock
        if len({row.sid for row in rows}) != len(rows):
            raise BadRequest("statements: the batch holds the same statement id twice")

        def store(db: sqlite3.Connection) -> None:
            new = self._new_statements(db, rows)
            self._check_voiding(db, new)
            self._insert(db, new)
            activities.remember(db, [row.statement for row in new])
            db.executemany(
                "INSERT OR IGNORE INTO attachments(sha2, content_type, content) VALUES (?,?,?)",
                [(a.sha2, a.content_type, a.content) for a in attachments],
            )

        self._commits.run(store)  # concurrent batches share one durable commit
        return [str(s["id"]) for s in statements]

    @staticmethod
    def _new_statements(db: sqlite3.Connection, rows: list[_Row]) -> list[_Row]:
        ids = [row.sid for row in rows]
        marks = ",".join("?" * len(ids))
        known = dict(
            db.execute(f"SELECT id, body FROM statements WHERE id IN ({marks})", ids)  # noqa: S608
        )
        new = []
        for row in rows:
            if row.sid not in known:
                new.append(row)
            elif fingerprint(orjson.loads(known[row.sid])) != fingerprint(row.statement):
                raise Conflict(f"id: statement {row.sid} already exists with a different content")
        return new

    @staticmethod
    def _check_voiding(db: sqlite3.Connection, rows: list[_Row]) -> None:
        batch_voiding = {row.sid for row in rows if row.voiding}
        for target in (row.ref for row in rows if row.voiding):
            found = db.execute("SELECT voiding FROM statements WHERE id = ?", (target,))
            stored = found.fetchone()
            if target in batch_voiding or (stored is not None and stored[0]):
                raise InvalidStatement(
                    "object.id: a voiding statement cannot target another voiding statement"
                )

    @staticmethod
    def _insert(db: sqlite3.Connection, new: list[_Row]) -> None:
        """Insert new statements with explicit, consecutive ``seq`` (we hold the write lock);
        index them, with every other statement not yet indexed, once ``INDEX_BATCH`` wait."""
        if not new:
            return
        ids = [row.sid for row in new]
        marks = ",".join("?" * len(ids))
        voided = {
            row[0]
            for row in db.execute(
                f"SELECT ref_id FROM statements WHERE voiding = 1 AND ref_id IN ({marks})",  # noqa: S608
                ids,
            )
        }
        first_seq = Spool._last_seq(db) + 1
        db.executemany(
            "INSERT INTO statements VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (seq, row.sid, row.stored, row.body, int(row.sid in voided), row.voiding, row.ref,
                 row.keys, row.related_keys)
                for seq, row in enumerate(new, first_seq)
            ],
        )  # fmt: skip
        db.executemany(
            "UPDATE statements SET voided = 1 WHERE id = ?",
            [(row.ref,) for row in new if row.voiding],
        )
        indexed = db.execute("SELECT through FROM index_state").fetchone()[0]
        if first_seq + len(new) - 1 - indexed >= INDEX_BATCH:
            Spool._index_pending(db)

    @staticmethod
    def _last_seq(db: sqlite3.Connection) -> int:
        """The highest ``seq`` ever given (``AUTOINCREMENT``: never reused), 0 at first."""
        last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'statements'").fetchone()
        return int(last[0]) if last else 0

    @staticmethod
    def _index_pending(db: sqlite3.Connection) -> None:
        """Add the index rows of every statement past ``index_state.through``, in key order,
        inside the caller's write transaction."""
        pending = "statements AS s WHERE s.seq > (SELECT through FROM index_state)"
        db.execute(
            "INSERT OR IGNORE INTO statement_index(key_hash, broad, seq)"  # noqa: S608
            f" SELECT k.value, 0, s.seq FROM json_each(s.keys) AS k, {pending}"
            f" UNION ALL SELECT k.value, 1, s.seq FROM json_each(s.related_keys) AS k, {pending}"
            " ORDER BY 1, 2, 3"
        )
        db.execute("UPDATE index_state SET through = ?", (Spool._last_seq(db),))

    def _index_all(self) -> None:
        """Make ``statement_index`` cover every statement (a durable commit when some were
        not), before a query reads it."""
        with self._lock:
            pending = self._db.execute(
                "SELECT 1 FROM index_state WHERE through < ?", (self._last_seq(self._db),)
            ).fetchone()
            if pending:
                with self.transaction() as db:
                    self._index_pending(db)

    def activity_definition(self, activity_id: str) -> dict[str, Any] | None:
        """The canonical definition of an activity (``connector.spool.activities``), or
        ``None``."""
        row = self.fetch_one("SELECT definition FROM activities WHERE id = ?", (activity_id,))
        return None if row is None else dict(orjson.loads(row[0]))

    def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """One row of a read-only query on the spool database (``None`` when empty)."""
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
        return row

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a read-only query on the spool database."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def get(self, statement_id: str) -> SpooledStatement | None:
        """The statement with this id (voided or not), or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, body, voided FROM statements WHERE id = ?", (statement_id.lower(),)
            ).fetchone()
        return None if row is None else SpooledStatement(row[0], orjson.loads(row[1]), bool(row[2]))

    def read_after(self, cursor: int, limit: int) -> list[SpooledStatement]:
        """Up to ``limit`` statements with ``seq > cursor``, in ``seq`` order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body, voided FROM statements WHERE seq > ? ORDER BY seq LIMIT ?",
                (cursor, limit),
            ).fetchall()
        return [SpooledStatement(seq, orjson.loads(body), bool(v)) for seq, body, v in rows]

    def query(self, query: StatementQuery) -> list[SpooledStatement]:
        """Non-voided statements matching an xAPI statement query (``limit + 1`` at most)."""
        sql, params = build_query(query)
        with self._lock:
            self._index_all()
            rows = self._db.execute(sql, params).fetchall()
        return [SpooledStatement(seq, orjson.loads(body), False) for seq, body in rows]

    def last_seq(self) -> int:
        """The highest ``seq`` stored (0 when empty)."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM statements").fetchone()
        return int(row[0])

    def attachment(self, sha2: str) -> Attachment | None:
        """The attachment with this SHA-256, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT content_type, content FROM attachments WHERE sha2 = ?", (sha2,)
            ).fetchone()
        return None if row is None else Attachment(sha2, row[0], bytes(row[1]))

    def get_cursor(self, consumer: str) -> int:
        """The last ``seq`` that ``consumer`` processed (0 when it never set one)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM cursors WHERE consumer = ?", (consumer,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def set_cursor(self, consumer: str, seq: int) -> None:
        """Durably record that ``consumer`` processed everything up to ``seq``."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO cursors(consumer, seq) VALUES (?, ?)"
                " ON CONFLICT(consumer) DO UPDATE SET seq = excluded.seq",
                (consumer, seq),
            )

    def forget_agent(self, agent: dict[str, Any]) -> int:
        """Delete every statement naming ``agent`` (as actor, object, group member,
        instructor or team) and every document scoped to it, then checkpoint the WAL and
        VACUUM so no deleted row lingers in the file; the statements deleted."""
        key = agent_key(agent)
        if key is None:
            return 0
        with self.transaction() as db:
            self._index_pending(db)
            seqs = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT seq FROM statement_index WHERE key_hash = ?",
                    (key_hash("agent", key),),
                )
            ]
            for seq in seqs:
                db.execute("DELETE FROM statement_index WHERE seq = ?", (seq,))
                db.execute("DELETE FROM statements WHERE seq = ?", (seq,))
            if self._has_documents(db):
                scopes = db.execute("SELECT DISTINCT scope FROM documents").fetchall()
                for (scope,) in scopes:
                    if key in str(scope).split(SCOPE_SEPARATOR):
                        db.execute("DELETE FROM documents WHERE scope = ?", (scope,))
        self.compact()
        return len(seqs)

    def purge(self, shipped_through: int, before: str) -> dict[str, int]:
        """Forget what the connector no longer needs: statements shipped (``seq`` up to
        ``shipped_through``) or voided, and documents, stored before ``before`` (the
        spool's time format), then attachments no statement refers to; compacts the file.
        Statements not yet shipped are always kept. Returns the counts deleted."""
        doomed = "FROM statements WHERE stored < ? AND (seq <= ? OR voided = 1)"
        args = (before, shipped_through)
        with self.transaction() as db:
            db.execute(f"DELETE FROM statement_index WHERE seq IN (SELECT seq {doomed})", args)  # noqa: S608
            statements = db.execute(f"DELETE {doomed}", args).rowcount
            documents = 0
            if self._has_documents(db):
                documents = db.execute(
                    "DELETE FROM documents WHERE updated < ?", (before,)
                ).rowcount
            attachments = db.execute(
                "DELETE FROM attachments WHERE NOT EXISTS (SELECT 1 FROM statements"
                " WHERE instr(body, CAST(attachments.sha2 AS BLOB)) > 0)"
            ).rowcount
        self.compact()
        return {"statements": statements, "documents": documents, "attachments": attachments}

    @staticmethod
    def _has_documents(db: sqlite3.Connection) -> bool:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'documents'"
        )
        return found.fetchone() is not None

    def oldest_stored(self, shipped_through: int) -> str | None:
        """When the oldest statement the next purge may remove was stored (None: none)."""
        row = self.fetch_one(
            "SELECT min(stored) FROM statements WHERE seq <= ? OR voided = 1", (shipped_through,)
        )
        return str(row[0]) if row and row[0] is not None else None

    def compact(self) -> None:
        """Rewrite the file without free pages and empty the WAL (deleted rows gone)."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def counts(self) -> dict[str, int]:
        """Totals: ``statements``, ``voided``, ``attachments`` and ``pending:<consumer>``."""
        with self._lock:
            db = self._db
            out = {
                "statements": db.execute("SELECT COUNT(*) FROM statements").fetchone()[0],
                "voided": db.execute("SELECT COUNT(*) FROM statements WHERE voided=1").fetchone()[
                    0
                ],
                "attachments": db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0],
            }
            for consumer, seq in db.execute("SELECT consumer, seq FROM cursors").fetchall():
                pending = db.execute("SELECT COUNT(*) FROM statements WHERE seq > ?", (seq,))
                out[f"pending:{consumer}"] = pending.fetchone()[0]
        return out
