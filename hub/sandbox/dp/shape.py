"""The one query shape released under differential privacy, checked and rewritten.

Shape: an aggregating outermost SELECT over any allowed FROM (views, per-pupil CTEs and
their ``USING (pupil_id)`` joins), whose items are grouping keys or one of these
aggregates, each a whole item:

- ``count(*)``, ``count(DISTINCT pupil_id)``: the number of pupils in the cell;
- ``count(x)``: the number of pupils with a non-null ``x`` in the cell;
- ``sum(x)``: the sum over pupils of each pupil's sum of ``x`` in the cell;
- ``avg(x)`` (``mean``): the mean over pupils of each pupil's mean of ``x`` in the cell;
- ``median(x)``, ``quantile_cont(x, q)``, ``quantile_disc(x, q)``, ``quantile(x, q)``: the
  ``q``-quantile over pupils of each pupil's mean of ``x`` in the cell; ``min(x)`` and
  ``max(x)``: the 0- and 1-quantile over pupils of each pupil's min (max) of ``x``.

A pupil's value is clamped to the public bounds of ``x``: the codebook's bounds for the
column ``x`` names, or the constants of ``least(greatest(expr, low), high)``. With one row
per pupil (a per-pupil CTE) these are the usual SQL results. No HAVING, QUALIFY, LIMIT,
FILTER nor DISTINCT (other than ``count(DISTINCT pupil_id)``): noise comes last. Every
cast becomes a TRY_CAST, so that no row's value can make the query fail.

:func:`plan` rewrites the query into one DuckDB query returning one row per cell: the
keys (``__edh_k_i``), the
non-aggregate output items (``__edh_o_i``), ``__edh_n`` (pupils), and per measured
aggregate ``j`` the sum ``__edh_s_j`` of the pupils' clamped values and their number
``__edh_c_j``. Each (cell, pupil) is one row of an inner query grouped by the keys and
``pupil_id``; a pupil keeps at most ``max_cells`` cells (chosen by a hash of the keys,
not by the data) unless the FROM has one row per pupil.

A query that declares the values of each of its grouping keys (``hub.sandbox.dp.domain``;
school x week: two lists) gets one row per combination of declared values, in the lists'
order, pupils-less cells included (zero counts): the release adds noise to all of them
and needs no threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hub.sandbox.dp import codebook, domain
from hub.sandbox.errors import QueryRefused
from hub.sandbox.fromclause import PUPIL
from hub.sandbox.rewrite import group_keys, substitute
from hub.sandbox.sqlast import Node, clone, column_name, render, select_items, walk
from hub.sandbox.sqlcheck import CheckedQuery

PUPIL_COUNTS = ("count_star", "count")
MEASURED = ("count", "sum", "avg", "mean")
QUANTILES = {"median": 0.5, "min": 0.0, "max": 1.0, "quantile_cont": None,
             "quantile_disc": None, "quantile": None}  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One released aggregate: output item, kind (pupils, count, sum, avg, quantile, min,
    max), bounds, and for a quantile its level ``alpha``."""

    item: int
    kind: str
    bounds: codebook.Bounds = (0.0, 1.0)
    alpha: float = 0.5

    @property
    def quantile(self) -> bool:
        return self.kind in ("quantile", "min", "max")


@dataclass(frozen=True)
class DpPlan:
    """The rewritten query and what the release needs to read its rows: ``keys`` are
    the output items that are not aggregates (column ``__edh_o_i`` of the rows)."""

    sql: str
    items: tuple[str, ...]
    keys: tuple[int, ...]
    measures: tuple[Measure, ...]
    max_cells: int
    declared: int = 0  # how many key values the query declared (0: thresholded keys)

    @property
    def queries(self) -> tuple[str, ...]:
        return (self.sql,)

    @property
    def pupil_items(self) -> tuple[int, ...]:
        """The output items that count pupils."""
        return tuple(m.item for m in self.measures if m.kind == "pupils")


def plan(query: CheckedQuery, max_cells: int) -> DpPlan:
    """The DP rewrite of ``query``; raise ``QueryRefused`` naming each construct outside
    the shape (module docstring)."""
    node = query.node
    problems = _clause_problems(node)
    measures: list[Measure] = []
    for agg in query.aggregates:
        if node["select_list"][agg.item] is not agg.node:
            problems.append(
                f"aggregate {agg.name!r} must be a whole output column (no arithmetic around it)"
            )
            continue
        measure = _measure(agg.item, agg.node, problems)
        if measure:
            measures.append(measure)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise QueryRefused("; ".join(unique), reasons=unique)
    aggregated = {a.item for a in query.aggregates}
    outputs = tuple(i for i in range(len(query.items)) if i not in aggregated)
    one_row = _one_row_per_pupil(node) or not node.get("group_expressions")
    cells = 1 if one_row else max_cells
    values = _declared(node, query, outputs)
    combinations = math.prod(len(v) for v in values) if values else 0
    if values:
        cells = min(cells, combinations)
    return DpPlan(
        sql=_sql(node, query, measures, (outputs, values), None if one_row else cells),
        items=query.items,
        keys=outputs,
        measures=tuple(measures),
        max_cells=cells,
        declared=combinations,
    )


