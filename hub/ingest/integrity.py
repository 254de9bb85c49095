"""Lake integrity: a lake object is read only when its bytes match the registry's SHA-256.

Whatever reads the lake (the sandbox's views, and any later reader) asks an
:class:`IntegrityGuard` first. The guard hashes an object once and remembers the digest
under the object's *fingerprint* (local file: inode, size, mtime and ctime, which no
write can keep; S3: ETag, size, last-modified, version), so a later read costs one
``stat``. An object whose bytes differ from the SHA-256 its batch registered (changed,
truncated or replaced behind the hub's back) is refused with :class:`LakeObjectAltered`
(no data in its text) and raises one ``lake-integrity`` alert per object state for the
DPO (``hub.alerts``), audited and published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import NoReturn, Protocol

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hub.alerts import Finding, raise_alert
from hub.bus.port import EventBus
from hub.db import session_scope
from hub.errors import HubError
from hub.ingest.models import BatchStatus, IngestBatch

RULE = "lake-integrity"
log = logging.getLogger(__name__)
_raising: set[threading.Thread] = set()  # alerts being stored, awaited at shutdown
_raising_lock = threading.Lock()


def settle_alerts(timeout_s: float = 30.0) -> None:
    """Wait (up to ``timeout_s`` in all) for the lake-integrity alerts still being stored,
    so a hub that stops, or a test that drops its database, does not cut one short."""
    with _raising_lock:
        pending = list(_raising)
    for thread in pending:
        thread.join(timeout_s)


class LakeObjectAltered(HubError):
    """A lake object no longer matches its registered digest (409)."""

    status, slug, title = 409, "lake-object-altered", "Lake object altered"


@dataclass(frozen=True)
class LakeObject:
    """One object to read: its key, how to fingerprint it and how to read its bytes."""

    key: str
    fingerprint: Callable[[], str | None]
    chunks: Callable[[], Iterator[bytes]]


class Fingerprinted(Protocol):
    """The part of an object store the guard needs (``ObjectStore`` has it)."""

    def fingerprint(self, key: str) -> str | None: ...

    def chunks(self, key: str) -> Iterator[bytes]: ...


def stored_object(store: Fingerprinted, key: str) -> LakeObject:
    """The object ``key`` of ``store`` as the guard checks it."""
    return LakeObject(key, partial(store.fingerprint, key), partial(store.chunks, key))


@dataclass(frozen=True)
class Registered:
    """What the registry holds of one object: its batch and its SHA-256."""

    batch_id: str
    sha256: str
    purged: bool = False


def registered_objects(engine: Engine, contract_id: str) -> dict[str, Registered]:
    """``{key: Registered}`` for every file of the contract's registered batches.

    Read outside any transaction: the caller (vetting a query) may hold SQLite's write
    lock in its own session, and a plain read does not need one."""
    query = sa_select(IngestBatch.id, IngestBatch.files).where(  # type: ignore[call-overload]
        IngestBatch.contract_id == contract_id, IngestBatch.status == BatchStatus.REGISTERED
    )
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        raw.rollback()
    finally:
        raw.close()
    return {
        str(f["key"]): Registered(str(batch_id), str(f.get("sha256") or ""), bool(f.get("purged")))
        for batch_id, files in rows
        for f in (json.loads(files) if isinstance(files, str) else files)
    }


def sha256_of(chunks: Iterable[bytes]) -> str:
    """The hex SHA-256 of a stream of chunks."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _absent() -> None:
    return None


def _no_bytes() -> Iterator[bytes]:
    return iter(())


