"""Every read of the audit log is itself decided by the policy (``edh/audit/read``) and
audited; attempts to change events are refused and audited."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from sqlmodel import Session

from hub.auth import Principal, Role
from hub.context import HubContext
from hub.enforcement.public import check
from hub.errors import HubError
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record_now

READERS = (Role.DPO, Role.OPERATOR)
READ_DECISION = "edh/audit/read"


class EventsImmutable(HubError):
    """The audit log is append-only: no API edits or deletes events."""

    status, slug, title = 405, "audit-immutable", "Audit events cannot be changed"


def describe(what: str, params: Mapping[str, str] | None = None) -> str:
    """A short resource id for the access event, e.g. ``events?actor=r1``."""
    query = urlencode(sorted((params or {}).items()))
    return (f"{what}?{query}" if query else what)[:255]


def authorize_read(
    ctx: HubContext, session: Session, principal: Principal, resource_id: str
) -> None:
    """Decide and audit one read of the log by ``principal`` (raises ``Forbidden`` on deny)."""
    actor = Actor(principal.sub, principal.acting_role(READERS), principal.org)
    resource = Resource("audit_log", resource_id)
    check(ctx, session, READ_DECISION, {}, actor, resource, Why(), stand_alone=True)


def refuse_change(session: Session, principal: Principal, method: str, path: str) -> None:
    """Record the refused attempt (chained before it returns) and raise ``EventsImmutable``."""
    draft = EventDraft(
        actor=Actor(principal.sub, principal.acting_role(tuple(Role)), principal.org),
        action="audit.change_refused",
        resource=Resource("audit_log", f"{method} {path}"[:255]),
        decision=Decision.DENY,
        reasons=["audit events are append-only: no API may edit or delete them"],
    )
    session.rollback()  # nothing of the request's to keep; frees SQLite's write lock
    record_now(session.get_bind(), draft)
    raise EventsImmutable(
        "audit events are append-only: they cannot be edited or deleted; "
        "this attempt has been recorded",
        allowed=["GET"],
    )
