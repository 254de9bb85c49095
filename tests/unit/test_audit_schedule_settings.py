"""Audit task periods: defaults for production, 0 disables, French labels for the DPO."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from hub.audit.schedule import configured_tasks, periods
from hub.config import Settings
from hub.settings.audit import AuditSettings
from hub.web.audit import every_label


def test_production_defaults_run_every_task() -> None:
    settings = AuditSettings()
    assert settings.scheduler_enabled is True
    tasks = {t.name: t.period for t in configured_tasks(settings)}
    assert tasks == {
        "checkpoint": timedelta(minutes=1),
        "alerts": timedelta(minutes=5),
        "verify": timedelta(hours=1),
        "purge": timedelta(days=1),
        "lake-purge": timedelta(days=1),
    }


def test_zero_disables_a_task() -> None:
    settings = AuditSettings(alerts_every_minutes=0, purge_every_minutes=0)
    assert [t.name for t in configured_tasks(settings)] == ["checkpoint", "verify", "lake-purge"]
    assert periods(settings)["alerts"] == 0


def test_periods_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDH_AUDIT__VERIFY_EVERY_MINUTES", "15")
    monkeypatch.setenv("EDH_AUDIT__SCHEDULER_ENABLED", "true")
    audit = Settings().audit
    assert audit.verify_every_minutes == 15 and audit.scheduler_enabled


def test_negative_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="checkpoint_every_minutes"):
        AuditSettings(checkpoint_every_minutes=-1)


@pytest.mark.parametrize(
    ("minutes", "label"),
    [
        (0, "désactivée"),
        (1, "chaque minute"),
        (5, "toutes les 5 min"),
        (60, "chaque heure"),
        (120, "toutes les 2 h"),
        (90, "toutes les 90 min"),
        (1440, "chaque jour"),
        (10080, "tous les 7 jours"),
    ],
)
def test_period_labels_in_french(minutes: int, label: str) -> None:
    assert every_label(minutes) == label
