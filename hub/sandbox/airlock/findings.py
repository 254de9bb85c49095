"""The exact result an output checker sees, and the automatic findings per cell (SACRO/ACRO).

Rules applied before anyone sees the result (automatic):

- **threshold**: a row (cell) rests on at least k persons, and so does every aggregate of
  it under its own FILTER and non-null argument; a row that fails is dropped whole, keys
  included. The data count pupil ids, and a person under ``c`` contracts of the scope has
  ``c`` of them (one pseudonym per contract), so a row needs ``k * c`` distinct pupil ids
  (``Threshold``); the report states ``c`` so the checker knows a count may include a
  person up to ``c`` times. When one row of a margin is dropped, the smallest other row of
  that margin is dropped too, so the hidden row cannot be recovered from a total;
- individual values (``min``, ``max``, ``median``...) are never released (column empty);
- counts are rounded to the contract's ``rounding_base`` when it sets one.

Findings shown to the checker, who decides (per kept cell, with a stable ``code``):

- ``dominance_nk``: the 2 largest per-pupil contributions exceed 85 % of a sum or mean's
  total (NK rule n = 2, k = 0.85);
- ``dominance_p``: the total minus the two largest contributions is under 10 % of the
  largest (p % rule): the second largest pupil could estimate the largest closely (a
  cell failing it also fails NK 2/0.85; both are reported);
- ``differencing``: the cell's pupils differ from a cell of another result of the
  project, released or still held, by between 1 and ``k * c - 1`` pupil ids (subtracting
  the two isolates them);
- ``isolation``: every pupil but one contributes exactly the same amount to a sum or
  mean, so the total minus that common amount is one pupil's value (the offset attack:
  ``sum(CASE WHEN <one pupil> THEN x ELSE 0 END + 1000)``);
- ``same_pupils``: the cell has exactly the pupils of a cell of another result of the
  project whose values differ (two statistics of one group may isolate a value: an offset
  attack); the other values are quoted so the checker can compare.

``assess`` computes the first two kinds once, when the result is held; ``history`` the
last two whenever a checker looks, against the project's other results as they are then
(two results held at the same time are compared with each other).
- per column: ``rounding`` (counts exact, no rounding base) and ``individual``.

A finding never quotes a count below ``k * c`` pupil ids: dropped rows are only counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.sandbox import differencing
from hub.sandbox.output import jsonable
from hub.sandbox.rewrite import Rewritten
from hub.sandbox.scope import Threshold
from hub.sandbox.sqlcheck import CheckedQuery

NK_N, NK_K, P_PERCENT = 2, 0.85, 0.10
CODES = ("dominance_nk", "dominance_p", "isolation", "differencing", "same_pupils")


@dataclass(frozen=True)
class Reach:
    """Whose pupil ids a result counts: the contracts whose data it read (None for a
    result held before they were recorded) and ``c``, the pupil ids a person has in it."""

    contracts: frozenset[str] | None
    pseudonyms: int

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> Reach:
        """The reach a held result's findings report states (``c`` = 1 before it did)."""
        contracts = report.get("contracts")
        known = None if contracts is None else frozenset(str(c) for c in contracts)
        return cls(known, int(report.get("pseudonyms_per_person") or 1))

    def shared(self, other: Reach) -> int:
        """The most pupil ids one person can have across this result and ``other``: one
        per contract either read; their sum when either's contracts are unknown."""
        if self.contracts is None or other.contracts is None:
            return self.pseudonyms + other.pseudonyms
        return len(self.contracts | other.contracts)


@dataclass(frozen=True)
class OtherCell:
    """A cell of another result of the project (released or held): its job and status,
    pupils and values."""

    job_id: str
    status: str
    n: int
    sketch: Sequence[int]
    values: dict[str, Any]
    reach: Reach


@dataclass
class Held:
    """What is held for review: the result, the checker's findings, and the kept cells
    (pupil count, sketch, values) that join the project's ledger once released."""

    columns: list[str]
    rows: list[list[Any]]
    findings: dict[str, Any]
    cells: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Cell:
    values: list[Any]
    n: int
    sketch: list[int]
    control: dict[str, Any]
    dropped: bool = False
    findings: list[dict[str, Any]] = field(default_factory=list)


