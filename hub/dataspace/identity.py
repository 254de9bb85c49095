"""Who sends a DSP request: the participant identity port.

``identify`` answers the participant behind a request, or raises ``Unauthorized``:

- in TCK mode (dev mode only) every request is the TCK's participant ``TCK_PARTICIPANT``
  (the TCK sends a fixed, unsigned ``Authorization`` header, see docs/dataspace.md);
- a token whose issuer is a DID (another connector or hub) is accepted when that DID is
  on the operator's trust list (``dsp_participant``) and the token is signed by a key
  recorded there, for this hub's DID, unexpired (``hub.dataspace.did``); the participant
  is the DID, and the person it asks for (``person``) the subject of the token's ``act``
  claim (RFC 8693), if any;
- a token whose issuer is a connector of the registry (a vendor's connector, the
  provider of a push transfer, ``hub.dataspace.push``) is accepted when signed by that
  connector's key, unexpired, the connector not revoked (``hub.ingest.connector_auth``);
  the participant is ``urn:edh:connector:<id>``;
- otherwise the request carries a bearer access token the hub verifies (its own issuer or
  the OIDC provider's JWKS); the participant is the token's organisation
  (``urn:edh:org:<org>``), or its subject when it has none; the person is its subject.

A participant is ``trusted`` when its identity was verified; the Rego decisions refuse
the others. A verifiable-credential check slots in here: it adds claims to the
participant that the decisions read.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlmodel import Session

from hub.auth import authenticate, bearer_token
from hub.context import HubContext
from hub.dataspace.did import DidError, token_issuer, unverified_issuer, verify_token
from hub.dataspace.models import DspParticipant
from hub.errors import Unauthorized
from hub.ingest.public import verify_connector_token
from hub.registry.public import find_connector
from hub.trail.writer import Actor

TCK_PARTICIPANT = "urn:edh:participant:dsp-tck"
CONNECTOR_PREFIX = "urn:edh:connector:"
DSP_ROLE = "dsp_participant"


@dataclass(frozen=True)
class Participant:
    """A verified participant of the data space."""

    id: str
    trusted: bool
    via: str
    person: str | None = None
    """The person of the participant's realm on whose behalf it asks (a researcher)."""

    def actor(self) -> Actor:
        """The participant as the audit log's actor."""
        return Actor(sub=self.id, role=DSP_ROLE)

    def policy_input(self) -> dict[str, object]:
        return {"id": self.id, "trusted": self.trusted}


def tck_mode(ctx: HubContext) -> bool:
    """TCK mode is on only in dev mode."""
    return ctx.settings.dev_mode and ctx.settings.dataspace.tck_mode


def identify(request: Request) -> Participant:
    """The participant sending ``request``; raises ``Unauthorized`` without a valid token."""
    ctx: HubContext = request.app.state.hub
    if tck_mode(ctx):
        return Participant(TCK_PARTICIPANT, trusted=True, via="tck-mode")
    token = bearer_token(request)
    issuer = token_issuer(token)
    if issuer is not None:
        return _trusted_did(ctx, request.app.state.dataspace.did, issuer, token)
    connector = _connector(ctx, token)
    if connector is not None:
        return Participant(f"{CONNECTOR_PREFIX}{connector}", trusted=True, via="connector")
    principal = authenticate(request)
    name = f"urn:edh:org:{principal.org}" if principal.org else principal.sub
    return Participant(name, trusted=True, via="hub-token", person=principal.sub)


def _trusted_did(ctx: HubContext, audience: str, issuer: str, token: str) -> Participant:
    """A participant's own token: its DID must be on the trust list and the token signed
    by one of the keys recorded there, for this hub (``aud``), unexpired."""
    with Session(ctx.engine) as session:
        row = session.get(DspParticipant, issuer)
        keys = list(row.keys) if row else []
    if not keys:
        raise Unauthorized("the participant is not on the hub's trust list")
    try:
        did, person = verify_token(token, keys, audience)
    except DidError as exc:
        raise Unauthorized(str(exc)) from exc
    return Participant(did, trusted=True, via="did:web", person=person)


def _connector(ctx: HubContext, token: str) -> str | None:
    """The id of the registered connector whose own key signed ``token`` (None when its
    issuer is no connector); raises ``Unauthorized`` for a bad token or revoked one."""
    claimed = unverified_issuer(token)
    with Session(ctx.engine) as session:
        connector = find_connector(session, claimed) if claimed else None
    if connector is None:
        return None
    verify_connector_token(token, connector, ctx.settings.auth.leeway_seconds)
    if connector.revoked_at is not None:
        raise Unauthorized(f"connector {connector.id} is revoked")
    return connector.id