class IntegrityGuard:
    """Checks lake objects against the registry (thread-safe; one per hub)."""

    def __init__(self, engine: Engine, bus: Callable[[], EventBus | None]) -> None:
        self._engine = engine
        self._bus = bus
        self._verified: dict[str, str] = {}  # key -> fingerprint whose bytes matched
        self._lock = threading.Lock()

    def check(
        self,
        contract_id: str,
        objects: Iterable[LakeObject],
        prefixes: tuple[str, ...] = (),
        locate: Callable[[str], LakeObject] | None = None,
    ) -> dict[str, str]:
        """Return the fingerprint each object had when its bytes matched its registered
        digest (``{key: fingerprint}``), when every object matches and no live registered
        object under ``prefixes`` is missing from ``objects``; otherwise alert the DPO and
        raise ``LakeObjectAltered``. An object the registry does not know fails. A
        registered object ``objects`` lacks is looked up (``locate``: the object under a
        key) before it counts as missing: its batch may have been registered after
        ``objects`` were listed (ingestion goes on while queries are vetted). The alert is
        stored by a thread of its own, once the caller's transaction (which may hold
        SQLite's write lock) has ended."""
        known = registered_objects(self._engine, contract_id)
        listed = list(objects)
        prints = {o.key: self._intact(o, known.get(o.key)) for o in listed}
        altered = [o for o in listed if prints[o.key] is None]
        seen = {o.key for o in listed}
        unlisted = [
            key
            for key, entry in sorted(known.items())
            if prefixes and key.startswith(prefixes) and key not in seen and not entry.purged
        ]
        for key in unlisted:
            found = locate(key) if locate else None
            if found is None or self._intact(found, known[key]) is None:
                altered.append(LakeObject(key, _absent, _no_bytes))
        if altered:
            self.refuse(contract_id, altered, known)
        return {key: fp for key, fp in prints.items() if fp is not None}

    def unchanged(
        self, contract_id: str, objects: Iterable[LakeObject], vetted: dict[str, str]
    ) -> None:
        """After a read: return when every object still has the fingerprint ``check``
        vetted, so the reader saw the verified bytes; otherwise (changed, even changed
        back, or deleted meanwhile) alert the DPO and raise ``LakeObjectAltered``."""
        altered = [o for o in objects if o.fingerprint() != vetted.get(o.key)]
        if altered:
            self.refuse(contract_id, altered, registered_objects(self._engine, contract_id))

    def check_read(
        self, contract_id: str, obj: LakeObject, data: bytes | None, sha256: str
    ) -> None:
        """Return when ``data`` (the bytes a reader just took of ``obj``; ``None`` when it
        is missing) hash to ``sha256``, the digest the registry holds for it; otherwise
        alert the DPO and raise ``LakeObjectAltered``. The reader works on these very
        bytes, so nothing can change them between the check and their use."""
        if data is None or not sha256 or hashlib.sha256(data).hexdigest() != sha256:
            batch = registered_objects(self._engine, contract_id).get(obj.key)
            known = {obj.key: batch or Registered("inconnu", sha256)}
            self.refuse(contract_id, [obj], known)

    def refuse(
        self, contract_id: str, altered: list[LakeObject], known: dict[str, Registered]
    ) -> NoReturn:
        """Alert the DPO about ``altered`` (from a thread of its own, once the caller's
        transaction ended) and raise ``LakeObjectAltered`` (no data in its text)."""
        thread = threading.Thread(
            target=self._alert, args=(contract_id, altered, known), name="lake-alert"
        )
        with _raising_lock:
            _raising.add(thread)
        thread.start()
        raise LakeObjectAltered(
            f"{len(altered)} lake object(s) of contract {contract_id} no longer match "
            "their registered SHA-256; reading them is refused and the DPO is alerted",
            reasons=[RULE],
        )

    def _intact(self, obj: LakeObject, registered: Registered | None) -> str | None:
        """The object's fingerprint when its bytes match ``registered``, else None."""
        if registered is None or not registered.sha256:
            return None
        before = obj.fingerprint()
        if before is None:
            return None
        with self._lock:
            if self._verified.get(obj.key) == before:
                return before
        if sha256_of(obj.chunks()) != registered.sha256 or obj.fingerprint() != before:
            return None
        with self._lock:
            self._verified[obj.key] = before
        return before

    def _alert(
        self, contract_id: str, altered: list[LakeObject], known: dict[str, Registered]
    ) -> None:
        """Store the alerts (the refusal itself stands whatever happens here)."""
        try:
            self._store_alerts(contract_id, altered, known)
        except SQLAlchemyError:
            log.error("lake-integrity alert for contract %s could not be stored", contract_id)
        finally:
            with _raising_lock:
                _raising.discard(threading.current_thread())

    def _store_alerts(
        self, contract_id: str, altered: list[LakeObject], known: dict[str, Registered]
    ) -> None:
        with session_scope(self._engine) as session:
            for obj in altered:
                state = obj.fingerprint() or "absent"
                batch = known[obj.key].batch_id if obj.key in known else "inconnu"
                finding = Finding(
                    RULE,
                    hashlib.sha256(f"{obj.key}|{state}".encode()).hexdigest(),
                    f"L'objet du lac {obj.key} (lot {batch}) ne correspond plus à "
                    "l'empreinte SHA-256 enregistrée : sa lecture est refusée.",
                    contract_id=contract_id,
                )
                raise_alert(session, finding, self._bus())
