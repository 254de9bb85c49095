"""Retention at the door: no batch enters the lake already past its contract's retention.

A lake file lives in the day partition of its statements (``date=YYYY-MM-DD``, the
statements' UTC day); the scheduled purge deletes a partition once its day is before
``on - retention_days`` (:func:`cutoff`). The same rule refuses data at the door:

- at presign, a batch announcing a day before the cutoff is refused (``PastRetention``,
  422, audited by the caller as a refused ``ingest.presign``);
- at completion, a batch with a day past the cutoff by then is refused too
  (``hub.ingest.complete``): its uploaded objects are deleted at once with every stored
  version (nothing past retention is kept, not even in quarantine);
- a file whose rows are not all of its day (a purge by partition would miss them) fails
  verification (:func:`partition_failures`): the batch is quarantined.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hub.errors import HubError
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.records import BatchRecord

PAST_RETENTION = "past the contract's retention"


class PastRetention(HubError):
    """Data older than the contract's retention period (problem ``past-retention``)."""

    status, slug, title = 422, "past-retention", "Data past the contract's retention"


def cutoff(retention_days: int, on: date) -> date:
    """The first day still kept on day ``on``: partitions before it are past retention."""
    return on - timedelta(days=retention_days)


def expired_days(days: Iterable[str], retention_days: int, on: date) -> list[str]:
    """The days of ``days`` (``YYYY-MM-DD``) past retention on ``on``, sorted, once each."""
    first = cutoff(retention_days, on)
    return sorted({d for d in days if date.fromisoformat(d) < first})


def check_fresh(days: Iterable[str], retention_days: int, on: date) -> None:
    """Raise ``PastRetention`` (with ``reasons`` and the cutoff) when any day is past the
    contract's ``retention_days`` on ``on``."""
    late = expired_days(days, retention_days, on)
    if late:
        first = cutoff(retention_days, on).isoformat()
        reason = f"{len(late)} day(s) of data before {first}: {PAST_RETENTION}"
        raise PastRetention(
            f"the batch holds data {PAST_RETENTION} ({retention_days} days): nothing "
            f"before {first} is accepted",
            reasons=[reason],
            cutoff=first,
        )


def partition_failures(data: bytes, key: str, day: str) -> list[str]:
    """The reason a lake file's rows are not all of its day partition (none when they
    are): retention purges by partition, so a row of another day would outlive it."""
    file = pq.ParquetFile(io.BytesIO(data))
    if "timestamp" not in file.schema_arrow.names:
        return [f"{key} has no timestamp column"]
    column = file.read(columns=["timestamp"]).column("timestamp")
    if column.null_count:
        return [f"{key} has rows without a timestamp"]
    if len(column) == 0:
        return []
    span = pc.min_max(column.cast(pa.timestamp("us", tz="UTC")))
    days = {span[end].as_py().astimezone(UTC).date().isoformat() for end in ("min", "max")}
    return [] if days == {day} else [f"{key} holds rows outside its day partition {day}"]


def batch_expired(batch: IngestBatch, retention_days: int, on: date) -> bool:
    """True when a file of ``batch`` is past retention on ``on``."""
    return bool(expired_days((str(f["date"]) for f in batch.files), retention_days, on))


def refused_for_retention(batch: BatchRecord) -> bool:
    """True when ``batch`` was refused at completion for being past retention."""
    return batch.status == BatchStatus.QUARANTINED and batch.reasons == [PAST_RETENTION]
