"""Record a release's use of the lake as the sandbox does (``hub.sandbox.pupil_use.record_use``)
over the registered batches of an ingest setup, and read every row of some tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select

from hub.db import session_scope
from hub.ingest.models import BatchStatus, IngestBatch
from hub.sandbox import pupil_use
from hub.sandbox.scope import ContractPart, ProjectScope
from hub.storage.local import LocalStore
from tests.support.ingest_fixtures import LAKE_FIELDS, IngestSetup


def contract_part(setup: IngestSetup, contract_id: str) -> ContractPart:
    """The sandbox's view of one contract: its registered files on the local store."""
    store = setup.ctx.store
    assert isinstance(store, LocalStore)
    with Session(setup.ctx.engine) as session:
        batches = session.exec(
            select(IngestBatch).where(
                IngestBatch.contract_id == contract_id,
                IngestBatch.status == BatchStatus.REGISTERED,
            )
        ).all()
        paths = tuple(str(Path(store.root) / str(f["key"])) for b in batches for f in b.files)
    return ContractPart(contract_id, (setup.dataset_id,), frozenset(LAKE_FIELDS), paths)


def release(setup: IngestSetup, job_id: str, *contracts: str) -> int:
    """Record job ``job_id`` of the world's project as released over ``contracts``; the
    pupils recorded."""
    parts = tuple(contract_part(setup, c) for c in contracts)
    scope = ProjectScope(setup.world.project_id, parts, 10, False, None, "k")
    with session_scope(setup.ctx.engine) as session:
        return pupil_use.record_use(setup.ctx, session, job_id, scope)


def table_text(setup: IngestSetup, tables: tuple[str, ...]) -> str:
    """Every row of ``tables`` as text, every value in full (``str(row)`` abbreviates)."""
    with setup.ctx.engine.connect() as conn:
        rows = [r for t in tables for r in conn.execute(text(f"SELECT * FROM {t}"))]
    return "\n".join("|".join(map(str, r)) for r in rows)
