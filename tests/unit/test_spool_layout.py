"""The spool's file layout: versioned, migrated from the releases before, and its index
deferred (``connector.spool.layout``) yet complete for every query and erasure."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from connector.spool import Spool, StatementQuery
from connector.spool.layout import LAYOUT, NewerLayout
from connector.spool.store import INDEX_BATCH

LAYOUT_0 = Path(__file__).resolve().parents[1] / "data" / "spool-layout-0.sqlite3"
"""A spool written by the release before layouts had a version (layout 0): statements 1
to 4 (1 and 3 by ada, 2 by bob, voided by 4), activity definitions and the cursor
``ship`` at 1."""
ADA, BOB = "mbox|mailto:ada@example.org", "mbox|mailto:bob@example.org"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _statement(actor: str, activity: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:{actor}@example.org"},
        "verb": {"id": COMPLETED},
        "object": {"id": f"http://example.org/{activity}"},
        "stored": "2026-02-01T00:00:00.000000+00:00",
        **extra,
    }


def _ids(spool: Spool, query: StatementQuery) -> set[str]:
    return {row.statement["id"] for row in spool.query(query)}


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_a_layout_0_spool_is_migrated_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    shutil.copy(LAYOUT_0, path)
    assert _version(path) == 0
    spool = Spool(path)
    assert _version(path) == LAYOUT
    rows = spool.read_after(0, 10)
    assert [r.statement["id"] for r in rows] == [_id(n) for n in (1, 2, 3, 4)]
    assert [r.voided for r in rows] == [False, True, False, False]
    assert spool.get_cursor("ship") == 1
    assert spool.activity_definition("http://example.org/quiz") == {"name": {"fr": "quiz"}}
    assert _ids(spool, StatementQuery(agent=ADA)) == {_id(1), _id(3), _id(4)}
    # bob's only statement is voided; the statement voiding it refers to it, so it matches
    assert _ids(spool, StatementQuery(agent=BOB)) == {_id(4)}
    added = _statement("ada", "quiz")
    spool.append([added])
    quiz = StatementQuery(activity="http://example.org/quiz")
    assert _ids(spool, quiz) == {_id(3), added["id"]}
    spool.close()
    again = Spool(path)  # a migrated file opens as it is
    assert _ids(again, quiz) == {_id(3), added["id"]}
    assert again.forget_agent({"mbox": "mailto:ada@example.org"}) == 4
    assert [r.statement["id"] for r in again.read_after(0, 10)] == [_id(2)]
    again.close()


def test_a_spool_of_a_newer_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    Spool(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LAYOUT + 1}")
    db.close()
    with pytest.raises(NewerLayout):
        Spool(path)


def test_queries_and_erasure_see_statements_not_yet_indexed(spool: Spool) -> None:
    team = {"objectType": "Group", "member": [{"mbox": "mailto:cyd@example.org"}]}
    mine = _statement("ada", "course", context={"team": team, "registration": str(uuid.uuid4())})
    other = _statement("bob", "quiz")
    spool.append([mine, other])
    assert _ids(spool, StatementQuery(agent=ADA)) == {mine["id"]}
    cyd = "mbox|mailto:cyd@example.org"
    assert _ids(spool, StatementQuery(agent=cyd)) == set()  # a team member: related only
    assert _ids(spool, StatementQuery(agent=cyd, related_agents=True)) == {mine["id"]}
    registration = mine["context"]["registration"]
    assert _ids(spool, StatementQuery(registration=registration)) == {mine["id"]}
    later = _statement("ada", "quiz")
    spool.append([later])  # after the query indexed the others
    assert spool.forget_agent({"mbox": "mailto:ada@example.org"}) == 2
    assert [r.statement["id"] for r in spool.read_after(0, 10)] == [other["id"]]


def test_the_commit_reaching_the_batch_indexes_every_waiting_statement(spool: Spool) -> None:
    def indexed() -> tuple[int, int]:
        through = spool.fetch_one("SELECT through FROM index_state")
        rows = spool.fetch_one("SELECT COUNT(DISTINCT seq) FROM statement_index")
        assert through is not None and rows is not None
        return int(through[0]), int(rows[0])

    spool.append([_statement("ada", "course") for _ in range(INDEX_BATCH - 1)])
    assert indexed() == (0, 0)
    spool.append([_statement("bob", "quiz")])
    assert indexed() == (INDEX_BATCH, INDEX_BATCH)
