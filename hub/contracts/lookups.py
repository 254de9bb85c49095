"""Look-ups other areas make on the contracts: read-only records, never a row to change."""

from __future__ import annotations

from sqlmodel import Session, col, select

from contracts.lifecycle import State
from contracts.model import ContractTerms
from hub.contracts.models import Contract
from hub.contracts.records import ContractRecord
from hub.contracts.service import current_terms, get_contract


def all_contracts(session: Session) -> list[ContractRecord]:
    """Every contract the hub knows, in any state."""
    return list(session.exec(select(Contract)).all())


def finalized_contracts(session: Session) -> list[ContractRecord]:
    """Every contract that was ever FINALIZED (later suspended, expired or terminated too)."""
    return list(session.exec(select(Contract).where(col(Contract.finalized_at).is_not(None))).all())


def other_contracts(session: Session, contract_id: str) -> list[ContractRecord]:
    """The other contracts of the provider of ``contract_id``; raises ``NotFound``."""
    provider = get_contract(session, contract_id).provider_id
    query = select(Contract).where(Contract.provider_id == provider, Contract.id != contract_id)
    return list(session.exec(query).all())


def first_finalized_contract(session: Session, provider_id: str) -> ContractRecord | None:
    """The provider's oldest contract in state FINALIZED, if any."""
    query = select(Contract).where(
        Contract.provider_id == provider_id, Contract.state == State.FINALIZED
    )
    return session.exec(query.order_by(col(Contract.created_at))).first()


def known_terms(session: Session, contract_id: str) -> ContractTerms | None:
    """The current terms of ``contract_id``; ``None`` for a contract the hub no longer knows."""
    contract = session.get(Contract, contract_id)
    return current_terms(session, contract) if contract else None
