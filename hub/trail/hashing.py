"""How an audit event is hashed: SHA-256 over the previous hash and the RFC 8785 JSON of
the event body (every column but ``hash``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from contracts.canonical import sha256_hex
from contracts.clock import as_utc
from hub.trail.canonical import audit_canonical


def utc_text(ts: datetime | str) -> str:
    """Timestamps as hashed: UTC ISO 8601 with microseconds (naive values are UTC; text is
    taken as already in that form)."""
    if isinstance(ts, str):
        return ts
    return as_utc(ts).isoformat(timespec="microseconds")


_PG_HASHED_TS = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
"""PostgreSQL's text of a stored timestamp as :func:`utc_text` gives it (the text hashed)."""


def pg_hashed_columns(names: Iterable[str], ts: str = _PG_HASHED_TS) -> str:
    """A PostgreSQL select list of the ``audit_event`` columns ``names``: the timestamp as
    ``ts`` (by default the text hashed), the JSON columns (``reasons``, ``details``) as
    their text."""
    return ", ".join(
        ts if name == "ts" else f"{name}::text" if name in ("reasons", "details") else name
        for name in names
    )


class EventRow(Protocol):
    """An event as stored: an ``AuditEvent`` or a database row with the same columns."""

    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def ts(self) -> datetime | str: ...
    @property
    def actor_sub(self) -> str: ...
    @property
    def actor_role(self) -> str: ...
    @property
    def actor_org(self) -> str | None: ...
    @property
    def action(self) -> str: ...
    @property
    def resource_type(self) -> str: ...
    @property
    def resource_id(self) -> str | None: ...
    @property
    def decision(self) -> str: ...
    @property
    def reasons(self) -> list[str]: ...
    @property
    def contract_id(self) -> str | None: ...
    @property
    def project_id(self) -> str | None: ...
    @property
    def dataset_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


def event_body(ev: EventRow, seq: int | None = None) -> dict[str, Any]:
    """The hashed content of an event: every column but ``hash`` (``seq`` may be overridden)."""
    return {
        "seq": ev.seq if seq is None else seq,
        "event_id": ev.event_id,
        "ts": utc_text(ev.ts),
        "actor": {"sub": ev.actor_sub, "role": ev.actor_role, "org": ev.actor_org},
        "action": ev.action,
        "resource": {"type": ev.resource_type, "id": ev.resource_id},
        "decision": ev.decision,
        "reasons": list(ev.reasons),
        "why": {
            "contract_id": ev.contract_id,
            "project_id": ev.project_id,
            "dataset_id": ev.dataset_id,
            "purpose": ev.purpose,
        },
        "details": ev.details,
        "prev_hash": ev.prev_hash,
    }


def compute_hash(ev: EventRow, seq: int | None = None) -> str:
    """SHA-256 over the previous hash and the RFC 8785 JSON of the event body."""
    body = audit_canonical(event_body(ev, seq), check=(ev.reasons, ev.details))
    return sha256_hex(ev.prev_hash.encode("ascii") + body)


UNENCODABLE = (ValueError, TypeError)
"""What hashing a tampered row raises: a column of the wrong type or a value JSON cannot
hold (``rfc8785.CanonicalizationError`` and orjson's errors derive from these)."""


def hash_matches(ev: EventRow, seq: int | None = None) -> bool:
    """True when ``ev``'s content (numbered ``seq``) gives its stored hash; False as well
    when a tampered column cannot be hashed at all (never raises for a row's values)."""
    if not isinstance(ev.prev_hash, str) or not isinstance(ev.hash, str):
        return False
    try:
        return compute_hash(ev, seq) == ev.hash
    except UNENCODABLE:
        return False


def stored_leaf(stored: object) -> bytes:
    """The Merkle leaf data of a stored hash: its 32 bytes. A malformed value (tampered:
    not 64 hex digits) gives its own text instead, which no genuine leaf holds, so the
    checkpoints covering it do not reproduce."""
    if isinstance(stored, str) and len(stored) == 64:
        try:
            return bytes.fromhex(stored)
        except ValueError:
            pass
    return repr(stored).encode()
