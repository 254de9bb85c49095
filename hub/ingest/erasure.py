"""Erasure of one pupil and retention purge: the lake forgets, the audit log remembers.

Both rewrite or delete lake objects of registered batches and update the batch registry
(file digests, row counts) so later verifications match; the connector's original signed
manifest is kept as evidence of what arrived. Each run is audited.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlmodel import Session, select

from hub.audit.trail import Actor, EventDraft, Resource, Why, record
from hub.contracts.service import current_terms, get_contract
from hub.ingest.models import BatchStatus, IngestBatch
from hub.storage.port import ObjectStore


@dataclass
class LakeChange:
    """What an erasure or a purge did."""

    rows_removed: int = 0
    objects_rewritten: list[str] = field(default_factory=list)
    objects_deleted: list[str] = field(default_factory=list)


def _registered(session: Session, contract_id: str) -> list[IngestBatch]:
    query = select(IngestBatch).where(
        IngestBatch.contract_id == contract_id, IngestBatch.status == BatchStatus.REGISTERED
    )
    return list(session.exec(query).all())


def _live_files(batch: IngestBatch) -> list[dict[str, object]]:
    return [f for f in batch.files if not f.get("purged")]


def locate_pupil(
    store: ObjectStore, session: Session, contract_id: str, pseudonym: str
) -> list[str]:
    """Keys of the lake objects of ``contract_id`` holding rows of ``pseudonym`` (for the
    DPO's per-pupil report and for erasure)."""
    found = []
    for batch in _registered(session, contract_id):
        for entry in _live_files(batch):
            table = pq.read_table(
                io.BytesIO(store.get(str(entry["key"]))), columns=["actor_pseudonym"]
            )
            if pc.any(pc.equal(table.column("actor_pseudonym"), pseudonym)).as_py():
                found.append(str(entry["key"]))
    return found


def _rewrite(store: ObjectStore, entry: dict[str, object], pseudonym: str) -> int:
    key = str(entry["key"])
    table = pq.read_table(io.BytesIO(store.get(key)))
    kept = table.filter(pc.not_equal(table.column("actor_pseudonym"), pseudonym))
    sink = io.BytesIO()
    pq.write_table(kept, sink, compression="zstd")
    data = sink.getvalue()
    store.put(key, data)
    entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), rows=kept.num_rows)
    return int(table.num_rows - kept.num_rows)


def erase_pupil(
    store: ObjectStore, session: Session, actor: Actor, contract_id: str, pseudonym: str
) -> LakeChange:
    """Remove every row of ``pseudonym`` from every batch of ``contract_id``; audited.

    Idempotent (a second run removes nothing). Raises ``NotFound`` for an unknown contract.
    """
    contract = get_contract(session, contract_id)
    change, targets = LakeChange(), set(locate_pupil(store, session, contract_id, pseudonym))
    for batch in _registered(session, contract_id):
        files = [dict(f) for f in batch.files]
        removed = sum(_rewrite(store, f, pseudonym) for f in files if f["key"] in targets)
        if removed:
            batch.files, batch.row_count = files, (batch.row_count or 0) - removed
            change.rows_removed += removed
            change.objects_rewritten += [str(f["key"]) for f in files if f["key"] in targets]
            session.add(batch)
    details = {
        "pseudonym": pseudonym,
        "rows_removed": change.rows_removed,
        "objects": change.objects_rewritten,
    }
    why = Why(contract_id=contract.id, project_id=contract.project_id, purpose="erasure request")
    record(
        session,
        EventDraft(actor, "ingest.erasure", Resource("pupil", pseudonym), why=why, details=details),
    )
    return change


def purge_expired(
    store: ObjectStore, session: Session, actor: Actor, contract_id: str, on: date
) -> LakeChange:
    """Delete the day partitions of ``contract_id`` older than its ``retention_days``
    (counted back from ``on``); audited. Idempotent."""
    contract = get_contract(session, contract_id)
    cutoff = on - timedelta(days=current_terms(session, contract).retention_days)
    change = LakeChange()
    for batch in _registered(session, contract_id):
        files = [dict(f) for f in batch.files]
        for entry in files:
            if not entry.get("purged") and date.fromisoformat(str(entry["date"])) < cutoff:
                store.delete(str(entry["key"]))
                entry["purged"] = True
                change.objects_deleted.append(str(entry["key"]))
                change.rows_removed += int(str(entry.get("rows", 0)))
        batch.files = files
        session.add(batch)
    if change.objects_deleted:
        details = {"cutoff": cutoff.isoformat(), "objects": change.objects_deleted}
        why = Why(contract_id=contract.id, project_id=contract.project_id, purpose="retention")
        record(
            session,
            EventDraft(
                actor,
                "ingest.retention.purged",
                Resource("contract", contract.id),
                why=why,
                details=details,
            ),
        )
    return change
