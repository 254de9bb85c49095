"""Verification of a completed batch: manifest signature, binding, objects, Parquet form."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contracts.batch_manifest import SCHEMA_VERSION, ManifestError, verify_manifest
from hub.ingest.minimised import minimisation_failures
from hub.ingest.models import IngestBatch
from hub.ingest.retention import partition_failures
from hub.keys import load_public_key
from hub.registry.public import ConnectorRecord
from hub.storage.port import ObjectNotFound, ObjectStore

SCHEMA_KEY = b"edh.schema_version"


def check_manifest(batch: IngestBatch, connector: ConnectorRecord, jws: str) -> dict[str, Any]:
    """The manifest, signed by ``connector`` and describing exactly ``batch``.

    Raises ``ManifestError`` with the first reason it does not.
    """
    manifest = verify_manifest(jws, load_public_key(connector.public_key_pem))
    expected = {
        "connector_id": connector.id,
        "contract_id": batch.contract_id,
        "dataset_id": batch.dataset_id,
        "sequence": batch.sequence,
        "schema_version": SCHEMA_VERSION,
    }
    for name, value in expected.items():
        if manifest.get(name) != value:
            raise ManifestError(f"manifest {name} is {manifest.get(name)!r}, expected {value!r}")
    files = manifest.get("files")
    if not isinstance(files, list) or [f.get("key") for f in files] != [
        f["key"] for f in batch.files
    ]:
        raise ManifestError("manifest files differ from the presigned keys")
    rows = sum(int(f.get("rows", -1)) for f in files)
    if rows != manifest.get("row_count"):
        raise ManifestError("manifest row_count differs from the sum of its files' rows")
    return manifest


def _parquet_rows(data: bytes, key: str) -> int:
    try:
        meta = pq.read_metadata(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise ManifestError(f"{key} is not a readable Parquet file") from exc
    if (meta.metadata or {}).get(SCHEMA_KEY) != SCHEMA_VERSION.encode():
        raise ManifestError(f"{key} does not declare the schema {SCHEMA_VERSION}")
    return int(meta.num_rows)


def check_objects(
    store: ObjectStore, manifest: dict[str, Any], allowed: Iterable[str]
) -> list[str]:
    """Re-hash every uploaded object against the manifest and check that it holds only
    ``allowed`` fields, and only rows of its day partition; the reasons of each mismatch."""
    reasons = []
    for entry in manifest["files"]:
        key = str(entry["key"])
        try:
            data = store.get(key)
        except ObjectNotFound:
            reasons.append(f"{key} was not uploaded")
            continue
        if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get(
            "sha256"
        ):
            reasons.append(f"{key} does not match its manifest digest (truncated or altered)")
            continue
        try:
            if _parquet_rows(data, key) != entry.get("rows"):
                reasons.append(f"{key} holds another row count than its manifest says")
                continue
        except ManifestError as exc:
            reasons.append(str(exc))
            continue
        reasons += minimisation_failures(data, key, allowed)
        reasons += partition_failures(data, key, partition_day(key))
    return reasons


def partition_day(key: str) -> str:
    """The day of a lake key's ``date=YYYY-MM-DD`` partition (empty when it has none)."""
    folder = next((p for p in key.split("/") if p.startswith("date=")), "")
    return folder.removeprefix("date=")
