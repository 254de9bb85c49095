"""``edh-demo`` seeds a contract walked from request to FINALIZED."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from contracts.verify import verify_file
from demo.seed import seed
from hub.context import HubContext
from hub.contracts.models import Contract
from hub.contracts.policy_data import contract_documents
from hub.contracts.service import is_in_force


def test_demo_contract_is_finalized_in_force_and_verifiable(
    hub_ctx: HubContext, tmp_path: Path
) -> None:
    hub_ctx.settings.review.quorum = 2
    ids = seed(hub_ctx, tmp_path)
    with Session(hub_ctx.engine) as session:
        contract, pending = session.exec(select(Contract).order_by(Contract.created_at)).all()
        assert (pending.state, pending.version, pending.review_status) == ("ACCEPTED", 2, "pending")
        assert contract.project_id == ids.project_id and contract.provider_id == ids.provider_id
        assert is_in_force(contract, datetime.now(UTC).date()) == (True, [])
        document = contract_documents(session)[contract.id]
        assert document["rounding_base"] == 5 and document["connector_ids"] == [ids.connector_id]
    report = verify_file(json.loads((tmp_path / "contrat-demo.json").read_text()))
    assert report.ok and set(report.signed_by) == {"provider", "lab", "hub"}
    seed(hub_ctx, tmp_path)  # idempotent: no more contracts
    with Session(hub_ctx.engine) as session:
        assert len(session.exec(select(Contract)).all()) == 2
