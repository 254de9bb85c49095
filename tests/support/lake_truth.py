"""Ground truth over a hub's lake for erasure and re-pseudonymisation tests: every stored
object and version, the pseudonyms they hold, the registry checked against the store, a
refused batch, and the master key rotation as an operator does it."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from connector.pipeline.batch import build_batches
from connector.pipeline.client import HubRefused
from connector.pipeline.runner import Target, ship_batch
from contracts.canonical import canonical_json, sha256_hex
from contracts.signing import public_key_from_jwk, verify_detached
from hub.contracts.hubkey import hub_jwk
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.presign import quarantine_key
from hub.pseudonym.models import ErasureRewrite
from hub.pseudonym.service import custody
from hub.storage.s3 import S3Store
from tests.support.ingest_batches import statements
from tests.support.ingest_fixtures import IngestSetup


def quarantined(
    setup: IngestSetup, target: Target, sequence: int, day: str, pupils: int = 10
) -> None:
    """A batch of ``pupils`` pupils (0..), refused (manifest signed by a stranger's key)."""
    items = enumerate(statements(pupils, day), 1)
    batch = next(build_batches(items, target.transformer(), pupils))
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(HubRefused) as refused:
        ship_batch(setup.hub_client(), stranger, target, batch, sequence)
    assert "quarantined" in refused.value.detail


def stored_objects(setup: IngestSetup) -> list[bytes]:
    """Every stored object under lake/ and quarantine/, every S3 version included."""
    store = setup.ctx.store
    assert store is not None
    if not isinstance(store, S3Store):
        return [store.get(k) for p in ("lake/", "quarantine/") for k in store.list(p)]
    out = []
    for v in store._client.list_objects(store.bucket, recursive=True, include_version=True):
        if v.is_delete_marker:
            continue
        response = store._client.get_object(
            store.bucket, str(v.object_name), version_id=v.version_id
        )
        out.append(response.read())
        response.close()
        response.release_conn()
    return out


def pseudonyms_in(data: bytes) -> set[str]:
    return set(pq.read_table(io.BytesIO(data), columns=["actor_pseudonym"]).column(0).to_pylist())


def object_text(data: bytes) -> str:
    """Every value of a stored Parquet object as text (the bytes are compressed: a search
    in them finds nothing)."""
    table = pq.read_table(io.BytesIO(data))
    return "\n".join(str(v) for column in table.columns for v in column.to_pylist())


def rotate_master_key(setup: IngestSetup) -> None:
    """Rotate the master key as the operator does: a new version in the key custody
    (``edh pseudonym keys create v2``), then ``EDH_PSEUDONYM__KEY_VERSION=v2``."""
    keys = custody(setup.ctx.settings)
    if "v2" not in keys.versions():
        keys.create("v2")
    setup.ctx.settings.pseudonym.key_version = "v2"


def assert_registry_verifies(setup: IngestSetup) -> None:
    """Every registered or quarantined file is stored under its key with its digest and
    row count (a purged one is stored nowhere); every rewrite is signed by the hub and
    names the object it replaced."""
    store = setup.ctx.store
    assert store is not None
    hub_key = public_key_from_jwk(hub_jwk(setup.ctx.settings))
    with Session(setup.ctx.engine) as session:
        batches = session.exec(select(IngestBatch)).all()
        for batch in batches:
            for entry in batch.files:
                key = str(entry["key"])
                if batch.status == BatchStatus.QUARANTINED:
                    key = quarantine_key(key)
                if entry.get("purged"):  # deleted with every version
                    assert store.size(key) is None and store.size(str(entry["key"])) is None
                    continue
                data = store.get(key)
                if batch.status == BatchStatus.REGISTERED:
                    assert sha256_hex(data) == entry["sha256"]
                    assert pq.read_metadata(io.BytesIO(data)).num_rows == entry["rows"]
        for rewrite in session.exec(select(ErasureRewrite)).all():
            payload = canonical_json(rewrite.manifest)
            verify_detached(
                rewrite.manifest_jws, payload, {hub_jwk(setup.ctx.settings)["kid"]: hub_key}
            )
            assert rewrite.manifest["replaces"]["key"] == rewrite.old_key
            assert store.size(rewrite.old_key) is None
            assert store.size(quarantine_key(rewrite.old_key)) is None
