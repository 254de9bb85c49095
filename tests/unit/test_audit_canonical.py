"""The fast audit canonicaliser is byte-identical to the RFC 8785 library."""

from __future__ import annotations

import random
from typing import Any

import pytest

from contracts.canonical import canonical_json
from hub.trail.canonical import audit_canonical

TRICKY = [
    "é",
    "\u2028",
    "\x00\x1f\x7f",
    '"\\/',
    "😀",
    "\ud7ff",
    "\ue000",
    "<script>",
    "",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return rng.choice(TRICKY) + str(rng.randrange(1000))
    if kind == 1:
        return rng.choice([0, -1, 2**53 - 1, -(2**53) + 1, 42])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice(TRICKY)
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [rng.choice(TRICKY) + rng.choice("abcZ") for _ in range(rng.randrange(5))]
    return {k: _value(rng, depth + 1) for k in keys}


def test_random_documents_match_rfc_8785() -> None:
    rng = random.Random(2026)
    for _ in range(3000):
        value = {"body": _value(rng), "seq": rng.randrange(10**9)}
        assert audit_canonical(value) == canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"f": 1.5, "e": 1e21},
        {"big": 2**60},
        {"\U0001f600": 1, "\ufb01": 2},
        {"lone": "\ud800"},
    ],
)
def test_values_outside_the_fast_path_still_match(value: Any) -> None:
    try:
        expected = canonical_json(value)
    except Exception as exc:  # the library refuses: so must we
        with pytest.raises(type(exc)):
            audit_canonical(value)
        return
    assert audit_canonical(value) == expected


def _text(rng: random.Random) -> str:
    """Any Unicode scalar values: controls, BMP, private use, astral (no lone surrogates)."""
    ranges = [(0, 0x20), (0x20, 0x7F), (0x7F, 0x800), (0xE000, 0x10000), (0x10000, 0x110000)]
    chars = []
    for _ in range(rng.randrange(12)):
        lo, hi = rng.choice(ranges)
        chars.append(chr(rng.randrange(lo, hi)))
    return "".join(chars)


def _json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.choice([0, -7, 2**53 - 1, 2**52 + 3, rng.randrange(-(10**6), 10**6)])
    if kind == 2:
        return rng.choice([0.1, -2.5e-7, 1e21, 1.0, 5e-324, rng.uniform(-1e6, 1e6)])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice(TRICKY)
    if kind == 5:
        return [_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_text(rng): _json(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_random_audit_events_hash_as_with_rfc8785() -> None:
    """Whole event bodies (the verifier's fast path) against the ``rfc8785`` package."""
    rng = random.Random(8785)
    for seq in range(1, 5001):
        nullable = [rng.choice([None, _text(rng)]) for _ in range(6)]
        reasons = [_text(rng) for _ in range(rng.randrange(3))]
        if rng.random() < 0.2:
            reasons.append(_json(rng))
        body = {
            "seq": seq,
            "event_id": _text(rng),
            "ts": "2026-01-05T09:00:00.000000+00:00",
            "actor": {"sub": _text(rng), "role": _text(rng), "org": nullable[0]},
            "action": _text(rng),
            "resource": {"type": _text(rng), "id": nullable[1]},
            "decision": rng.choice(["allow", "deny", "info"]),
            "reasons": reasons,
            "why": dict(
                zip(
                    ("contract_id", "project_id", "dataset_id", "purpose"),
                    nullable[2:],
                    strict=True,
                )
            ),
            "details": {_text(rng): _json(rng) for _ in range(rng.randrange(5))},
            "prev_hash": "0" * 64,
        }
        fast = audit_canonical(body, check=(body["reasons"], body["details"]))
        assert fast == canonical_json(body)
