"""Contract lifecycle operations and the contract gate.

Every function records its audit event in the caller's transaction and never commits.
Errors: ``NotFound``, ``Forbidden``, ``ValidationFailed``, ``InvalidTransition`` (409,
with ``allowed`` listing the legal target states) from ``hub.errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from contracts.errors import TransitionError
from contracts.lifecycle import ReviewStatus, State, check_amendable, check_transition
from contracts.model import ContractTerms, contract_document, document_digest
from hub.config import Settings
from hub.contracts.models import Contract, ContractVersion
from hub.contracts.records import ContractRecord
from hub.contracts.terms import check_terms
from hub.errors import InvalidTransition, NotFound
from hub.pagination import PageParams, paginate
from hub.registry.public import get_project
from hub.trail.writer import Actor, EventDraft, Resource, Why, record

PROVIDER, LAB, HUB = "provider", "lab", "hub"


def audit(session: Session, actor: Actor, contract: Contract, action: str, **details: Any) -> None:
    """Record ``action`` on ``contract`` in the audit chain (same transaction)."""
    why = Why(contract_id=contract.id, project_id=contract.project_id)
    draft = EventDraft(actor, action, Resource("contract", contract.id), why=why, details=details)
    record(session, draft)


def get_contract(session: Session, contract_id: str) -> Contract:
    """The contract ``contract_id``; raises ``NotFound``."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return contract


def contracts(
    session: Session, pages: PageParams, state: State | None, party: str | None
) -> tuple[list[Contract], int]:
    """Contracts, oldest first, in ``state`` when given; every one when ``party`` is None,
    else those where ``party`` is the provider or the lab."""
    query = select(Contract).order_by(col(Contract.created_at), col(Contract.id))
    if state is not None:
        query = query.where(Contract.state == state)
    if party is not None:
        query = query.where((Contract.provider_id == party) | (Contract.lab_id == party))
    return paginate(session, query, pages)