def assess(
    query: CheckedQuery,
    plan: Rewritten,
    names: list[str],
    data: list[dict[str, Any]],
    control: list[dict[str, Any]],
    k: Threshold,
    rounding_base: int | None,
) -> Held:
    """Apply the automatic rules to ``data`` (rows of the main query, with columns
    ``names``) using ``control`` (the control columns, matched on the cell keys), and
    collect the dominance findings of every kept cell."""
    columns = names[: plan.width]
    kinds = [query.item_kind(i) for i in range(plan.width)]
    by_key = {_key(c, plan.keys): c for c in control}
    cells = [_cell(columns, d, by_key.get(_key(d, plan.keys))) for d in data]
    for cell in cells:
        cell.dropped = cell.dropped or _below_k(cell, plan, kinds, k.pupil_ids)
    secondary = _secondary(cells, kinds)
    kept = [c for c in cells if not c.dropped]
    for cell in kept:
        cell.findings += _dominance(cell, plan, columns)
    rows = jsonable([_released(c, kinds, rounding_base) for c in kept])
    report = _report(columns, kinds, kept, len(cells) - len(kept), secondary, k, rounding_base)
    ledger = [
        {"n": c.n, "sketch": [str(x) for x in c.sketch], "values": _values(columns, kinds, r)}
        for c, r in zip(kept, rows, strict=True)
    ]
    return Held(columns, rows, report, ledger)


def _key(row: dict[str, Any], keys: int) -> tuple[str, ...]:
    return tuple(repr(row[f"__edh_k_{i}"]) for i in range(keys))


def _cell(columns: list[str], data: dict[str, Any], control: dict[str, Any] | None) -> _Cell:
    values = [data[c] for c in columns]
    if control is None:  # no control data: nothing can vouch for the cell
        return _Cell(values, 0, [], {}, dropped=True)
    sketch = [int(x) for x in control["__edh_sketch"] or []]
    return _Cell(values, int(control["__edh_n"] or 0), sketch, control)


def _below_k(cell: _Cell, plan: Rewritten, kinds: list[str], k: int) -> bool:
    if cell.n < k:
        return True
    return any(
        int(cell.control.get(f"__edh_n_{j}") or 0) < k and kinds[item] != "individual"
        for j, item in enumerate(plan.aggregate_items)
    )


def _secondary(cells: list[_Cell], kinds: list[str]) -> int:
    """Drop the smallest other row of every margin with a single dropped row, until no
    margin has one; return how many rows this dropped."""
    keys = [i for i, kind in enumerate(kinds) if kind == "key"]
    added = 0
    while len(cells) > 1:
        step = sum(_secondary_margin(cells, keys, varying) for varying in keys)
        if not step:
            return added
        added += step
    return added


def _secondary_margin(cells: list[_Cell], keys: list[int], varying: int) -> int:
    margins: dict[tuple[str, ...], list[_Cell]] = {}
    for cell in cells:
        fixed = tuple(repr(cell.values[i]) for i in keys if i != varying)
        margins.setdefault(fixed, []).append(cell)
    added = 0
    for members in margins.values():
        shown = sorted((c for c in members if not c.dropped), key=lambda c: c.n)
        if sum(1 for c in members if c.dropped) == 1 and shown:
            shown[0].dropped = True
            added += 1
    return added


def _dominance(cell: _Cell, plan: Rewritten, columns: list[str]) -> list[dict[str, Any]]:
    found = []
    for j, item in enumerate(plan.aggregate_items):
        if not plan.dominance[j]:
            continue
        total = float(cell.control.get(f"__edh_t_{j}") or 0)
        top = sorted((float(x) for x in cell.control.get(f"__edh_m_{j}") or [] if x is not None),
                     reverse=True)[:NK_N]  # fmt: skip
        if not total or not top:
            continue
        column = columns[item]
        share = sum(top) / total
        if share > NK_K:
            found.append(_finding("dominance_nk", column, share=round(share, 2), limit=NK_K))
        if (total - sum(top)) / top[0] < P_PERCENT:
            found.append(_finding("dominance_p", column, limit=P_PERCENT))
        if _one_stands_out(total, top, int(cell.control.get(f"__edh_n_{j}") or 0)):
            found.append(_finding("isolation", column))
    return found


