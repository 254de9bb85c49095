"""The ingestion gate: may this connector upload to this contract and dataset today?

Combines the contract gate (``hub.contracts.public.is_in_force``), the connector's
binding (a connector of the contract's provider, listed in the contract's
``connector_ids``) and the policy decision ``edh/ingest/upload`` through the hub's one
enforcement point (``hub.enforcement.enforce.check``, fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from hub.context import HubContext
from hub.contracts.public import current_terms, get_contract, is_in_force
from hub.enforcement.public import check
from hub.errors import Forbidden
from hub.registry.public import ConnectorRecord
from hub.trail.writer import Actor, EventDraft, Resource, Why, record

UPLOAD_DECISION = "edh/ingest/upload"


@dataclass(frozen=True)
class UploadScope:
    """What a bound connector may write: the contract's provider, datasets and fields."""

    contract_id: str
    provider_id: str
    project_id: str
    datasets: tuple[str, ...]
    allowed_fields: tuple[str, ...]
    retention_days: int
    purpose: str

    def why(self, dataset_id: str | None = None) -> Why:
        """The audit ``why`` of an action under this contract."""
        return Why(self.contract_id, self.project_id, dataset_id, self.purpose)


def connector_actor(connector: ConnectorRecord) -> Actor:
    """The audit actor of a connector."""
    return Actor(sub=connector.id, role="connector", org=connector.organisation_id)


def record_handout(
    session: Session,
    connector: ConnectorRecord,
    scope: UploadScope,
    action: str,
    resource: Resource,
    **details: object,
) -> None:
    """Audit, in the caller's transaction, what ``connector`` was handed under ``scope``
    (a key, the erasure register...)."""
    draft = EventDraft(
        connector_actor(connector), action, resource, why=scope.why(), details=dict(details)
    )
    record(session, draft)


def upload_scope(
    session: Session, connector: ConnectorRecord, contract_id: str, on: date
) -> UploadScope:
    """The scope of ``contract_id`` for ``connector`` on day ``on``.

    Raises ``NotFound`` for an unknown contract and ``Forbidden`` (with ``reasons``) when the
    contract is not in force or the connector is not bound to it.
    """
    contract = get_contract(session, contract_id)
    terms = current_terms(session, contract)
    _, reasons = is_in_force(contract, on)
    if connector.organisation_id != contract.provider_id:
        reasons.append(f"connector {connector.id} does not belong to the contract's provider")
    elif connector.id not in terms.connector_ids:
        reasons.append(f"connector {connector.id} is not bound to contract {contract_id}")
    if reasons:
        raise Forbidden(f"no upload under contract {contract_id}: {reasons[0]}", reasons=reasons)
    return UploadScope(
        contract_id=contract.id,
        provider_id=contract.provider_id,
        project_id=contract.project_id,
        datasets=tuple(terms.datasets),
        allowed_fields=tuple(terms.allowed_fields),
        retention_days=terms.retention_days,
        purpose=terms.purpose,
    )


def check_dataset(scope: UploadScope, dataset_id: str) -> None:
    """Raise ``Forbidden`` when ``dataset_id`` is not one of the contract's datasets."""
    if dataset_id not in scope.datasets:
        reason = f"dataset {dataset_id} is not covered by contract {scope.contract_id}"
        raise Forbidden(reason, reasons=[reason])


def check_upload_policy(
    ctx: HubContext,
    session: Session,
    connector: ConnectorRecord,
    scope: UploadScope,
    dataset_id: str,
) -> None:
    """Ask the policy engine through the one enforcement point: raises ``Forbidden`` on a
    refusal, ``PolicyUnavailable`` (503) when the engine or its data cannot answer."""
    check(
        ctx,
        session,
        UPLOAD_DECISION,
        {
            "connector_id": connector.id,
            "contract_id": scope.contract_id,
            "dataset_id": dataset_id,
            "provider_id": scope.provider_id,
        },
        connector_actor(connector),
        Resource("dataset", dataset_id),
        scope.why(dataset_id),
    )
