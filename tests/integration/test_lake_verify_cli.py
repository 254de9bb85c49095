"""``edh ingest verify`` after an erasure: every lake object matches the registry and each
rewritten one is explained by a hub-signed rewrite manifest linked to the original
manifest and the erasure request; an object changed behind the hub's back, or a forged
rewrite in the database, fails with its key named (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from hub.cli import main
from hub.pseudonym.models import ErasureRewrite
from tests.integration.test_erasure_register import DPO_API, IDENTIFIER, _ship, _target
from tests.integration.test_lake_readers_verified import alter_behind_the_hub
from tests.support.ingest_batches import recent_day
from tests.support.ingest_fixtures import IngestSetup


def verify(
    ingest: IngestSetup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object]]:
    monkeypatch.setenv("EDH_DATABASE__URL", ingest.ctx.settings.database_url())
    monkeypatch.setenv("EDH_DATA_DIR", str(ingest.ctx.settings.data_dir))
    monkeypatch.setenv("EDH_DEV_MODE", "true")
    code = main(["ingest", "verify"])
    return code, json.loads(capsys.readouterr().out)


def test_erasure_then_verify_passes_and_explains_the_rewrite(
    ingest: IngestSetup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(5))
    _ship(ingest, _target(ingest, ingest.contract_id), 2, recent_day(4))
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    resp = ingest.client.post(DPO_API, json={"identifier": IDENTIFIER}, headers=dpo)
    assert resp.status_code == 200, resp.text
    request_id = resp.json()["request_id"]
    code, report = verify(ingest, monkeypatch, capsys)
    assert (code, report) == (0, {"ok": True, "objects": 2, "rewrites": 2, "problems": []})
    lake = ingest.ctx.settings.data_dir / "objects" / "lake"
    modes = {p.stat().st_mode & 0o777 for p in lake.rglob("*.parquet")}
    assert modes == {0o444}  # the rewritten objects are read-only files, as the uploaded ones
    with Session(ingest.ctx.engine) as session:
        rewrites = session.exec(select(ErasureRewrite)).all()
    assert {r.manifest["erasure_requests"][0] for r in rewrites} == {request_id}
    # a forged rewrite: its manifest no longer matches the hub's signature
    with ingest.ctx.engine.begin() as conn:
        conn.execute(
            text("UPDATE erasure_rewrite SET rows_removed = 0, manifest = :m"),
            {"m": json.dumps({**rewrites[0].manifest, "rows_removed": 0})},
        )
    code, report = verify(ingest, monkeypatch, capsys)
    assert code == 1
    assert {p["problem"] for p in report["problems"]} == {"bad-signature", "unexplained"}  # type: ignore[union-attr]


def test_verify_names_an_object_changed_behind_the_hub(
    ingest: IngestSetup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _ship(ingest, _target(ingest, ingest.contract_id), 1, recent_day(5))
    assert verify(ingest, monkeypatch, capsys)[0] == 0
    lake, _path = alter_behind_the_hub(ingest)
    code, report = verify(ingest, monkeypatch, capsys)
    assert code == 1
    assert report["problems"] == [{"key": next(iter(lake)), "problem": "altered"}]
