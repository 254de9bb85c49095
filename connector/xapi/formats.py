"""The ``format`` parameter of statement GETs: ``exact`` (as stored), ``ids`` (agents,
groups, activities and verbs reduced to their identifiers) and ``canonical`` (activities
carry the LRS's canonical definition, when it has one, and language maps are reduced to
the best language of ``Accept-Language``). Extensions are returned as they were stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.spool.index import IFIS

_LANGUAGE_MAPS = {"display", "name", "description"}
_ACTIVITY_KEYS = {"object", "parent", "grouping", "category", "other"}
Definitions = Callable[[str], dict[str, Any] | None]


def _ids(value: Any, key: str | None = None) -> Any:
    if isinstance(value, list):
        return [_ids(v, key) for v in value]
    if not isinstance(value, dict) or key == "extensions":
        return value
    kind = value.get("objectType")
    if key in ("actor", "authority", "instructor", "team", "agent", "group") or kind in (
        "Agent",
        "Group",
    ):
        kept = {k: v for k, v in value.items() if k in IFIS or k == "objectType"}
        if not any(k in IFIS for k in kept):
            kept["member"] = _ids(value.get("member", []), "agent")
        return kept
    if key == "verb":
        return {"id": value["id"]}
    if key in ("object", "parent", "grouping", "category", "other") and kind in (None, "Activity"):
        return {"id": value["id"]}  # XAPI-00171: an Activity is its id alone
    return {k: _ids(v, k) for k, v in value.items()}


def _best(language_map: dict[str, str], languages: list[str]) -> dict[str, str]:
    """The entry of the best wanted language: for each wanted tag in order, an exact match
    first, then a tag with the same primary subtag (XAPI-00169); else the first entry."""
    for wanted in languages:
        primary = wanted.split("-")[0]
        exact = [tag for tag in language_map if tag.lower() == wanted]
        near = [tag for tag in language_map if tag.lower().split("-")[0] == primary]
        if exact or near:
            tag = (exact + near)[0]
            return {tag: language_map[tag]}
    first = next(iter(language_map), None)
    return {} if first is None else {first: language_map[first]}


def _canonical(
    value: Any, languages: list[str], definitions: Definitions, key: str | None = None
) -> Any:
    if isinstance(value, list):
        return [_canonical(v, languages, definitions, key) for v in value]
    if not isinstance(value, dict) or key == "extensions":
        return value
    if key in _LANGUAGE_MAPS and all(isinstance(v, str) for v in value.values()):
        return _best(value, languages)
    if key in _ACTIVITY_KEYS and value.get("objectType", "Activity") == "Activity":
        definition = definitions(value["id"])
        if definition is not None:
            value = {**value, "definition": definition}
    return {k: _canonical(v, languages, definitions, k) for k, v in value.items()}


def accepted_languages(header: str | None) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (quality order)."""
    ranked = []
    for item in (header or "").split(","):
        tag, _, q = item.strip().partition(";q=")
        if tag and tag != "*":
            try:
                ranked.append((float(q or 1), tag.lower()))
            except ValueError:
                continue
    return [tag for _, tag in sorted(ranked, key=lambda r: -r[0])]


def apply(
    statement: dict[str, Any],
    fmt: str,
    languages: list[str],
    definitions: Definitions,
) -> dict[str, Any]:
    """The statement in ``fmt`` (``exact`` returns it unchanged); ``definitions`` gives
    the canonical definition of an activity id (``None`` when the LRS has none)."""
    if fmt == "ids":
        return {k: _ids(v, k) for k, v in statement.items()}
    if fmt == "canonical":
        return {k: _canonical(v, languages, definitions, k) for k, v in statement.items()}
    return statement
