"""The automatic release under differential privacy: vet, rewrite, add noise, debit.

``vet`` (at submission) refuses what the DP shape does not allow and a query the
project's budget cannot pay for. ``plan`` is the one query the worker runs. ``release``
turns its rows (one per cell) into the released result: OpenDP's thresholded noisy
pupil counts choose the cells, OpenDP's Laplace noise covers each measured aggregate,
and the spend is debited from the project's ledger in the caller's transaction.

Every bound is per person (``bound``): the plan's ``L`` cells per pupil id times the
pseudonyms a person has in the scope the query ran on (one per contract), so the ε
debited is what a person, not a pseudonym, can lose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from hub.sandbox.dp import budget, codebook, noise, shape
from hub.sandbox.errors import QueryRefused
from hub.sandbox.scope import ProjectScope
from hub.sandbox.sqlcheck import CheckedQuery

MECHANISM = "laplace (OpenDP), thresholded keys, basic composition"


@dataclass(frozen=True)
class Settings:
    """The DP parameters that are not contract terms."""

    delta: float
    max_cells_per_pupil: int


@dataclass(frozen=True)
class Released:
    """The noisy result, its report (no exact count), and what it cost."""

    columns: list[str]
    rows: list[list[Any]]
    report: dict[str, Any]
    spend: noise.Spend


def vet(session: Session, checked: CheckedQuery, scope: ProjectScope, settings: Settings) -> None:
    """Raise ``QueryRefused`` when ``checked`` is outside the DP shape, ``BudgetSpent``
    when the project's budget cannot pay ``epsilon_per_query``."""
    if not checked.aggregated:
        raise QueryRefused(
            "row-level output is released only after review, never automatically",
            reasons=["row-level output needs the reviewed release path"],
        )
    plan(checked, settings)
    budget.require(session, scope.project_id, scope.epsilon_per_query, scope.epsilon_budget)


def plan(checked: CheckedQuery, settings: Settings) -> shape.DpPlan:
    """The query the worker runs (``hub.sandbox.dp.shape``)."""
    return shape.plan(checked, settings.max_cells_per_pupil)


def release(
    rows: list[dict[str, Any]], dp_plan: shape.DpPlan, scope: ProjectScope, settings: Settings
) -> Released:
    """The released rows of ``rows`` (one per cell, from ``dp_plan.sql``), sorted by keys;
    cells with a noisy pupil count below the threshold (keys not declared by the query)
    or ``scope.min_cell_size`` persons (``scope.min_pupil_ids`` pupil ids) are dropped
    whole."""
    cells = {_cell(row): row for row in rows}
    measured = [m for m in dp_plan.measures if m.kind != "pupils"]
    epsilon = epsilon_share(dp_plan, scope.epsilon_per_query)
    spend = noise.Spend()
    person = bound(dp_plan, scope)
    counts = {k: int(r["__edh_n"]) for k, r in cells.items()}
    if dp_plan.declared:  # the query's own list of keys: every one comes out, with noise
        noisy_n = noise.declared_counts(counts, person, epsilon, spend)
    else:
        noisy_n = noise.noisy_counts(counts, person, epsilon, settings.delta, spend)
    kept = sorted(k for k, n in noisy_n.items() if n >= scope.min_pupil_ids)
    values = {m.item: _values(m, dp_plan, [cells[k] for k in kept], person.cells, epsilon,
                              spend) for m in measured}  # fmt: skip
    out = []
    for index, key in enumerate(kept):
        row = cells[key]
        out.append([_item(i, row, noisy_n[key], values, index) for i in range(len(dp_plan.items))])
    report = {
        "decision": "released",
        "release_mode": "differential_privacy",
        "mechanism": MECHANISM,
        "epsilon": spend.epsilon,
        "delta": spend.delta,
        **person.report(),
        "min_cell_size": scope.min_cell_size,
        "min_pupil_ids_per_cell": scope.min_pupil_ids,
        "keys": "declared" if dp_plan.declared else "noisy threshold",
        "codebook_version": codebook.version(),
        "measures": [
            {"column": dp_plan.items[m.item], "kind": m.kind, "bounds": list(m.bounds)}
            | ({"alpha": m.alpha} if m.quantile else {})
            for m in dp_plan.measures
        ],
        "steps": spend.steps,
        "rows_released": len(out),
    }
    return Released(list(dp_plan.items), out, report, spend)


def bound(dp_plan: shape.DpPlan, scope: ProjectScope) -> noise.Bound:
    """What one person can add to ``dp_plan``'s release on ``scope``: the plan's cells
    per pupil id, for each of the person's pseudonyms in the scope."""
    return noise.Bound(dp_plan.max_cells, scope.pseudonyms_per_person)


def epsilon_share(dp_plan: shape.DpPlan, epsilon: float) -> float:
    """The ε of each of the plan's measurements when the query spends ``epsilon``: the
    pupils per cell, one per ``count``, ``sum`` and quantile, two per ``avg`` (a sum and
    a count), evenly."""
    measured = [m for m in dp_plan.measures if m.kind != "pupils"]
    return epsilon / (1 + sum(2 if m.kind == "avg" else 1 for m in measured))


def _cell(row: dict[str, Any]) -> str:
    keys = [v for k, v in row.items() if k.startswith(("__edh_k_", "__edh_o_"))]
    return json.dumps(keys, default=str, sort_keys=False)


def _values(
    m: shape.Measure,
    dp_plan: shape.DpPlan,
    rows: list[dict[str, Any]],
    cells: int,
    epsilon: float,
    spend: noise.Spend,
) -> list[float]:
    j = dp_plan.measures.index(m)
    low, high = m.bounds
    column = dp_plan.items[m.item]
    if m.quantile:
        lists = [[v for v in r[f"__edh_l_{j}"] or [] if v is not None] for r in rows]
        return noise.quantiles(lists, m.bounds, m.alpha, cells, epsilon, spend, column=column)
    if m.kind == "count":
        sums = noise.noisy_sums([r[f"__edh_s_{j}"] or 0.0 for r in rows], cells, epsilon, spend,
                                column=column)  # fmt: skip
        return [max(0.0, round(s)) for s in sums]
    if m.kind == "sum":
        reach = cells * max(abs(low), abs(high))
        sums = [r[f"__edh_s_{j}"] or 0.0 for r in rows]
        return noise.noisy_sums(sums, reach, epsilon, spend, column=column)
    # a mean: the sum of the values' distances to the middle of the bounds (a pupil moves
    # it by at most half the width), over the number of values, plus the middle
    middle = (low + high) / 2
    centred = [(r[f"__edh_s_{j}"] or 0.0) - middle * r[f"__edh_c_{j}"] for r in rows]
    reach = cells * (high - low) / 2
    sums = noise.noisy_sums(centred, reach, epsilon, spend, column=column)
    counts = [float(r[f"__edh_c_{j}"]) for r in rows]
    noisy = noise.noisy_sums(counts, cells, epsilon, spend, column=column)
    pairs = zip(sums, noisy, strict=True)
    return [min(high, max(low, middle + s / max(c, 1.0))) for s, c in pairs]


def _item(i: int, row: dict[str, Any], pupils: int, values: dict[int, list[float]], at: int) -> Any:
    if i in values:
        return values[i][at]
    if f"__edh_o_{i}" in row:
        return row[f"__edh_o_{i}"]
    return pupils
