"""Helpers that drive one batch through the ingest API step by step (for bad-input tests)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.pipeline.batch import BuiltBatch, build_batches
from connector.pipeline.client import HubClient
from connector.pipeline.manifest import build_manifest
from connector.pipeline.runner import Target
from tests.support.ingest_fixtures import IngestSetup


def recent_day(days_ago: int = 3) -> str:
    """A day ``days_ago`` before today (UTC): within every test contract's retention."""
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


def recent_copy(source: Path, into: Path) -> Path:
    """A gzip JSON Lines copy of the statements of ``source`` moved by whole days so that
    the last ends ``recent_day()`` (real samples are older than any contract's retention)."""
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    last = max(datetime.fromisoformat(r["timestamp"]) for r in rows).date()
    shift = datetime.fromisoformat(recent_day()).date() - last
    for row in rows:
        for name in ("timestamp", "stored"):
            if name in row:
                row[name] = (datetime.fromisoformat(row[name]) + shift).isoformat()
    with gzip.open(into, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    return into


def statements(count: int, day: str | None = None) -> list[dict[str, Any]]:
    """``count`` valid statements of distinct pupils on ``day`` (default: ``recent_day()``)."""
    day = day or recent_day()
    return [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "actor": {"account": {"homePage": "https://ent.example.fr", "name": f"eleve-{i}"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": f"https://ent.example.fr/exercices/{i % 7}"},
            "result": {"score": {"scaled": 0.5}, "success": True},
            "timestamp": f"{day}T08:{i % 60:02d}:00+00:00",
        }
        for i in range(count)
    ]


@dataclass
class Shipment:
    """One built batch and the hub's grant for it."""

    client: HubClient
    target: Target
    batch: BuiltBatch
    sequence: int
    grant: dict[str, Any]

    def upload_all(self) -> None:
        for upload, built in zip(self.grant["uploads"], self.batch.files, strict=True):
            self.client.upload(upload, built.data)

    def manifest(self) -> dict[str, Any]:
        return build_manifest(
            self.batch,
            contract_id=self.target.terms.contract_id,
            connector_id=self.client.connector_id,
            dataset_id=self.target.dataset_id,
            sequence=self.sequence,
            keys=[u["key"] for u in self.grant["uploads"]],
            key_version=self.target.terms.key_version,
        )


def presigned(
    setup: IngestSetup,
    sequence: int = 1,
    count: int = 20,
    day: str | None = None,
    *,
    retention: bool = True,
) -> Shipment:
    """Build a batch of ``count`` statements (of ``day``) and obtain its upload URLs
    (``retention=False``: as a connector that does not drop days past retention)."""
    client = setup.hub_client()
    terms = client.terms(setup.contract_id)
    if not retention:
        terms = replace(terms, retention_days=None)
    target = Target(terms, setup.dataset_id)
    items = enumerate(statements(count, day), start=1)
    batch = next(build_batches(items, target.transformer(), count))
    request = {
        "contract_id": setup.contract_id,
        "dataset_id": setup.dataset_id,
        "sequence": sequence,
        "files": [
            {"date": f.date, "index": f.index, "sha256": f.sha256, "bytes": len(f.data)}
            for f in batch.files
        ],
    }
    return Shipment(client, target, batch, sequence, client.presign(request))
