"""The xAPI rules a JSON Schema cannot express, checked after the schema passed.

Each check raises :class:`connector.errors.InvalidStatement` naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.errors import InvalidStatement

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
_NEGATIVE_ZERO = ("-00:00", "-0000", "-00")
_COMPONENTS = {
    "choice": {"choices"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "matching": {"source", "target"},
    "performance": {"steps"},
}
_ALL_COMPONENTS = {"choices", "scale", "source", "target", "steps"}
_INTERACTION = {"correctResponsesPattern", *_ALL_COMPONENTS}
_IFIS = {"mbox", "mbox_sha1sum", "openid", "account"}


def parse_timestamp(value: str, field: str) -> datetime:
    """Parse an ISO 8601 timestamp (extended or basic, ``T`` or a space as in RFC 3339;
    already shape-checked); reject impossible dates and the ``-00:00`` offset."""
    if value.endswith(_NEGATIVE_ZERO):
        raise InvalidStatement(f"{field}: the offset -00:00 is not allowed")
    value = value.upper().replace(",", ".")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidStatement(f"{field}: not a valid ISO 8601 timestamp ({exc})") from None


def _check_score(result: dict[str, Any], field: str) -> None:
    score = result.get("score")
    if not score:
        return
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        raise InvalidStatement(f"{field}.score.min: must be less than score.max")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise InvalidStatement(f"{field}.score.raw: must lie between score.min and score.max")


def _check_definition(obj: dict[str, Any], field: str) -> None:
    definition = obj.get("definition")
    if not definition or not _INTERACTION.intersection(definition):
        return
    if "interactionType" not in definition:
        raise InvalidStatement(
            f"{field}.definition.interactionType: required with "
            f"{sorted(_INTERACTION.intersection(definition))[0]}"
        )
    allowed = _COMPONENTS.get(definition.get("interactionType", ""), set())
    for key in _ALL_COMPONENTS.intersection(definition) - allowed:
        raise InvalidStatement(
            f"{field}.definition.{key}: not allowed for interactionType "
            f"{definition.get('interactionType')!r}"
        )
    for key in sorted(_ALL_COMPONENTS.intersection(definition)):
        ids = [component["id"] for component in definition[key]]
        if len(set(ids)) != len(ids):
            raise InvalidStatement(f"{field}.definition.{key}: component ids must be distinct")


def _check_authority(statement: dict[str, Any], field: str) -> None:
    """A Group authority (OAuth 3-legged) is anonymous with exactly two Agents."""
    authority = statement.get("authority")
    if not authority or authority.get("objectType") != "Group":
        return
    if not _IFIS.isdisjoint(authority):
        raise InvalidStatement(f"{field}.authority: a Group authority must be anonymous")
    if len(authority["member"]) != 2:
        raise InvalidStatement(
            f"{field}.authority.member: a Group authority has exactly two Agents"
        )


def _check_context(statement: dict[str, Any], version: str, field: str) -> None:
    context = statement.get("context")
    if not context:
        return
    kind = statement["object"].get("objectType", "Activity")
    for key in ("revision", "platform"):
        if key in context and kind != "Activity":
            raise InvalidStatement(
                f"{field}.context.{key}: only allowed when the object is an Activity"
            )
    if version.startswith("1."):
        for key in ("contextAgents", "contextGroups"):
            if key in context:
                raise InvalidStatement(f"{field}.context.{key}: not part of xAPI {version}")


def _check_body(statement: dict[str, Any], version: str, field: str) -> None:
    """Checks shared by statements and sub-statements."""
    obj = statement["object"]
    if "timestamp" in statement:
        parse_timestamp(statement["timestamp"], f"{field}.timestamp")
    if "result" in statement:
        _check_score(statement["result"], f"{field}.result")
    _check_context(statement, version, field)
    if obj.get("objectType", "Activity") == "Activity":
        _check_definition(obj, f"{field}.object")
    if statement["verb"]["id"] == VOIDED_VERB and obj.get("objectType") != "StatementRef":
        raise InvalidStatement(f"{field}.object: a voiding statement must target a StatementRef")


def check(statement: dict[str, Any], version: str, field: str = "statement") -> None:
    """Apply the non-schema rules to a schema-valid statement for API ``version``."""
    _check_body(statement, version, field)
    _check_authority(statement, field)
    if "stored" in statement:
        parse_timestamp(statement["stored"], f"{field}.stored")
    declared = statement.get("version")
    compatible = declared is None or declared[0] == version[0] or declared.startswith("1.0")
    if not compatible:
        raise InvalidStatement(f"{field}.version: {declared} is not accepted with xAPI {version}")
    obj = statement["object"]
    if obj.get("objectType") == "SubStatement":
        _check_body(obj, version, f"{field}.object")
