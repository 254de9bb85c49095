"""Re-pseudonymisation after a master key rotation, from the vendor's roster.

A contract's lake holds 30 pupils under a v1 key (one registered batch, one
quarantined); a query is released (record of use, airlock sketches); pupil 1 is erased.
The master key is rotated to v2 and the vendor runs ``edh-connector repseudonymise``
with a roster of pupils 0..24 (pupils 25..29 are not on it).

Ground truth, computed from the identifiers: every stored object and S3 version then
holds only v2 pseudonyms of roster pupils other than the erased one, in
``actor_pseudonym`` and in ``statement_json``; no v1 pseudonym is left in any object or
table; the contract's key version is v2 only once everything was rewritten; the erased
pupil stays out (the register follows the new key); a batch built under v1 and completed
afterwards is refused and deleted; new data shipped under v2 join the rewritten rows, so
the sandbox counts each pupil once; the DPO's report still finds the earlier release.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from connector.pipeline.batch import build_batches
from connector.pipeline.client import HubRefused
from connector.pipeline.register import ErasureFilter
from connector.pipeline.runner import Target, ship_batch
from contracts.pseudonym import pseudonym
from hub.config import SandboxSettings
from hub.contracts.models import Contract
from hub.ingest.lakecheck import verify_lake
from hub.pseudonym.models import ErasedPseudonym, Repseudonymisation
from hub.pseudonym.service import contract_key
from hub.sandbox.runtime import SandboxRuntime, install, uninstall
from tests.support.contract_ref import ContractRef
from tests.support.ingest_batches import recent_day, statements
from tests.support.ingest_cli import CONNECTOR, connector_env
from tests.support.ingest_fixtures import IngestSetup, ingest_setup
from tests.support.ingest_queries import released_exact_job
from tests.support.lake_truth import (
    assert_registry_verifies,
    object_text,
    pseudonyms_in,
    quarantined,
    rotate_master_key,
    stored_objects,
)
from tests.support.pupil_use import table_text

PUPILS, ROSTER, ERASED = 30, 25, 1
COUNT = "SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM statements"
TABLES = (
    "audit_event",
    "erasure_request",
    "erasure_pseudonym",
    "erasure_rewrite",
    "ingest_batch",
    "outbox_event",
    "dataset",
    "pupil_use",
    "repseudonymisation",
    "sandbox_query_job",
    "sandbox_output_hold",
)


def identifier(i: int) -> str:
    return f"account:https://ent.example.fr|eleve-{i}"


def _key(setup: IngestSetup, version: str) -> bytes:
    return contract_key(setup.ctx.settings, ContractRef(setup.contract_id, version))


def _pseudonyms(setup: IngestSetup, version: str, pupils: range) -> set[str]:
    key = _key(setup, version)
    return {pseudonym(key, identifier(i)) for i in pupils}


def _ship(setup: IngestSetup, target: Target, sequence: int, day: str) -> int:
    items = enumerate(statements(PUPILS, day), start=1)
    batch = next(build_batches(items, target.transformer(), PUPILS))
    ship_batch(setup.hub_client(), setup.connector_key, target, batch, sequence)
    return batch.row_count


def _target(setup: IngestSetup, *, honest: bool = True) -> Target:
    terms = setup.hub_client().terms(setup.contract_id)
    if not honest:  # a connector that ignores the register
        terms = replace(terms, erased=ErasureFilter())
    return Target(terms, setup.dataset_id)


def _counted(setup: IngestSetup) -> tuple[str, list[Any]]:
    """A released exact count of rows and distinct pupils over the contract's lake."""
    job_id = released_exact_job(setup, COUNT)
    result = setup.client.get(f"/api/v1/queries/{job_id}/result", headers=setup.world.as_lab())
    assert result.status_code == 200, result.text
    return job_id, list(result.json()["rows"])


def _releases(setup: IngestSetup, i: int) -> list[str]:
    """The jobs the DPO's report lists for pupil ``i`` under the contract."""
    dpo = setup.world.auth("dpo", sub="dpo.1")
    body = {"identifier": identifier(i), "purpose": "demande d'accès"}
    resp = setup.client.post("/api/v1/audit/pupil-report", json=body, headers=dpo)
    assert resp.status_code == 200, resp.text
    uses = {u["contract_id"]: u for u in resp.json()}
    return [r["job_id"] for r in uses[setup.contract_id]["releases"]]


