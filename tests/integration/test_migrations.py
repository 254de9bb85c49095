"""Alembic migrations build exactly the tables the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import hub.models  # noqa: F401
from hub import db


def test_migrations_match_models(db_url: str) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    db.upgrade(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        heads = set(MigrationContext.configure(conn).get_current_heads())
    engine.dispose()
    assert diff == []
    script = ScriptDirectory.from_config(db.alembic_config(db_url))
    assert heads == set(script.get_heads())
