"""Connector authentication: a short-lived JWT the connector signs with its own Ed25519 key.

Claims: ``iss`` = ``sub`` = connector id, ``aud`` = :data:`AUDIENCE`, ``iat``, ``exp``
(at most :data:`MAX_TTL_SECONDS` after ``iat``), ``jti``. The hub verifies it against the
public key registered for that connector (table ``connector``) and refuses revoked ones.
"""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

AUDIENCE = "urn:edh:ingest"
MAX_TTL_SECONDS = 300


def mint_connector_token(key: Ed25519PrivateKey, connector_id: str, ttl: int = 120) -> str:
    """A token proving the caller holds ``connector_id``'s private key (``ttl`` ≤ 300 s)."""
    now = int(time.time())
    claims = {
        "iss": connector_id,
        "sub": connector_id,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + min(ttl, MAX_TTL_SECONDS),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="EdDSA")
