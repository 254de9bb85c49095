"""Erasure that lasts: one pupil followed through ingestion, a released query (record
of use), the DPO's report, erasure, new data under the same contract (from an
up-to-date connector and from one that ignores the register) and under a contract
created after the erasure, then the retention purge: found nowhere after the erasure,
nothing left after retention, and the DPO's report still says which project used them.

Ground truth: every object of the store (every S3 version too), the batch registry
against the store, and every row of the register's, the audit's, the outbox's, the
catalog's, the record of use's and the sandbox's tables are searched for the pupil's
identifier and for their pseudonym under each contract (``erasure_pseudonym``, the
register itself, is the one table meant to hold them). The connector's spool and logs
are followed in ``test_connector_erase`` and ``test_connector_forgets``.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlmodel import Session, select

from connector.pipeline.batch import build_batches
from connector.pipeline.register import ErasureFilter
from connector.pipeline.runner import Target, push, ship_batch
from connector.pipeline.state import PipelineState
from hub.audit.schedule import AuditScheduler
from hub.catalog.models import Dataset
from hub.contracts.models import Contract
from hub.ingest.models import BatchStatus, IngestBatch
from hub.pseudonym.service import pseudonym_for
from hub.sandbox.runtime import uninstall
from hub.sandbox.scope import project_key
from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key
from tests.support.ingest_batches import recent_day, statements
from tests.support.ingest_fixtures import (
    LAKE_FIELDS,
    IngestSetup,
    finalize_contract,
    ingest_setup,
)
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

IDENTIFIER = "account:https://ent.example.fr|eleve-1"
SQL = "SELECT verb_id, count(*) AS n FROM statements GROUP BY 1"
DPO_API = "/api/v1/pseudonym/dpo/erasure-requests"


def _target(setup: IngestSetup, contract_id: str, *, honest: bool = True) -> Target:
    terms = setup.hub_client().terms(contract_id)
    if not honest:  # a connector that ignores the register
        terms = dataclasses.replace(terms, erased=ErasureFilter())
    return Target(terms, setup.dataset_id)


def _ship(setup: IngestSetup, target: Target, sequence: int, day: str) -> int:
    """Ship ten statements (pupils 0..9) on ``day``; the rows the batch held."""
    items = enumerate(statements(10, day), start=1)
    batch = next(build_batches(items, target.transformer(), 10))
    ship_batch(setup.hub_client(), setup.connector_key, target, batch, sequence)
    return batch.row_count


SEARCHED = (
    "audit_event",
    "audit_pending",
    "erasure_request",
    "erasure_rewrite",
    "ingest_batch",
    "outbox_event",
    "dataset",
    "pupil_use",
    "sandbox_query_job",
    "sandbox_output_hold",
    "sandbox_dp_spend",
)


def _db_text(setup: IngestSetup) -> str:
    return table_text(setup, SEARCHED)


def _pseudonym(setup: IngestSetup, contract_id: str) -> str:
    """The pupil's pseudonym under the contract's own master key version."""
    with Session(setup.ctx.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None
        return pseudonym_for(setup.ctx.settings, contract, IDENTIFIER)


def assert_found_nowhere(setup: IngestSetup, contracts: list[str], *, lake: bool = True) -> None:
    """The ground truth: no trace of the pupil in any object, version, or database row,
    by identifier, pseudonym or project pupil id (``lake``: the lake still holds other
    pupils' objects)."""
    pseudonyms = {_pseudonym(setup, c) for c in contracts}
    secrets = pseudonyms | {_project_pupil_id(setup, p) for p in pseudonyms}
    objects = stored_objects(setup)
    assert bool(objects) == lake
    for data in objects:
        assert not pseudonyms_in(data) & pseudonyms
        assert IDENTIFIER not in object_text(data)
    text_rows = _db_text(setup)
    assert IDENTIFIER not in text_rows
    assert not [p for p in secrets if p in text_rows]


@pytest.fixture
def reviewed_ingest(db_url: str, tmp_path: Path) -> Iterator[IngestSetup]:
    """An ingest setup whose contract releases exact results through the airlock."""
    with ingest_setup(db_url, tmp_path, release_mode="reviewed") as setup:
        yield setup


def _project_pupil_id(setup: IngestSetup, pseudonym: str) -> str:
    """The pupil's id in the project's views (the sandbox's formula, run by DuckDB)."""
    secret = derive_key(setup.ctx.settings.hub_secret, SANDBOX_PROJECT_LABEL)
    key = project_key(secret, setup.world.project_id)
    with duckdb.connect() as con:
        row = con.execute("SELECT xor(hash($p), hash($k))", {"p": pseudonym, "k": key})
        found = row.fetchone()
    assert found is not None
    return str(found[0])


def _report(setup: IngestSetup) -> dict[str, dict[str, Any]]:
    """The DPO's per-pupil report, by contract."""
    dpo = setup.world.auth("dpo", sub="dpo.1")
    body = {"identifier": IDENTIFIER, "purpose": "demande d'accès 7"}
    resp = setup.client.post("/api/v1/audit/pupil-report", json=body, headers=dpo)
    assert resp.status_code == 200, resp.text
    return {u["contract_id"]: u for u in resp.json()}


def _used(report: dict[str, dict[str, Any]], contract_id: str) -> list[str]:
    return [r["job_id"] for r in report[contract_id]["releases"]]


def _journey(setup: IngestSetup, tmp_path: Path) -> None:
    try:
        _follow(setup, tmp_path)
    finally:
        uninstall(setup.ctx)  # the sandbox runtime started by the query


def _follow(setup: IngestSetup, tmp_path: Path) -> None:
    first = setup.contract_id
    target = _target(setup, first)
    assert _ship(setup, target, 1, recent_day(8)) == 10
    quarantined(setup, target, 2, recent_day(7))
    job_id = released_exact_job(setup, SQL)  # a real query, released through the airlock
    sketch = _project_pupil_id(setup, _pseudonym(setup, first))
    assert sketch in table_text(setup, ("sandbox_output_hold",))
    before = _report(setup)  # the airlock's release recorded the use of the pupil's data
    assert before[first]["objects"] == 1 and not before[first]["erased"]
    assert _used(before, first) == [job_id]
    assert_registry_verifies(setup)
    dpo = setup.world.auth("dpo", sub="dpo.1")
    resp = setup.client.post(DPO_API, json={"identifier": IDENTIFIER}, headers=dpo)
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert done["rows_removed"] == 2 and done["batches_rewritten"] == 2
    assert_found_nowhere(setup, [first])
    assert_registry_verifies(setup)
    erasure = [r for r in _db_text(setup).splitlines() if "pseudonym.erasure" in r]
    days = [recent_day(d) for d in range(3, 9)]
    assert erasure and not [r for r in erasure if any(d in r for d in days)]  # no activity day

    # New data under the same contract: the connector drops the pupil ...
    assert _ship(setup, _target(setup, first), 3, recent_day(6)) == 9
    # ... and a connector ignoring the register is stripped by the hub at registration.
    assert _ship(setup, _target(setup, first, honest=False), 4, recent_day(5)) == 10
    assert_found_nowhere(setup, [first])

    # The master key is rotated, then the contract renewed: a new contract whose key
    # derives from v2 (the erasure register's key stays on v1).
    rotate_master_key(setup)
    second = finalize_contract(setup.world, [setup.connector_id], allowed_fields=LAKE_FIELDS)
    with Session(setup.ctx.engine) as session:
        versions = {c.id: c.key_version for c in session.exec(select(Contract)).all()}
    assert versions[first] == "v1" and versions[second] == "v2"
    renewed = _target(setup, second)
    state = PipelineState.load(tmp_path / "state.json")
    state.next_sequence = 5
    items = enumerate(statements(10, recent_day(4)), start=1)
    report = push(
        items,
        source="t",
        client=setup.hub_client(),
        key=setup.connector_key,
        target=renewed,
        state=state,
        batch_size=10,
    )
    assert report.accepted == 9 and report.dropped_erased == 1
    assert report.erasures_declared == 1  # the register now covers the new contract
    assert _ship(setup, _target(setup, second, honest=False), 6, recent_day(3)) == 10
    assert_found_nowhere(setup, [first, second])
    assert_registry_verifies(setup)
    with Session(setup.ctx.engine) as session:
        rows = sum(
            b.row_count or 0
            for b in session.exec(select(IngestBatch)).all()
            if b.status == BatchStatus.REGISTERED
        )
    assert rows == 5 * 9  # five registered batches, the pupil out of each
    after = _report(setup)  # listed while the pupil's data are held or were used
    assert list(after) == [first]
    assert after[first]["erased"] and after[first]["objects"] == 0

    # Retention: the day every batch is past the contracts' 180 days, the hub's own task
    later = datetime.now(UTC) + timedelta(days=181)
    assert AuditScheduler(setup.ctx).tick(later)["lake-purge"] is True
    assert_found_nowhere(setup, [first, second], lake=False)  # no object, no version left
    gone = setup.client.get(f"/api/v1/queries/{job_id}/result", headers=setup.world.as_lab())
    assert gone.status_code == 410  # the result went with the data's retention
    with Session(setup.ctx.engine) as session:
        dataset = session.get(Dataset, setup.dataset_id)
        assert dataset is not None and (dataset.statement_count, dataset.batch_count) == (0, 0)
        assert not [b for b in session.exec(select(IngestBatch)).all() if b.row_count]
    last = _report(setup)  # the record of use outlives the data
    assert last == after


def test_erased_pupil_stays_erased_everywhere(reviewed_ingest: IngestSetup, tmp_path: Path) -> None:
    _journey(reviewed_ingest, tmp_path)


def test_erased_pupil_stays_erased_on_a_versioned_bucket(
    s3_ingest: IngestSetup, tmp_path: Path
) -> None:
    _journey(s3_ingest, tmp_path)


def test_erasure_is_dpo_or_connector_only_and_malformed_input_is_a_problem(
    ingest: IngestSetup,
) -> None:
    body: dict[str, Any] = {"identifier": IDENTIFIER}
    researcher = ingest.world.auth("researcher", sub="r.1")
    refused = ingest.client.post(DPO_API, json=body, headers=researcher)
    assert refused.status_code == 403
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    for bad in ({"identifier": "eleve-1"}, {"identifier": 3}, {"other": 1}, []):
        resp = ingest.client.post(DPO_API, json=bad, headers=dpo)
        assert resp.status_code in (400, 422)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "eleve-1" not in resp.text


def test_dpo_cli_reads_identifiers_from_stdin_never_argv(
    ingest: IngestSetup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.cli import main

    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(8))
    monkeypatch.setenv("EDH_DATABASE__URL", ingest.ctx.settings.database_url())
    monkeypatch.setenv("EDH_DATA_DIR", str(ingest.ctx.settings.data_dir))
    monkeypatch.setenv("EDH_DEV_MODE", "true")
    monkeypatch.setattr("sys.stdin", io.StringIO(IDENTIFIER + "\n\n"))
    assert main(["ingest", "erase", "--identifier-file", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(o["rows_removed"], o["batches"]) for o in out] == [(1, 1)]
    assert_found_nowhere(ingest, [ingest.contract_id])
    with pytest.raises(SystemExit):  # no abbreviation of --identifier-file
        main(["ingest", "erase", "--identifier", IDENTIFIER])
    assert main(["ingest", "erase", "--identifier-file", IDENTIFIER]) == 2
    assert IDENTIFIER not in capsys.readouterr().err


def test_a_failed_erasure_transaction_leaves_the_lake_as_it_was(ingest: IngestSetup) -> None:
    from hub.db import session_scope
    from hub.erasure.register import request_erasure
    from hub.trail.writer import SYSTEM

    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(8))
    store = ingest.ctx.store
    assert store is not None
    before = {k: store.get(k) for k in store.list("lake/")}
    with pytest.raises(RuntimeError), session_scope(ingest.ctx.engine) as session:
        done = request_erasure(store, session, ingest.ctx.settings, SYSTEM, IDENTIFIER, "dpo")
        assert done.rows_removed == 1
        raise RuntimeError("the database fails before the commit")
    assert {k: store.get(k) for k in store.list("lake/")} == before
    assert _pseudonym(ingest, ingest.contract_id) in pseudonyms_in(next(iter(before.values())))
    assert_registry_verifies(ingest)
