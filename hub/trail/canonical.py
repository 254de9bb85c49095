"""Fast RFC 8785 canonical JSON for audit events (byte-identical to ``contracts.canonical``).

Audit bodies are strings, integers, booleans, nulls, lists and objects; for those,
``orjson`` with sorted keys produces exactly the RFC 8785 bytes, some thirty times faster
than the general encoder. Anything else (floats, integers beyond 2^53, keys outside the
Basic Multilingual Plane, lone surrogates) goes to the general encoder.
"""

from __future__ import annotations

from typing import Any

import orjson

from contracts.canonical import canonical_json

_SAFE_INT = 2**53


def plain_json(value: Any) -> bool:
    """True when ``orjson`` canonicalises ``value`` exactly as RFC 8785 does."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_SAFE_INT < value < _SAFE_INT)
    if kind is list:
        return all(type(item) is str or plain_json(item) for item in value)
    if kind is not dict:
        return False
    for key, item in value.items():
        # orjson sorts by code point, RFC 8785 by UTF-16 unit: equal below U+D800.
        if type(key) is not str or not (key.isascii() or max(key) < "\ud800"):
            return False
        if type(item) is not str and not plain_json(item):
            return False
    return True


def audit_canonical(value: Any, *, check: tuple[Any, ...] | None = None) -> bytes:
    """RFC 8785 bytes of ``value``; raises like ``contracts.canonical.canonical_json``.

    ``check`` names the parts of ``value`` that may hold arbitrary JSON (default: all of
    it); the caller vouches that the rest is strings, small integers and fixed ASCII keys.
    """
    for part in (value,) if check is None else check:
        if not plain_json(part):
            return canonical_json(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return canonical_json(value)  # a lone surrogate: let the general encoder report it
