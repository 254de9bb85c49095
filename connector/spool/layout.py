"""The spool file's layout (tables), its version (``PRAGMA user_version``) and migrations.

Layout 1 (current): each statement row carries its index keys (``connector.spool.index``)
as JSON arrays of key hashes: ``keys`` (rows with ``broad`` 0) and ``related_keys``
(``broad`` 1, matched only with ``related_agents``/``related_activities``);
``statement_index`` holds them
for the statements up to ``index_state.through`` and the spool adds the others in sorted
batches (``connector.spool.store``, ``INDEX_BATCH``). Layout 0 (the releases before, no
version set) indexed every statement in its own commit and had neither these columns
nor ``index_state``: :func:`open_layout` migrates it in one transaction, its statements all
counted as indexed. A file of a newer layout is refused.
"""

from __future__ import annotations

import sqlite3

LAYOUT = 1

_TABLES = """
CREATE TABLE statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    stored TEXT NOT NULL,
    body BLOB NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0,
    voiding INTEGER NOT NULL DEFAULT 0,
    ref_id TEXT,
    keys TEXT,
    related_keys TEXT
);
CREATE INDEX statements_ref ON statements(ref_id) WHERE ref_id IS NOT NULL;
CREATE TABLE statement_index (
    key_hash INTEGER NOT NULL,
    broad INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key_hash, broad, seq)
) WITHOUT ROWID;
CREATE TABLE index_state (through INTEGER NOT NULL);
INSERT INTO index_state VALUES (0);
CREATE TABLE cursors (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE activities (id TEXT PRIMARY KEY, definition BLOB NOT NULL);
CREATE TABLE attachments (
    sha2 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL
);
"""

_FROM_0 = """
ALTER TABLE statements ADD COLUMN keys TEXT;
ALTER TABLE statements ADD COLUMN related_keys TEXT;
CREATE TABLE index_state (through INTEGER NOT NULL);
INSERT INTO index_state
    SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'statements';
"""


class NewerLayout(RuntimeError):
    """The spool file was written by a newer release (its layout is unknown here)."""


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def open_layout(db: sqlite3.Connection) -> None:
    """Bring the file open on ``db`` (autocommit mode) to layout :data:`LAYOUT`: create
    it when empty, migrate layout 0; raise :class:`NewerLayout` past ours. A file already
    at :data:`LAYOUT` is only read (no write lock taken)."""
    if _version(db) == LAYOUT:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _version(db)  # again, under the write lock: another opener may have won
        if version > LAYOUT:
            raise NewerLayout(f"spool layout {version}: this release reads up to {LAYOUT}")
        if version < LAYOUT:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'statements'")
            script = _FROM_0 if found.fetchone() else _TABLES
            for sql in script.split(";"):
                if sql.strip():
                    db.execute(sql)
            db.execute(f"PRAGMA user_version = {LAYOUT}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
