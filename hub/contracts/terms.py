"""Checks of contract terms against the hub's state and limits (beyond the model's own)."""

from __future__ import annotations

from sqlmodel import Session

from contracts.model import ContractTerms
from hub.catalog.public import find_dataset
from hub.config import Settings
from hub.errors import HubError, ValidationFailed
from hub.registry.public import OrgKind, find_connector, get_org, get_project


def _dataset_problems(session: Session, terms: ContractTerms) -> list[str]:
    problems, offered = [], set[str]()
    for dataset_id in terms.datasets:
        dataset = find_dataset(session, dataset_id)
        if dataset is None:
            problems.append(f"dataset {dataset_id} is not in the catalog")
        elif dataset.provider_id != terms.provider_id:
            problems.append(f"dataset {dataset_id} is not offered by provider {terms.provider_id}")
        else:
            offered.update(dataset.fields)
    unknown = sorted(set(terms.allowed_fields) - offered)
    if offered and unknown:
        problems.append(f"allowed_fields not offered by the datasets: {', '.join(unknown)}")
    return problems


def _connector_problems(session: Session, terms: ContractTerms) -> list[str]:
    problems = []
    for connector_id in terms.connector_ids:
        connector = find_connector(session, connector_id)
        if connector is None or connector.organisation_id != terms.provider_id:
            problems.append(f"connector {connector_id} is not a connector of the provider")
    return problems


def _party_problems(session: Session, terms: ContractTerms) -> list[str]:
    problems = []
    for check in (
        lambda: get_org(session, terms.provider_id, OrgKind.PROVIDER),
        lambda: get_project(session, terms.project_id),
    ):
        try:
            check()
        except HubError as exc:
            problems.append(exc.detail)
    return problems


def check_terms(session: Session, terms: ContractTerms, settings: Settings) -> None:
    """Raise ``ValidationFailed`` (400) listing every reason ``terms`` cannot be accepted:
    unknown provider/project/datasets/connectors, fields the datasets do not offer, a
    retention beyond ``EDH_CONTRACTS__MAX_RETENTION_DAYS``."""
    problems = _party_problems(session, terms)
    limit = settings.contracts.max_retention_days
    if terms.retention_days > limit:
        problems.append(f"retention_days {terms.retention_days} exceeds the limit of {limit}")
    problems += _dataset_problems(session, terms) + _connector_problems(session, terms)
    if problems:
        raise ValidationFailed("; ".join(problems), errors=problems)
