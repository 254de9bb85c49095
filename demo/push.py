"""Demo of the data plane: the demo connector pushes simulated school traces into the lake.

Runs the real connector pipeline against the real hub app in-process (an ASGI client), so
the demo needs no open port; rerunning it pushes nothing new (resumable state).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from connector.pipeline.client import HubClient, HubRefused
from connector.pipeline.runner import PushReport, Target, push
from connector.pipeline.simulate import SimulationSpec, simulate
from connector.pipeline.state import PipelineState
from hub.context import HubContext
from hub.contracts.public import ContractRecord, first_finalized_contract
from hub.registry.public import find_connector

DEMO_SPEC = SimulationSpec(pupils=400, weeks=6, seed=2025)
DEMO_STATEMENTS = 40_000


@dataclass
class DemoPush:
    """What the demo connector shipped."""

    contract_id: str
    dataset_id: str
    report: PushReport


def _finalized_contract(ctx: HubContext, connector_id: str) -> ContractRecord | None:
    with Session(ctx.engine) as session:
        connector = find_connector(session, connector_id)
        if connector is None:
            return None
        return first_finalized_contract(session, connector.organisation_id)


def push_demo_traces(ctx: HubContext, data_dir: Path, connector_id: str) -> DemoPush | None:
    """Push simulated traces with the demo connector's key (``connector-demo-ed25519.pem``)
    under the provider's first FINALIZED contract; None when there is no such contract."""
    contract = _finalized_contract(ctx, connector_id)
    if contract is None:
        return None
    from hub.app import create_app

    pem = (data_dir / "connector-demo-ed25519.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    with warnings.catch_warnings():  # starlette's notice about its httpx-based test client
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    http = TestClient(create_app(context=ctx), base_url=ctx.settings.public_url)
    client = HubClient(ctx.settings.public_url, connector_id, key, http=http)
    try:
        terms = client.terms(contract.id)
        target = Target(terms, terms.datasets[0])
        state = PipelineState.load(data_dir / "connector-demo-state.json")
        source = f"simulate:{DEMO_SPEC.seed}"
        items = (
            (i, st)
            for i, st in enumerate(simulate(DEMO_SPEC, DEMO_STATEMENTS), start=1)
            if i > state.cursors.get(source, 0)
        )
        report = push(
            items,
            source=source,
            client=client,
            key=key,
            target=target,
            state=state,
            batch_size=10_000,
        )
    finally:
        client.close()
    return DemoPush(contract.id, target.dataset_id, report)


def announce_demo_push(ctx: HubContext, data_dir: Path, connector_id: str) -> None:
    """Push the demo traces and print what reached the lake (French, for the demo user)."""
    try:
        pushed = push_demo_traces(ctx, data_dir, connector_id)
    except HubRefused as exc:
        print(f"  lac               : le hub a refusé le connecteur de démo ({exc.detail})")
        return
    if pushed is None:
        print("  lac               : aucun contrat FINALIZED, rien n'a été poussé")
        return
    report = pushed.report
    print(
        f"  lac               : {report.accepted} traces simulées poussées par le connecteur "
        f"({report.batches_registered} lots signés enregistrés, contrat {pushed.contract_id}, "
        f"jeu {pushed.dataset_id}) ; voir GET /api/v1/ingest/batches"
    )
