"""The pull data address of a research transfer: the sandbox's query API of the
agreement's project, behind a token scoped to that transfer; never raw data.

``address`` mints the token, signed with the hub's DSP key: ``sub``
``dsp-transfer:<pid>``, the claims ``transfer``, ``project`` (the contract's project) and
``contract``, an expiry of ``EDH_DATASPACE__PULL_TOKEN_TTL_SECONDS``; the issue is audited
(``dsp_transfer.token.issued``: its ``jti`` and expiry, never the token). The address is
``POST /api/v1/dataspace/transfers/{pid}/queries`` (``router``): it takes the token only
for its own transfer, signed by this hub, unexpired, while the transfer is STARTED and its
contract in force (Rego's decision ``edh/dataspace/pull``, so the token ends with the
transfer: suspended, completed or terminated, it opens nothing), then submits the query
to the sandbox on the token's project, never another, as the lab's researcher the body
names: the sandbox's Rego decides as for any query (an accredited researcher, member of
the project, the contract's purpose, tables and columns). Every refusal is audited with
its reasons.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Any

import jwt
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from contracts.dsp import messages
from hub.auth import Principal, Role, bearer_token, public_endpoint
from hub.contracts.service import get_contract, is_in_force
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.negotiation import finalized_agreement
from hub.dataspace.node import Node
from hub.enforcement.enforce import decide
from hub.errors import Forbidden, PolicyUnavailable, Unauthorized
from hub.policy.port import PolicyDecision
from hub.sandbox import jobs
from hub.sandbox.api import JobOut, job_out
from hub.sandbox.runtime import runtime_for
from hub.trail.writer import Decision, EventDraft, Resource, record, record_now

SCOPE = "dsp-transfer"
PULL_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
PULL = "edh/dataspace/pull"

router = APIRouter(prefix="/api/v1/dataspace", tags=["dataspace"])


def endpoint(node: Node, pid: str) -> str:
    return node.ctx.settings.public_url.rstrip("/") + f"/api/v1/dataspace/transfers/{pid}/queries"


def _scope(session: Session, row: DspTransfer) -> tuple[str, str]:
    """The contract and project the transfer's agreement grants ('' in TCK mode)."""
    agreement = finalized_agreement(session, row.agreement_id)
    if agreement is None or agreement.contract_id is None:
        return "", ""
    return agreement.contract_id, get_contract(session, agreement.contract_id).project_id


def address(node: Node, session: Session, row: DspTransfer) -> dict[str, Any]:
    """The data address of a starting transfer, its token scoped to it (audited in the
    caller's transaction)."""
    if node.key is None:
        raise RuntimeError("the hub has no DSP key to sign a pull token")
    contract_id, project_id = _scope(session, row)
    now, ttl = int(time.time()), node.ctx.settings.dataspace.pull_token_ttl_seconds
    claims = {
        "iss": node.did,
        "aud": endpoint(node, row.id),
        "sub": f"{SCOPE}:{row.id}",
        "transfer": row.id,
        "project": project_id,
        "contract": contract_id,
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, node.key, algorithm="EdDSA")
    draft = EventDraft(
        Participant(node.participant_id, True, "").actor(),
        "dsp_transfer.token.issued",
        Resource("dsp_transfer", row.id),
        details={"jti": claims["jti"], "exp": claims["exp"], "project_id": project_id},
    )
    record(session, draft)
    return messages.data_address(endpoint(node, row.id), token, PULL_ENDPOINT_TYPE)


def _claims(node: Node, token: str, pid: str) -> dict[str, Any]:
    """The token's claims if this hub signed it for transfer ``pid`` and it is unexpired;
    else ``Unauthorized`` (no detail of the token)."""
    if node.key is None:
        raise Unauthorized("no pull token is valid on this hub")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            node.key.public_key(),
            algorithms=["EdDSA"],
            audience=endpoint(node, pid),
            issuer=node.did,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("the pull token is not valid for this transfer") from exc
    if claims.get("transfer") != pid:
        raise Unauthorized("the pull token is not valid for this transfer")
    return claims


def pull_decision(
    node: Node, session: Session, row: DspTransfer | None, claims: dict[str, Any]
) -> PolicyDecision:
    """Rego's decision (``edh/dataspace/pull``) whether the token may query its project
    now, on the facts of its transfer; without an engine, a refusal (fail closed)."""
    facts: dict[str, Any] = {"transfer": {"exists": row is not None}}
    if row is not None:
        contract_id, project_id = _scope(session, row)
        facts["transfer"]["state"] = row.state
        facts["granted"] = {"contract": contract_id, "project": project_id}
        facts["token"] = {"contract": claims.get("contract"), "project": claims.get("project")}
        if project_id:
            in_force, reasons = is_in_force(get_contract(session, contract_id), date.today())
            facts["contract"] = {"in_force": in_force, "problems": reasons}
    actor = Participant(str(claims["sub"]), True, "").actor()
    return decide(node.ctx, session, PULL, facts, actor, date.today())


def _refuse(session: Session, pid: str, claims: dict[str, Any], outcome: PolicyDecision) -> None:
    """Audit the policy's refusal with its reasons and raise it: ``Forbidden``, or
    ``PolicyUnavailable`` when no engine answered (nothing was decided)."""
    reasons = list(outcome.reasons)
    session.rollback()
    record_now(
        session.get_bind(),
        EventDraft(
            Participant(str(claims["sub"]), True, "").actor(),
            "dsp_transfer.query.refused",
            Resource("dsp_transfer", pid),
            decision=Decision.DENY,
            reasons=reasons,
            details={"decision": PULL, "bundle_hash": outcome.bundle_hash},
        ),
    )
    if outcome.outage:
        raise PolicyUnavailable("the pull could not be decided", reasons=reasons, retryable=True)
    raise Forbidden("the transfer opens no query now", reasons=reasons)


class PullQueryIn(BaseModel):
    """A query of the lab's researcher on the transfer's project."""

    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000, description="One SELECT statement.")
    purpose: str | None = Field(default=None, max_length=2000, description="Why (audited).")
    researcher: str = Field(
        min_length=1,
        max_length=255,
        description="The subject of the lab's accredited researcher who asks (the sandbox "
        "checks their accreditation and membership of the project).",
    )


@router.post(
    "/transfers/{pid}/queries",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(public_endpoint)],
)
def pull_query(pid: str, body: PullQueryIn, request: Request) -> Any:
    """The pull data address: a query on the transfer's project, with its bearer token."""
    node: Node = request.app.state.dataspace
    claims = _claims(node, bearer_token(request), pid)
    with Session(node.ctx.engine) as session:
        row = session.get(DspTransfer, pid)
        outcome = pull_decision(node, session, row, claims)
        if not outcome.allow:
            _refuse(session, pid, claims, outcome)
        principal = Principal(sub=body.researcher, roles=frozenset({str(Role.RESEARCHER)}))
        runtime = runtime_for(node.ctx)
        job = jobs.submit(runtime, session, principal, claims["project"], body.sql, body.purpose)
        return job_out(job)
