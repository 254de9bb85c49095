"""The fast pass's raw rows (text as the bytes PostgreSQL stores): each event's hashed
bytes are formatted from them exactly as the hub hashed the event, NULL columns included,
and a text whose stored bytes would pass for the escaped form of another text is not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from hub.audit import ranges
from hub.audit.ranges import RAW_FIELDS, RAW_ROWS, RangeCheck, Row, hashed_ts
from hub.trail.hashing import compute_hash
from hub.trail.stream import StoredEvent
from tests.support.audit_bulk import events

PREV = "0" * 64


def test_text_rows_are_stored_events() -> None:
    """``ranges`` spells the text row's columns out (its workers start without the models
    ``hub.trail.stream`` loads): they stay ``StoredEvent``'s, and a raw row holds them all."""
    assert StoredEvent._fields == ranges.TEXT_FIELDS
    assert sorted(RAW_FIELDS) == sorted(StoredEvent._fields)


def _pg_ts(hashed: str) -> str:
    """A hashed timestamp as PostgreSQL writes it (``PG_RAW_TS``): fraction trimmed."""
    text = datetime.fromisoformat(hashed).replace(tzinfo=None).isoformat(sep=" ")
    return text.rstrip("0") if "." in text else text


def _raw(event: StoredEvent) -> Row:
    """``event`` as :func:`hub.audit.ranges.pg_batches` streams it."""
    values = event._asdict()
    values["reasons"], values["details"] = json.dumps(event.reasons), json.dumps(event.details)
    values["ts"] = _pg_ts(event.ts)
    return tuple(
        value.encode() if isinstance(value, str) else value
        for value in (values[name] for name in RAW_FIELDS)
    )


def _chained(changes: list[dict[str, Any]]) -> list[StoredEvent]:
    """Events from the bulk log's with ``changes`` each, rechained from genesis."""
    out, prev = [], PREV
    for event, change in zip(events(len(changes)), changes, strict=True):
        event = event._replace(prev_hash=prev, **change)
        prev = compute_hash(event)
        out.append(event._replace(hash=prev))
    return out


@pytest.fixture
def text_path() -> Iterator[list[int]]:
    """How many rows fall back to :func:`hub.audit.ranges.text_leaves`."""
    calls: list[int] = []
    original = ranges.text_leaves

    def counted(rows: list[Row], seq: int, prev: str) -> list[bytes] | None:
        calls.append(seq)
        return original(rows, seq, prev)

    ranges.text_leaves = counted  # type: ignore[assignment]
    yield calls
    ranges.text_leaves = original  # type: ignore[assignment]


NULLS = ("actor_org", "resource_id", "contract_id", "project_id", "dataset_id", "purpose")


def _check(chain: list[StoredEvent]) -> bool:
    check = RangeCheck(0, [], RAW_ROWS)
    return check.feed([_raw(event) for event in chain]) and check.result.count == len(chain)


def test_plain_events_and_null_columns_are_hashed_from_the_raw_bytes(
    text_path: list[int],
) -> None:
    changes: list[dict[str, Any]] = [{}, {name: None for name in NULLS}]
    changes += [{name: None} for name in NULLS]
    changes += [{"purpose": "émoji \U0001f600, \u2028 and DEL \x7f", "reasons": ["a", "b"]}]
    assert _check(_chained(changes))
    assert text_path == []


@pytest.mark.parametrize("text", ['say "hi"', "back\\slash", "line\nbreak", "tab\t"])
def test_text_needing_escapes_takes_the_exact_path(text_path: list[int], text: str) -> None:
    assert _check(_chained([{}, {"actor_sub": text}, {}]))
    assert text_path == [2]


@pytest.mark.parametrize(
    ("genuine", "stored"),
    [('a"b', 'a\\"b'), ("a\nb", "a\\nb"), ("a\\b", "a\\\\b")],
)
def test_text_stored_as_the_escaped_form_of_the_hashed_text_fails(
    genuine: str, stored: str
) -> None:
    """Formatted naively, the stored bytes would give the hashed bytes of ``genuine``."""
    chain = _chained([{}, {"actor_org": genuine}, {}])
    chain[1] = chain[1]._replace(actor_org=stored)
    assert not _check(chain)


@pytest.mark.parametrize(
    "ts",
    [
        "2025-01-01T00:00:00.000000+00:00",
        "2025-01-01T00:00:00.500000+00:00",
        "2025-01-01T00:00:00.120000+00:00",
        "0099-12-31T23:59:59.000010+00:00",
        "9999-12-31T23:59:59.999999+00:00",
    ],
)
def test_timestamps_read_trimmed_are_hashed_in_full(text_path: list[int], ts: str) -> None:
    assert hashed_ts(_pg_ts(ts).encode()).decode() == ts
    assert _check(_chained([{}, {"ts": ts}, {}]))
    assert text_path == []


@pytest.mark.parametrize(
    "stored",
    ["2025-01-01 00:00:00.5", "2025-01-01 00:00:00.500000", "2025-01-01T00:00:00.5", "infinity"],
)
def test_a_timestamp_other_than_the_hashed_one_fails(stored: str) -> None:
    """Only PostgreSQL's text of the very time hashed completes into the hashed text."""
    chain = _chained([{}, {"ts": "2025-01-01T00:00:00.000000+00:00"}, {}])
    raw = [_raw(event) for event in chain]
    at = RAW_FIELDS.index("ts")
    raw[1] = (*raw[1][:at], stored.encode(), *raw[1][at + 1 :])
    check = RangeCheck(0, [], RAW_ROWS)
    assert not check.feed(raw)
