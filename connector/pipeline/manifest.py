"""Build and sign the manifest of a batch (``schemas/batch-manifest.schema.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connector.pipeline.batch import BuiltBatch
from contracts.batch_manifest import MANIFEST_VERSION, SCHEMA_VERSION


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat(timespec="microseconds") if ts else None


def build_manifest(
    batch: BuiltBatch,
    *,
    contract_id: str,
    connector_id: str,
    dataset_id: str,
    sequence: int,
    keys: Sequence[str],
    key_version: str,
) -> dict[str, Any]:
    """The manifest of ``batch`` whose files were assigned object ``keys`` by the hub,
    pseudonymised with the contract's key of master ``key_version``."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "schema_version": SCHEMA_VERSION,
        "contract_id": contract_id,
        "connector_id": connector_id,
        "dataset_id": dataset_id,
        "sequence": sequence,
        "key_version": key_version,
        "row_count": batch.row_count,
        "time_range": {"from": _iso(batch.time_from), "to": _iso(batch.time_to)},
        "files": [
            {"key": key, "sha256": f.sha256, "bytes": len(f.data), "rows": f.rows}
            for key, f in zip(keys, batch.files, strict=True)
        ],
    }
