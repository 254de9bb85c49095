"""The DP shape's declared keys and quantiles, on DuckDB's parse tree and on DuckDB itself
(the plan's SQL run over a small table whose answer is known)."""

from __future__ import annotations

import duckdb
import pytest

from hub.sandbox.dp.shape import DpPlan, plan
from hub.sandbox.errors import QueryRefused
from hub.sandbox.sqlcheck import check
from hub.sandbox.views import VIEW_NAMES

WEEKLY = (
    "WITH w AS (SELECT pupil_id, day AS week FROM statements GROUP BY pupil_id, week) "
    "SELECT week, count(*) AS pupils FROM w "
)


def planned(sql: str, max_cells: int = 12) -> DpPlan:
    return plan(check(sql, VIEW_NAMES, row_level=False), max_cells)


def run(dp_plan: DpPlan) -> list[dict[str, object]]:
    """``dp_plan``'s SQL over 3 pupils: pupil p is active on days 1..p+1 of January."""
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE statements AS SELECT p AS pupil_id, "
            "DATE '2026-01-01' + CAST(d AS INTEGER) AS day "
            "FROM range(3) a(p), range(3) b(d) WHERE d <= p"
        )
        cursor = con.execute(dp_plan.sql)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_declared_keys_come_out_all_in_order_and_bound_each_pupil() -> None:
    days = "DATE '2026-01-03', DATE '2025-01-01', DATE '2026-01-01', DATE '2026-01-03'"
    dp_plan = planned(WEEKLY + f"WHERE week IN ({days}) AND week > DATE '2000-01-01' GROUP BY 1")
    assert dp_plan.declared == 3  # the repeated value counts once
    assert dp_plan.max_cells == 3  # min(L, declared values)
    rows = run(dp_plan)
    assert [(str(r["__edh_o_0"]), r["__edh_n"]) for r in rows] == [
        ("2026-01-03", 1),  # pupil 2 only
        ("2025-01-01", 0),  # nobody: still a cell
        ("2026-01-01", 3),
    ]


@pytest.mark.parametrize(
    "where",
    [
        "WHERE week IN (DATE '2026-01-01') OR week > DATE '2000-01-01'",  # not a conjunct
        "WHERE week IN (DATE '2026-01-01', NULL)",  # a NULL is no value
        "WHERE day IN (DATE '2026-01-01')",  # not the key
        "",
    ],
)
def test_anything_else_goes_through_the_noisy_threshold(where: str) -> None:
    assert planned(WEEKLY + f"{where} GROUP BY week").declared == 0


def test_a_pupil_keeps_at_most_l_cells_among_declared_ones() -> None:
    days = ", ".join(f"DATE '2026-01-0{d}'" for d in (1, 2, 3))
    rows = run(planned(WEEKLY + f"WHERE week IN ({days}) GROUP BY week", max_cells=1))
    assert sum(int(str(r["__edh_n"])) for r in rows) == 3  # one cell per pupil


PARITY_BY_DAY = (
    "WITH w AS (SELECT pupil_id, day AS week, CAST(dayofyear(day) % 2 AS INTEGER) AS parity "
    "FROM statements GROUP BY pupil_id, week, parity) "
    "SELECT parity, week, count(*) AS pupils FROM w "
)


def test_several_declared_keys_make_every_combination_a_cell() -> None:
    """parity of the day x day: pupil p is active on days 1..p+1 (day 1 odd, day 2 even);
    a combination no pupil has is a cell too."""
    days = "DATE '2026-01-02', DATE '2026-01-01', DATE '2025-01-01'"
    dp_plan = planned(
        PARITY_BY_DAY + f"WHERE parity IN (1, 0) AND week IN ({days}) GROUP BY week, parity"
    )
    assert dp_plan.declared == 6 and dp_plan.max_cells == 6
    cells = [(r["__edh_o_0"], str(r["__edh_o_1"]), r["__edh_n"]) for r in run(dp_plan)]
    assert cells == [
        (1, "2026-01-02", 0), (1, "2026-01-01", 3), (1, "2025-01-01", 0),
        (0, "2026-01-02", 2), (0, "2026-01-01", 0), (0, "2025-01-01", 0),
    ]  # fmt: skip
    undeclared = PARITY_BY_DAY + f"WHERE week IN ({days}) GROUP BY week, parity"
    assert planned(undeclared).declared == 0  # one key without a list: noisy threshold


def test_quantiles_need_bounds_and_a_constant_level() -> None:
    base = (
        "WITH p AS (SELECT pupil_id, avg(result_score_scaled) AS score FROM results "
        "GROUP BY pupil_id) "
    )
    measures = planned(
        base + "SELECT quantile_cont(score, 0.9) AS q, max(score) AS m FROM p"
    ).measures
    assert [(m.kind, m.alpha, m.bounds) for m in measures] == [
        ("quantile", 0.9, (0.0, 1.0)),
        ("max", 1.0, (0.0, 1.0)),
    ]
    for bad, reason in [
        ("quantile_cont(score, 1.5)", "a constant in [0, 1]"),
        ("median(score * 2)", "needs public bounds"),
    ]:
        with pytest.raises(QueryRefused, match=reason.replace("[", r"\[")):
            planned(base + f"SELECT {bad} AS q FROM p")
