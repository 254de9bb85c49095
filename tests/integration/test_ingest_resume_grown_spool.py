"""A batch registered just before its run was killed is rebuilt identical on the next run,
even when the spool grew in between (found by the cluster harness: the next run rebuilt
a wider batch, the hub answered 'already registered' for its sequence number, and the
connector moved its cursor past statements no batch held: 100 acknowledged statements
never reached the lake)."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from connector.pipeline.runner import PushReport, Target, push
from connector.pipeline.simulate import SimulationSpec, simulate
from connector.pipeline.state import PipelineState
from tests.support.ingest_cli import lake_statement_ids
from tests.support.ingest_fixtures import IngestSetup


def ship(setup: IngestSetup, items: list[tuple[int, Any]], state: PipelineState) -> PushReport:
    """One run of the pipeline over ``items`` (spool positions after the state's cursor)."""
    client = setup.hub_client()
    try:
        after = state.cursors.get("spool", 0)
        return push(
            [(cursor, raw) for cursor, raw in items if cursor > after],
            source="spool",
            client=client,
            key=setup.connector_key,
            target=Target(client.terms(setup.contract_id), setup.dataset_id),
            state=state,
            batch_size=400,
        )
    finally:
        client.close()


def test_a_run_killed_after_registering_loses_nothing_when_the_spool_grew(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    statements = [
        {**s, "id": str(uuid.uuid4())} for s in simulate(SimulationSpec(pupils=20, weeks=1), 30)
    ]
    spool = list(enumerate(statements, start=1))
    # The killed run: it began batch 1 (statements 1-10, all the spool held then), the hub
    # registered it, and the run died before saving its progress; its state file says so.
    killed = PipelineState.load(tmp_path / "state.json")
    ship(sqlite_ingest, spool[:10], PipelineState(tmp_path / "elsewhere.json"))
    killed.begin("spool", 10)
    # The next run, once 20 more statements were spooled.
    report = ship(sqlite_ingest, spool, PipelineState.load(tmp_path / "state.json"))
    assert report.batches_already_registered == 1 and report.batches_registered == 1
    assert Counter(lake_statement_ids(sqlite_ingest)) == Counter(s["id"] for s in statements)
