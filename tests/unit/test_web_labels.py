"""French labels of codes and dates for the pages (hub.web.labels)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.web import labels


def test_dates_are_shown_in_paris_time_across_daylight_saving() -> None:
    assert labels.paris_time(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == "15/01/2026 à 13:00"
    assert labels.paris_time("2026-07-15T12:00:00Z") == "15/07/2026 à 14:00"
    assert labels.paris_time(datetime(2026, 7, 15, 23, 30), seconds=True) == "16/07/2026 à 01:30:00"
    assert labels.paris_time(None) == "—"


def test_codes_become_french_and_unknown_codes_stay_visible() -> None:
    assert labels.contract_state("FINALIZED") == "en vigueur"
    assert labels.role("dpo") == "délégué à la protection des données"
    assert labels.action("policy.edh/audit/read").endswith("lecture du journal d'audit")
    assert labels.action("contract.signed") == "contrat signé"
    assert labels.action("something.new") == "something.new"
    assert labels.action("policy.edh/new/rule") == "décision de politique : edh/new/rule"


def test_policy_reasons_are_translated_with_their_values() -> None:
    assert (
        labels.reason("researcher bob is not a member of project pr1")
        == "le chercheur bob n'est pas membre du projet pr1"
    )
    assert labels.reason("contract c1 is VERIFIED, not FINALIZED") == (
        "le contrat c1 est vérifié, pas en vigueur"
    )
    assert labels.reason('role "researcher" may not do this (allowed: dpo)').startswith(
        "le rôle chercheur"
    )
    assert labels.reason("an unforeseen reason") == "an unforeseen reason"
