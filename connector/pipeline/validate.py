"""Strict, fast structural validation of xAPI statements (the fields the lake relies on)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_IFIS: Final = ("mbox", "mbox_sha1sum", "openid", "account")
_NON_ACTIVITY: Final = frozenset(("Agent", "Group", "StatementRef", "SubStatement"))
_PARSE_TIME: Final = datetime.fromisoformat
"""Bound once (compiled, a ``Final`` module name is a C variable, where ``datetime`` would
be looked up in the module's dict at each call)."""


class InvalidStatement(ValueError):
    """A statement the pipeline refuses; the message names the field and the problem."""


def _check_agent(agent: Any, where: str) -> None:
    if not isinstance(agent, dict):
        raise InvalidStatement(f"{where} must be an object")
    ifis = [name for name in _IFIS if name in agent]  # no set built: 4 dict look-ups
    kind = agent.get("objectType", "Agent")
    if kind == "Group" and not ifis:
        members = agent.get("member")
        if not isinstance(members, list) or not members:
            raise InvalidStatement(f"{where}: an anonymous group needs members")
        for member in members:
            _check_agent(member, f"{where}.member")
        return
    if len(ifis) != 1:
        raise InvalidStatement(f"{where} needs exactly one identifier ({', '.join(_IFIS)})")
    (ifi,) = ifis
    if ifi == "account":
        account = agent["account"]
        if not isinstance(account, dict) or not isinstance(account.get("name"), str):
            raise InvalidStatement(f"{where}.account needs a name and a homePage")
    elif not isinstance(agent[ifi], str):
        raise InvalidStatement(f"{where}.{ifi} must be a string")


def _check_iri(value: Any, where: str) -> None:
    if not _is_iri(value):
        raise InvalidStatement(f"{where} must be an IRI")


def _check_time(value: Any, where: str) -> datetime:
    """``value`` parsed, when it is ISO 8601 text with a time zone."""
    if not isinstance(value, str):
        raise InvalidStatement(f"{where} must be an ISO 8601 string")
    try:
        parsed = _PARSE_TIME(value)
    except ValueError as exc:
        raise InvalidStatement(f"{where} is not an ISO 8601 timestamp: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidStatement(f"{where} must carry a time zone")
    return parsed


_ABSENT: Final[dict[str, Any]] = {}
"""What a missing member reads as where it is optional (never modified)."""


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` when it is a JSON object (typed as one: compiled, its look-ups are direct
    dict calls); ``InvalidStatement`` otherwise."""
    if type(value) is not dict:
        raise InvalidStatement(f"{where} must be an object")
    return value


def _check_objects(statement: dict[str, Any]) -> None:
    """The members the lake reads inside (result, score, context, definitions...) are
    JSON objects when present, as xAPI requires (a missing one reads as an empty object:
    one look-up per member, no allocation)."""
    result = _object(statement.get("result", _ABSENT), "result")
    context = _object(statement.get("context", _ABSENT), "context")
    definition = _object(statement["object"].get("definition", _ABSENT), "object.definition")
    if not _typed_by_iri(definition):
        raise InvalidStatement("object.definition.type must be an IRI")
    if result:
        _object(result.get("score", _ABSENT), "result.score")
        _object(result.get("extensions", _ABSENT), "result.extensions")
    if context:
        activities = _object(context.get("contextActivities", _ABSENT), "context.contextActivities")
        _object(context.get("extensions", _ABSENT), "context.extensions")
        for kind, listed in activities.items():
            for activity in listed if type(listed) is list else (listed,):
                if not _is_activity(activity):
                    raise InvalidStatement(
                        f"context.contextActivities.{kind} must hold activities (an IRI id, "
                        "a definition object whose type, when present, is an IRI)"
                    )


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and ":" in value


def _typed_by_iri(definition: dict[str, Any]) -> bool:
    """A definition's ``type`` is absent or an IRI (a list or an object there would reach
    the columns and the grouping's type look-ups)."""
    kind = definition.get("type")
    return kind is None or _is_iri(kind)


def _is_activity(activity: Any) -> bool:
    """A context activity: an object with an IRI ``id`` and, when present, a definition
    object whose ``type`` is an IRI."""
    if type(activity) is not dict or not _is_iri(activity.get("id")):
        return False
    definition = activity.get("definition", _ABSENT)
    return type(definition) is dict and _typed_by_iri(definition)


def validate_times(statement: Any) -> tuple[dict[str, Any], datetime | None, datetime | None]:
    """Return ``statement`` and its ``timestamp`` and ``stored`` parsed (``None`` when
    absent) when it is a usable xAPI statement; raise ``InvalidStatement``.

    Checks: a JSON object; ``id`` (when present) a UUID; ``actor`` an Agent with exactly one
    inverse functional identifier (or an anonymous Group of such agents); ``verb.id`` an
    IRI; ``object.id`` an IRI for activities; ``timestamp``/``stored`` (when present)
    ISO 8601 with a time zone; ``result``, ``result.score``, ``context``, the context's
    activities and ``object.definition`` (when present) objects; each context activity's
    ``id`` an IRI, and each definition's ``type`` (when present) an IRI. Never modifies the
    statement.
    """
    if not isinstance(statement, dict):
        raise InvalidStatement("a statement must be a JSON object")
    sid = statement.get("id")
    if sid is not None and (not isinstance(sid, str) or not _UUID.fullmatch(sid)):
        raise InvalidStatement("id must be a UUID")
    _check_agent(statement.get("actor"), "actor")
    verb = statement.get("verb")
    if not isinstance(verb, dict):
        raise InvalidStatement("verb must be an object")
    _check_iri(verb.get("id"), "verb.id")
    obj = statement.get("object")
    if not isinstance(obj, dict):
        raise InvalidStatement("object must be an object")
    if obj.get("objectType", "Activity") not in _NON_ACTIVITY:
        _check_iri(obj.get("id"), "object.id")
    timestamp: datetime | None = None
    stored: datetime | None = None
    if "timestamp" in statement:
        timestamp = _check_time(statement["timestamp"], "timestamp")
    if "stored" in statement:
        stored = _check_time(statement["stored"], "stored")
    _check_objects(statement)
    return statement, timestamp, stored
