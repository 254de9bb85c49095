"""Who sends a DSP request: the participant identity port.

``identify`` answers the participant behind a request, or raises ``Unauthorized``:

- in TCK mode (dev mode only) every request is the TCK's participant ``TCK_PARTICIPANT``
  (the TCK sends a fixed, unsigned ``Authorization`` header, see docs/dataspace.md);
- otherwise the request carries a bearer access token the hub verifies (its own issuer or
  the OIDC provider's JWKS); the participant is the token's organisation
  (``urn:edh:org:<org>``), or its subject when it has none.

A participant is ``trusted`` when its identity was verified; the Rego decisions refuse
the others. A verifiable-credential check slots in here: it adds claims to the
participant that the decisions read.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hub.audit.trail import Actor
from hub.auth import authenticate
from hub.context import HubContext

TCK_PARTICIPANT = "urn:edh:participant:dsp-tck"
DSP_ROLE = "dsp_participant"


@dataclass(frozen=True)
class Participant:
    """A verified participant of the data space."""

    id: str
    trusted: bool
    via: str

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
    principal = authenticate(request)
    name = f"urn:edh:org:{principal.org}" if principal.org else principal.sub
    return Participant(name, trusted=True, via="hub-token")
