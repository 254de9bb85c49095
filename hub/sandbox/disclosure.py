"""Output disclosure control: decide, cell by cell, what of a query result is released.

Rules (ACRO / OpenSAFELY defaults): a row (cell) rests on at least k distinct pupils, and
so does each aggregate under its own FILTER or non-null argument; sums and means pass the
dominance rules (nk: two largest contributions <= 90 % of the total; p-ratio: the rest
>= 10 % of the largest); min, max, median and other individual values are never
released; a cell that differs from an earlier released cell of the project by fewer than
k pupils is suppressed (differencing); when one cell of a margin is suppressed, the next
smallest is too (secondary suppression); counts are rounded to the contract's base.
``release`` applies them and returns the released table with its disclosure report. Each
reason of the report is English text; ``details`` gives each one a stable ``code`` (see
``CODES``) and the numbers in it, so a page can show it in another language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.sandbox import differencing
from hub.sandbox.rewrite import Rewritten
from hub.sandbox.sqlcheck import CheckedQuery

NK_SHARE = 0.9
P_RATIO = 0.1
Earlier = Callable[[int, int], Sequence[tuple[int, Sequence[int]]]]
CODES = (
    "no_control_data",
    "cell_below_k",
    "aggregate_below_k",
    "dominance_nk",
    "dominance_p_ratio",
    "differencing",
    "secondary_suppression",
)


@dataclass(frozen=True)
class Reason:
    """Why a cell or an aggregate is suppressed: a code of ``CODES``, the English text,
    and the numbers the text quotes (``n`` pupils, threshold ``k``, ``share``...)."""

    code: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Policy:
    """The scope's disclosure parameters."""

    k: int
    rounding_base: int | None


@dataclass
class Release:
    """Released columns and rows, the report, and the released cells (n, sketch)."""

    columns: list[str]
    rows: list[list[Any]]
    report: dict[str, Any]
    cells: list[tuple[int, list[int]]] = field(default_factory=list)


@dataclass
class _Row:
    values: list[Any]
    n: int
    sketch: list[int]
    extra: dict[str, Any]
    reasons: list[Reason] = field(default_factory=list)
    item_reasons: dict[int, list[Reason]] = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return bool(self.reasons)


def release(
    query: CheckedQuery,
    plan: Rewritten,
    names: list[str],
    data: list[dict[str, Any]],
    control: list[dict[str, Any]],
    policy: Policy,
    earlier: Earlier,
) -> Release:
    """Apply every rule to ``data`` (rows of the main query, as dicts, with columns
    ``names``), using ``control`` (rows of the control query) matched on the cell keys."""
    columns = names[: plan.width]
    kinds = [query.item_kind(i) for i in range(plan.width)]
    by_key = {_key(c, plan.keys): c for c in control}
    rows = [_row(columns, d, by_key.get(_key(d, plan.keys))) for d in data]
    for row in rows:
        _primary(row, kinds, plan, policy)
    _differencing(rows, policy, earlier)
    secondary = _secondary(rows, kinds)
    out_rows = [_released_values(r, kinds, policy) for r in rows]
    report = _report(columns, kinds, rows, policy, secondary)
    cells = [(r.n, r.sketch) for r in rows if not r.suppressed]
    return Release(columns=columns, rows=out_rows, report=report, cells=cells)


def _key(row: dict[str, Any], keys: int) -> tuple[str, ...]:
    return tuple(repr(row[f"__edh_k_{i}"]) for i in range(keys))


def _row(columns: list[str], data: dict[str, Any], control: dict[str, Any] | None) -> _Row:
    values = [data[c] for c in columns]
    if control is None:
        row = _Row(values, 0, [], {})
        row.reasons.append(Reason("no_control_data", "no disclosure-control data for this cell"))
        return row
    sketch = list(control["__edh_sketch"] or [])
    return _Row(values, int(control["__edh_n"] or 0), sketch, control)


def _primary(row: _Row, kinds: list[str], plan: Rewritten, policy: Policy) -> None:
    if row.suppressed:
        return
    if row.n < policy.k:
        text = f"cell rests on {row.n} pupils (< k = {policy.k})"
        row.reasons.append(Reason("cell_below_k", text, {"n": row.n, "k": policy.k}))
        return
    for j, item in enumerate(plan.aggregate_items):
        reasons = row.item_reasons.setdefault(item, [])
        n_j = int(row.extra.get(f"__edh_n_{j}") or 0)
        if n_j < policy.k and kinds[item] != "individual":
            text = f"aggregate rests on {n_j} pupils (< k = {policy.k})"
            reasons.append(Reason("aggregate_below_k", text, {"n": n_j, "k": policy.k}))
        if plan.dominance[j]:
            reasons += _dominance(row.extra.get(f"__edh_t_{j}"), row.extra.get(f"__edh_m_{j}"))


def _dominance(total: Any, top: Any) -> list[Reason]:
    largest = sorted((float(x) for x in top or [] if x is not None), reverse=True)[:2]
    if not total or not largest:
        return []
    t = float(total)
    if sum(largest) > NK_SHARE * t:
        text = f"dominance: the 2 largest contributions exceed {NK_SHARE:.0%} of the total"
        return [Reason("dominance_nk", text, {"share": NK_SHARE})]
    if (t - sum(largest)) / largest[0] < P_RATIO:
        text = f"p-ratio: the rest of the total is under {P_RATIO:.0%} of the largest"
        return [Reason("dominance_p_ratio", text, {"ratio": P_RATIO})]
    return []


