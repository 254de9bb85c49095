"""The catalog's and the registry's counts follow what the lake holds.

After a retention purge or an erasure, each dataset's statistics in the catalog are
recomputed from the batch registry (registered batches, their live files), whose row
counts the purge and the erasure keep equal to the rows of the stored objects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlmodel import Session, select

from contracts.clock import as_utc
from hub.catalog.public import HeldStats, set_held_stats
from hub.ingest.models import BatchStatus, IngestBatch


def _live_days(batch: IngestBatch) -> list[date]:
    return sorted(date.fromisoformat(str(f["date"])) for f in batch.files if not f.get("purged"))


def _span(batch: IngestBatch, days: list[date]) -> tuple[datetime | None, datetime | None]:
    """The batch's time span, narrowed to its live days (purged days are gone)."""
    start = datetime.combine(days[0], time.min, UTC)
    end = datetime.combine(days[-1], time.max, UTC)
    low = max(as_utc(batch.time_from), start) if batch.time_from else None
    high = min(as_utc(batch.time_to), end) if batch.time_to else None
    return low, high


def held_stats(session: Session, dataset_id: str) -> HeldStats:
    """What the registry says the lake holds of ``dataset_id``."""
    query = select(IngestBatch).where(
        IngestBatch.dataset_id == dataset_id, IngestBatch.status == BatchStatus.REGISTERED
    )
    rows, batches, lows, highs = 0, 0, [], []
    for batch in session.exec(query).all():
        days = _live_days(batch)
        if not days or not batch.row_count:
            continue
        rows, batches = rows + batch.row_count, batches + 1
        low, high = _span(batch, days)
        lows += [low] if low else []
        highs += [high] if high else []
    return HeldStats(rows, batches, min(lows, default=None), max(highs, default=None))


def refresh_catalog(session: Session) -> list[str]:
    """Set every ingested dataset's catalog statistics to what the lake holds; the ids of
    the datasets whose statistics changed."""
    ids = session.exec(select(IngestBatch.dataset_id).distinct()).all()
    return [d for d in sorted(ids) if set_held_stats(session, d, held_stats(session, d))]
