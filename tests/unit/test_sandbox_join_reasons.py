"""Disclosure reasons carry stable codes; the /research page shows each code in French."""

from __future__ import annotations

from hub.sandbox.disclosure import CODES
from hub.sandbox.web import REASON_LABELS, cell_reasons_fr


def test_every_reason_code_has_a_french_label() -> None:
    assert set(REASON_LABELS) == set(CODES)


def test_cell_reasons_are_shown_in_french_and_old_reports_in_english() -> None:
    cell = {
        "reasons": ["differencing: ..."],
        "items": {"score": ["dominance: ..."]},
        "details": [
            {"code": "differencing", "reason": "differencing: ...", "column": None,
             "params": {"k": 10}},
            {"code": "dominance_nk", "reason": "dominance: ...", "column": "score",
             "params": {"share": 0.9}},
        ],
    }  # fmt: skip
    assert cell_reasons_fr(cell) == [
        "différenciation : diffère de moins de 10 élèves d'une cellule déjà communiquée",
        "« score » : les 2 plus fortes contributions dépassent 90% du total (dominance)",
    ]
    del cell["details"]
    assert cell_reasons_fr(cell) == ["differencing: ...", "dominance: ..."]
