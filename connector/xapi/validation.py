"""Strict xAPI statement validation: the JSON Schema (``schemas/xapi/statement.json``,
checked by the Rust ``jsonschema-rs`` validator) then the rules a schema cannot express
(``connector.xapi.rules``).

``validate_statements`` raises :class:`connector.errors.InvalidStatement` whose detail
names the offending field as a JSON path, e.g. ``statement[3].actor.mbox: ...``.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs

from connector.errors import InvalidStatement
from connector.xapi import rules

_IN_REPOSITORY = Path(__file__).resolve().parents[2] / "schemas" / "xapi" / "statement.json"
_INSTALLED = Path(sys.prefix) / "share" / "edh" / "schemas" / "xapi" / "statement.json"
SCHEMA_PATH = _IN_REPOSITORY if _IN_REPOSITORY.exists() else _INSTALLED
_IFI_MESSAGE = (
    "an Agent or Identified Group needs exactly one inverse functional identifier "
    "(mbox, mbox_sha1sum, openid or account); an Anonymous Group needs members and none"
)

_ACTOR_KEYS = frozenset({"name", "mbox", "mbox_sha1sum", "openid", "account", "member"})


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(_schema())


# Tags of a language and an optional region only ("en", "fr-FR", "es-419"): a subset of
# the schema's RFC 5646 pattern (they hold no singleton, so its look-ahead for a repeated
# one never applies), matched without backtracking, where the full pattern runs on the
# slower look-around engine. Nearly every key of every language map is one.
_PLAIN_LANGUAGE_TAG = "^(?i:[a-z]{2,3}(?:-(?:[a-z]{2}|[0-9]{3}))?)$"


@functools.cache
def _batch_validator() -> Any:
    """The statement schema applied to every item of an array: one call per batch. It
    accepts exactly what the schema does (a plain language tag is tried before the full
    pattern, which it implies); a refused batch is re-checked by :func:`_validator` for
    the schema's own message."""
    schema = _schema()
    shared = ("$schema", "$id", "definitions")
    statement = {k: v for k, v in schema.items() if k not in shared}
    full_tag = schema["definitions"]["languageTag"]
    definitions = {
        **schema["definitions"],
        "languageTag": {"anyOf": [{"type": "string", "pattern": _PLAIN_LANGUAGE_TAG}, full_tag]},
    }
    return jsonschema_rs.validator_for(
        {"$schema": schema["$schema"], "definitions": definitions,
         "type": "array", "items": statement}
    )  # fmt: skip


@functools.cache
def _pattern_names() -> dict[str, str]:
    """What each pattern of the schema means, from its definition's description."""
    definitions = _schema()["definitions"].values()
    return {d["pattern"]: d["description"] for d in definitions if "pattern" in d}


@functools.cache
def _actor_validator() -> Any:
    schema = _schema()
    actor = {"$schema": schema["$schema"], "definitions": schema["definitions"]}
    return jsonschema_rs.validator_for({**actor, "$ref": "#/definitions/actor"})


def actor_error(value: Any) -> str | None:
    """Why ``value`` is not a valid Agent or Group (as in a statement), or ``None``."""
    error = next(_actor_validator().iter_errors(value), None)
    if error is None:
        return None
    where = _path("", list(error.instance_path)).lstrip(".")
    return f"{where + ': ' if where else ''}{_message(error)}"


def _message(error: Any) -> str:
    """The validator's message, with regular expressions replaced by what they mean."""
    if type(error.kind).__name__ == "PropertyNames":
        inner = error.kind.as_dict()["error"]
        return f"key {_message(inner)}"
    described = _pattern_names().get(getattr(error.kind, "pattern", None) or "")
    if described:
        return f"{json.dumps(error.instance, ensure_ascii=False)} is not {described}"
    return str(error.message)


def _path(prefix: str, parts: list[str | int]) -> str:
    out = prefix
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_error(statement: Any, prefix: str) -> InvalidStatement:
    error = next(_validator().iter_errors(statement))
    message = _message(error)
    actorish = isinstance(error.instance, dict) and not _ACTOR_KEYS.isdisjoint(error.instance)
    if actorish and type(error.kind).__name__.startswith("OneOf"):
        message = _IFI_MESSAGE
    return InvalidStatement(f"{_path(prefix, list(error.instance_path))}: {message}")


def validate_statement(statement: Any, version: str, prefix: str = "statement") -> None:
    """Raise :class:`InvalidStatement` unless ``statement`` is valid for xAPI ``version``."""
    if not isinstance(statement, dict):
        raise InvalidStatement(f"{prefix}: a statement must be a JSON object")
    if not _validator().is_valid(statement):
        raise _schema_error(statement, prefix)
    rules.check(statement, version, prefix)


def validate_statements(statements: list[Any], version: str) -> None:
    """Validate every statement of a batch (``version`` is the resolved API version).

    The schema checks the whole batch in one call; only a batch it refuses is walked
    statement by statement, to name the first invalid one."""
    if not _batch_validator().is_valid(statements):
        for n, statement in enumerate(statements):
            validate_statement(statement, version, f"statement[{n}]")
    for n, statement in enumerate(statements):
        rules.check(statement, version, f"statement[{n}]")
