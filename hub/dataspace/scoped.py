"""The bearer token of a transfer's data address, pull or push.

``issue`` signs it with the hub's DSP key: ``iss`` the hub's DID, ``aud`` the address's
endpoint, the claim ``transfer`` (the hub's process id) with the caller's scope claims,
an expiry of ``EDH_DATASPACE__PULL_TOKEN_TTL_SECONDS``, a ``jti``; its issue is audited
in the caller's transaction (``dsp_transfer.token.issued``: ``jti``, subject, expiry and
the caller's details, never the token). ``verify`` answers its claims only when this hub
signed it for that endpoint and process and it is unexpired; else ``Unauthorized``,
with no detail of the token.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from sqlmodel import Session

from hub.dataspace.identity import Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.node import Node
from hub.errors import Unauthorized
from hub.trail.writer import EventDraft, Resource, record


def issue(
    node: Node,
    session: Session,
    row: DspTransfer,
    audience: str,
    scope: dict[str, Any],
    details: dict[str, Any],
) -> str:
    """A token for ``row``'s data address at ``audience`` carrying ``scope`` (``sub``
    included); its issue audited with ``details``."""
    if node.key is None:
        raise RuntimeError("the hub has no DSP key to sign a data address token")
    now, ttl = int(time.time()), node.ctx.settings.dataspace.pull_token_ttl_seconds
    claims = {
        "iss": node.did,
        "aud": audience,
        **scope,
        "transfer": row.id,
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    draft = EventDraft(
        Participant(node.participant_id, True, "").actor(),
        "dsp_transfer.token.issued",
        Resource("dsp_transfer", row.id),
        details={"jti": claims["jti"], "sub": claims["sub"], "exp": claims["exp"], **details},
    )
    record(session, draft)
    return jwt.encode(claims, node.key, algorithm="EdDSA")


def verify(node: Node, token: str, audience: str, pid: str) -> dict[str, Any]:
    """The claims of ``token`` if this hub signed it for ``audience`` and process ``pid``,
    unexpired; else ``Unauthorized``."""
    refusal = "the token is not valid for this transfer"
    if node.key is None:
        raise Unauthorized(refusal)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            node.key.public_key(),
            algorithms=["EdDSA"],
            audience=audience,
            issuer=node.did,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(refusal) from exc
    if claims.get("transfer") != pid:
        raise Unauthorized(refusal)
    return claims
