"""C2SP signed notes, checkpoints and cosignatures as the specifications spell them."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.note import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Verifier,
    cosign_line,
    join_note,
    parse_checkpoint,
    parse_vkey,
    raw_public,
    sign_line,
    signed_by,
    split_note,
    verified_by,
)

ROOT = bytes(range(32))


def test_signature_line_carries_the_spec_key_id() -> None:
    key = Ed25519PrivateKey.generate()
    body = Checkpoint("log.example/a", 7, ROOT).body
    assert body == f"log.example/a\n7\n{base64.b64encode(ROOT).decode()}\n"
    line = sign_line(body, "log.example/a", key)
    assert line.startswith("\u2014 log.example/a ")
    raw = base64.b64decode(line.rsplit(" ", 1)[1])
    expected = hashlib.sha256(b"log.example/a\n\x01" + raw_public(key.public_key())).digest()[:4]
    assert raw[:4] == expected
    key.public_key().verify(raw[4:], body.encode())  # raises if the signature is not over body


def test_cosignature_is_timestamped_over_the_v1_message() -> None:
    key = Ed25519PrivateKey.generate()
    body = Checkpoint("log.example/a", 7, ROOT).body
    raw = base64.b64decode(cosign_line(body, "w.example/1", key, 1_700_000_000).rsplit(" ", 1)[1])
    expected = hashlib.sha256(b"w.example/1\n\x04" + raw_public(key.public_key())).digest()[:4]
    assert raw[:4] == expected
    assert struct.unpack(">Q", raw[4:12]) == (1_700_000_000,)
    message = b"cosignature/v1\ntime 1700000000\n" + body.encode()
    key.public_key().verify(raw[12:], message)


def test_vkeys_round_trip_even_with_plus_signs_in_base64() -> None:
    for _ in range(200):
        verifier = Verifier(
            "w.example/1", Ed25519PrivateKey.generate().public_key(), COSIGNATURE_V1
        )
        assert parse_vkey(verifier.vkey) == verifier
    with pytest.raises(NoteError):
        parse_vkey(verifier.vkey.replace("+", "+00", 1))


def test_notes_from_another_key_or_altered_are_not_signed_by() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    body = Checkpoint("log.example/a", 7, ROOT).body
    note = join_note(body, [sign_line(body, "log.example/a", key)])
    verifier = Verifier("log.example/a", key.public_key())
    assert signed_by(note, verifier) == Checkpoint("log.example/a", 7, ROOT)
    assert signed_by(note, Verifier("log.example/a", other.public_key())) is None
    assert signed_by(note.replace("\n7\n", "\n8\n"), verifier) is None
    assert split_note(note) == (body, [note.splitlines()[-1]])
    assert not verified_by(body, "\u2014 log.example/a !!!", verifier)


@pytest.mark.parametrize("body", ["a\n07\nAAAA\n", "a\n1\n", "\n1\n" + "A" * 44 + "\n", "a\n1\nx"])
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(body)
