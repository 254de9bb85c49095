"""The ethics review gate: reviewers decide on the exact version an ACCEPTED contract
carries; a quorum of approvals makes it AGREED, one rejection TERMINATED, one request for
changes sends it back to REQUESTED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from contracts.lifecycle import ReviewStatus, ReviewVerdict, State, verdict_outcome
from hub.context import HubContext
from hub.contracts.authz import authorize_review, review_allowed
from hub.contracts.models import Contract, ReviewDecision
from hub.contracts.records import ContractRecord
from hub.contracts.service import audit, transition, versions
from hub.errors import Conflict, InvalidTransition, ValidationFailed
from hub.trail.writer import Actor

MIN_REASON = 10
_OUTCOME_STATE = {
    ReviewStatus.APPROVED: State.AGREED,
    ReviewStatus.REJECTED: State.TERMINATED,
    ReviewStatus.CHANGES_REQUESTED: State.REQUESTED,
}


def queue(session: Session) -> list[Contract]:
    """Contracts awaiting review, oldest first."""
    query = select(Contract).where(
        Contract.state == State.ACCEPTED, Contract.review_status == ReviewStatus.PENDING
    )
    return list(session.exec(query.order_by(col(Contract.updated_at))).all())


def history(session: Session, contract_id: str) -> list[ReviewDecision]:
    """Every decision on every version of a contract, oldest first."""
    query = select(ReviewDecision).where(ReviewDecision.contract_id == contract_id)
    return list(session.exec(query.order_by(col(ReviewDecision.id))).all())


def recent_decisions(session: Session, limit: int) -> list[ReviewDecision]:
    """The committee's ``limit`` latest decisions, newest first."""
    query = select(ReviewDecision).order_by(col(ReviewDecision.id).desc()).limit(limit)
    return list(session.exec(query).all())


def authors(session: Session, contract: ContractRecord) -> list[str]:
    """Who wrote the contract's request or any version of its terms."""
    subs = {v.author_sub for v in versions(session, contract.id)} | {contract.created_by}
    return sorted(subs)


def may_review(ctx: HubContext, session: Session, actor: Actor, contract: ContractRecord) -> bool:
    """Whether the policy lets ``actor`` decide on ``contract`` now (no audit, no raise)."""
    return review_allowed(ctx, session, actor, contract, authors(session, contract))


def _check_once(session: Session, actor: Actor, contract: Contract) -> None:
    already = session.exec(
        select(ReviewDecision).where(
            ReviewDecision.contract_id == contract.id,
            ReviewDecision.version == contract.version,
            ReviewDecision.reviewer_sub == actor.sub,
        )
    ).first()
    if already is not None:
        raise Conflict(
            f"you already decided ({already.verdict}) on version {contract.version}",
            reasons=["a reviewer decides once per version"],
        )


def _approvals(session: Session, contract: Contract) -> int:
    query = select(func.count()).where(
        ReviewDecision.contract_id == contract.id,
        ReviewDecision.version == contract.version,
        ReviewDecision.verdict == ReviewVerdict.APPROVE,
    )
    return int(session.exec(query).one())


def _reviewable(contract: Contract, reason: str) -> str:
    """The stripped ``reason``; raises ``ValidationFailed`` (too short) or
    ``InvalidTransition`` (the contract is not awaiting review)."""
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed(f"a reason of at least {MIN_REASON} characters is required")
    if contract.state != State.ACCEPTED or contract.review_status != ReviewStatus.PENDING:
        raise InvalidTransition(
            f"contract {contract.id} is not awaiting review (state {contract.state})",
            allowed=[],
        )
    return reason


def decide(
    session: Session,
    actor: Actor,
    contract: Contract,
    verdict: ReviewVerdict,
    reason: str,
    quorum: int,
) -> Contract:
    """Record one reviewer's ``verdict`` with a mandatory ``reason`` and apply its outcome.

    Raises ``ValidationFailed`` (no reason), ``InvalidTransition`` (nothing to review),
    ``Conflict`` (second decision by the same reviewer on the same version). Who may
    decide (conflicts of interest) is the policy's: see :func:`review_decision`.
    """
    reason = _reviewable(contract, reason)
    _check_once(session, actor, contract)
    session.add(
        ReviewDecision(
            contract_id=contract.id,
            version=contract.version,
            reviewer_sub=actor.sub,
            reviewer_org=actor.org,
            verdict=verdict,
            reason=reason,
        )
    )
    session.flush()
    status = verdict_outcome(verdict, _approvals(session, contract), quorum)
    audit(
        session,
        actor,
        contract,
        "contract.review_decided",
        version=contract.version,
        verdict=str(verdict),
        reason=reason,
        outcome=str(status),
        quorum=quorum,
    )
    contract.review_status = status
    if status in _OUTCOME_STATE:
        transition(session, actor, contract, _OUTCOME_STATE[status], reason=reason)
    session.add(contract)
    return contract


@dataclass(frozen=True)
class Change:
    """One term that differs between two versions."""

    field: str
    before: Any
    after: Any


def terms_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """The terms that changed from ``before`` to ``after`` (all of them if no ``before``)."""
    old = before or {}
    keys = sorted(set(old) | set(after))
    return [Change(k, old.get(k), after.get(k)) for k in keys if old.get(k) != after.get(k)]


def review_decision(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    contract: Contract,
    verdict: ReviewVerdict,
    reason: str,
) -> Contract:
    """:func:`decide` behind the policy (``edh/contracts/review``: an ethics reviewer, not
    from a party's organisation nor an author, on an ACCEPTED contract; approve leads to
    AGREED once ``EDH_REVIEW__QUORUM`` is met, request_changes to REQUESTED, reject to
    TERMINATED). Raises ``Forbidden`` with the policy's reasons."""
    _reviewable(contract, reason)
    authorize_review(ctx, session, actor, contract, verdict.value, authors(session, contract))
    return decide(session, actor, contract, verdict, reason, ctx.settings.review.quorum)
