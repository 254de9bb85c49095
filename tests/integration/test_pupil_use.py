"""The per-pupil report as a record of use: releases are recorded with keyed digests of
the pupils in scope, so the DPO finds which projects used a pupil's data, under which
contract and when, even after the pupil's erasure; nothing is recorded before the data
arrived; lookups are audited with the pupil's register digest and rate-limited.

Oracle: the pupils really in each released scope are read from the lake files; the audit
and the record are searched for the identifier and its pseudonyms."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from contracts.batch_manifest import sign_manifest
from hub.audit import pupil
from hub.pseudonym.models import PupilUseDigest
from hub.pseudonym.service import pseudonym_for
from tests.support.contract_ref import ContractRef
from tests.support.ingest_batches import presigned
from tests.support.ingest_fixtures import LAKE_FIELDS, IngestSetup, finalize_contract
from tests.support.pupil_use import release, table_text

API = "/api/v1/audit/pupil-report"
IDENTIFIER = "account:https://ent.example.fr|eleve-1"


def _ship(setup: IngestSetup, contract_id: str, sequence: int) -> None:
    original = setup.contract_id
    setup.contract_id = contract_id
    try:
        ship = presigned(setup, sequence=sequence, count=30)
        ship.upload_all()
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
        )
    finally:
        setup.contract_id = original


def _report(setup: IngestSetup) -> list[dict]:
    dpo = setup.world.auth("dpo", sub="dpo.1")
    resp = setup.client.post(
        API, json={"identifier": IDENTIFIER, "purpose": "demande 42"}, headers=dpo
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def test_report_is_a_record_of_use_across_contracts_and_erasure(ingest: IngestSetup) -> None:
    first = ingest.contract_id
    assert release(ingest, "job-before-data", first) == 0  # nothing in scope yet
    assert _report(ingest) == []  # no false positive before the data arrived
    _ship(ingest, first, 1)
    assert release(ingest, "job-1", first) == 30
    second = finalize_contract(ingest.world, [ingest.connector_id], allowed_fields=LAKE_FIELDS)
    _ship(ingest, second, 2)
    assert release(ingest, "job-2", first, second) == 60
    by_contract = {u["contract_id"]: u for u in _report(ingest)}
    assert set(by_contract) == {first, second}
    assert [r["job_id"] for r in by_contract[first]["releases"]] == ["job-1", "job-2"]
    assert [r["job_id"] for r in by_contract[second]["releases"]] == ["job-2"]
    assert not any(u["erased"] for u in by_contract.values())

    dpo = ingest.world.auth("dpo", sub="dpo.1")
    erased = ingest.client.post(
        "/api/v1/pseudonym/dpo/erasure-requests", json={"identifier": IDENTIFIER}, headers=dpo
    )
    assert erased.status_code == 200, erased.text
    after = {u["contract_id"]: u for u in _report(ingest)}
    assert set(after) == {first, second} and all(u["erased"] for u in after.values())
    assert all(u["objects"] == 0 for u in after.values())
    assert [r["job_id"] for r in after[first]["releases"]] == ["job-1", "job-2"]

    pseudonyms = [
        pseudonym_for(ingest.ctx.settings, ContractRef(c), IDENTIFIER) for c in (first, second)
    ]
    stored = table_text(ingest, ("audit_event", "pupil_use"))
    assert IDENTIFIER not in stored and not [p for p in pseudonyms if p in stored]
    assert stored.count("audit.pupil.lookup") == 3
    assert "demande 42" in stored


def test_lookups_are_rate_limited(ingest: IngestSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pupil, "LOOKUPS_PER_HOUR", 2)
    _report(ingest)
    _report(ingest)
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    refused = ingest.client.post(API, json={"identifier": IDENTIFIER}, headers=dpo)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    other = ingest.world.auth("dpo", sub="dpo.2")  # per DPO
    assert (
        ingest.client.post(API, json={"identifier": IDENTIFIER}, headers=other).status_code == 200
    )


def test_release_records_exactly_the_pupils_in_scope(ingest: IngestSetup) -> None:
    _ship(ingest, ingest.contract_id, 1)
    assert release(ingest, "job-1", ingest.contract_id) == 30
    with Session(ingest.ctx.engine) as session:
        rows = session.exec(select(PupilUseDigest)).all()
    assert len({r.digest for r in rows}) == 30 and {r.job_id for r in rows} == {"job-1"}
