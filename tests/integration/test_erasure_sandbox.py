"""Erasure reaches the airlock's cell ledger: the pupil's id leaves the sketches of the
cells of the exact results released to every project that used their contract; other
pupils and other projects are untouched.

Oracle: the pupil's id computed by DuckDB straight from the lake's Parquet file with the
views' formula, compared with what the released cells stored."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.context import HubContext
from hub.db import session_scope
from hub.sandbox.airlock.ledger import erase_from_ledger
from hub.sandbox.airlock.models import OutputHold
from hub.sandbox.scope import project_key
from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key
from tests.support.sandbox_fixtures import build_sandbox_world


def _lake_pupil_id(lake: Path, contract: str, pseudonym: str, key: str) -> int:
    files = str(lake / "*" / contract / "videos" / "*" / "*.parquet")
    with duckdb.connect() as con:
        row = con.execute(
            "SELECT DISTINCT xor(hash(actor_pseudonym), hash($k)) FROM read_parquet($f) "
            "WHERE actor_pseudonym = $p",
            {"k": key, "f": files, "p": pseudonym},
        ).fetchone()
    assert row is not None
    return int(row[0])


def _sketches(ctx: HubContext, project_id: str) -> list[list[str]]:
    with Session(ctx.engine) as session:
        query = select(OutputHold).where(OutputHold.project_id == project_id)
        return [list(c["sketch"]) for h in session.exec(query).all() for c in h.cells]


def test_erasure_removes_the_pupil_from_released_sketches(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    world = build_sandbox_world(client, hub_ctx, lake)
    try:
        for sub in ("alice", "bob"):
            job, _ = world.run("SELECT school_id, count(*) AS n FROM statements GROUP BY 1", sub)
            assert job["status"] == "released", job
    finally:
        world.runtime.close()
    pseudonym = hashlib.sha256(b"c-alice" + b"pupil-4").hexdigest()
    secret = derive_key(hub_ctx.settings.hub_secret, SANDBOX_PROJECT_LABEL)
    alice, bob = world.project("alice"), world.project("bob")
    target = str(_lake_pupil_id(lake, "c-alice", pseudonym, project_key(secret, alice)))
    before = _sketches(hub_ctx, alice)
    assert [s for s in before if target in s]
    bob_before = _sketches(hub_ctx, bob)
    with session_scope(hub_ctx.engine) as session:
        changed = erase_from_ledger(session, secret, {"c-alice": {pseudonym: "req-1"}})
    after = _sketches(hub_ctx, alice)
    assert changed == len([s for s in before if target in s]) >= 1
    assert not [s for s in after if target in s]
    assert sorted(map(sorted, after)) == sorted(sorted(x for x in s if x != target) for s in before)
    assert _sketches(hub_ctx, bob) == bob_before  # another project, another contract