def _declared(node: Node, query: CheckedQuery, outputs: tuple[int, ...]) -> list[list[Node]]:
    """The declared values of each grouping key (``hub.sandbox.dp.domain``), one list
    per output key, when every key is declared, the keys are the GROUP BY's, and their
    combinations are at most ``domain.MAX_VALUES``; else empty (noisy threshold)."""
    if not outputs or len(node.get("group_expressions") or []) != len(outputs):
        return []
    lists = [domain.declared(node, query.items[i].lower()) for i in outputs]
    if not all(lists) or math.prod(len(v) for v in lists) > domain.MAX_VALUES:
        return []
    return lists


def _clause_problems(node: Node) -> list[str]:
    problems = []
    if node.get("having"):
        problems.append("HAVING is not allowed under differential privacy (noise comes last)")
    if node.get("qualify"):
        problems.append("QUALIFY is not allowed in the outermost SELECT")
    for modifier in node.get("modifiers", []):
        if modifier.get("type") != "ORDER_MODIFIER":
            kind = str(modifier.get("type", "")).removesuffix("_MODIFIER")
            problems.append(f"{kind} is not allowed in the outermost SELECT")
    if node.get("aggregate_handling") == "FORCE_AGGREGATES":
        problems.append("GROUP BY ALL is not supported: list the grouping keys")
    return problems


def _measure(item: int, agg: Node, problems: list[str]) -> Measure | None:
    name = str(agg.get("function_name", "")).lower()
    children = agg.get("children") or []
    if agg.get("filter") or (agg.get("order_bys") or {}).get("orders"):
        problems.append(f"FILTER and ORDER BY inside {name!r}: compute it in a per-pupil CTE")
        return None
    if name == "count_star" or (
        name == "count" and agg.get("distinct") and [column_name(c) for c in children] == [PUPIL]
    ):
        return Measure(item, "pupils")
    if agg.get("distinct"):
        problems.append(f"DISTINCT inside {name!r} is not allowed (only count(DISTINCT pupil_id))")
        return None
    if name in QUANTILES:
        return _quantile(item, name, children, problems)
    if name not in MEASURED or len(children) != 1:
        problems.append(
            f"aggregate {name!r} is not released under differential privacy "
            "(count, sum, avg, median, quantiles, min, max over pupils only)"
        )
        return None
    if name == "count":
        return Measure(item, "count")
    found = _bounded(name, children[0], problems)
    if found is None:
        return None
    return Measure(item, "avg" if name in ("avg", "mean") else "sum", found)


def _quantile(item: int, name: str, children: list[Node], problems: list[str]) -> Measure | None:
    """``median(x)``, ``min(x)``, ``max(x)`` or ``quantile*(x, q)`` with a constant ``q``."""
    alpha = QUANTILES[name]
    if alpha is None and len(children) == 2:
        alpha = _number(children[1])
        alpha = alpha if alpha is not None and 0.0 <= alpha <= 1.0 else None
    if alpha is None or len(children) != (1 if QUANTILES[name] is not None else 2):
        problems.append(f"{name}(...) takes a column and, for a quantile, a constant in [0, 1]")
        return None
    found = _bounded(name, children[0], problems)
    if found is None:
        return None
    return Measure(item, name if name in ("min", "max") else "quantile", found, alpha)


def _bounded(name: str, arg: Node, problems: list[str]) -> codebook.Bounds | None:
    """The public bounds of ``arg``; a problem naming what to do when it has none."""
    found = _bounds(arg)
    if found is None:
        problems.append(
            f"{name}(...) needs public bounds: aggregate a column of the codebook "
            f"({', '.join(codebook.names())}) or clamp it: least(greatest(x, low), high)"
        )
    return found


def _bounds(arg: Node) -> codebook.Bounds | None:
    name = column_name(arg)
    if name is not None:
        return codebook.bounds(name)
    return _clamp_bounds(arg)


