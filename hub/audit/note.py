"""C2SP signed notes, checkpoints and cosignatures (standard library and ``cryptography``
only, so a DPO or a witness can check them without the hub).

- ``tlog-checkpoint``: the note body is three lines, ``<origin>``, the tree size in
  decimal and the base64 RFC 6962 root hash, each ending in ``\\n``.
- ``signed-note``: after the body, an empty line, then one line per signature,
  ``— <key name> base64(key id || signature)``; an Ed25519 key id is the first 4 bytes of
  ``SHA-256(<name> || 0x0A || 0x01 || public key)`` and the signature covers the body.
- ``tlog-cosignature`` (v1, Ed25519): key id over ``0x04`` instead of ``0x01``; the
  signature is ``timestamp (u64, big-endian) || Ed25519 signature`` over
  ``cosignature/v1\\ntime <timestamp>\\n<body>``.
- Verifier keys (``vkey``): ``<name>+<hex key id>+base64(type || public key)``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "


class NoteError(ValueError):
    """A note, checkpoint or verifier key that is not well formed."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey, kind: int) -> bytes:
    """The 4-byte key id of ``key`` under ``name`` for signature type ``kind``."""
    material = name.encode() + b"\n" + bytes([kind]) + raw_public(key)
    return hashlib.sha256(material).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A named public key and the signature type it makes (note signer or cosigner)."""

    name: str
    key: Ed25519PublicKey
    kind: int = ED25519

    @property
    def vkey(self) -> str:
        """The verifier key string."""
        encoded = base64.b64encode(bytes([self.kind]) + raw_public(self.key)).decode()
        return f"{self.name}+{key_id(self.name, self.key, self.kind).hex()}+{encoded}"


def parse_vkey(text: str) -> Verifier:
    """A :class:`Verifier` from its vkey string; ``NoteError`` when malformed."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        material = base64.b64decode(encoded, validate=True)
        kind, key = material[0], Ed25519PublicKey.from_public_bytes(material[1:])
    except (ValueError, IndexError) as exc:
        raise NoteError("malformed verifier key") from exc
    verifier = Verifier(name, key, kind)
    if kind not in (ED25519, COSIGNATURE_V1) or key_id(name, key, kind).hex() != hex_id:
        raise NoteError("verifier key id does not match its key")
    return verifier


@dataclass(frozen=True)
class Checkpoint:
    """The body of a ``tlog-checkpoint``."""

    origin: str
    size: int
    root: bytes

    @property
    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """The checkpoint a note body holds (extension lines are allowed and ignored)."""
    lines = body.split("\n")
    try:
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        root = base64.b64decode(root_text, validate=True)
    except (IndexError, ValueError) as exc:
        raise NoteError("malformed checkpoint") from exc
    if not origin or not size_text.isdigit() or str(int(size_text)) != size_text:
        raise NoteError("malformed checkpoint")
    if len(root) != 32 or not body.endswith("\n"):
        raise NoteError("malformed checkpoint")
    return Checkpoint(origin, int(size_text), root)


def split_note(text: str) -> tuple[str, list[str]]:
    """The body and the signature lines of a signed note."""
    body, sep, signatures = text.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("malformed signed note")
    lines = signatures[:-1].split("\n")
    if not all(line.startswith(DASH) for line in lines):
        raise NoteError("malformed signature line")
    return body + "\n", lines


def join_note(body: str, signature_lines: list[str]) -> str:
    return body + "\n" + "".join(line + "\n" for line in signature_lines)


def _line(name: str, kid: bytes, signature: bytes) -> str:
    return f"{DASH}{name} {base64.b64encode(kid + signature).decode()}"


def sign_line(body: str, name: str, key: Ed25519PrivateKey) -> str:
    """The note signature line of ``key`` (named ``name``) over ``body``."""
    kid = key_id(name, key.public_key(), ED25519)
    return _line(name, kid, key.sign(body.encode()))


def cosignature_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign_line(body: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """A ``tlog-cosignature`` v1 line of ``key`` over the checkpoint ``body``."""
    kid = key_id(name, key.public_key(), COSIGNATURE_V1)
    signature = key.sign(cosignature_message(body, timestamp))
    return _line(name, kid, struct.pack(">Q", timestamp) + signature)


def verified_by(body: str, line: str, verifier: Verifier) -> bool:
    """Does signature ``line`` over ``body`` hold for ``verifier``? (False when the line is
    another key's.)"""
    name, _, encoded = line[len(DASH) :].partition(" ")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    if name != verifier.name or raw[:4] != key_id(verifier.name, verifier.key, verifier.kind):
        return False
    if verifier.kind == COSIGNATURE_V1:
        if len(raw) != 4 + 8 + 64:
            return False
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        message, signature = cosignature_message(body, timestamp), raw[12:]
    else:
        message, signature = body.encode(), raw[4:]
    try:
        verifier.key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signed_by(text: str, verifier: Verifier) -> Checkpoint | None:
    """The checkpoint of note ``text`` when one of its signatures is ``verifier``'s."""
    try:
        body, lines = split_note(text)
        checkpoint = parse_checkpoint(body)
    except NoteError:
        return None
    if any(verified_by(body, line, verifier) for line in lines):
        return checkpoint
    return None
