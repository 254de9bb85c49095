"""Connector authentication: a short-lived EdDSA JWT signed with the connector's own key.

The token (``contracts.connector_token``) carries ``iss`` = ``sub`` = connector id and
``aud`` = ``urn:edh:ingest``; it is verified against the public key registered for that
connector in the ``connector`` table, must live at most 300 s, and a revoked connector is
refused. Failures answer 401 (bad token) or 403 (revoked), as problem+json.
"""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request

from contracts.connector_token import AUDIENCE, MAX_TTL_SECONDS
from hub.auth import Role, bearer_token
from hub.db import session_scope
from hub.deps import hub_context
from hub.errors import Forbidden, Unauthorized
from hub.keys import load_public_key
from hub.registry.public import ConnectorRecord, find_connector


def verify_connector_token(token: str, connector: ConnectorRecord, leeway: int) -> None:
    """Raise ``Unauthorized`` unless ``token`` was signed by ``connector``'s key and is valid."""
    try:
        claims = jwt.decode(
            token,
            load_public_key(connector.public_key_pem),
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=connector.id,
            leeway=leeway,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("connector token expired") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized(f"invalid connector token: {exc}") from exc
    if claims["sub"] != connector.id:
        raise Unauthorized("connector token subject differs from its issuer")
    if int(claims["exp"]) - int(claims["iat"]) > MAX_TTL_SECONDS:
        raise Unauthorized(f"connector tokens may live at most {MAX_TTL_SECONDS} s")


def _claimed_id(token: str) -> str:
    try:
        claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid connector token: {exc}") from exc
    if not isinstance(claimed, str) or not claimed:
        raise Unauthorized("connector token has no issuer")
    return claimed


def authenticate_connector(request: Request) -> ConnectorRecord:
    """Dependency: the registered, non-revoked connector that signed the bearer token."""
    token = bearer_token(request)
    ctx = hub_context(request)
    with session_scope(ctx.engine) as session:
        connector = find_connector(session, _claimed_id(token))
    if connector is None:
        raise Unauthorized("unknown connector")
    verify_connector_token(token, connector, ctx.settings.auth.leeway_seconds)
    if connector.revoked_at is not None:
        raise Forbidden(f"connector {connector.id} is revoked")
    return connector


authenticate_connector.roles = (Role.CONNECTOR,)  # type: ignore[attr-defined]
ConnectorDep = Annotated[ConnectorRecord, Depends(authenticate_connector)]