def _clamp_bounds(arg: Node) -> codebook.Bounds | None:
    """``(low, high)`` of ``least(greatest(e, low), high)`` or ``greatest(least(e, high), low)``."""
    outer = str(arg.get("function_name", "")).lower()
    pair = {"least": "greatest", "greatest": "least"}.get(outer)
    children = arg.get("children") or []
    if pair is None or len(children) != 2:
        return None
    inner, outer_bound = children
    if str(inner.get("function_name", "")).lower() != pair or len(inner.get("children")) != 2:
        return None
    first, second = _number(outer_bound), _number(inner["children"][1])
    if first is None or second is None:
        return None
    low, high = (second, first) if outer == "least" else (first, second)
    return (low, high) if low <= high else None


def _number(node: Node) -> float | None:
    """A numeric constant's value (DuckDB writes ``0.25`` as DECIMAL 25 of scale 2)."""
    if node.get("class") != "CONSTANT":
        return None
    constant = node.get("value") or {}
    value = constant.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    info = (constant.get("type") or {}).get("type_info") or {}
    try:
        return float(value) / 10.0 ** int(info.get("scale") or 0)
    except ValueError:
        return None


def _one_row_per_pupil(node: Node) -> bool:
    """True when the outer FROM is a CTE grouped by ``pupil_id`` alone, or inner/left
    ``USING (pupil_id)`` joins of such CTEs: every pupil is then at most one row."""
    ctes = {
        str(e["key"]).lower(): e["value"]["query"]["node"]
        for e in (node.get("cte_map") or {}).get("map", [])
    }
    return _per_pupil(node.get("from_table") or {}, ctes)


def _per_pupil(table: Node, ctes: dict[str, Node]) -> bool:
    if table.get("type") == "JOIN":
        return _per_pupil(table["left"], ctes) and _per_pupil(table["right"], ctes)
    body = ctes.get(str(table.get("table_name", "")).lower()) if table.get("type") else None
    if body is None or body.get("type") != "SELECT_NODE":
        return False
    groups = body.get("group_expressions") or []
    return len(groups) == 1 and column_name(groups[0]) == PUPIL and len(body["group_sets"]) <= 1


_VALUE = {
    "count": "CAST(count(__edh_a) > 0 AS DOUBLE)",
    "quantile": "greatest(least(avg(TRY_CAST(__edh_a AS DOUBLE)), {high!r}), {low!r})",
    "min": "greatest(least(min(TRY_CAST(__edh_a AS DOUBLE)), {high!r}), {low!r})",
    "max": "greatest(least(max(TRY_CAST(__edh_a AS DOUBLE)), {high!r}), {low!r})",
    "sum": "greatest(least(sum(TRY_CAST(__edh_a AS DOUBLE)), {high!r}), {low!r})",
    "avg": "greatest(least(avg(TRY_CAST(__edh_a AS DOUBLE)), {high!r}), {low!r})",
}


def _sql(
    node: Node,
    query: CheckedQuery,
    measures: list[Measure],
    outputs_values: tuple[tuple[int, ...], list[list[Node]]],
    cells: int | None,
) -> str:
    """The plan's SQL; each pupil keeps at most ``cells`` cells (None: the FROM already
    has one row per pupil)."""
    outputs, values = outputs_values
    keys = group_keys(node, query)
    inner = clone(node)
    for sub, _, _ in walk(inner):
        if sub.get("class") == "CAST":
            sub["try_cast"] = True  # a cast that fails on some row would tell that it exists
    items = [_named(k, f"__edh_k_{i}") for i, k in enumerate(keys)]
    items += [_named(node["select_list"][i], f"__edh_o_{i}") for i in outputs]
    pupil = select_items(f"SELECT {PUPIL}")[0]
    for j, m in enumerate(measures):
        if m.kind == "pupils":
            continue
        value = _VALUE[m.kind].format(low=m.bounds[0], high=m.bounds[1])
        template = select_items(f"SELECT {value}")
        arg = (node["select_list"][m.item].get("children") or [])[0]
        items.append(_named(substitute(template[0], {"__edh_a": arg}), f"__edh_v_{j}"))
    inner.update(
        select_list=[*items, pupil],
        group_expressions=[*clone(keys), pupil],
        group_sets=[list(range(len(keys) + 1))],
        having=None,
        qualify=None,
        modifiers=[],
        aggregate_handling="STANDARD_HANDLING",
    )
    key_cols = [f"__edh_k_{i}" for i in range(len(keys))]
    partials = _partials(measures)
    sums = [f"{aggregate} AS {name}" for name, aggregate, _ in partials]
    source = f"({render(inner)}) AS __edh_pp"
    if values:
        source = _in_domain(source, outputs, values)
    if cells is not None and key_cols:
        rank = f"row_number() OVER (PARTITION BY {PUPIL} ORDER BY hash({', '.join(key_cols)}))"
        ranked = f"(SELECT *, {rank} AS __edh_r FROM {source}) AS __edh_rk"  # noqa: S608
        source = f"{ranked} WHERE __edh_r <= {cells}"
    if values:
        return _per_declared_cell(source, outputs, values, partials)
    groups = [*key_cols, *(f"__edh_o_{i}" for i in outputs)]
    select = ", ".join([*groups, "count(*) AS __edh_n", *sums])
    group = f" GROUP BY {', '.join(groups)}" if groups else ""
    return f"SELECT {select} FROM {source}{group}"  # noqa: S608 (hub-built names only)


