"""A registered lake object changed behind the hub's back is never read: the sandbox
refuses the query (no data in the refusal) and the DPO sees a ``lake-integrity`` alert;
on the local store and on S3 (a real S3 server on loopback)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.sandbox.runtime import uninstall
from hub.storage.s3 import S3Store
from tests.support.factories import make_context
from tests.support.ingest_fixtures import s3_settings
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world, write_batch

COUNT = "SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM statements"


def dpo_alerts(world: SandboxWorld, expected: int, timeout: float = 40) -> list[dict[str, Any]]:
    """The DPO's ``lake-integrity`` alerts, once ``expected`` of them are raised."""
    headers = {"Authorization": f"Bearer {world.ctx.issuer.mint('dpo', ['dpo'])}"}
    deadline = time.monotonic() + timeout
    while True:
        body = world.client.get("/api/v1/audit/alerts", headers=headers).json()
        found = [a for a in body["alerts"] if a["rule"] == "lake-integrity"]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def injected_file(world: SandboxWorld, tmp_path: Path) -> bytes:
    """A valid lake file of the same contract with 5,000 other rows."""
    path = write_batch(
        tmp_path / "attacker", world.provider, "c-alice", "videos", statements=5000, pupils=500
    )
    return path.read_bytes()


def alice_file(world: SandboxWorld) -> Path:
    (path,) = sorted((world.lake / world.provider / "c-alice").rglob("*.parquet"))
    return path


def assert_refused_without_data(world: SandboxWorld) -> None:
    resp = world.submit(COUNT)
    assert resp.status_code == 400, resp.text
    problem = resp.json()
    assert problem["reasons"] == ["lake-object-altered"]
    assert problem["detail"] == (
        "1 lake object(s) of contract c-alice no longer match their registered SHA-256; "
        "reading them is refused and the DPO is alerted"
    )
    job = world.wait(problem["job_id"])
    assert job["status"] == "refused" and job["reasons"] == ["lake-object-altered"]


def test_local_object_changed_behind_the_hub_is_refused_and_alerted(
    sandbox: SandboxWorld, tmp_path: Path
) -> None:
    job, result = sandbox.run(COUNT)
    assert result["rows"] == [[2000, 200]], job
    path = alice_file(sandbox)
    original = path.read_bytes()
    path.write_bytes(injected_file(sandbox, tmp_path))  # behind the hub's back
    assert_refused_without_data(sandbox)
    (alert,) = dpo_alerts(sandbox, 1)
    assert alert["contract_id"] == "c-alice" and "c-alice" in alert["message"]
    path.write_bytes(original)  # the registered bytes again: served again
    job, result = sandbox.run(COUNT)
    assert result["rows"] == [[2000, 200]], job


def test_same_size_same_mtime_rewrite_is_still_caught(
    sandbox: SandboxWorld, tmp_path: Path
) -> None:
    """The fingerprint includes the ctime, which no write can keep: a flipped byte with
    the size and mtime restored is re-hashed and refused."""
    assert sandbox.run(COUNT)[0]["status"] == "released"  # exact, after two output checkers
    path = alice_file(sandbox)
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert_refused_without_data(sandbox)
    assert len(dpo_alerts(sandbox, 1)) == 1


def test_deleted_registered_object_is_refused_not_silently_dropped(
    sandbox: SandboxWorld,
) -> None:
    alice_file(sandbox).unlink()
    assert_refused_without_data(sandbox)
    (alert,) = dpo_alerts(sandbox, 1)
    assert alert["contract_id"] == "c-alice"


@pytest.fixture
def s3_world(s3_endpoint: str, tmp_path: Path, lake: Path) -> Iterator[SandboxWorld]:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path / "hub")
    ctx.settings.storage = s3_settings(s3_endpoint)
    ctx.store = S3Store(ctx.settings.storage)
    ctx.store.ensure_bucket()
    client = TestClient(create_app(context=ctx), raise_server_exceptions=False)
    world = build_sandbox_world(client, ctx, lake)
    yield world
    uninstall(ctx)
    ctx.engine.dispose()


def test_s3_object_changed_behind_the_hub_is_refused_and_alerted(
    s3_world: SandboxWorld, tmp_path: Path
) -> None:
    assert s3_world.run(COUNT)[1]["rows"] == [[2000, 200]]
    store = s3_world.ctx.store
    assert isinstance(store, S3Store)
    key = "lake/" + alice_file(s3_world).relative_to(s3_world.lake).as_posix()
    store.put(key, injected_file(s3_world, tmp_path))  # straight to the bucket
    assert_refused_without_data(s3_world)
    (alert,) = dpo_alerts(s3_world, 1)
    assert alert["contract_id"] == "c-alice"
