"""Event seals and ids: the precomputed HMAC states give the standard HMAC-SHA256 tags,
and event ids are version 4 UUIDs in their usual text form."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid

import pytest

from hub.trail.seal import TAG, event_seal
from hub.trail.writer import new_event_id


@pytest.mark.parametrize("key_size", [0, 1, 32, 64, 65, 200])
def test_seal_tags_are_hmac_sha256(key_size: int) -> None:
    key = os.urandom(key_size)
    for seq, event_id, hash_ in [(1, "e", "0" * 64), (2**40, "ünï", "ab" * 32)]:
        id_tag = hmac.digest(key, f"id|{seq}|{event_id}".encode(), hashlib.sha256)
        hash_tag = hmac.digest(key, f"hash|{hash_}".encode(), hashlib.sha256)
        expected = id_tag[:TAG].hex() + hash_tag[:TAG].hex()
        assert event_seal(key, seq, event_id, hash_) == expected


def test_event_ids_are_uuid4_text() -> None:
    for _ in range(1000):
        text = new_event_id()
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