def _in_domain(source: str, outputs: tuple[int, ...], values: list[list[Node]]) -> str:
    """``source``'s rows whose output keys all equal declared values, with their indexes
    ``__edh_d0``, ``__edh_d1``...; the others are dropped before the pupils' cells are
    counted."""
    indexes = []
    for k, (item, names) in enumerate(zip(outputs, _constant_names(values), strict=True)):
        which = " ".join(f"WHEN __edh_o_{item} = {c} THEN {n}" for n, c in enumerate(names))
        indexes.append(f"CASE {which} END AS __edh_d{k}")
    tables = f"{source}, ({_constants(values)}) AS __edh_dc"
    select = f"SELECT __edh_pp.*, {', '.join(indexes)} FROM {tables}"  # noqa: S608
    kept = " AND ".join(f"__edh_d{k} IS NOT NULL" for k in range(len(values)))
    return f"({select} WHERE {kept}) AS __edh_pp"


def _partials(measures: list[Measure]) -> list[tuple[str, str, str]]:
    """Per measured aggregate ``j``, its columns per cell: (name, aggregate over the
    cell's pupil rows, value of a cell without pupils). Sums and counts of the pupils'
    values (``__edh_s_j``, ``__edh_c_j``), or for a quantile their list ``__edh_l_j``."""
    out = []
    for j, m in enumerate(measures):
        if m.quantile:
            out.append((f"__edh_l_{j}", f"list(__edh_v_{j})", "[]"))
        elif m.kind != "pupils":
            out.append((f"__edh_s_{j}", f"sum(__edh_v_{j})", "0"))
            out.append((f"__edh_c_{j}", f"count(__edh_v_{j})", "0"))
    return out


def _per_declared_cell(
    source: str,
    outputs: tuple[int, ...],
    values: list[list[Node]],
    partials: list[tuple[str, str, str]],
) -> str:
    """One row per combination of declared values, in the lists' order: its values as
    keys and output items, its pupils and measures (zero where no pupil is)."""
    consts = _constants(values)
    lists = []
    for k, names in enumerate(_constant_names(values)):
        every = f"SELECT unnest(range({len(names)})) AS __edh_d{k}, "
        every += f"unnest([{', '.join(names)}]) AS __edh_dv{k}"
        lists.append(f"({every} FROM ({consts}) AS __edh_dc) AS __edh_dom{k}")
    indexes = ", ".join(f"__edh_d{k}" for k in range(len(values)))
    sums = [f"{aggregate} AS {name}" for name, aggregate, _ in partials]
    cells = f"SELECT {indexes}, count(*) AS __edh_n, {', '.join(sums) or '0 AS __edh_z'} "
    cells += f"FROM {source} GROUP BY {indexes}"
    zeros = [f"coalesce({name}, {zero}) AS {name}" for name, _, zero in partials]
    keys = [f"__edh_dv{k} AS __edh_k_{k}" for k in range(len(values))]
    keys += [f"__edh_dv{k} AS __edh_o_{item}" for k, item in enumerate(outputs)]
    select = ", ".join([*keys, "coalesce(__edh_n, 0) AS __edh_n", *zeros])
    return (
        f"SELECT {select} FROM {' CROSS JOIN '.join(lists)} "  # noqa: S608
        f"LEFT JOIN ({cells}) AS __edh_cells USING ({indexes}) ORDER BY {indexes}"
    )


def _constants(values: list[list[Node]]) -> str:
    """One row holding every declared value of every key (``_constant_names``)."""
    return domain.constants_sql([v for key in values for v in key])


def _constant_names(values: list[list[Node]]) -> list[list[str]]:
    """Per key, the columns of ``_constants`` holding its declared values."""
    names, offset = [], 0
    for key in values:
        names.append([f"__edh_c{offset + n}" for n in range(len(key))])
        offset += len(key)
    return names


def _named(node: Node, alias: str) -> Node:
    out = clone(node)
    out["alias"] = alias
    return out
