"""Erasure of pupils and retention purge: the lake forgets, the audit log remembers.

Erasure rewrites each object holding an erased pupil's rows under a NEW key (the lake is
write-once), records the rewrite with a manifest signed by the hub (linked to the
connector's original manifest, which is kept, and to the erasure requests), updates the
batch registry (key, digest, size, rows) so later verifications match, and once that
transaction committed removes the old object with every stored version of it
(``ObjectStore.erase``); if it fails, the new copy is removed instead. Purge deletes day
partitions past retention. Each run is audited without naming the pupil or their days.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from contracts.canonical import canonical_json, sha256_hex
from contracts.signing import sign_detached
from hub.columns import new_id
from hub.config import Settings
from hub.contracts.public import (
    all_contracts,
    current_terms,
    get_contract,
    hub_jwk,
    hub_signing_key,
)
from hub.ingest.counts import refresh_catalog
from hub.ingest.integrity import IntegrityGuard, stored_object
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.presign import quarantine_key
from hub.pseudonym.public import erased_pseudonyms, record_rewrite
from hub.storage.port import ObjectNotFound, ObjectStore
from hub.trail.writer import SYSTEM, Actor, EventDraft, Resource, Why, record

REWRITE_KIND = "edh-erasure-rewrite-1"
REKEY_KIND = "edh-repseudonymisation-rewrite-1"


@dataclass
class LakeChange:
    """What an erasure or a purge did."""

    rows_removed: int = 0
    batches: list[str] = field(default_factory=list)
    objects_deleted: list[str] = field(default_factory=list)


def _registered(session: Session, contract_id: str) -> list[IngestBatch]:
    query = select(IngestBatch).where(
        IngestBatch.contract_id == contract_id, IngestBatch.status == BatchStatus.REGISTERED
    )
    return list(session.exec(query).all())


def with_objects(session: Session, contract_id: str) -> list[IngestBatch]:
    """The contract's batches whose objects the hub keeps (in the lake or in quarantine)."""
    kept = (BatchStatus.REGISTERED, BatchStatus.QUARANTINED)
    query = select(IngestBatch).where(
        IngestBatch.contract_id == contract_id, col(IngestBatch.status).in_(kept)
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


ERASED, REKEYED = "erased", "rekeyed"


def erased_key(key: str, rewrite_id: str, mark: str = ERASED) -> str:
    """The new key of a rewritten object: same partition, a name no earlier key had (the
    lake is write-once, so a rewrite never overwrites); ``mark`` says why (``erased``,
    ``rekeyed``)."""
    folder, _, name = key.rpartition("/")
    return f"{folder}/{name.split('.')[0]}.{mark}-{rewrite_id}.parquet"


def is_rewritten(key: str) -> bool:
    """Whether ``key`` names an object the hub rewrote (erasure or re-pseudonymisation)."""
    name = key.rpartition("/")[2]
    return f".{ERASED}-" in name or f".{REKEYED}-" in name


def _where(batch: IngestBatch, key: str) -> str:
    """The stored key of a batch file: in ``quarantine/`` once the batch was refused."""
    return quarantine_key(key) if batch.status == BatchStatus.QUARANTINED else key


def _get(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except ObjectNotFound:
        return None


def verified_bytes(
    store: ObjectStore, guard: IntegrityGuard | None, batch: IngestBatch, entry: dict[str, Any]
) -> bytes | None:
    """The stored bytes of a batch file (``None``: gone). A registered batch's file is
    returned only when they match its registered SHA-256: otherwise ``LakeObjectAltered``
    and the DPO is alerted (by ``guard``; quarantined files were never verified)."""
    key = _where(batch, str(entry["key"]))
    data = _get(store, key)
    if guard is not None and batch.status == BatchStatus.REGISTERED:
        sha256 = str(entry.get("sha256") or "")
        guard.check_read(batch.contract_id, stored_object(store, key), data, sha256)
    return data


@dataclass(frozen=True)
class Rewritten:
    """What a rewrite makes of one file: the rows it keeps (changed or not), how many it
    removed, and the requests that caused it (``links``: the manifest's link to them,
    e.g. ``{"erasure_requests": [...]}``)."""

    table: pa.Table
    rows_removed: int
    request_ids: list[str]
    links: dict[str, Any]
    mark: str = ERASED
    kind: str = REWRITE_KIND


Rewrite = Callable[[pa.Table], Rewritten | None]


def without_pupils(wanted: dict[str, str]) -> Rewrite:
    """The erasure rewrite: drop the rows of ``wanted`` (pseudonym → erasure request id);
    ``None`` (nothing to rewrite) when a file holds none of them."""

    def rewrite(table: pa.Table) -> Rewritten | None:
        if "actor_pseudonym" not in table.column_names:
            return None
        hits = pc.is_in(table.column("actor_pseudonym"), value_set=pa.array(list(wanted)))
        hit_names = set(table.filter(hits).column("actor_pseudonym").to_pylist())
        if not hit_names:
            return None
        kept = table.filter(pc.invert(hits))
        requests = sorted({wanted[p] for p in hit_names})
        removed = table.num_rows - kept.num_rows
        return Rewritten(kept, removed, requests, {"erasure_requests": requests})

    return rewrite


@dataclass
class BatchRewrite:
    """What rewriting one batch did."""

    files: int = 0
    rows_removed: int = 0
    rows_kept: int = 0


@dataclass(frozen=True)
class Eraser:
    """Rewrites objects (without the rows of some pseudonyms, or re-pseudonymised); signs
    each rewrite. With a ``guard``, a registered object is rewritten only when its bytes
    match the registry."""

    store: ObjectStore
    key: Ed25519PrivateKey
    kid: str
    guard: IntegrityGuard | None = None

    def batch(self, session: Session, batch: IngestBatch, wanted: dict[str, str]) -> int:
        """Rewrite every file of ``batch`` holding rows of ``wanted`` (pseudonym → erasure
        request id); the rows removed."""
        return self.rewrite(session, batch, without_pupils(wanted)).rows_removed

    def rewrite(self, session: Session, batch: IngestBatch, rewrite: Rewrite) -> BatchRewrite:
        """Rewrite every live file of ``batch`` that ``rewrite`` changes; the batch's files
        and row count are updated."""
        files, done = [dict(f) for f in batch.files], BatchRewrite()
        for entry in files:
            change = None if entry.get("purged") else self._file(session, batch, entry, rewrite)
            if change is not None:
                done.files += 1
                done.rows_removed += change.rows_removed
                done.rows_kept += change.table.num_rows
        if done.files:
            batch.files = files
            if batch.row_count is not None:  # None: a quarantined batch never counted
                batch.row_count -= done.rows_removed
            session.add(batch)
        return done

    def _file(
        self, session: Session, batch: IngestBatch, entry: dict[str, Any], rewrite: Rewrite
    ) -> Rewritten | None:
        data = verified_bytes(self.store, self.guard, batch, entry)
        change = None if data is None else rewrite(pq.read_table(io.BytesIO(data)))
        if change is None:
            return None
        sink = io.BytesIO()
        pq.write_table(change.table, sink, compression="zstd")
        data, rewrite_id = sink.getvalue(), new_id()
        new_key = erased_key(str(entry["key"]), rewrite_id, change.mark)
        self.store.put(_where(batch, new_key), data)
        old = (str(entry["key"]), str(entry.get("sha256", "")))
        new = (new_key, sha256_hex(data))
        entry.update(key=new_key, sha256=new[1], bytes=len(data), rows=change.table.num_rows)
        manifest = rewrite_manifest(batch, rewrite_id, old, entry, change)
        jws = sign_detached(self.key, canonical_json(manifest), kid=self.kid, party="hub")
        record_rewrite(
            session,
            rewrite_id=rewrite_id,
            request_ids=change.request_ids,
            batch_id=batch.id,
            old=old,
            new=new,
            rows_removed=change.rows_removed,
            manifest=manifest,
            manifest_jws=jws,
        )
        # a quarantined batch left old versions in lake/ too
        _on_commit(session, self.store, [old[0], quarantine_key(old[0])])
        _on_rollback(session, self.store, [_where(batch, new_key)])
        return change


_ERASE_ON_COMMIT, _ERASE_ON_ROLLBACK = "edh.erase_on_commit", "edh.erase_on_rollback"


def _on_commit(session: Session, store: ObjectStore, keys: list[str]) -> None:
    """Erase ``keys`` once the registry's transaction committed (never before: a failed
    transaction must find the objects it still points to)."""
    session.info.setdefault(_ERASE_ON_COMMIT, []).extend((store, k) for k in keys)


def _on_rollback(session: Session, store: ObjectStore, keys: list[str]) -> None:
    """Erase ``keys`` (rewritten copies nothing will point to) if the transaction fails."""
    session.info.setdefault(_ERASE_ON_ROLLBACK, []).extend((store, k) for k in keys)


@event.listens_for(OrmSession, "after_commit")
def _erase_replaced(session: OrmSession) -> None:
    session.info.pop(_ERASE_ON_ROLLBACK, None)
    for store, key in session.info.pop(_ERASE_ON_COMMIT, []):
        store.erase(key)


@event.listens_for(OrmSession, "after_rollback")
def _erase_orphans(session: OrmSession) -> None:
    session.info.pop(_ERASE_ON_COMMIT, None)
    for store, key in session.info.pop(_ERASE_ON_ROLLBACK, []):
        store.erase(key)


def discard_files(session: Session, store: ObjectStore, batch: IngestBatch) -> int:
    """Delete every live file of ``batch`` (lake and quarantine keys, every version) once
    the transaction commits, and mark them purged; the files discarded."""
    files = [dict(f) for f in batch.files]
    live = [f for f in files if not f.get("purged")]
    for entry in live:
        entry["purged"] = True
        _on_commit(session, store, [str(entry["key"]), quarantine_key(str(entry["key"]))])
    if live:
        batch.files = files
        session.add(batch)
    return len(live)


def rewrite_manifest(
    batch: IngestBatch,
    rewrite_id: str,
    replaces: tuple[str, str],
    entry: dict[str, Any],
    change: Rewritten,
) -> dict[str, Any]:
    """What the hub signs for one rewrite (its detached JWS is over the canonical JSON):
    the new file (``entry``), the object it replaces (key, SHA-256), the batch's original
    manifest and the requests that caused it (erasure requests, or a
    re-pseudonymisation)."""
    return {
        "kind": change.kind,
        "rewrite_id": rewrite_id,
        "batch_id": batch.id,
        "contract_id": batch.contract_id,
        "original_manifest_sha256": sha256_hex((batch.manifest_jws or "").encode()),
        **change.links,
        "replaces": {"key": replaces[0], "sha256": replaces[1]},
        "file": {k: entry[k] for k in ("key", "sha256", "bytes", "rows")},
        "rows_removed": change.rows_removed,
    }


def rewrite_links(manifest: dict[str, Any]) -> list[Any]:
    """The request ids a rewrite's manifest names (erasure requests, or the one
    re-pseudonymisation), as the recorded rewrite's ``request_ids`` holds them."""
    if manifest.get("kind") == REKEY_KIND:
        return [manifest.get("repseudonymisation")]
    return list(manifest.get("erasure_requests") or [])


def eraser_for(
    store: ObjectStore, settings: Settings, guard: IntegrityGuard | None = None
) -> Eraser:
    """An ``Eraser`` signing with the hub's own key (checking digests with ``guard``)."""
    return Eraser(store, hub_signing_key(settings), str(hub_jwk(settings)["kid"]), guard)


def lake_guard(session: Session) -> IntegrityGuard:
    """The integrity guard of erasure and retention: its alerts are stored and audited for
    the DPO (page *Alertes*), not published on the bus."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return IntegrityGuard(engine, lambda: None)


def erase_everywhere(
    eraser: Eraser, session: Session, wanted: dict[str, dict[str, str]]
) -> LakeChange:
    """Rewrite the registered and quarantined batches of each contract of ``wanted``
    (contract id → pseudonym → request id) without those pupils' rows."""
    change = LakeChange()
    for contract_id, pseudonyms in wanted.items():
        for batch in with_objects(session, contract_id):
            removed = eraser.batch(session, batch, pseudonyms)
            if removed:
                change.rows_removed += removed
                change.batches.append(batch.id)
    return change


@dataclass
class ContractRewrite:
    """What rewriting a contract's lake did (counts only)."""

    objects_rewritten: int = 0
    rows_kept: int = 0
    rows_dropped: int = 0
    quarantined_deleted: int = 0


def rewrite_contract(
    eraser: Eraser, session: Session, contract_id: str, rewrite: Rewrite
) -> ContractRewrite:
    """Rewrite every registered object of ``contract_id`` with ``rewrite`` and delete its
    quarantined objects (re-pseudonymisation: refused data under the old key)."""
    done = ContractRewrite()
    for batch in with_objects(session, contract_id):
        if batch.status == BatchStatus.QUARANTINED:
            done.quarantined_deleted += discard_files(session, eraser.store, batch)
            continue
        change = eraser.rewrite(session, batch, rewrite)
        done.objects_rewritten += change.files
        done.rows_kept += change.rows_kept
        done.rows_dropped += change.rows_removed
    return done


def strip_erased(
    store: ObjectStore, settings: Settings, session: Session, batch: IngestBatch
) -> int:
    """At registration: remove from ``batch`` the rows of pupils the register erased
    under its contract (audited when any); the rows removed."""
    wanted = erased_pseudonyms(session, batch.contract_id)
    removed = eraser_for(store, settings).batch(session, batch, wanted) if wanted else 0
    if removed:
        actor = Actor(sub=batch.connector_id, role="connector", org=batch.provider_id)
        draft = EventDraft(
            actor,
            "ingest.erasure.stripped",
            Resource("batch", batch.id),
            why=Why(contract_id=batch.contract_id, purpose="erasure register"),
            details={"rows_removed": removed},
        )
        record(session, draft)
    return removed


def _expired(entry: dict[str, Any], cutoff: date) -> bool:
    return not entry.get("purged") and date.fromisoformat(str(entry["date"])) < cutoff


def _verify_expired(
    store: ObjectStore, guard: IntegrityGuard, batches: list[IngestBatch], cutoff: date
) -> None:
    """Before anything is deleted: every registered file to purge still matches the
    registry (else ``LakeObjectAltered``, the DPO alerted, nothing purged)."""
    for batch in batches:
        for entry in batch.files:
            if _expired(entry, cutoff):
                verified_bytes(store, guard, batch, entry)


def purge_expired(
    store: ObjectStore, session: Session, actor: Actor, contract_id: str, on: date
) -> LakeChange:
    """Delete the day partitions of ``contract_id`` older than its ``retention_days``
    (counted back from ``on``), in the lake and in quarantine, with every stored version;
    the registry's row counts follow; audited. Idempotent. Refuses (``LakeObjectAltered``,
    nothing deleted, the DPO alerted) when a registered file to purge was altered."""
    contract = get_contract(session, contract_id)
    cutoff = on - timedelta(days=current_terms(session, contract).retention_days)
    change, batches = LakeChange(), with_objects(session, contract_id)
    _verify_expired(store, lake_guard(session), batches, cutoff)
    for batch in batches:
        files, removed = [dict(f) for f in batch.files], 0
        for entry in files:
            if _expired(entry, cutoff):
                for stale in (str(entry["key"]), quarantine_key(str(entry["key"]))):
                    store.erase(stale)
                entry["purged"] = True
                change.objects_deleted.append(str(entry["key"]))
                removed += int(str(entry.get("rows", 0)))
        if removed or files != batch.files:
            batch.files = files
            if batch.row_count is not None:
                batch.row_count = max(0, batch.row_count - removed)
            if batch.status == BatchStatus.REGISTERED:
                change.rows_removed += removed
            session.add(batch)
    if change.objects_deleted:
        details = {"cutoff": cutoff.isoformat(), "objects": len(change.objects_deleted)}
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


def purge_lake(
    store: ObjectStore, session: Session, on: date, stale_after: timedelta
) -> dict[str, Any]:
    """The scheduled retention run: uploads never completed for ``stale_after`` go to
    quarantine, then every contract's partitions past retention are deleted (lake and
    quarantine), and the catalog's counts are set to what the lake then holds. Returns what
    was done (batch ids, object counts, datasets recounted)."""
    from hub.ingest.janitor import quarantine_stale  # janitor → complete → this module

    stale = quarantine_stale(store, session, SYSTEM, stale_after)
    deleted = {}
    for contract in all_contracts(session):
        change = purge_expired(store, session, SYSTEM, contract.id, on)
        if change.objects_deleted:
            deleted[contract.id] = len(change.objects_deleted)
    recounted = refresh_catalog(session)
    return {"on": on.isoformat(), "deleted": deleted, "quarantined": stale, "recounted": recounted}
