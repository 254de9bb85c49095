"""The airlock's automatic rules and findings on hand-made cells with known contributions:
rows under k dropped whole (and the secondary drop of their margin), the NK (n = 2,
k = 0.85) and p % (10 %) boundaries, differencing and same-pupil findings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.sandbox import rewrite, sqlcheck, views
from hub.sandbox.airlock import findings
from hub.sandbox.scope import Threshold

SQL = "SELECT school_id, count(*) AS n, sum(result_duration_s) AS s FROM statements GROUP BY 1"


def _cell(key: str, pupils: int, total: float, top: list[float], first: int = 0) -> dict[str, Any]:
    sketch = list(range(first, first + min(pupils, 64)))
    return {
        "school_id": key, "n": pupils * 3, "s": total, "__edh_k_0": key,
        "__edh_n": pupils, "__edh_sketch": sketch,
        "__edh_n_0": pupils, "__edh_n_1": pupils, "__edh_t_1": total, "__edh_m_1": top,
    }  # fmt: skip


def _assess(rows: list[dict[str, Any]], k: int = 10, contracts: int = 1) -> findings.Held:
    checked = sqlcheck.check(SQL, views.VIEW_NAMES, row_level=False)
    plan = rewrite.plan(checked)
    names = ["school_id", "n", "s", "__edh_k_0"]
    threshold = Threshold(k, frozenset(f"c-{i}" for i in range(contracts)))
    return findings.assess(checked, plan, names, rows, rows, threshold, None)


def test_under_two_contracts_a_row_needs_k_times_2_pupil_ids() -> None:
    """A row of 19 pupil ids may be 10 persons or fewer (each up to twice): dropped; 20
    is kept; the report states both k and the number of contracts."""
    under = _assess([_cell("school-a", 19, 190, [10, 10])], contracts=2)
    assert under.rows == [] and under.findings["summary"]["rows_dropped"] == 1
    assert "19" not in str(under.findings)
    kept = _assess([_cell("school-b", 20, 200, [10, 10])], contracts=2)
    assert kept.rows == [["school-b", 60, 200]]
    assert (kept.findings["k"], kept.findings["pseudonyms_per_person"]) == (10, 2)
    assert kept.findings["min_pupil_ids"] == 20
    one = _assess([_cell("school-a", 19, 190, [10, 10])])  # one contract: k pupil ids
    assert one.rows == [["school-a", 57, 190]] and one.findings["min_pupil_ids"] == 10


def test_rows_under_k_are_dropped_whole_with_a_secondary_drop() -> None:
    held = _assess(
        [
            _cell("school-a", 9, 90, [10, 10]),
            _cell("school-b", 40, 400, [10, 10]),
            _cell("school-c", 12, 120, [10, 10]),
        ]
    )
    assert held.rows == [["school-b", 120, 400]]  # "a" under k, "c" the smallest other: both gone
    assert held.findings["summary"] == {"rows_held": 1, "rows_dropped": 2, "secondary_drops": 1}
    assert "school-a" not in str(held.findings) and "school-c" not in str(held.findings)
    assert [c["pupils"] for c in held.findings["cells"]] == [40]


def test_dominance_boundaries() -> None:
    nk = _assess([_cell("a", 20, 100, [80, 6])]).findings["cells"][0]["findings"]
    assert [f["code"] for f in nk] == ["dominance_nk"] and nk[0]["params"]["share"] == 0.86
    at_limit = _assess([_cell("a", 20, 100, [80, 5])]).findings["cells"][0]["findings"]
    assert at_limit == []  # 85 % exactly is not more than 85 %, and the rest is 15 % of 80
    p = _assess([_cell("a", 20, 100, [90, 5])]).findings["cells"][0]["findings"]
    assert [f["code"] for f in p] == ["dominance_nk", "dominance_p"]  # the rest, 5 < 9
    nk_only = _assess([_cell("a", 20, 100, [50, 43])]).findings["cells"][0]["findings"]
    assert [f["code"] for f in nk_only] == ["dominance_nk"]  # the rest, 7, is 14 % of 50
    clean = _assess([_cell("a", 20, 100, [40, 40])]).findings["cells"][0]["findings"]
    assert clean == []


def test_history_flags_near_sets_and_same_pupils_with_other_values() -> None:
    mine = _assess([_cell("a", 50, 500, [10, 10])]).cells
    one = findings.Reach(frozenset({"c-a"}), 1)
    same = findings.OtherCell("j1", "released", 50, list(range(50)), {"n": 150, "s": 400.0}, one)
    near = findings.OtherCell("j2", "pending_review", 51, list(range(51)), {"n": 1}, one)
    far = findings.OtherCell("j3", "released", 70, list(range(70)), {"n": 1, "s": 1.0}, one)
    equal = findings.OtherCell("j4", "released", 50, list(range(50)), {"n": 150, "s": 500}, one)
    found = findings.history(mine, [same, near, far, equal], 10, one)[0]
    assert [(f["code"], f["params"]["job_id"]) for f in found] == [
        ("same_pupils", "j1"),
        ("differencing", "j2"),
    ]
    assert found[0]["params"]["values"] == {"n": 150, "s": 400.0}


def test_differencing_across_results_counts_a_person_once_per_contract_either_read() -> None:
    """A result read before the renewal had data (c = 1) against one read after (c = 2):
    12 pupil ids apart is 6 persons or more, under k = 10, so it is flagged, where the
    hold's own k * c (10) alone would not; the same contracts on both sides keep k * c."""
    before, both = (
        findings.Reach(frozenset({"c-a"}), 1),
        findings.Reach(frozenset({"c-a", "c-b"}), 2),
    )
    mine = _assess([_cell("a", 50, 500, [10, 10])]).cells
    later = findings.OtherCell("j2", "released", 62, list(range(62)), {"n": 1}, both)
    assert findings.history(mine, [later], 10, before)[0][0]["params"]["k"] == 20
    assert findings.history(mine, [replace(later, reach=before)], 10, before) == [[]]
    assert findings.history(mine, [replace(later, n=70, sketch=list(range(70)))], 10, before) == [
        []
    ]
    legacy = findings.Reach.of({"k": 10})  # held before the contracts were recorded
    assert (legacy.contracts, legacy.pseudonyms) == (None, 1)
    assert legacy.shared(before) == 2 and both.shared(before) == 2
    assert findings.Reach.of({"contracts": ["c-b", "c-a"], "pseudonyms_per_person": 2}) == both


def test_isolation_behind_a_common_offset() -> None:
    # 20 pupils: 19 contribute 1000, one 1000 + 37: the total reveals the 37
    flagged = _assess([_cell("a", 20, 20 * 1000 + 37, [1037, 1000])])
    assert [f["code"] for f in flagged.findings["cells"][0]["findings"]] == ["isolation"]
    varied = _assess([_cell("a", 20, 20 * 1000 + 37 + 5, [1037, 1000])])
    assert varied.findings["cells"][0]["findings"] == []
    equal = _assess([_cell("a", 20, 20 * 1000, [1000, 1000])])
    assert equal.findings["cells"][0]["findings"] == []
