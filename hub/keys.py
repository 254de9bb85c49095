"""Ed25519 key files: load, or generate in dev mode; JWK export and thumbprints."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AfterValidator

from contracts.canonical import sha256_hex
from hub.errors import ServiceUnavailable


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_HELD: dict[Path, Ed25519PrivateKey] = {}
_HELD_LOCK = threading.Lock()


def load_or_create_key(
    path: Path, *, allow_create: bool, setting: str = "signing key"
) -> Ed25519PrivateKey:
    """The PEM private key at ``path``, read once and then held in memory (a rotation
    takes a restart); created (mode 0600) only when allowed.

    Raises ``ServiceUnavailable`` naming ``setting`` and the file when the key is missing
    and creation is not allowed (production provisions its keys), unreadable or not
    an Ed25519 private key.
    """
    resolved = path.resolve()
    with _HELD_LOCK:
        held = _HELD.get(resolved)
        if held is None:
            held = _HELD[resolved] = _read_key(path, allow_create, setting)
    return held


def is_held(path: Path) -> bool:
    """True when the key at ``path`` was loaded and is held in memory."""
    with _HELD_LOCK:
        return path.resolve() in _HELD


def _read_key(path: Path, allow_create: bool, setting: str) -> Ed25519PrivateKey:
    if not path.exists():
        if not allow_create:
            raise ServiceUnavailable(
                f"{setting}: signing key {path} is missing; provision it "
                "(generated keys are dev-mode only)"
            )
        _create_once(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ServiceUnavailable(f"{setting}: {path} is not a readable PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ServiceUnavailable(f"{setting}: {path} is not an Ed25519 private key")
    return key


def _create_once(path: Path) -> None:
    """Write a new key to a private temporary file, then link it to ``path`` unless
    another thread or process did first: every caller then loads the same, whole key."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The OKP JWK of an Ed25519 public key, with its RFC 7638 thumbprint as ``kid``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    thumb_input = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64url(bytes.fromhex(sha256_hex(thumb_input)))
    return {**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"}


def load_public_key(text: str) -> Ed25519PublicKey:
    """Parse a PEM Ed25519 public key; raises ``ValueError`` with a reason otherwise."""
    try:
        key = serialization.load_pem_public_key(text.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise ValueError("public_key must be a PEM-encoded public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public_key must be an Ed25519 key")
    return key


def normalised_public_pem(text: str) -> str:
    """``text`` if it is a PEM Ed25519 public key (else ``ValueError``), one final newline."""
    load_public_key(text)
    return text.strip() + "\n"


PublicKeyPem = Annotated[str, AfterValidator(normalised_public_pem)]
"""A pydantic field type: a PEM Ed25519 public key, checked and normalised."""
