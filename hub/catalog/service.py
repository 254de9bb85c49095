"""Catalog operations. Changes are audited in the caller's transaction; none commits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from contracts.clock import as_utc
from hub.catalog.models import Dataset
from hub.catalog.schemas import DatasetIn
from hub.errors import NotFound, ValidationFailed
from hub.registry.public import OrgKind, get_org, organisation_names
from hub.trail.writer import Actor, EventDraft, Resource, Why, record


def create_dataset(
    session: Session, actor: Actor, data: DatasetIn, dataset_id: str | None = None
) -> Dataset:
    """Describe a new dataset of provider ``data.provider_id`` (must be a provider), with
    a generated id unless ``dataset_id`` names one (a data-space test fixture's)."""
    get_org(session, data.provider_id, OrgKind.PROVIDER)
    dataset = Dataset(**data.model_dump())
    if dataset_id is not None:
        dataset.id = dataset_id
    session.add(dataset)
    session.flush()
    draft = EventDraft(
        actor,
        "dataset.created",
        Resource("dataset", dataset.id),
        why=Why(dataset_id=dataset.id),
        details={"title": dataset.title},
    )
    record(session, draft)
    return dataset


def find_dataset(session: Session, dataset_id: str) -> Dataset | None:
    """The dataset ``dataset_id``, if it is in the catalog."""
    return session.get(Dataset, dataset_id)


def get_dataset(session: Session, dataset_id: str) -> Dataset:
    """The dataset ``dataset_id``; raises ``NotFound``."""
    dataset = find_dataset(session, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} is not in the catalog")
    return dataset


def folded(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` ("Créteil" → "creteil")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _haystack(dataset: Dataset) -> str:
    parts = [dataset.title, dataset.description, dataset.coverage, dataset.xapi_profile]
    return folded(" ".join([*parts, *dataset.keywords, *dataset.verbs, *dataset.fields]))


def datasets_by_id(session: Session) -> list[Dataset]:
    """Every dataset of the catalog, by id."""
    return list(session.exec(select(Dataset).order_by(col(Dataset.id))).all())


def search(
    session: Session, text: str | None = None, provider_id: str | None = None
) -> list[Dataset]:
    """Datasets whose title, description, coverage, profile, verbs, fields or keywords
    contain ``text`` (ignoring case and accents), optionally of one provider; newest
    first. The catalog is small (a few datasets per provider), so text matching runs in
    Python, identically on SQLite and PostgreSQL."""
    query = select(Dataset)
    if provider_id:
        query = query.where(Dataset.provider_id == provider_id)
    rows = session.exec(query.order_by(col(Dataset.created_at).desc())).all()
    needle = folded(text or "")
    return [d for d in rows if needle in _haystack(d)]


def provider_names(session: Session, datasets: list[Dataset]) -> dict[str, str]:
    """The names of the providers of ``datasets``, by organisation id."""
    return organisation_names(session, {d.provider_id for d in datasets})


def record_batch_stats(
    session: Session, dataset_id: str, rows: int, first_ts: datetime, last_ts: datetime
) -> Dataset:
    """Add one ingested batch to the dataset's statistics (called by ingestion in its own
    transaction): statement and batch counts, first and last statement times.

    Not idempotent (each call counts a batch): call it once per registered batch.
    Raises ``NotFound`` for an unknown dataset and ``ValidationFailed`` for negative
    ``rows`` or ``first_ts`` after ``last_ts``.
    """
    if rows < 0 or as_utc(first_ts) > as_utc(last_ts):
        raise ValidationFailed("batch statistics need rows >= 0 and first_ts <= last_ts")
    dataset = session.exec(
        select(Dataset).where(Dataset.id == dataset_id).with_for_update()
    ).first()
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} is not in the catalog")
    first = [as_utc(t) for t in (dataset.first_statement_at, first_ts) if t is not None]
    last = [as_utc(t) for t in (dataset.last_statement_at, last_ts) if t is not None]
    dataset.statement_count += rows
    dataset.batch_count += 1
    dataset.first_statement_at, dataset.last_statement_at = min(first), max(last)
    dataset.updated_at = datetime.now(UTC)
    session.add(dataset)
    session.flush()
    return dataset


@dataclass(frozen=True)
class HeldStats:
    """What the lake holds of a dataset: statements, batches holding any, time span."""

    rows: int
    batches: int
    first: datetime | None
    last: datetime | None


def set_held_stats(session: Session, dataset_id: str, held: HeldStats) -> bool:
    """Replace the dataset's statistics by what the lake holds (after a retention purge
    or an erasure); True when they changed. An unknown dataset is skipped (False)."""
    dataset = session.exec(
        select(Dataset).where(Dataset.id == dataset_id).with_for_update()
    ).first()
    if dataset is None:
        return False
    now = (dataset.statement_count, dataset.batch_count)
    span = [
        as_utc(t) if t else None for t in (dataset.first_statement_at, dataset.last_statement_at)
    ]
    if now == (held.rows, held.batches) and span == [held.first, held.last]:
        return False
    dataset.statement_count, dataset.batch_count = held.rows, held.batches
    dataset.first_statement_at, dataset.last_statement_at = held.first, held.last
    dataset.updated_at = datetime.now(UTC)
    session.add(dataset)
    return True


def dataset_titles(session: Session, ids: set[str]) -> dict[str, str]:
    """Id → title for the datasets among ``ids``; other ids are left out."""
    query = select(Dataset.id, Dataset.title).where(col(Dataset.id).in_(ids))
    return dict(session.exec(query).all())