def _differencing(rows: list[_Row], policy: Policy, earlier: Earlier) -> None:
    released: list[tuple[int, Sequence[int]]] = []
    for row in rows:
        if row.suppressed:
            continue
        before = list(earlier(row.n - policy.k + 1, row.n + policy.k - 1)) + released
        if differencing.risky(row.n, row.sketch, before, policy.k):
            text = (
                f"differencing: differs from an already released cell by fewer than "
                f"{policy.k} pupils"
            )
            row.reasons.append(Reason("differencing", text, {"k": policy.k}))
        else:
            released.append((row.n, row.sketch))


def _secondary(rows: list[_Row], kinds: list[str]) -> int:
    keys = [i for i, k in enumerate(kinds) if k == "key"]
    added = 0
    for _ in range(len(keys) + 1):
        step = sum(_secondary_margin(rows, keys, c) for c in keys) if len(rows) > 1 else 0
        added += step
        if not step:
            break
    return added


def _secondary_margin(rows: list[_Row], keys: list[int], varying: int) -> int:
    margins: dict[tuple[Any, ...], list[_Row]] = {}
    for row in rows:
        fixed = tuple(repr(row.values[i]) for i in keys if i != varying)
        margins.setdefault(fixed, []).append(row)
    added = 0
    for members in margins.values():
        hidden = [r for r in members if r.suppressed]
        shown = sorted((r for r in members if not r.suppressed), key=lambda r: r.n)
        if len(hidden) == 1 and shown:
            shown[0].reasons.append(Reason("secondary_suppression", _SECONDARY))
            added += 1
    return added


_SECONDARY = (
    "secondary suppression: protects a suppressed cell of the same margin "
    "from being recovered by subtraction from a total"
)


def _released_values(row: _Row, kinds: list[str], policy: Policy) -> list[Any]:
    out = []
    for i, (value, kind) in enumerate(zip(row.values, kinds, strict=True)):
        if kind == "key":
            out.append(value)
        elif row.suppressed or kind == "individual" or row.item_reasons.get(i):
            out.append(None)
        elif kind == "count" and policy.rounding_base and value is not None:
            out.append(_round(int(value), policy.rounding_base))
        else:
            out.append(value)
    return out


def _round(value: int, base: int) -> int:
    return int(base * ((value + base / 2) // base))


def _report(
    columns: list[str], kinds: list[str], rows: list[_Row], policy: Policy, secondary: int
) -> dict[str, Any]:
    cells = []
    for index, row in enumerate(rows):
        items = {columns[i]: r for i, r in row.item_reasons.items() if r}
        status = "suppressed" if row.suppressed else ("partial" if items else "released")
        details = [_detail(r, None) for r in row.reasons]
        details += [_detail(r, column) for column, rs in items.items() for r in rs]
        cells.append(
            {
                "row": index,
                "status": status,
                "reasons": [r.text for r in row.reasons],
                "items": {column: [r.text for r in rs] for column, rs in items.items()},
                "details": details,
            }
        )
    return {
        "k": policy.k,
        "rounding_base": policy.rounding_base,
        "rules": _rules(policy),
        "columns": [_column_report(c, k, policy) for c, k in zip(columns, kinds, strict=True)],
        "cells": cells,
        "summary": {
            "rows": len(rows),
            "rows_released": sum(1 for r in rows if not r.suppressed),
            "rows_suppressed": sum(1 for r in rows if r.suppressed),
            "secondary_suppressions": secondary,
            "items_suppressed": sum(1 for r in rows for v in r.item_reasons.values() if v),
        },
    }


def _detail(reason: Reason, column: str | None) -> dict[str, Any]:
    """One reason of the report: its code, English text, the column it concerns (None for
    the whole cell) and its numbers."""
    return {"code": reason.code, "reason": reason.text, "column": column, "params": reason.params}


def _rules(policy: Policy) -> list[str]:
    rules = [
        f"minimum cell size: every released cell and aggregate rests on >= {policy.k} pupils",
        f"dominance on sums and means: nk 2/{NK_SHARE:g}, p-ratio {P_RATIO:g}",
        "min, max, median and other individual values are never released",
        "pseudonyms (pupil_id) are never released",
        f"differencing: cells differing from released ones by < {policy.k} pupils suppressed",
        "secondary suppression in every margin with a single suppressed cell",
    ]
    if policy.rounding_base:
        rules.append(f"counts rounded to the nearest multiple of {policy.rounding_base}")
    return rules


def _column_report(name: str, kind: str, policy: Policy) -> dict[str, str]:
    if kind == "individual":
        return {
            "name": name,
            "kind": kind,
            "status": "suppressed",
            "reason": "min/max/median of individual values are never released",
        }
    rounded = kind == "count" and policy.rounding_base
    status = f"rounded to base {policy.rounding_base}" if rounded else "released"
    return {"name": name, "kind": kind, "status": status, "reason": ""}


def row_level(names: list[str], data: list[dict[str, Any]]) -> Release:
    """Row-level release (the contract allows it): every column but pseudonyms."""
    columns = [c for c in names if c.lower() != "pupil_id" and not c.startswith("__edh_")]
    rows = [[d[c] for c in columns] for d in data]
    report = {
        "k": None,
        "rounding_base": None,
        "rules": [
            "row-level output allowed by every contract of the project",
            "pseudonyms (pupil_id) are never released",
        ],
        "columns": [
            {"name": c, "kind": "row", "status": "released", "reason": ""} for c in columns
        ],
        "cells": [],
        "summary": {
            "rows": len(rows),
            "rows_released": len(rows),
            "rows_suppressed": 0,
            "secondary_suppressions": 0,
            "items_suppressed": 0,
        },
    }
    return Release(columns=columns, rows=rows, report=report)
