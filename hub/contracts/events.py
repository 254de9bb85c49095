"""``edh.contract.changed`` events: through the outbox, published once the change is
committed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from hub.bus import outbox
from hub.context import HubContext
from hub.contracts.records import ContractRecord

TOPIC = "edh.contract.changed"


def changed_event(contract: ContractRecord) -> dict[str, Any]:
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


def publish_after_commit(ctx: HubContext, session: Session, contract: ContractRecord) -> None:
    """Put ``edh.contract.changed`` (key: contract id) in the outbox of ``session``; it is
    published once the session commits (``hub.bus.outbox``), never on rollback. A bus
    failure never undoes the change: the relay retries until the broker takes it."""
    body = changed_event(contract)
    outbox.publish_after_commit(ctx, session, TOPIC, body["contract_id"], body)
