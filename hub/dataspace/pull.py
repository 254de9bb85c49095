"""The pull data address of a research transfer: the sandbox's query API of the
agreement's project, behind a token scoped to that transfer; never raw data.

``address`` mints the token, signed with the hub's DSP key: ``sub`` the researcher the
consumer asked for (``researcher``, the person behind the transfer request; without one
``dsp-transfer:<pid>``, and the token opens nothing), the claims ``transfer``,
``project`` (the contract's project) and ``contract``, an expiry of
``EDH_DATASPACE__PULL_TOKEN_TTL_SECONDS``; the issue is audited
(``dsp_transfer.token.issued``: its ``jti``, subject and expiry, never the token). The
address is ``POST /api/v1/dataspace/transfers/{pid}/queries`` (``router``): it takes the
token (``Authorization``) only for its own transfer, signed by this hub, unexpired, with
the researcher's own access token of the hub's realm (``EDH-Researcher-Authorization``,
verified as any API token; else 401), then asks Rego (``edh/dataspace/pull``): the
caller must be the token's researcher, the transfer STARTED and its contract in force
(so the token ends with the transfer: suspended, completed or terminated, it opens
nothing). The query then goes to the sandbox on the token's project, never another, as
that verified researcher: the sandbox's Rego decides as for any query (an accredited
researcher, member of the project, the contract's purpose, tables and columns). Every
refusal is audited with its reasons.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from contracts.dsp import messages
from hub.auth import Principal, bearer_token, public_endpoint
from hub.contracts.public import get_contract, is_in_force
from hub.dataspace import scoped
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.negotiation import finalized_agreement
from hub.dataspace.node import Node
from hub.enforcement.public import decide
from hub.errors import Forbidden, PolicyUnavailable, Unauthorized
from hub.policy.port import PolicyDecision
from hub.sandbox.public import JobOut, job_out, runtime_for, submit
from hub.trail.writer import Decision, EventDraft, Resource, record_now

SCOPE = "dsp-transfer"
RESEARCHER_HEADER = "EDH-Researcher-Authorization"
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
    contract_id, project_id = _scope(session, row)
    scope = {
        "sub": row.researcher or f"{SCOPE}:{row.id}",
        "researcher": row.researcher or "",
        "project": project_id,
        "contract": contract_id,
    }
    audience = endpoint(node, row.id)
    token = scoped.issue(node, session, row, audience, scope, {"project_id": project_id})
    return messages.data_address(audience, token, PULL_ENDPOINT_TYPE)


def researcher_of(request: Request) -> Principal:
    """The researcher's own identity on the call: the access token of the hub's realm in
    ``EDH-Researcher-Authorization`` (verified as any API token; a failure is audited and
    raised as ``Unauthorized``)."""
    ctx = request.app.state.hub
    header = request.headers.get(RESEARCHER_HEADER, "")
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(f"the call carries no {RESEARCHER_HEADER} bearer token")
        principal: Principal = ctx.verifier.verify(token)
    except Unauthorized as exc:
        ctx.audit_auth_failure(request, token or None, exc.detail)
        raise
    return principal


def pull_decision(
    node: Node,
    session: Session,
    row: DspTransfer | None,
    claims: dict[str, Any],
    caller: Principal,
) -> PolicyDecision:
    """Rego's decision (``edh/dataspace/pull``) whether ``caller`` may query with the
    token now, on the facts of its transfer; without an engine, a refusal (fail closed)."""
    facts: dict[str, Any] = {
        "transfer": {"exists": row is not None},
        "caller": {"sub": caller.sub},
    }
    if row is not None:
        contract_id, project_id = _scope(session, row)
        facts["transfer"]["state"] = row.state
        facts["granted"] = {
            "contract": contract_id,
            "project": project_id,
            "researcher": row.researcher or "",
        }
        facts["token"] = {
            "contract": claims.get("contract"),
            "project": claims.get("project"),
            "researcher": claims.get("researcher", ""),
        }
        if project_id:
            in_force, reasons = is_in_force(get_contract(session, contract_id), date.today())
            facts["contract"] = {"in_force": in_force, "problems": reasons}
    actor = Participant(caller.sub, True, "").actor()
    return decide(node.ctx, session, PULL, facts, actor, date.today())


def _refuse(session: Session, pid: str, caller: Principal, outcome: PolicyDecision) -> None:
    """Audit the policy's refusal with its reasons and raise it: ``Forbidden``, or
    ``PolicyUnavailable`` when no engine answered (nothing was decided)."""
    reasons = list(outcome.reasons)
    session.rollback()
    record_now(
        session.get_bind(),
        EventDraft(
            Participant(caller.sub, True, "").actor(),
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
    """A query of the transfer's researcher on the transfer's project."""

    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000, description="One SELECT statement.")
    purpose: str | None = Field(default=None, max_length=2000, description="Why (audited).")


@router.post(
    "/transfers/{pid}/queries",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(public_endpoint)],
)
def pull_query(pid: str, body: PullQueryIn, request: Request) -> Any:
    """The pull data address: a query on the transfer's project, with its bearer token
    (``Authorization``) and the researcher's own (``EDH-Researcher-Authorization``)."""
    node: Node = request.app.state.dataspace
    claims = scoped.verify(node, bearer_token(request), endpoint(node, pid), pid)
    caller = researcher_of(request)
    with Session(node.ctx.engine) as session:
        row = session.get(DspTransfer, pid)
        outcome = pull_decision(node, session, row, claims, caller)
        if not outcome.allow:
            _refuse(session, pid, caller, outcome)
        runtime = runtime_for(node.ctx)
        job = submit(runtime, session, caller, claims["project"], body.sql, body.purpose)
        return job_out(job)
