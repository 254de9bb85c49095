"""Contract actions go through the policy enforcement point (interface 4).

Each caller action is checked before anything changes: negotiation, suspension and
termination as ``edh/contracts/transition`` with the state it moves the contract to,
ethics review decisions as ``edh/contracts/review``, the parties' signatures and the
hub's countersignature as ``edh/contracts/sign``. The decision (allow or deny, with
reasons and the bundle hash) is audited by ``hub.enforcement.enforce.check``, and a refusal
raises ``Forbidden`` with the policy's reasons. Endpoint roles (``hub.auth.require``)
and party checks (``hub.contracts.parties``) still apply first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from hub.context import HubContext
from hub.contracts.models import Contract
from hub.contracts.records import ContractRecord
from hub.enforcement.public import check, decide
from hub.trail.writer import Actor, Resource, Why

TRANSITION = "edh/contracts/transition"
REVIEW = "edh/contracts/review"
SIGN = "edh/contracts/sign"
NEW_CONTRACT = "new"
SUSPENDED = "SUSPENDED"
"""The policy's name for suspending or resuming (not a lifecycle state: a flag)."""


def authorize_transition(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    *,
    contract_id: str,
    provider_id: str,
    project_id: str,
    target: str,
) -> None:
    """Ask the policy whether ``actor`` may move contract ``contract_id`` (``new`` for a
    request) to ``target``; raises ``Forbidden`` with the reasons when it may not."""
    check(
        ctx,
        session,
        TRANSITION,
        {"contract_id": contract_id, "target_state": target, "provider_id": provider_id},
        actor,
        Resource("contract", contract_id),
        Why(
            contract_id=None if contract_id == NEW_CONTRACT else contract_id, project_id=project_id
        ),
    )


def authorize(
    ctx: HubContext, session: Session, actor: Actor, contract: Contract, target: str
) -> None:
    """:func:`authorize_transition` for an existing ``contract`` (negotiation,
    suspension, termination; AGREED, VERIFIED and FINALIZED come from review and sign)."""
    authorize_transition(
        ctx,
        session,
        actor,
        contract_id=contract.id,
        provider_id=contract.provider_id,
        project_id=contract.project_id,
        target=target,
    )


def _facts(contract: ContractRecord, **extra: Any) -> dict[str, Any]:
    return {
        "contract_id": contract.id,
        "state": contract.state,
        "provider_id": contract.provider_id,
        "lab_id": contract.lab_id,
        **extra,
    }


def _check_on(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    contract: Contract,
    decision: str,
    facts: dict[str, Any],
) -> None:
    why = Why(contract_id=contract.id, project_id=contract.project_id)
    check(ctx, session, decision, facts, actor, Resource("contract", contract.id), why)


def review_allowed(
    ctx: HubContext, session: Session, actor: Actor, contract: ContractRecord, authors: list[str]
) -> bool:
    """Whether ``edh/contracts/review`` lets ``actor`` decide on ``contract`` now, without
    auditing or raising (for pages that only show or hide the decision form)."""
    facts = _facts(contract, verdict="approve", authors=authors)
    return decide(ctx, session, REVIEW, facts, actor, datetime.now(UTC).date()).allow


def authorize_review(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    contract: Contract,
    verdict: str,
    authors: list[str],
) -> None:
    """Ask ``edh/contracts/review`` whether ``actor`` may give ``verdict`` on ``contract``
    (``authors``: who wrote its terms); raises ``Forbidden`` with the reasons if not."""
    _check_on(
        ctx, session, actor, contract, REVIEW, _facts(contract, verdict=verdict, authors=authors)
    )


def authorize_sign(
    ctx: HubContext,
    session: Session,
    actor: Actor,
    contract: Contract,
    party: str,
    signed_version: int,
) -> None:
    """Ask ``edh/contracts/sign`` whether ``actor`` may sign ``contract`` as ``party``
    with a signature of version ``signed_version``; raises ``Forbidden`` if not."""
    facts = _facts(contract, party=party, version=contract.version, signed_version=signed_version)
    _check_on(ctx, session, actor, contract, SIGN, facts)
