"""The data-space demo as a user runs it: ``scripts/demo-dataspace.sh`` starts the demo hub
and a lab's hub, each its own process; the lab discovers the demo dataset, negotiates
through the ethics gate and receives a sandbox data address over DSP. Oracle: the
provider hub's database (a contract opened by the request, FINALIZED, and the
negotiation and transfer it grants) and the lab hub's (the agreement and the address)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.support.browser import free_port

ROOT = Path(__file__).resolve().parents[2]


def _db(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path / "hub.sqlite3") as db:
        return db.execute(query).fetchall()


def test_a_lab_s_hub_gets_a_sandbox_address_through_the_ethics_gate(tmp_path: Path) -> None:
    provider_port, lab_port = free_port(), free_port()
    env = {
        **os.environ,
        "EDH_DEMO_DIR": str(tmp_path),
        "PROVIDER_PORT": str(provider_port),
        "LAB_PORT": str(lab_port),
        "EDH_DEMO_EXIT": "1",
    }
    for name in ("EDH_DATA_DIR", "EDH_PUBLIC_URL", "EDH_DATABASE_URL"):
        env.pop(name, None)
    run = subprocess.run(
        [str(ROOT / "scripts" / "demo-dataspace.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"pull data address http://127.0.0.1:{provider_port}/api/v1/dataspace/transfers/" in (
        run.stdout
    )

    provider, lab = tmp_path / "provider", tmp_path / "lab"
    (contract_id,) = _db(
        provider,
        "SELECT n.contract_id FROM dsp_negotiation n JOIN contract c ON c.id = n.contract_id"
        " WHERE n.state = 'FINALIZED' AND c.state = 'FINALIZED'",
    )[0]
    assert _db(provider, "SELECT created_by FROM contract WHERE id = '" + contract_id + "'") == [
        (f"did:web:127.0.0.1%3A{lab_port}",)
    ]
    assert _db(provider, "SELECT state FROM dsp_transfer") == [("STARTED",)]
    assert _db(lab, "SELECT state, agreement_id FROM dsp_negotiation") == [
        ("FINALIZED", f"urn:edh:contract:{contract_id}:v1")
    ]
    ((address,),) = _db(lab, "SELECT data_address FROM dsp_transfer WHERE state = 'STARTED'")
    assert f"127.0.0.1:{provider_port}/api/v1/dataspace/transfers/" in address
