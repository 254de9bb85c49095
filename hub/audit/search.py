"""Search and export of audit events: filters parsed from query strings, keyset pages,
streamed CSV and JSON Lines (memory stays flat whatever the range)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Row, Select, select
from sqlmodel import Session

from hub.errors import ValidationFailed
from hub.trail.stream import EVENTS, StoredEvent
from hub.trail.writer import Decision, utc_text

EQUALITY_FILTERS = {
    "actor": EVENTS.c.actor_sub,
    "role": EVENTS.c.actor_role,
    "organisation": EVENTS.c.actor_org,
    "action": EVENTS.c.action,
    "contract": EVENTS.c.contract_id,
    "project": EVENTS.c.project_id,
    "dataset": EVENTS.c.dataset_id,
    "decision": EVENTS.c.decision,
    "resource_type": EVENTS.c.resource_type,
    "resource_id": EVENTS.c.resource_id,
}
TIME_FILTERS = ("since", "until")
FILTER_NAMES = (*TIME_FILTERS, *EQUALITY_FILTERS)
CSV_COLUMNS = list(StoredEvent._fields)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_CHUNK = 5000


@dataclass(frozen=True)
class EventFilter:
    """A conjunction: ``since <= ts < until`` and each named column equal to its value."""

    since: datetime | None = None
    until: datetime | None = None
    equals: dict[str, str] = field(default_factory=dict)


def parse_time(name: str, text: str) -> datetime:
    """An ISO 8601 date or date-time (naive means UTC); ``ValidationFailed`` otherwise."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"{name}: {text!r} is not an ISO 8601 date (YYYY-MM-DD) or date-time",
            errors=[{"field": name, "message": "expected an ISO 8601 date or date-time"}],
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_filter(params: Mapping[str, str], extra_allowed: tuple[str, ...] = ()) -> EventFilter:
    """Build a filter from query parameters; unknown names, bad dates or decisions -> 400."""
    unknown = sorted(set(params) - set(FILTER_NAMES) - set(extra_allowed))
    if unknown:
        raise ValidationFailed(
            f"unknown filter(s): {', '.join(unknown)}; allowed: {', '.join(FILTER_NAMES)}",
            errors=[{"field": n, "message": "unknown filter"} for n in unknown],
        )
    since = parse_time("since", params["since"]) if params.get("since") else None
    until = parse_time("until", params["until"]) if params.get("until") else None
    if since and until and since >= until:
        raise ValidationFailed(
            "since must be earlier than until",
            errors=[{"field": "until", "message": "must be later than since"}],
        )
    decision = params.get("decision")
    if decision and decision not in {str(d) for d in Decision}:
        raise ValidationFailed(
            f"decision must be one of: {', '.join(Decision)}",
            errors=[{"field": "decision", "message": "unknown decision"}],
        )
    equals = {k: v for k, v in params.items() if k in EQUALITY_FILTERS and v}
    return EventFilter(since, until, equals)


def filtered(query: Select[Any], flt: EventFilter) -> Select[Any]:
    """``query`` restricted by ``flt``."""
    if flt.since:
        query = query.where(EVENTS.c.ts >= flt.since)
    if flt.until:
        query = query.where(EVENTS.c.ts < flt.until)
    for name, value in flt.equals.items():
        query = query.where(EQUALITY_FILTERS[name] == value)
    return query


def event_dict(row: Row[Any]) -> dict[str, Any]:
    """An event as the API and JSON Lines export show it."""
    out = dict(row._mapping)
    out["ts"] = utc_text(out["ts"])
    return out


def one_event(session: Session, seq: int) -> dict[str, Any] | None:
    """Event ``seq`` as :func:`event_dict` shows it (None when absent or purged)."""
    row = session.connection().execute(select(EVENTS).where(EVENTS.c.seq == seq)).first()
    return None if row is None else event_dict(row)


def search_page(
    session: Session, flt: EventFilter, *, limit: int, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first, ``limit`` events with ``seq < before``; returns them and the next cursor."""
    query = filtered(select(EVENTS), flt).order_by(EVENTS.c.seq.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(EVENTS.c.seq < before)
    rows = session.connection().execute(query).all()
    items = [event_dict(r) for r in rows[:limit]]
    return items, (items[-1]["seq"] if len(rows) > limit else None)


def iter_filtered(session: Session, flt: EventFilter) -> Iterator[Row[Any]]:
    """Every matching event, oldest first, fetched in keyset chunks."""
    after = 0
    while True:
        query = filtered(select(EVENTS), flt).where(EVENTS.c.seq > after)
        rows = session.connection().execute(query.order_by(EVENTS.c.seq).limit(EXPORT_CHUNK)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def export_jsonl(session: Session, flt: EventFilter) -> Iterator[str]:
    """JSON Lines: one event per line."""
    for row in iter_filtered(session, flt):
        yield json.dumps(event_dict(row), ensure_ascii=False, sort_keys=True) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(session: Session, flt: EventFilter) -> Iterator[str]:
    """CSV with a header row; cells that a spreadsheet would run as formulas are quoted."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for row in iter_filtered(session, flt):
        values = event_dict(row)
        writer.writerow([_cell(values[c]) for c in CSV_COLUMNS])
        if buf.tell() > 65536:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
