"""Upload grants: a presigned URL writes only a file of a batch still waiting for it.

A grant is single-use and scoped to exactly the keys of its batch's announcement: the
store refuses an existing key (write-once), and the hub refuses any key whose batch is
unknown or already completed (registered or quarantined).
"""

from __future__ import annotations

from sqlmodel import Session

from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.presign import find_batch

CLOSED = "the upload grant is closed: its batch is completed or the key is not announced"


def batch_of_key(session: Session, key: str) -> IngestBatch | None:
    """The batch that announced ``key`` (``.../<connector>-<seq:012d>-<n>.parquet``), if any."""
    name = key.rpartition("/")[2]
    connector_id, _, rest = name.rpartition("-")
    connector_id, _, sequence = connector_id.rpartition("-")
    if not sequence.isdigit() or not rest.endswith(".parquet"):
        return None
    batch = find_batch(session, connector_id, int(sequence))
    if batch is None or key not in {str(f["key"]) for f in batch.files}:
        return None
    return batch


def grant_open(session: Session, key: str) -> bool:
    """True when ``key`` belongs to a batch still ``presigned`` (its upload may proceed)."""
    batch = batch_of_key(session, key)
    return batch is not None and batch.status == BatchStatus.PRESIGNED
