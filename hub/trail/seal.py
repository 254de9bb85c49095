"""Event seals: each event the hub appends carries a MAC by a key derived from the audit
key (which is not in the database), so events written by anyone else are told apart.

``seal = tag("id", seq, event_id) || tag("hash", hash)`` (two 16-byte HMAC-SHA256 tags,
hex). Verification checks the seals of the events after the last signed checkpoint (the
checkpoints protect the rest): a wrong hash tag with a right id tag is an event the hub
wrote at that place whose content was rewritten; a wrong id tag is an event the hub never
wrote there (forged). ``event_id`` is unique, so a forger cannot reuse another event's id
tag. Engines get their key from :func:`use_audit_key` (the hub's context and the audit
CLI), else from the environment's settings; without a key nothing is sealed (the events
stay pending, and stand-alone events are refused).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import weakref
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub.config import Settings
from hub.errors import HubError
from hub.trail.key import load_audit_key
from hub.trail.models import AuditHead
from hub.trail.stream import EVENTS, iter_rows

log = logging.getLogger("hub.trail.seal")
SEAL_INFO = b"edh-audit-event-seal-v1"
TAG = 16
_LOCK = threading.Lock()
HEAD = AuditHead.__table__  # type: ignore[attr-defined]


class SealState(StrEnum):
    OK = "ok"
    REWRITTEN = "rewritten"  # sealed by the hub at this place, content changed since
    FORGED = "forged"  # never sealed by the hub at this place


def seal_key_of(key: Ed25519PrivateKey) -> bytes:
    """The sealing key derived from the audit signing key (domain-separated)."""
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return hmac.new(raw, SEAL_INFO, hashlib.sha256).digest()


class _KeySource:
    """The sealing key of one engine: loaded from ``settings`` on first use, and again
    after a failure (an operator may fix the key file while the hub runs)."""

    def __init__(self, settings: Settings | None) -> None:
        self.settings = settings
        self.key: bytes | None = None

    def get(self) -> bytes | None:
        if self.key is None:
            try:
                self.key = seal_key_of(load_audit_key(self.settings or Settings()))
            except Exception:  # reported; the caller refuses to seal
                log.exception("the audit key cannot be loaded: events stay pending")
        return self.key


_KEYS: weakref.WeakKeyDictionary[Engine, _KeySource] = weakref.WeakKeyDictionary()


def use_audit_key(engine: Engine, settings: Settings) -> None:
    """Seal ``engine``'s appends with the audit key of ``settings`` (the hub's context and
    the audit CLI; other engines use the environment's settings)."""
    with _LOCK:
        _KEYS[engine] = _KeySource(settings)


def seal_key(engine: Engine) -> bytes | None:
    """``engine``'s sealing key, None (logged) when the audit key cannot be loaded."""
    with _LOCK:
        source = _KEYS.setdefault(engine, _KeySource(None))
    return source.get()


_BLOCK = 64  # SHA-256's block size


@lru_cache(maxsize=16)
def _keyed(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer hash states for ``key`` (RFC 2104), computed once:
    copying them costs a third of a one-shot ``hmac.digest``, which sets up OpenSSL's MAC
    for every call (two calls an event)."""
    block = (key if len(key) <= _BLOCK else hashlib.sha256(key).digest()).ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
    return inner, outer


def _tag(key: bytes, *parts: str) -> str:
    """The first ``TAG`` bytes of HMAC-SHA256(``key``, the parts joined by ``|``), hex."""
    inner, outer = _keyed(key)
    inner, outer = inner.copy(), outer.copy()
    inner.update("|".join(parts).encode())
    outer.update(inner.digest())
    return outer.digest()[:TAG].hex()


def event_seal(key: bytes, seq: int, event_id: str, hash_: str) -> str:
    """The seal of the event ``event_id`` chained at ``seq`` with hash ``hash_``."""
    return _tag(key, "id", str(seq), event_id) + _tag(key, "hash", hash_)


def seal_state(key: bytes, seq: int, event_id: str, hash_: str, seal: str | None) -> SealState:
    """How the stored ``seal`` relates to the event as stored."""
    seal = seal or ""
    if not hmac.compare_digest(seal[: 2 * TAG], _tag(key, "id", str(seq), event_id)):
        return SealState.FORGED
    if not hmac.compare_digest(seal[2 * TAG :], _tag(key, "hash", hash_)):
        return SealState.REWRITTEN
    return SealState.OK


def first_unsealed(
    session: Session, key: bytes, after: int, upto: int | None = None
) -> tuple[int, SealState] | None:
    """The first event with ``after < seq <= upto`` whose seal does not hold, and how.
    Events before the head's ``sealed_from`` need none (appended before seals existed),
    but not after a sealed event: moving that boundary forward hides nothing."""
    start = _sealed_from(session)
    sealed_before = after > 0 and _state_at(session, key, after) is SealState.OK
    columns = [EVENTS.c.event_id, EVENTS.c.hash, EVENTS.c.seal]
    for event_id, hash_, seal, seq in iter_rows(session, after=after, upto=upto, columns=columns):
        state = seal_state(key, seq, event_id, hash_, seal)
        if state is SealState.OK:
            sealed_before = True
        elif seq >= start or sealed_before:
            return seq, state
    return None


def _sealed_from(session: Session) -> int:
    value = session.connection().execute(select(HEAD.c.sealed_from).where(HEAD.c.id == 1))
    return int(value.scalar() or 1)


def _state_at(session: Session, key: bytes, seq: int) -> SealState | None:
    query = select(EVENTS.c.event_id, EVENTS.c.hash, EVENTS.c.seal).where(EVENTS.c.seq == seq)
    row = session.connection().execute(query).first()
    return None if row is None else seal_state(key, seq, row[0], row[1], row[2])


class UnsealedEvents(HubError):
    """The hub refuses to sign a checkpoint over events it did not append."""

    status, slug, title = 409, "audit-unsealed", "Events not appended by the hub"
