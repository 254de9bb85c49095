"""The catalog's published interface: the only module other areas and the pages import.

The catalog owns the DCAT-AP description of the datasets the providers offer and the
statistics ingestion keeps current on them. It publishes a read-only record of a dataset,
the look-ups other areas make (one dataset, every dataset, titles for the pages), the
description of a new dataset (``DatasetIn``, ``Frequency``, ``create_dataset``: the demo's
and the data-space test fixture's), and the two statistics updates ingestion calls.

Rows handed out are the catalog's own: callers read them through ``DatasetRecord`` (mypy
refuses a write) and change them only through the functions below. ``get_dataset``
raises ``NotFound`` (``hub.errors``) for an unknown id; ``find_dataset`` answers None.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from hub.catalog import service
from hub.catalog.schemas import DatasetIn, Frequency
from hub.catalog.service import HeldStats, dataset_titles, set_held_stats
from hub.trail.writer import Actor

__all__ = [
    "DatasetIn",
    "DatasetRecord",
    "Frequency",
    "HeldStats",
    "create_dataset",
    "dataset_titles",
    "datasets_by_id",
    "find_dataset",
    "get_dataset",
    "record_batch_stats",
    "set_held_stats",
]


class DatasetRecord(Protocol):
    """A dataset of the catalog, read-only: its provider, description and offered
    columns (``fields``)."""

    @property
    def id(self) -> str: ...
    @property
    def provider_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def fields(self) -> Sequence[str]: ...
    @property
    def keywords(self) -> Sequence[str]: ...


def create_dataset(
    session: Session, actor: Actor, data: DatasetIn, dataset_id: str | None = None
) -> DatasetRecord:
    """Describe a new dataset of provider ``data.provider_id`` (audited in the caller's
    transaction), with a generated id unless ``dataset_id`` names one."""
    return service.create_dataset(session, actor, data, dataset_id)


def get_dataset(session: Session, dataset_id: str) -> DatasetRecord:
    """The dataset ``dataset_id``."""
    return service.get_dataset(session, dataset_id)


def find_dataset(session: Session, dataset_id: str) -> DatasetRecord | None:
    """The dataset ``dataset_id``, if it is in the catalog."""
    return service.find_dataset(session, dataset_id)


def datasets_by_id(session: Session) -> list[DatasetRecord]:
    """Every dataset of the catalog, by id."""
    return list(service.datasets_by_id(session))


def record_batch_stats(
    session: Session, dataset_id: str, rows: int, first_ts: datetime, last_ts: datetime
) -> DatasetRecord:
    """Add one registered batch to the dataset's statistics (once per batch: not
    idempotent); ``NotFound`` for an unknown dataset, ``ValidationFailed`` for negative
    ``rows`` or ``first_ts`` after ``last_ts``."""
    return service.record_batch_stats(session, dataset_id, rows, first_ts, last_ts)
