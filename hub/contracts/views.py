"""API views of contracts (what clients read)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from contracts.lifecycle import State, allowed_from
from hub.contracts.models import Contract
from hub.contracts.schemas import ContractOut, SignatureOut
from hub.contracts.service import get_version, is_in_force
from hub.contracts.signatures import signatures


def contract_out(session: Session, contract: Contract) -> ContractOut:
    """The full public view of ``contract`` at its current version."""
    version = get_version(session, contract.id, contract.version)
    in_force, reasons = is_in_force(contract, datetime.now(UTC).date())
    return ContractOut(
        **contract.model_dump(
            exclude={"suspended_at", "created_by", "finalized_at"},
        ),
        terms=version.terms,
        digest=version.digest,
        allowed_transitions=allowed_from(State(contract.state)),
        signatures=[SignatureOut(**s.model_dump()) for s in signatures(session, contract)],
        suspended=contract.suspended_at is not None,
        in_force=in_force,
        not_in_force_reasons=reasons,
    )
