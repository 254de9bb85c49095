"""Contracts as policy data documents (interface 3): ``data.edh.contracts[<id>]``.

Published contracts are those that reached FINALIZED (including later suspended,
expired or terminated ones, so the policy sees the change at once). ``state`` is the
effective state: FINALIZED only while the contract is in force today, else SUSPENDED,
EXPIRED, NOT_YET_VALID or TERMINATED.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from contracts.lifecycle import State
from hub.contracts.lookups import finalized_contracts
from hub.contracts.records import ContractRecord
from hub.contracts.service import current_terms
from hub.enforcement.public import PolicyDocument


def effective_state(contract: ContractRecord, on: date) -> str:
    """The state the policy should act on for day ``on``."""
    if contract.state != State.FINALIZED:
        return contract.state
    if contract.suspended_at is not None:
        return "SUSPENDED"
    if on > contract.valid_until:
        return "EXPIRED"
    if on < contract.valid_from:
        return "NOT_YET_VALID"
    return contract.state


def contract_document(session: Session, contract: ContractRecord, on: date) -> dict[str, Any]:
    """One contract in the shape of interface 3."""
    terms = current_terms(session, contract)
    return {
        "id": contract.id,
        "version": contract.version,
        "state": effective_state(contract, on),
        "provider_id": contract.provider_id,
        "project_id": contract.project_id,
        "datasets": list(terms.datasets),
        "allowed_fields": list(terms.allowed_fields),
        "min_cell_size": terms.min_cell_size,
        "row_level": terms.row_level,
        "rounding_base": terms.rounding_base,
        "release_mode": terms.release_mode.value,
        "epsilon_per_query": terms.epsilon_per_query,
        "epsilon_max_per_query": terms.epsilon_max_per_query or terms.epsilon_per_query,
        "epsilon_budget": terms.epsilon_budget,
        "purpose": terms.purpose,
        "valid_from": terms.valid_from.isoformat(),
        "valid_until": terms.valid_until.isoformat(),
        "retention_days": terms.retention_days,
        "connector_ids": list(terms.connector_ids),
    }


def contract_documents(session: Session, on: date | None = None) -> dict[str, dict[str, Any]]:
    """``data.edh.contracts``: every contract that was ever FINALIZED, by id. Read fresh
    on each call (no cache), so a suspension is visible to the next decision."""
    day = on or datetime.now(UTC).date()
    return {c.id: contract_document(session, c, day) for c in finalized_contracts(session)}


DOCUMENTS = (
    PolicyDocument(
        "contracts",
        frozenset({"contract", "contract_version", "contract_signature"}),
        contract_documents,
    ),
)
