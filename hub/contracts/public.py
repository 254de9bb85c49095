"""The contracts area's published interface: the only module other areas and the pages
import.

The area owns the contracts (their versions of terms, the parties' signatures, the
ethics committee's decisions, the parties' signing keys), the hub's own contract-signing
key and the contracts' policy data document (``data.edh.contracts``).

It publishes:
- read-only records of its rows (:class:`ContractRecord`, :class:`ContractVersionRecord`,
  :class:`ReviewDecisionRecord`): rows handed out are read-only for callers, every
  change goes through a function below;
- look-ups (a contract, its current terms, contracts by state or provider, contract →
  project) and the contract gate (:func:`is_in_force`);
- the lifecycle moves other areas start (a lab's request, an amendment, an ethics
  decision, the key version a re-pseudonymisation moved a contract to); like every
  function of the area they record their audit event in the caller's transaction and
  never commit;
- ``edh.contract.changed`` (:data:`CONTRACT_CHANGED`) and how to publish it after a
  change (:func:`publish_after_commit`);
- the hub's contract key (:func:`hub_signing_key`, :func:`hub_jwk`), the terms check
  (:func:`check_terms`) and the policy data document (:func:`contract_documents`).

Errors are ``hub.errors``'s: ``NotFound``, ``ValidationFailed``, ``InvalidTransition``,
``Conflict``, ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from contracts.lifecycle import ReviewVerdict
from contracts.model import ContractTerms
from hub.config import Settings
from hub.context import HubContext
from hub.contracts import review, service
from hub.contracts.demo import DEMO_PURPOSE
from hub.contracts.events import TOPIC as CONTRACT_CHANGED
from hub.contracts.events import publish_after_commit
from hub.contracts.hubkey import hub_jwk, hub_signing_key
from hub.contracts.lookups import (
    all_contracts,
    finalized_contracts,
    first_finalized_contract,
    known_terms,
    other_contracts,
)
from hub.contracts.policy_data import contract_documents
from hub.contracts.records import ContractRecord, ContractVersionRecord, ReviewDecisionRecord
from hub.contracts.review import MIN_REASON, may_review, terms_diff
from hub.contracts.service import (
    LAB,
    current_terms,
    is_in_force,
    projects_of_contracts,
    set_key_version,
)
from hub.contracts.terms import check_terms
from hub.trail.writer import Actor

__all__ = [
    "CONTRACT_CHANGED",
    "DEMO_PURPOSE",
    "LAB",
    "MIN_REASON",
    "ContractRecord",
    "ContractVersionRecord",
    "ReviewDecisionRecord",
    "all_contracts",
    "amend",
    "check_terms",
    "contract_documents",
    "create_request",
    "current_terms",
    "finalized_contracts",
    "first_finalized_contract",
    "get_contract",
    "hub_jwk",
    "hub_signing_key",
    "is_in_force",
    "known_terms",
    "may_review",
    "other_contracts",
    "projects_of_contracts",
    "publish_after_commit",
    "recent_decisions",
    "review_decision",
    "review_history",
    "review_queue",
    "set_key_version",
    "terms_diff",
    "versions",
]


def get_contract(session: Session, contract_id: str) -> ContractRecord:
    """The contract ``contract_id``; raises ``NotFound``."""
    return service.get_contract(session, contract_id)


def versions(session: Session, contract_id: str) -> Sequence[ContractVersionRecord]:
    """Every version of a contract's terms, oldest first."""
    return service.versions(session, contract_id)


def create_request(
    session: Session, actor: Actor, terms: ContractTerms, settings: Settings
) -> ContractRecord:
    """A lab's contract request (REQUESTED, version 1) after checking ``terms``; audited."""
    return service.create_request(session, actor, terms, settings)


def amend(
    session: Session,
    actor: Actor,
    contract_id: str,
    terms: ContractTerms,
    party: str,
    settings: Settings,
) -> ContractRecord:
    """New terms of ``contract_id`` by ``party`` (``LAB``: a new REQUESTED version; the
    parties and the project cannot change, the review starts over); audited."""
    contract = service.get_contract(session, contract_id)
    return service.amend(session, actor, contract, terms, party, settings)


def review_queue(session: Session) -> Sequence[ContractRecord]:
    """Contracts awaiting the ethics committee, oldest first."""
    return review.queue(session)


def recent_decisions(session: Session, limit: int) -> Sequence[ReviewDecisionRecord]:
    """The committee's ``limit`` latest decisions, newest first."""
    return review.recent_decisions(session, limit)


def review_history(session: Session, contract_id: str) -> Sequence[ReviewDecisionRecord]:
    """Every decision on every version of a contract, oldest first."""
    return review.history(session, contract_id)


def review_decision(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    contract_id: str,
    verdict: ReviewVerdict,
    reason: str,
) -> ContractRecord:
    """An ethics reviewer's ``verdict`` on ``contract_id`` with its mandatory ``reason``,
    behind the policy (``edh/contracts/review``), and its outcome; audited. Raises
    ``ValidationFailed``, ``InvalidTransition``, ``Conflict`` or ``Forbidden``."""
    contract = service.get_contract(session, contract_id)
    return review.review_decision(ctx, session, actor, contract, verdict, reason)
