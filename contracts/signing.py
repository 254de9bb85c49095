"""Detached JWS (RFC 7515 appendix F) with EdDSA over a contract's canonical JSON.

A signature is ``<protected header>..<signature>``: the payload (the canonical document
bytes) travels separately, so a party signs exactly what everyone else can recompute.
The protected header carries ``alg`` (always ``EdDSA``), ``kid``, ``edh_party`` and
``iat`` (signing time, Unix seconds); the hub's countersignature also carries
``edh_parties`` (the organisation of each party), so both are covered by the signature.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.canonical import b64url_decode, b64url_encode
from contracts.errors import SignatureError

PARTIES = ("provider", "lab", "hub")


def sign_detached(
    key: Ed25519PrivateKey,
    payload: bytes,
    *,
    kid: str,
    party: str,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """A detached compact JWS of ``payload`` by ``party`` with the key named ``kid``,
    signed now (``iat``); ``claims`` add protected header members (e.g. ``edh_parties``)."""
    if party not in PARTIES:
        raise SignatureError(f"unknown party {party!r}; expected one of {', '.join(PARTIES)}")
    header = {**(claims or {}), "alg": "EdDSA", "kid": kid, "edh_party": party}
    header["iat"] = int(time.time())
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    signature = key.sign(f"{protected}.{b64url_encode(payload)}".encode("ascii"))
    return f"{protected}..{b64url_encode(signature)}"


def read_header(jws: str) -> dict[str, Any]:
    """The protected header of a detached JWS; raises ``SignatureError`` if malformed."""
    parts = jws.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureError("not a detached compact JWS (expected 'header..signature')")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError("the JWS protected header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise SignatureError("the JWS protected header is not a JSON object")
    if header.get("alg") != "EdDSA":
        raise SignatureError(f"JWS alg must be EdDSA, not {header.get('alg')!r}")
    if header.get("edh_party") not in PARTIES:
        raise SignatureError("the JWS header has no valid edh_party")
    return header


def verify_detached(jws: str, payload: bytes, keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Check ``jws`` over ``payload`` with the key its ``kid`` names; return the party.

    Raises ``SignatureError`` when the JWS is malformed, its key is not in ``keys``, or
    the signature does not match ``payload`` (a changed byte, another version, a forgery).
    """
    header = read_header(jws)
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise SignatureError(f"signing key {header.get('kid')!r} is not registered")
    protected, _, signature = jws.split(".")
    try:
        key.verify(
            b64url_decode(signature), f"{protected}.{b64url_encode(payload)}".encode("ascii")
        )
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("the signature does not match this exact contract version") from exc
    return str(header["edh_party"])


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """An Ed25519 public key from its OKP JWK; raises ``SignatureError`` otherwise."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
        raise SignatureError("keys must be Ed25519 OKP JWKs")
    try:
        return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))
    except ValueError as exc:
        raise SignatureError("malformed Ed25519 public key") from exc
