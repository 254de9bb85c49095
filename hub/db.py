"""Metadata database: engine, sessions, migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite (the embedded default)."""
    return engine.dialect.name == "sqlite"


READS = "edh_reads"
"""Execution option of :func:`reader` engines: their transactions begin deferred."""


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout; BEGIN IMMEDIATE so writers serialise cleanly, but
    a plain (deferred) BEGIN for a :func:`reader`, whose reads never take the write lock
    (WAL readers run beside the writer)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        deferred = conn.get_execution_options().get(READS, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


_BASES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def reader(engine: Engine) -> Engine:
    """``engine`` for sessions that mostly read (safe HTTP methods): on SQLite their
    transactions begin deferred, so they take the write lock only if and when they write;
    elsewhere the same engine. Shares ``engine``'s pool (see :func:`base_engine`)."""
    if not is_sqlite(engine):
        return engine
    found = engine.execution_options(**{READS: True})
    _BASES[found] = engine
    return found


def base_engine(engine: Engine) -> Engine:
    """The engine a :func:`reader` was made from (``engine`` itself otherwise): what
    per-engine registries (audit committer) are keyed by."""
    return _BASES.get(engine, engine)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Create the engine for ``url``; SQLite files get their parent directory created.
    The pool holds ``pool_size`` connections plus as many on overflow (SQLite too)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        pool: dict[str, Any] = {}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pool = {"pool_size": pool_size, "max_overflow": pool_size}
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **pool)
        _sqlite_pragmas(engine)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest revision of every migration branch (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
