"""docs/configuration.md is generated from the settings classes and must not drift; every
setting the deployment files use exists."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.infra import INFRA, REPO

SCRIPT = REPO / "scripts" / "gen_config_reference.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _settings_names(generator: ModuleType) -> set[str]:
    from connector.config import ConnectorSettings
    from hub.config import Settings

    hub = {r.env for r in generator.rows(Settings, "EDH_")}
    return hub | {r.env for r in generator.rows(ConnectorSettings, "EDH_CONNECTOR_")}


def test_configuration_reference_is_up_to_date(generator: ModuleType) -> None:
    assert generator.main(["--check"]) == 0, "run scripts/gen_config_reference.py"


def test_every_setting_is_documented_with_default_and_production(generator: ModuleType) -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    names = _settings_names(generator)
    assert {"EDH_DATABASE__URL", "EDH_CONNECTOR_XAPI__SECRET"} <= names
    for name in names:
        (line,) = [row for row in doc.splitlines() if row.startswith(f"| `{name}` |")]
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert len(cells) == 5 and all(cells), line


def test_check_detects_a_stale_reference(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text((REPO / "docs" / "configuration.md").read_text().replace("EDH_DEV_MODE", "X"))
    monkeypatch.setattr(generator, "OUTPUT", stale)
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    assert generator.main(["--check"]) == 1


def test_secret_defaults_are_never_printed(generator: ModuleType) -> None:
    from hub.config import DEV_PSEUDONYMISATION_SECRET

    assert DEV_PSEUDONYMISATION_SECRET not in generator.render()


def test_deployment_files_use_only_real_settings(generator: ModuleType) -> None:
    names = _settings_names(generator)
    used: set[str] = set()
    for path in [
        INFRA / "compose.yaml",
        *(INFRA / "helm").rglob("*.y*ml"),
        *(INFRA / "helm").rglob("*.tpl"),
    ]:
        used |= set(re.findall(r"\b(?:FILE__)?(EDH_[A-Z0-9_]+)\b", path.read_text()))
    not_settings = {"EDH_PUBLIC_HOST", "EDH_CONNECTOR_PUBLIC_HOST", "EDH_AUDIT_RETENTION_DAYS"}
    unknown = sorted(used - names - not_settings)
    assert not unknown, f"not settings of the hub or the connector: {unknown}"