def _roster_cli(setup: IngestSetup, tmp_path: Path) -> dict[str, Any]:
    """``edh-connector repseudonymise --roster -`` as the vendor runs it (stdin)."""
    env = connector_env(setup, tmp_path / "connector")
    roster = "".join(identifier(i) + "\n" for i in range(ROSTER))
    done = subprocess.run(
        [*CONNECTOR, "repseudonymise", "--roster", "-"],
        input=roster + identifier(3) + "\n\n",  # a repeated line counts once
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "eleve-" not in done.stdout + done.stderr
    with Session(setup.ctx.engine) as session:
        run = session.exec(select(Repseudonymisation)).one()
        return run.model_dump()


def _assert_only_new_key(setup: IngestSetup, pupils: range) -> None:
    """Every object and version holds only v2 pseudonyms of ``pupils``, in both columns;
    no v1 pseudonym of any pupil in any object or table; no identifier anywhere."""
    old = _pseudonyms(setup, "v1", range(PUPILS))
    new = _pseudonyms(setup, "v2", pupils)
    objects = stored_objects(setup)
    assert objects
    for data in objects:
        assert pseudonyms_in(data) <= new
        values = object_text(data)
        assert not [p for p in old if p in values]
        assert "eleve-" not in values
    text = table_text(setup, TABLES)
    assert not [p for p in old if p in text]
    assert "eleve-" not in text


def _journey(setup: IngestSetup, tmp_path: Path) -> None:
    v1 = _target(setup)
    assert v1.terms.key_version == "v1"
    assert _ship(setup, v1, 1, recent_day(8)) == PUPILS
    quarantined(setup, v1, 2, recent_day(7), PUPILS)
    first_job, rows = _counted(setup)
    assert rows == [[PUPILS, PUPILS]]
    dpo = setup.world.auth("dpo", sub="dpo.1")
    erased = setup.client.post(
        "/api/v1/pseudonym/dpo/erasure-requests",
        json={"identifier": identifier(ERASED)},
        headers=dpo,
    )
    assert erased.status_code == 200, erased.text
    late = next(
        build_batches(enumerate(statements(PUPILS, recent_day(6)), 1), v1.transformer(), PUPILS)
    )

    rotate_master_key(setup)
    done = _roster_cli(setup, tmp_path)
    assert (done["from_version"], done["to_version"], done["pairs"]) == ("v1", "v2", ROSTER)
    assert (done["objects_rewritten"], done["rows_kept"]) == (1, ROSTER - 1)
    assert done["rows_dropped"] == PUPILS - ROSTER  # pupils off the roster
    kept = range(ROSTER)
    _assert_only_new_key(setup, kept)
    with Session(setup.ctx.engine) as session:
        contract = session.get(Contract, setup.contract_id)
        assert contract is not None and contract.key_version == "v2"
        register = {r.pseudonym for r in session.exec(select(ErasedPseudonym)).all()}
    erased_v2 = pseudonym(_key(setup, "v2"), identifier(ERASED))
    assert register == {erased_v2}
    for data in stored_objects(setup):
        assert erased_v2 not in pseudonyms_in(data)
    assert_registry_verifies(setup)
    assert setup.ctx.store is not None
    with Session(setup.ctx.engine) as session:
        assert verify_lake(setup.ctx.store, session, setup.ctx.settings).problems == []
    audit = table_text(setup, ("audit_event",))
    assert "pseudonym.repseudonymisation" in audit
    assert not [p for p in _pseudonyms(setup, "v2", range(PUPILS)) if p in audit]

    # A batch built under v1 before the rotation, shipped after: refused, deleted.
    with pytest.raises(HubRefused):
        ship_batch(setup.hub_client(), setup.connector_key, v1, late, 3)
    _assert_only_new_key(setup, kept)

    # New data under v2 (pupils 0..29, the erased one dropped or stripped) join the old rows.
    v2 = _target(setup)
    assert v2.terms.key_version == "v2"
    assert _ship(setup, v2, 4, recent_day(5)) == PUPILS - 1
    assert _ship(setup, _target(setup, honest=False), 5, recent_day(4)) == PUPILS
    everyone = set(range(PUPILS)) - {ERASED}
    _assert_only_new_key(setup, range(PUPILS))
    for data in stored_objects(setup):
        assert erased_v2 not in pseudonyms_in(data)
    _, rows = _counted(setup)
    assert rows == [[(ROSTER - 1) + 2 * len(everyone), len(everyone)]]
    assert first_job in _releases(setup, 2)  # the record of use follows the new key

    again = setup.client.get(
        f"/api/v1/pseudonym/contracts/{setup.contract_id}/rotation",
        headers=_connector_auth(setup),
    )
    assert again.status_code == 409


def _connector_auth(setup: IngestSetup) -> dict[str, str]:
    from contracts.connector_token import mint_connector_token

    token = mint_connector_token(setup.connector_key, setup.connector_id)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reviewed(db_url: str, tmp_path: Path) -> Iterator[IngestSetup]:
    with ingest_setup(db_url, tmp_path, release_mode="reviewed") as setup:
        install(SandboxRuntime(setup.ctx, SandboxSettings()))
        try:
            yield setup
        finally:
            uninstall(setup.ctx)


def test_repseudonymisation_leaves_only_new_key_pseudonyms(
    reviewed: IngestSetup, tmp_path: Path
) -> None:
    _journey(reviewed, tmp_path)


def test_repseudonymisation_on_a_versioned_bucket(s3_ingest: IngestSetup, tmp_path: Path) -> None:
    install(SandboxRuntime(s3_ingest.ctx, SandboxSettings()))
    try:
        _journey(s3_ingest, tmp_path)
    finally:
        uninstall(s3_ingest.ctx)


def test_bad_pairs_and_versions_are_problems_that_change_nothing(ingest: IngestSetup) -> None:
    assert _ship(ingest, _target(ingest), 1, recent_day(8)) == PUPILS
    store = ingest.ctx.store
    assert store is not None
    before = {k: store.get(k) for k in store.list("lake/")}
    base = f"/api/v1/pseudonym/contracts/{ingest.contract_id}"
    auth = _connector_auth(ingest)
    early = ingest.client.get(f"{base}/rotation", headers=auth)
    assert early.status_code == 409  # nothing to rotate to yet
    rotate_master_key(ingest)
    a, b, c = ("a" * 64, "b" * 64, "c" * 64)
    bodies = [
        ({"from_version": "v1", "to_version": "v2", "pairs": [["A" * 64, b]]}, 400),
        ({"from_version": "v1", "to_version": "v2", "pairs": [[a, b], [c, b]]}, 400),
        ({"from_version": "v1", "to_version": "v2", "pairs": [[a, b], [a, c]]}, 400),
        ({"from_version": "v1", "to_version": "v2", "pairs": []}, 400),
        ({"from_version": "v2", "to_version": "v3", "pairs": [[a, b]]}, 409),
    ]
    for body, status in bodies:
        resp = ingest.client.post(f"{base}/repseudonymisations", json=body, headers=auth)
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert a not in resp.text and b not in resp.text
    lab = ingest.client.post(
        f"{base}/repseudonymisations", json=bodies[0][0], headers=ingest.world.as_lab()
    )
    assert lab.status_code in (401, 403)
    assert {k: store.get(k) for k in store.list("lake/")} == before
    with Session(ingest.ctx.engine) as session:
        contract = session.get(Contract, ingest.contract_id)
        assert contract is not None and contract.key_version == "v1"
        assert session.exec(select(Repseudonymisation)).first() is None


def test_roster_lines_that_are_not_identifiers_are_refused_unechoed(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    rotate_master_key(sqlite_ingest)
    env = connector_env(sqlite_ingest, tmp_path / "connector")
    done = subprocess.run(
        [*CONNECTOR, "repseudonymise", "--roster", "-"],
        input=identifier(0) + "\nelève-secret\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "secret" not in done.stdout + done.stderr
    with Session(sqlite_ingest.ctx.engine) as session:
        contract = session.get(Contract, sqlite_ingest.contract_id)
        assert contract is not None and contract.key_version == "v1"
