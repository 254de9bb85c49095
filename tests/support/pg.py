"""Real PostgreSQL for tests: one migrated template per session, one fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_DSN = os.environ.get("EDH_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def sqlalchemy_url(dbname: str) -> str:
    """SQLAlchemy URL of database ``dbname`` on the test server."""
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    user = info.get("user", "postgres")
    host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)


def create_database(template: str | None = None) -> str:
    name = f"edh_t_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(template: str | None = None) -> Iterator[str]:
    """A new database (copied from ``template``), dropped afterwards; yields its name."""
    name = create_database(template)
    try:
        yield name
    finally:
        drop_database(name)
