"""The window between the digest check and DuckDB's read is closed: a lake object swapped
right after the check (and swapped back right after the read, the hardest case) fails
the job with nothing released and alerts the DPO, although the worker really read the
injected rows (the oracle: the worker's own output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from hub.sandbox.runtime import runtime_for
from hub.sandbox.worker import Outcome
from tests.integration.test_lake_integrity import (
    COUNT,
    alice_file,
    dpo_alerts,
    injected_file,
)
from tests.support.sandbox_fixtures import SandboxWorld


def test_object_swapped_between_check_and_read_releases_nothing(
    sandbox: SandboxWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = alice_file(sandbox)
    original, injected = path.read_bytes(), injected_file(sandbox, tmp_path)
    runtime = runtime_for(sandbox.ctx)
    real_run = runtime.pool.run
    read: list[Outcome] = []

    def swapped_during_the_read(*args: Any, **kwargs: Any) -> Outcome:
        path.write_bytes(injected)  # after the check, before DuckDB reads
        try:
            outcome = real_run(*args, **kwargs)
        finally:
            path.write_bytes(original)  # and back, before anyone looks again
        read.append(outcome)
        return outcome

    monkeypatch.setattr(runtime.pool, "run", swapped_during_the_read)
    # A failed run is held for the output checkers like a result (a failure is a bit about
    # the data); they alone read its cause.
    job, cause = sandbox.held_failure(COUNT)
    (outcome,) = read
    assert outcome.status == "ok"
    counts = [pa.ipc.open_stream(ipc).read_all().to_pylist() for ipc in outcome.ipc]
    assert counts != [[{"n": 2000, "p": 200}]]  # the worker did read the injected rows
    assert "lake-object-altered" in cause, cause
    out = sandbox.client.get(f"/api/v1/queries/{job['id']}/result", headers=sandbox.headers())
    assert out.status_code != 200 or "rows" not in out.json()
    (alert,) = dpo_alerts(sandbox, 1)
    assert alert["contract_id"] == "c-alice"
    assert path.read_bytes() == original  # the lake is intact again, and served again
    monkeypatch.setattr(runtime.pool, "run", real_run)
    resp = sandbox.submit(COUNT)
    assert resp.status_code == 202, resp.text
    assert sandbox.wait(resp.json()["id"])["status"] in ("succeeded", "pending_review")
