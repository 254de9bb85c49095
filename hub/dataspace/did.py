"""``did:web`` identities: the hub's DID and document, resolution of a participant's
document, and the signed tokens DSP requests carry between participants.

A participant's token is a JWT (EdDSA) with ``iss`` = ``sub`` = its DID, ``aud`` = the
receiver's DID, a short ``exp``, signed by a key of its DID document; the receiver accepts
it only with a key its operator put on the trust list.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.keys import public_jwk

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
TOKEN_TTL_SECONDS = 300
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DidError(ValueError):
    """A DID that cannot be resolved or whose document carries no usable key."""


def did_for(public_url: str) -> str:
    """``did:web`` of a base URL: host (``:`` → ``%3A``) and path segments."""
    parts = urlsplit(public_url)
    host = quote(parts.netloc, safe="")
    path = ":".join(p for p in parts.path.split("/") if p)
    return f"did:web:{host}" + (f":{path}" if path else "")


def document_url(did: str, allow_http_loopback: bool) -> str:
    """Where the document of ``did`` lives (``https``; ``http`` for loopback in dev mode)."""
    if not did.startswith("did:web:"):
        raise DidError("only did:web identifiers are resolved")
    host, *path = did[len("did:web:") :].split(":")
    host = unquote(host)
    scheme = "http" if allow_http_loopback and host.split(":")[0] in LOOPBACK else "https"
    suffix = "/".join(path) + "/did.json" if path else ".well-known/did.json"
    return f"{scheme}://{host}/{suffix}"


def hub_document(did: str, key: Ed25519PrivateKey, dsp_url: str) -> dict[str, Any]:
    """The hub's DID document: its Ed25519 key (JsonWebKey2020) and its DSP service."""
    jwk = {k: v for k, v in public_jwk(key.public_key()).items() if k in ("kty", "crv", "x")}
    key_id = f"{did}#key-1"
    return {
        "@context": [DID_CONTEXT, "https://w3id.org/dspace/2025/1/context.jsonld"],
        "id": did,
        "verificationMethod": [
            {"id": key_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
        ],
        "authentication": [key_id],
        "assertionMethod": [key_id],
        "service": [
            {"id": f"{did}#dsp", "type": "DataService", "serviceEndpoint": dsp_url + "/catalog"}
        ],
    }


def resolve_keys(did: str, allow_http_loopback: bool, timeout: float) -> list[dict[str, Any]]:
    """The public JWKs of ``did``'s document; raises ``DidError`` with the reason."""
    url = document_url(did, allow_http_loopback)
    try:
        response = httpx.get(url, timeout=timeout)
        document = response.json() if response.is_success else None
    except (httpx.HTTPError, ValueError) as exc:
        raise DidError(f"the DID document of {did} cannot be read") from exc
    if not isinstance(document, dict) or document.get("id") != did:
        raise DidError(f"{url} is not the DID document of {did}")
    keys = [
        method["publicKeyJwk"]
        for method in document.get("verificationMethod", [])
        if isinstance(method, dict) and isinstance(method.get("publicKeyJwk"), dict)
    ]
    if not keys:
        raise DidError(f"the DID document of {did} has no public key")
    return keys


def sign_token(key: Ed25519PrivateKey, issuer: str, audience: str, actor: str | None = None) -> str:
    """A short-lived token of ``issuer`` for ``audience``; ``actor`` names the person of
    the issuer's realm on whose behalf it asks (the ``act`` claim of RFC 8693)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + TOKEN_TTL_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    if actor:
        claims["act"] = {"sub": actor}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": f"{issuer}#key-1"})


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` of a token, unverified (only to pick how to verify it)."""
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) and issuer else None


def token_issuer(token: str) -> str | None:
    """The ``iss`` of a token when it is a DID (unverified: only to pick the path)."""
    issuer = unverified_issuer(token)
    return issuer if issuer and issuer.startswith("did:") else None


def verify_token(token: str, keys: list[dict[str, Any]], audience: str) -> tuple[str, str | None]:
    """The DID a token proves, checked with one of ``keys``, and the person it acts for
    (its ``act`` claim's ``sub``, if any); raises ``DidError``."""
    for jwk in keys:
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWK.from_dict({**jwk, "alg": "EdDSA"}).key,
                algorithms=["EdDSA"],
                audience=audience,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError):
            continue
        if claims.get("sub", claims["iss"]) == claims["iss"]:
            return str(claims["iss"]), _actor(claims)
    raise DidError("the token is not signed by a trusted key of its issuer, or has expired")


def _actor(claims: dict[str, Any]) -> str | None:
    act = claims.get("act")
    sub = act.get("sub") if isinstance(act, dict) else None
    return sub if isinstance(sub, str) and 0 < len(sub) <= 255 else None
