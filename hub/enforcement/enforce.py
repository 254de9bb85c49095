"""The policy enforcement point (interface 4): decide, audit, raise on refusal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from hub.context import HubContext
from hub.enforcement import data
from hub.errors import Forbidden, PolicyUnavailable
from hub.metrics import record_policy_decision
from hub.policy.decisions import unavailable
from hub.policy.port import PolicyDecision
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record, record_now

NO_ENGINE = "no policy engine is configured"


def decide(
    ctx: HubContext,
    session: Session,
    decision: str,
    input: Mapping[str, Any],
    actor: Actor,
    today: date,
) -> PolicyDecision:
    """Evaluate ``decision`` without side effects; ``subject`` and ``today`` in the input
    always come from ``actor`` and ``today`` (a caller cannot forge them). The engine the
    hub attached decides on the facts ``session`` sees (``PolicyDataSync.decide``: one
    version read, a republication when the facts changed in any process, refusal when
    that fails); an engine set on ``ctx`` by hand decides on the data it holds."""
    if ctx.policy is None:
        return unavailable(NO_ENGINE, "")
    if isinstance(input, Mapping):
        subject = {"sub": actor.sub, "role": actor.role, "org": actor.org}
        input = {**input, "subject": subject, "today": today.isoformat()}
    sync = data.sync_for(ctx.engine)
    if sync is not None and sync.policy is ctx.policy:
        return sync.decide(session, decision, input)
    return ctx.policy.decide(decision, input)  # a non-object input is refused, with the reason


def check(
    ctx: HubContext,
    session: Session,
    decision: str,
    input: Mapping[str, Any],
    actor: Actor,
    resource: Resource,
    why: Why,
    *,
    today: date | None = None,
    stand_alone: bool = False,
) -> PolicyDecision:
    """Decide ``decision`` for ``actor`` with ``ctx.policy`` and audit it.

    An allow is recorded in ``session`` (it commits with the caller's change) and
    returned, with its ``obligations``; with ``stand_alone`` (the caller changes nothing,
    e.g. a read) the session's transaction ends and the allow is chained at once by the
    group committer (``record_now``), before the caller reads anything. A refusal ends
    the caller's transaction: it rolls back, records the refusal with its reasons
    (``record_now``), and raises
    ``Forbidden(detail, reasons=[...])``. Both events carry the policy bundle's hash;
    both count in the ``edh_policy_decisions_total`` metric. When the engine or its data
    could not answer (``outcome.outage``) the refusal is recorded as a
    ``policy.outage`` event instead and ``PolicyUnavailable`` (503, retryable) raised.
    ``today`` defaults to the current UTC date.
    """
    outcome = decide(ctx, session, decision, input, actor, today or datetime.now(UTC).date())
    record_policy_decision(decision, outcome.allow)
    draft = EventDraft(
        actor=actor,
        action="policy.outage" if outcome.outage else f"policy.{decision}",
        resource=resource,
        decision=Decision.ALLOW if outcome.allow else Decision.DENY,
        reasons=list(outcome.reasons),
        why=why,
        details={"decision": decision, "bundle_hash": outcome.bundle_hash},
    )
    if outcome.allow:
        if stand_alone:
            session.commit()
            record_now(session.get_bind(), draft)
        else:
            record(session, draft)
        return outcome
    session.rollback()
    record_now(session.get_bind(), draft)
    if outcome.outage:
        raise PolicyUnavailable(
            f"{decision} could not be decided: " + "; ".join(outcome.reasons),
            reasons=list(outcome.reasons),
            decision=decision,
            retryable=True,
        )
    raise Forbidden(
        f"{decision} refused: " + "; ".join(outcome.reasons),
        reasons=list(outcome.reasons),
        decision=decision,
    )
