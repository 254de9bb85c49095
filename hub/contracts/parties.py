"""Who speaks for which party of a contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

from sqlmodel import Session

from contracts.lifecycle import State
from contracts.model import ContractTerms
from hub.auth import Principal, Role
from hub.context import HubContext
from hub.contracts.authz import NEW_CONTRACT, authorize_transition
from hub.contracts.models import Contract
from hub.contracts.service import LAB, PROVIDER, create_request
from hub.deps import actor_of
from hub.errors import Forbidden
from hub.registry.public import project_members, researcher_by_subject
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record_now


def is_lab_member(session: Session, principal: Principal, project_id: str) -> bool:
    """An accredited researcher who is a member of the project."""
    if Role.RESEARCHER not in principal.roles:
        return False
    researcher = researcher_by_subject(session, principal.sub)
    if researcher is None or not researcher.is_accredited(datetime.now(UTC).date()):
        return False
    return researcher.id in project_members(session, project_id)


def party_of(session: Session, principal: Principal, contract: Contract) -> str | None:
    """``provider`` for a provider of the contract's organisation, ``lab`` for a member of
    its project, else None."""
    if Role.PROVIDER in principal.roles and principal.org == contract.provider_id:
        return PROVIDER
    if is_lab_member(session, principal, contract.project_id):
        return LAB
    return None


def refuse(
    session: Session, principal: Principal, detail: str, contract_id: str, project_id: str
) -> NoReturn:
    """End the request's transaction with an audited refusal and raise ``Forbidden``
    (the refusal is committed even though the request fails)."""
    reasons = [detail]
    draft = EventDraft(
        actor=Actor(principal.sub, ",".join(sorted(principal.roles)), principal.org),
        action="contract.access_denied",
        resource=Resource("contract", contract_id),
        decision=Decision.DENY,
        reasons=reasons,
        why=Why(
            contract_id=None if contract_id == NEW_CONTRACT else contract_id, project_id=project_id
        ),
    )
    session.rollback()
    record_now(session.get_bind(), draft)
    raise Forbidden(detail, reasons=reasons)


def require_party(session: Session, principal: Principal, contract: Contract, *parties: str) -> str:
    """The caller's party if it is one of ``parties``; else an audited ``Forbidden``."""
    party = party_of(session, principal, contract)
    if party not in parties:
        detail = f"only the contract's {' or '.join(parties)} may do this"
        refuse(session, principal, detail, contract.id, contract.project_id)
    return party


def start_request(
    ctx: HubContext, session: Session, principal: Principal, terms: ContractTerms
) -> Contract:
    """Create a contract request as the project's lab (an accredited member) or an
    operator, if the policy allows it; raises ``Forbidden`` for anyone else."""
    if Role.OPERATOR in principal.roles:
        actor = actor_of(principal, Role.OPERATOR)
    elif is_lab_member(session, principal, terms.project_id):
        actor = actor_of(principal, Role.RESEARCHER)
    else:
        detail = "only an accredited member of the project may request a contract for it"
        refuse(session, principal, detail, NEW_CONTRACT, terms.project_id)
    authorize_transition(
        ctx,
        session,
        actor,
        contract_id=NEW_CONTRACT,
        provider_id=terms.provider_id,
        project_id=terms.project_id,
        target=State.REQUESTED,
    )
    return create_request(session, actor, terms, ctx.settings)
