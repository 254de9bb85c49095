"""Batch manifests: the connector's signed statement of what it uploaded (JWS over RFC 8785).

A manifest is a JSON object (see ``schemas/batch-manifest.schema.json``); its signature is
a compact JWS (``alg=EdDSA``) whose payload is the RFC 8785 canonical form of the manifest,
so any party holding the connector's public key can verify it offline.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.canonical import canonical_json

SCHEMA_VERSION = "edh-xapi-1"
MANIFEST_VERSION = 1
JWS_TYPE = "edh-batch-manifest+jws"
_JWS = jwt.PyJWS()


class ManifestError(ValueError):
    """A manifest whose signature or form does not verify; the message says why."""


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """Compact JWS (EdDSA) over the canonical JSON of ``manifest``."""
    return _JWS.encode(canonical_json(manifest), key, algorithm="EdDSA", headers={"typ": JWS_TYPE})


def verify_manifest(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The manifest of a JWS signed by ``public_key``; raises ``ManifestError`` otherwise.

    The payload must be the canonical JSON of a JSON object (no other encoding accepted).
    """
    try:
        payload = _JWS.decode(token, public_key, algorithms=["EdDSA"])
    except jwt.PyJWTError as exc:
        raise ManifestError(f"manifest signature invalid: {exc}") from exc
    try:
        manifest = json.loads(payload)
    except ValueError as exc:
        raise ManifestError("manifest payload is not JSON") from exc
    if not isinstance(manifest, dict) or canonical_json(manifest) != payload:
        raise ManifestError("manifest payload is not a canonical JSON object")
    return manifest
