"""What the spool indexes of a statement so that xAPI queries are answered with SQL.

Index keys are stored as 64-bit hashes (:func:`key_hash`) to keep the index small and
its inserts cheap; the chance of two keys sharing a hash is negligible (2**-64).

``agent_key`` gives the canonical form of an Agent's or Identified Group's inverse
functional identifier (IFI): two actors are the same when their keys are equal.
``index_rows`` lists ``(kind, key, broad)`` triples (kinds: agent, activity, verb,
registration): ``broad`` is 0 when the key matches the normal filter and 1 when it only
matches with ``related_agents``/``related_activities``.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")  # inverse functional identifiers
VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

IndexRow = tuple[str, str, int]


@functools.lru_cache(maxsize=65_536)
def key_hash(kind: str, key: str) -> int:
    """The signed 64-bit hash under which ``(kind, key)`` is indexed."""
    digest = hashlib.blake2b(f"{kind}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def agent_key(agent: dict[str, Any]) -> str | None:
    """Canonical IFI key of an Agent or Identified Group; ``None`` for anonymous groups."""
    if "mbox" in agent:
        return f"mbox|{agent['mbox']}"
    if "account" in agent:
        account = agent["account"]
        return f"account|{account.get('homePage')}|{account.get('name')}"
    for ifi in ("mbox_sha1sum", "openid"):
        if ifi in agent:
            return f"{ifi}|{agent[ifi]}"
    return None


def _add_actor(rows: list[IndexRow], actor: Any, broad: int) -> None:
    """Rows of an actor and of a group's members, all at ``broad``: the ``agent`` filter
    matches a Group whose members include the agent, as the specification says."""
    if not isinstance(actor, dict):
        return
    key = agent_key(actor)
    if key:
        rows.append(("agent", key, broad))
    for member in actor.get("member") or ():
        member_key = agent_key(member)
        if member_key:
            rows.append(("agent", member_key, broad))


def _add_context(rows: list[IndexRow], context: Any) -> None:
    if not context:
        return
    for name in ("instructor", "team"):
        if name in context:
            _add_actor(rows, context[name], 1)
    for item in context.get("contextAgents") or ():
        _add_actor(rows, item.get("agent"), 1)
    for item in context.get("contextGroups") or ():
        _add_actor(rows, item.get("group"), 1)
    for activities in (context.get("contextActivities") or {}).values():
        for activity in activities if isinstance(activities, list) else [activities]:
            rows.append(("activity", activity["id"], 1))


def _add_object(rows: list[IndexRow], obj: dict[str, Any], broad: int) -> None:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        rows.append(("activity", obj["id"], broad))
    elif kind in ("Agent", "Group"):
        _add_actor(rows, obj, broad)
    elif kind == "SubStatement":
        _add_actor(rows, obj.get("actor"), 1)
        _add_object(rows, obj.get("object") or {}, 1)
        _add_context(rows, obj.get("context"))


def index_rows(statement: dict[str, Any]) -> set[IndexRow]:
    """Index rows of a statement (see module docstring)."""
    rows: list[IndexRow] = [("verb", statement["verb"]["id"], 0)]
    context = statement.get("context")
    if context and "registration" in context:
        rows.append(("registration", str(context["registration"]).lower(), 0))
    _add_actor(rows, statement.get("actor"), 0)
    _add_object(rows, statement.get("object") or {}, 0)
    _add_context(rows, context)
    _add_actor(rows, statement.get("authority"), 1)
    return set(rows)


def statement_ref(statement: dict[str, Any]) -> str | None:
    """Id of the statement targeted by a StatementRef object, lower-cased; else ``None``."""
    obj = statement.get("object") or {}
    if obj.get("objectType") == "StatementRef":
        return str(obj["id"]).lower()
    return None
