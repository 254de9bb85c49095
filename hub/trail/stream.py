"""Reads of the event table in ``seq`` order, memory flat: keyset pages, and a fast
stream of whole events for verification (a server-side cursor on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Row, String, select, type_coerce
from sqlmodel import Session

from hub.trail.hashing import pg_hashed_columns, utc_text
from hub.trail.models import AuditEvent

CHUNK = 10_000
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]


class StoredEvent(NamedTuple):
    """An event as stored, ``ts`` already in its hashed text form."""

    seq: int
    event_id: str
    ts: str
    actor_sub: str
    actor_role: str
    actor_org: str | None
    action: str
    resource_type: str
    resource_id: str | None
    decision: str
    reasons: list[str]
    contract_id: str | None
    project_id: str | None
    dataset_id: str | None
    purpose: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


PG_COLUMNS = pg_hashed_columns(StoredEvent._fields)


def iter_stored(session: Session, after: int = 0) -> Iterator[StoredEvent]:
    """Every event with ``seq > after`` in ``seq`` order, as :class:`StoredEvent`."""
    if session.get_bind().dialect.name != "postgresql":
        for row in iter_rows(session, after=after, columns=_RAW_COLUMNS):
            values = dict(zip(StoredEvent._fields, row, strict=False))
            yield StoredEvent(**values)._replace(
                ts=_hashed_ts(values["ts"]),
                reasons=_json(values["reasons"]),
                details=_json(values["details"]),
            )
        return
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor(name="edh_audit_stream") as cur:
        cur.itersize = CHUNK
        sql = f"SELECT {PG_COLUMNS} FROM audit_event WHERE seq > %s ORDER BY seq"  # noqa: S608
        cur.execute(sql, (after,))
        loads = orjson.loads
        for r in cur:
            yield StoredEvent._make((*r[:10], loads(r[10]), *r[11:15], loads(r[15]), *r[16:]))


_RAW_COLUMNS = [
    type_coerce(EVENTS.c[name], String) if name in ("ts", "reasons", "details") else EVENTS.c[name]
    for name in StoredEvent._fields
]
"""The columns as SQLite holds them: JSON and timestamps as their text (parsed by
:func:`_json` and :func:`_hashed_ts`, so a value of the wrong type written by a tamperer
is reported by verification instead of failing the read)."""


MALFORMED = object()
"""What a stored JSON value that is not JSON reads as: no JSON encoder takes it, so the
event holding it never matches its hash (``hub.trail.hashing.hash_matches``)."""


def _json(raw: object) -> Any:
    try:
        return orjson.loads(raw)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return MALFORMED


def _hashed_ts(raw: object) -> str:
    """The hashed text of a stored timestamp; for one that is not a timestamp, text no
    hashed timestamp holds (a NUL and the value's representation)."""
    try:
        return utc_text(datetime.fromisoformat(raw))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return f"\x00{raw!r}"


def iter_rows(
    session: Session, *, after: int = 0, upto: int | None = None, columns: Any = None
) -> Iterator[Row[Any]]:
    """Rows with ``after < seq <= upto`` in ``seq`` order (whole rows unless ``columns``)."""
    cols = columns if columns is not None else list(EVENTS.c)
    while True:
        query = select(*cols).where(EVENTS.c.seq > after).order_by(EVENTS.c.seq).limit(CHUNK)
        if upto is not None:
            query = query.where(EVENTS.c.seq <= upto)
        rows = session.connection().execute(query.add_columns(EVENTS.c.seq)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][-1]


def iter_hashes(session: Session, after: int, upto: int) -> Iterator[bytes]:
    """The raw 32-byte event hashes (the Merkle leaves' data) with ``after < seq <= upto``."""
    for row in iter_rows(session, after=after, upto=upto, columns=[EVENTS.c.hash]):
        yield bytes.fromhex(row[0])
