"""``edh.contract.changed`` events: published on the bus once the change is committed."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from hub.context import HubContext
from hub.contracts.models import Contract

TOPIC = "edh.contract.changed"
log = logging.getLogger("hub.contracts")


def changed_event(contract: Contract) -> dict[str, Any]:
    """The event body: enough for a consumer to decide whether to re-read the contract."""
    return {
        "id": str(uuid.uuid4()),
        "contract_id": contract.id,
        "state": contract.state,
        "version": contract.version,
        "suspended": contract.suspended_at is not None,
        "provider_id": contract.provider_id,
        "project_id": contract.project_id,
    }


def publish_after_commit(ctx: HubContext, session: Session, contract: Contract) -> None:
    """Publish ``edh.contract.changed`` (key: contract id) after ``session`` commits;
    nothing is sent on rollback. A bus failure is logged, never undoes the change: the
    policy data and the contract gate read the database, the event is a notification."""
    bus = ctx.bus
    if bus is None:
        return
    body = changed_event(contract)

    def send(_session: Any) -> None:
        try:
            bus.publish(TOPIC, body["contract_id"], body)
        except Exception:
            log.exception("could not publish %s for contract %s", TOPIC, body["contract_id"])

    event.listen(session, "after_commit", send, once=True)
