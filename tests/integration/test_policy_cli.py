"""``edh policy``: Rego tests with coverage, bundle hash, evaluation on the database's facts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hub.cli import main
from hub.policy.bundle import SOURCE_POLICY_DIR, PolicyBundle


def test_policy_test_passes_with_full_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test"]) == 0
    assert "0 failed; rule coverage 100.0%" in capsys.readouterr().out


def test_policy_test_fails_on_an_untested_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for source in SOURCE_POLICY_DIR.glob("*.rego"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "admin_test.rego").unlink()
    assert main(["policy", "test", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "not covered: admin.rego:" in out and "rule coverage" in out


def test_policy_hash_is_the_bundle_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "hash"]) == 0
    assert capsys.readouterr().out.strip() == PolicyBundle.load().hash


def test_policy_eval_on_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDH_DEV_MODE", "true")
    monkeypatch.setenv("EDH_DATA_DIR", str(tmp_path))
    query = {"subject": {"sub": "nobody", "role": "researcher"}, "today": "2026-05-04"}
    (tmp_path / "in.json").write_text(json.dumps({**query, "project_id": "p"}))
    args = ["policy", "eval", "edh/sandbox/query", "--input", str(tmp_path / "in.json")]
    assert main(args) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["allow"] is False and "researcher nobody is not registered" in out["reasons"]
    (tmp_path / "bad.json").write_text("{not json")
    args[-1] = str(tmp_path / "bad.json")
    assert main(args) == 2
    assert "not JSON" in capsys.readouterr().err
