"""The spool contract: durable, idempotent appends; cursors; voiding; counts."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from connector.errors import BadRequest, Conflict, InvalidStatement
from connector.spool import Spool

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def statement(
    verb: str = "http://adlnet.gov/expapi/verbs/completed", **extra: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": "mailto:pupil@example.org"},
        "verb": {"id": verb},
        "object": {"id": "http://example.org/activity"},
        "stored": "2026-01-01T00:00:00.000000+00:00",
        **extra,
    }


def voiding(target: str) -> dict[str, Any]:
    return statement(VOIDED, object={"objectType": "StatementRef", "id": target})


def test_append_survives_reopening(tmp_path: Path) -> None:
    first = Spool(tmp_path / "spool.sqlite3")
    items = [statement() for _ in range(3)]
    assert first.append(items) == [s["id"] for s in items]
    first.close()
    again = Spool(tmp_path / "spool.sqlite3")
    rows = again.read_after(0, 10)
    assert [r.statement for r in rows] == items
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    again.close()


def test_read_after_pages_by_seq(spool: Spool) -> None:
    spool.append([statement() for _ in range(5)])
    first = spool.read_after(0, 2)
    rest = spool.read_after(first[-1].seq, 10)
    assert len(first) == 2 and len(rest) == 3
    assert first[-1].seq < rest[0].seq


def test_same_content_is_a_no_op_and_different_content_conflicts(spool: Spool) -> None:
    item = statement()
    spool.append([item])
    spool.append([{**item, "stored": "2027-01-01T00:00:00.000000+00:00"}])
    assert spool.counts()["statements"] == 1
    changed = {**item, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    with pytest.raises(Conflict, match=item["id"]):
        spool.append([statement(), changed])
    assert spool.counts()["statements"] == 1, "a refused batch stores nothing"


def test_duplicate_ids_in_one_batch_are_refused(spool: Spool) -> None:
    item = statement()
    with pytest.raises(BadRequest):
        spool.append([item, dict(item)])
    assert spool.counts()["statements"] == 0


def test_voiding_marks_the_target_even_when_it_arrives_later(spool: Spool) -> None:
    early, late = statement(), statement()
    spool.append([early, voiding(early["id"]), voiding(late["id"])])
    spool.append([late])
    assert spool.get(early["id"]).voided  # type: ignore[union-attr]
    assert spool.get(late["id"]).voided  # type: ignore[union-attr]
    assert spool.counts()["voided"] == 2


def test_a_voiding_statement_cannot_be_voided(spool: Spool) -> None:
    target = statement()
    void = voiding(target["id"])
    spool.append([target, void])
    with pytest.raises(InvalidStatement, match=r"object\.id"):
        spool.append([voiding(void["id"])])
    assert not spool.get(void["id"]).voided  # type: ignore[union-attr]


def test_cursors_are_durable_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    store = Spool(path)
    store.append([statement() for _ in range(4)])
    assert store.get_cursor("pipeline") == 0
    store.set_cursor("pipeline", store.read_after(0, 3)[-1].seq)
    store.close()
    again = Spool(path)
    assert again.get_cursor("pipeline") == 3
    assert again.counts() == {
        "statements": 4,
        "voided": 0,
        "attachments": 0,
        "pending:pipeline": 1,
    }
    again.close()


def _described(definition: dict[str, Any]) -> dict[str, Any]:
    return statement(object={"id": "http://example.org/video", "definition": definition})


def test_activity_definitions_merge_in_order_and_unchanged_ones_are_not_rewritten(
    spool: Spool,
) -> None:
    english = {"type": "http://example.org/a", "name": {"en": "Video"}}
    french = {"type": "http://example.org/b", "name": {"fr": "Vidéo"}}
    spool.append([_described(english), _described(french), _described(english)])
    canonical = {"type": "http://example.org/a", "name": {"en": "Video", "fr": "Vidéo"}}
    assert spool.activity_definition("http://example.org/video") == canonical
    writes: list[str] = []
    spool._db.set_trace_callback(lambda sql: writes.append(sql) if "activities(" in sql else None)
    spool.append([_described(english), _described(english)])
    assert writes == []  # the batch says nothing new about the activity
    spool._db.set_trace_callback(None)
    assert spool.activity_definition("http://example.org/video") == canonical
