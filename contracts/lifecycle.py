"""The contract lifecycle: Dataspace Protocol negotiation states plus the ethics gate.

REQUESTED (lab asks) → OFFERED (provider offers terms) → ACCEPTED (lab accepts; ethics
review pending) → AGREED (review approved by quorum) → VERIFIED (provider and lab
signatures checked) → FINALIZED (hub countersigns). Any non-final state may go to
TERMINATED. A review asking for changes sends the contract back to REQUESTED; terms
can change only in REQUESTED or OFFERED, and every change is a new version.
"""

from __future__ import annotations

from enum import StrEnum

from contracts.errors import TransitionError


class State(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class ReviewStatus(StrEnum):
    """The ethics review of the current version."""

    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"


class ReviewVerdict(StrEnum):
    """One reviewer's decision."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"


TRANSITIONS: dict[State, tuple[State, ...]] = {
    State.REQUESTED: (State.OFFERED, State.TERMINATED),
    State.OFFERED: (State.ACCEPTED, State.REQUESTED, State.TERMINATED),
    State.ACCEPTED: (State.AGREED, State.REQUESTED, State.TERMINATED),
    State.AGREED: (State.VERIFIED, State.TERMINATED),
    State.VERIFIED: (State.FINALIZED, State.TERMINATED),
    State.FINALIZED: (State.TERMINATED,),
    State.TERMINATED: (),
}

AMENDABLE = (State.REQUESTED, State.OFFERED)


def allowed_from(state: State) -> list[str]:
    """The states reachable in one step from ``state``."""
    return [str(s) for s in TRANSITIONS[state]]


def check_transition(current: State, target: State) -> None:
    """Return if ``current → target`` is legal; else raise ``TransitionError`` with the
    allowed targets."""
    if target not in TRANSITIONS[current]:
        allowed = allowed_from(current)
        listed = ", ".join(allowed) or "none (final state)"
        raise TransitionError(
            f"a {current} contract cannot become {target}; allowed: {listed}", allowed
        )


def check_amendable(current: State) -> None:
    """Terms may change only while negotiating; raise ``TransitionError`` otherwise."""
    if current not in AMENDABLE:
        raise TransitionError(
            f"the terms of a {current} contract are frozen; amend only in {' or '.join(AMENDABLE)}",
            allowed_from(current),
        )


def verdict_outcome(verdict: ReviewVerdict, approvals: int, quorum: int) -> ReviewStatus:
    """The review status after a decision: one reject or change request decides at once;
    approval needs ``quorum`` distinct approvals."""
    if verdict is ReviewVerdict.REJECT:
        return ReviewStatus.REJECTED
    if verdict is ReviewVerdict.REQUEST_CHANGES:
        return ReviewStatus.CHANGES_REQUESTED
    return ReviewStatus.APPROVED if approvals >= quorum else ReviewStatus.PENDING
