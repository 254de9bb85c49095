"""Query parameters of ``GET /xapi/statements``, strictly parsed (unknown, repeated or
malformed parameters raise :class:`connector.errors.BadRequest` naming them), and the
opaque ``more`` continuation token.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from connector.errors import BadRequest, InvalidStatement
from connector.spool import StatementQuery
from connector.spool.index import IFIS, agent_key
from connector.xapi.rules import parse_timestamp
from connector.xapi.validation import actor_error

SINGLE = {"statementId", "voidedStatementId"}
SHAPING = {"format", "attachments"}
FILTERS = {
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "ascending",
}
FORMATS = ("exact", "ids", "canonical")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S*$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Request:
    """A parsed statements GET: one statement by id, or a query page."""

    statement_id: str | None = None
    voided: bool = False
    query: StatementQuery | None = None
    format: str = "exact"
    attachments: bool = False


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise BadRequest(f"{name}: must be true or false")
    return value == "true"


def _matching(value: str, pattern: re.Pattern[str], name: str, what: str) -> str:
    if not pattern.match(value):
        raise BadRequest(f"{name}: {value!r} is not {what}")
    return value


def parse_agent(raw: str, name: str = "agent") -> str:
    """The IFI key of an Agent/Identified Group given as JSON in a parameter."""
    try:
        agent = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(f"{name}: not valid JSON") from None
    present = [ifi for ifi in IFIS if isinstance(agent, dict) and ifi in agent]
    if len(present) != 1:
        raise BadRequest(f"{name}: needs exactly one inverse functional identifier")
    problem = actor_error(agent)
    if problem is not None:
        raise BadRequest(f"{name}: {problem}")
    key = agent_key(agent)
    assert key is not None
    return key


def utc_timestamp(value: str | None, name: str) -> str | None:
    """A timestamp parameter in the spool's UTC format (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        parsed = parse_timestamp(value, name)
    except InvalidStatement as exc:
        raise BadRequest(exc.detail) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _limit(value: str | None, page_size: int) -> int:
    if value is None:
        return page_size
    if not value.isdigit():
        raise BadRequest("limit: must be a non-negative integer")
    return min(int(value) or page_size, page_size)


def _query(p: dict[str, str], page_size: int) -> StatementQuery:
    return StatementQuery(
        agent=parse_agent(p["agent"]) if "agent" in p else None,
        verb=_matching(p["verb"], IRI, "verb", "an IRI") if "verb" in p else None,
        activity=_matching(p["activity"], IRI, "activity", "an IRI") if "activity" in p else None,
        registration=_matching(p["registration"], UUID, "registration", "a UUID")
        if "registration" in p
        else None,
        related_agents=_flag(p, "related_agents"),
        related_activities=_flag(p, "related_activities"),
        since=utc_timestamp(p.get("since"), "since"),
        until=utc_timestamp(p.get("until"), "until"),
        ascending=_flag(p, "ascending"),
        limit=_limit(p.get("limit"), page_size),
    )


def single_values(params: QueryParams) -> dict[str, str]:
    """The parameters as a dict; ``BadRequest`` when one is repeated."""
    out: dict[str, str] = {}
    for name, value in params.multi_items():
        if name in out:
            raise BadRequest(f"{name}: given more than once")
        out[name] = value
    return out


def parse(params: QueryParams, page_size: int, last_seq: int) -> Request:
    """Parse the query string of ``GET /statements`` (``last_seq`` pins a new query)."""
    p = single_values(params)
    unknown = set(p) - SINGLE - SHAPING - FILTERS - {"more"}
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: unknown parameter")
    if "more" in p:
        if len(p) > 1:
            raise BadRequest("more: cannot be combined with other parameters")
        return decode_more(p["more"])
    fmt = p.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest(f"format: must be one of {', '.join(FORMATS)}")
    shaping = {"format": fmt, "attachments": _flag(p, "attachments")}
    ids = SINGLE & set(p)
    if ids:
        if len(ids) > 1 or set(p) - ids - SHAPING:
            raise BadRequest(f"{ids.pop()}: only format and attachments may accompany it")
        name = ids.pop()
        sid = _matching(p[name], UUID, name, "a UUID")
        return Request(statement_id=sid, voided=name == "voidedStatementId", **shaping)  # type: ignore[arg-type]
    query = dataclasses.replace(_query(p, page_size), max_seq=last_seq)
    return Request(query=query, **shaping)  # type: ignore[arg-type]


def encode_more(request: Request, after_seq: int) -> str:
    """The ``more`` token continuing ``request`` after ``after_seq``."""
    assert request.query is not None
    query = dataclasses.replace(request.query, after_seq=after_seq)
    state = {"q": dataclasses.asdict(query), "f": request.format, "a": request.attachments}
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_more(token: str) -> Request:
    """Inverse of :func:`encode_more`; ``BadRequest`` when the token was not ours."""
    try:
        state: dict[str, Any] = orjson.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        )
        query = StatementQuery(**state["q"])
        return Request(query=query, format=str(state["f"]), attachments=bool(state["a"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BadRequest("more: not a continuation token of this endpoint") from None