def _one_stands_out(total: float, top: list[float], pupils: int) -> bool:
    """True when every pupil but the largest contributes exactly the second-largest
    amount: anyone who knows that common amount (an offset the query added, say) reads
    the largest pupil's value off the total."""
    if pupils < 2 or len(top) < 2 or top[0] == top[1]:
        return False
    return abs(total - top[0] - (pupils - 1) * top[1]) <= 1e-9 * abs(total)


def history(
    cells: Sequence[dict[str, Any]], others: Sequence[OtherCell], k: int, reach: Reach
) -> list[list[dict[str, Any]]]:
    """Per held cell (``Held.cells`` entries), its differencing and same-pupil findings
    against the cells of the project's other results; ``k`` and ``reach`` are the hold's.
    Two cells differ by fewer than ``k`` persons unless they differ by ``k`` times the
    pupil ids a person can have across both results (``Reach.shared``): a result read
    before a renewal had data and one read after count the same person once and twice."""
    return [_differencing(cell, others, k, reach) for cell in cells]


def _differencing(
    cell: dict[str, Any], others: Sequence[OtherCell], k: int, reach: Reach
) -> list[dict[str, Any]]:
    found = []
    n, sketch = int(cell["n"]), [int(x) for x in cell["sketch"]]
    for other in others:
        least = k * reach.shared(other.reach)
        if abs(n - other.n) >= least:
            continue
        about = {"job_id": other.job_id, "status": other.status}
        if n == other.n and sketch == list(other.sketch):
            if cell["values"] != other.values:
                found.append(_finding("same_pupils", None, **about, values=other.values))
        elif differencing.symmetric_difference(n, sketch, other.n, other.sketch) < least:
            found.append(_finding("differencing", None, **about, k=least))
    return found


def _finding(code: str, column: str | None, **params: Any) -> dict[str, Any]:
    return {"code": code, "column": column, "params": params}


def _values(columns: list[str], kinds: list[str], values: list[Any]) -> dict[str, Any]:
    """The cell's released aggregate values by column name (keys left out)."""
    return {c: v for c, kind, v in zip(columns, kinds, values, strict=True) if kind not in ("key",)}


def _released(cell: _Cell, kinds: list[str], rounding_base: int | None) -> list[Any]:
    out: list[Any] = []
    for value, kind in zip(cell.values, kinds, strict=True):
        if kind == "individual":
            out.append(None)
        elif kind == "count" and rounding_base and value is not None:
            out.append(int(rounding_base * ((int(value) + rounding_base / 2) // rounding_base)))
        else:
            out.append(value)
    return out


def _report(
    columns: list[str],
    kinds: list[str],
    kept: list[_Cell],
    dropped: int,
    secondary: int,
    k: Threshold,
    rounding_base: int | None,
) -> dict[str, Any]:
    return {
        "k": k.k,
        "contracts": sorted(k.contracts),
        "pseudonyms_per_person": k.pseudonyms,
        "min_pupil_ids": k.pupil_ids,
        "rounding_base": rounding_base,
        "columns": [
            _column(c, kind, rounding_base) for c, kind in zip(columns, kinds, strict=True)
        ],
        "cells": [{"row": i, "pupils": c.n, "findings": c.findings} for i, c in enumerate(kept)],
        "summary": {
            "rows_held": len(kept),
            "rows_dropped": dropped,
            "secondary_drops": secondary,
        },
    }


def _column(name: str, kind: str, rounding_base: int | None) -> dict[str, Any]:
    findings = []
    if kind == "individual":
        findings.append(_finding("individual", name))
    elif kind == "count" and not rounding_base:
        findings.append(_finding("rounding", name))
    return {"name": name, "kind": kind, "findings": findings}


def row_level(names: list[str], data: list[dict[str, Any]]) -> Held:
    """A row-level result (every contract allows it): every column but pseudonyms, no
    cell findings; the checker reads the rows themselves."""
    columns = [c for c in names if c.lower() != "pupil_id" and not c.startswith("__edh_")]
    rows = jsonable([[d[c] for c in columns] for d in data])
    report = {
        "k": None,
        "rounding_base": None,
        "columns": [{"name": c, "kind": "row", "findings": []} for c in columns],
        "cells": [],
        "summary": {"rows_held": len(rows), "rows_dropped": 0, "secondary_drops": 0},
    }  # fmt: skip
    return Held(columns, rows, report)