def get_version(session: Session, contract_id: str, version: int) -> ContractVersion:
    """One stored version of a contract; raises ``NotFound``."""
    row = session.exec(
        select(ContractVersion).where(
            ContractVersion.contract_id == contract_id, ContractVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"contract {contract_id} has no version {version}")
    return row


def versions(session: Session, contract_id: str) -> list[ContractVersion]:
    """Every version of a contract, oldest first."""
    query = select(ContractVersion).where(ContractVersion.contract_id == contract_id)
    return list(session.exec(query.order_by(col(ContractVersion.version))).all())


def current_terms(session: Session, contract: ContractRecord) -> ContractTerms:
    """The terms of the contract's current version."""
    return ContractTerms.model_validate(get_version(session, contract.id, contract.version).terms)


def current_document(session: Session, contract: Contract) -> dict[str, Any]:
    """The document the parties sign for the current version."""
    return contract_document(contract.id, contract.version, current_terms(session, contract))


def is_in_force(contract: ContractRecord, on: date) -> tuple[bool, list[str]]:
    """The contract gate: data may flow on day ``on`` only if the contract is FINALIZED,
    not suspended, and ``valid_from <= on <= valid_until``. Returns the reasons otherwise."""
    reasons = []
    if contract.state != State.FINALIZED:
        reasons.append(f"contract {contract.id} is {contract.state}, not FINALIZED")
    if contract.suspended_at is not None:
        reasons.append(f"contract {contract.id} is suspended: {contract.suspension_reason}")
    if on < contract.valid_from:
        reasons.append(f"contract {contract.id} starts on {contract.valid_from.isoformat()}")
    if on > contract.valid_until:
        reasons.append(f"contract {contract.id} expired on {contract.valid_until.isoformat()}")
    return not reasons, reasons


def _add_version(
    session: Session, actor: Actor, contract: Contract, terms: ContractTerms, party: str
) -> None:
    doc = contract_document(contract.id, contract.version, terms)
    session.add(
        ContractVersion(
            contract_id=contract.id,
            version=contract.version,
            terms=doc["terms"],
            digest=document_digest(doc),
            author_sub=actor.sub,
            author_party=party,
        )
    )
    contract.valid_from, contract.valid_until = terms.valid_from, terms.valid_until
    contract.review_status = ReviewStatus.NONE
    session.add(contract)
    session.flush()
    audit(
        session,
        actor,
        contract,
        "contract.version_created",
        version=contract.version,
        digest=document_digest(doc),
        party=party,
    )


def create_request(
    session: Session, actor: Actor, terms: ContractTerms, settings: Settings
) -> Contract:
    """A lab's contract request (state REQUESTED, version 1) after checking the terms."""
    check_terms(session, terms, settings)
    project = get_project(session, terms.project_id)
    contract = Contract(
        provider_id=terms.provider_id,
        lab_id=project.lab_id,
        project_id=project.id,
        state=State.REQUESTED,
        created_by=actor.sub,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        key_version=settings.pseudonym.key_version,
    )
    session.add(contract)
    session.flush()
    audit(session, actor, contract, "contract.requested", provider_id=terms.provider_id)
    _add_version(session, actor, contract, terms, LAB)
    return contract


def amend(
    session: Session,
    actor: Actor,
    contract: Contract,
    terms: ContractTerms,
    party: str,
    settings: Settings,
) -> Contract:
    """New terms make a new version: a lab amendment is a new REQUESTED, a provider's a
    new OFFERED. The parties and the project cannot change; review starts over."""
    _guard(lambda: check_amendable(State(contract.state)))
    if (terms.provider_id, terms.project_id) != (contract.provider_id, contract.project_id):
        raise InvalidTransition("an amendment cannot change the provider or the project")
    check_terms(session, terms, settings)
    target = State.OFFERED if party == PROVIDER else State.REQUESTED
    if target != contract.state:
        transition(session, actor, contract, target, reason=f"amended by the {party}")
    contract.version += 1
    _add_version(session, actor, contract, terms, party)
    return contract


def _guard(check: Callable[[], None]) -> None:
    try:
        check()
    except TransitionError as exc:
        raise InvalidTransition(str(exc), allowed=exc.allowed) from exc


def transition(
    session: Session,
    actor: Actor,
    contract: Contract,
    target: State,
    *,
    reason: str | None = None,
) -> Contract:
    """Move ``contract`` to ``target`` if the lifecycle allows it (else 409 with the
    allowed targets) and audit ``contract.<target>``."""
    before = State(contract.state)
    _guard(lambda: check_transition(before, target))
    contract.state = target
    contract.updated_at = datetime.now(UTC)
    if target == State.ACCEPTED:
        contract.review_status = ReviewStatus.PENDING
    if target == State.TERMINATED:
        contract.termination_reason = reason
    session.add(contract)
    audit(
        session,
        actor,
        contract,
        f"contract.{target.lower()}",
        version=contract.version,
        from_state=str(before),
        reason=reason,
    )
    return contract


def set_suspended(
    session: Session, actor: Actor, contract: Contract, reason: str, *, suspended: bool
) -> Contract:
    """Suspend (or resume) a FINALIZED contract; takes effect on the very next check."""
    if contract.state != State.FINALIZED:
        raise InvalidTransition(
            f"only a FINALIZED contract can be suspended or resumed (this one is {contract.state})",
            allowed=[],
        )
    if (contract.suspended_at is not None) == suspended:
        raise InvalidTransition(
            f"contract {contract.id} is already {'suspended' if suspended else 'active'}",
            allowed=[],
        )
    contract.suspended_at = datetime.now(UTC) if suspended else None
    contract.suspension_reason = reason if suspended else None
    session.add(contract)
    action = "contract.suspended" if suspended else "contract.resumed"
    audit(session, actor, contract, action, reason=reason)
    return contract


def set_key_version(session: Session, contract_id: str, key_version: str) -> None:
    """Record that the contract's pseudonyms now derive from the master key ``key_version``
    (a re-pseudonymisation moved its data; the caller audits the move). ``NotFound``."""
    contract = get_contract(session, contract_id)
    contract.key_version = key_version
    session.add(contract)


def projects_of_contracts(session: Session, ids: set[str]) -> dict[str, str]:
    """Contract id → its project's id, for the contracts among ``ids``."""
    query = select(Contract.id, Contract.project_id).where(col(Contract.id).in_(ids))
    return dict(session.exec(query).all())
