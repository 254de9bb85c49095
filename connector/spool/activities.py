"""The connector's canonical Activity definitions (served by ``GET /xapi/activities`` and
``format=canonical``).

Each definition is the union of what statements said about the activity: a newer
statement replaces the properties it carries, except the language maps (``name``,
``description``) and ``extensions``, which are merged key by key, so that two statements
describing an activity in two languages leave both languages (xAPI "Activities Resource":
all available information about an activity).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

_MERGED = ("name", "description", "extensions")


def merge_definition(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` updated with ``new`` (language maps and extensions merged key by key)."""
    merged = {**old, **new}
    for key in _MERGED:
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            merged[key] = {**old[key], **new[key]}
    return merged


def _stored(db: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    marks = ",".join("?" * len(ids))
    rows = db.execute(f"SELECT id, definition FROM activities WHERE id IN ({marks})", ids)  # noqa: S608
    return {row[0]: orjson.loads(row[1]) for row in rows}


def remember(db: sqlite3.Connection, statements: list[dict[str, Any]]) -> None:
    """Merge the definitions of the Activity objects of ``statements`` (in order) into the
    stored canonical definitions, inside the caller's transaction; rows that the batch
    leaves as they were are not rewritten."""
    seen = [
        (obj["id"], obj["definition"])
        for obj in (s["object"] for s in statements)
        if obj.get("objectType", "Activity") == "Activity" and "definition" in obj
    ]
    if not seen:
        return
    before = _stored(db, sorted({activity for activity, _ in seen}))
    known = dict(before)
    last: dict[str, Any] = {}  # the definition merged last, per activity
    for activity, definition in seen:
        if last.get(activity) != definition:  # merging it again would change nothing
            last[activity] = definition
            known[activity] = merge_definition(known.get(activity, {}), definition)
    db.executemany(
        "INSERT INTO activities(id, definition) VALUES (?, ?)"
        " ON CONFLICT(id) DO UPDATE SET definition = excluded.definition",
        [(a, orjson.dumps(known[a])) for a in last if known[a] != before.get(a)],
    )
