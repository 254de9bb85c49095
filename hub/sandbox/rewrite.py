"""Turn a checked, aggregated query into the two queries the worker runs.

The *main* query is the researcher's, with the cell keys appended as ``__edh_k_i``. The
*control* query groups the same rows (same CTEs, FROM and WHERE) by cell keys and pupil,
then by cell keys, and returns per cell: ``__edh_n`` distinct pupils, ``__edh_sketch`` the
64 smallest pupil ids (differencing check), and per aggregate ``j``: ``__edh_n_j`` pupils
with a non-null argument under the aggregate's FILTER, plus for sums and means
``__edh_t_j`` (total of absolute values) and ``__edh_m_j`` (the two largest per-pupil
contributions) for the dominance rules. Rows of both meet on the keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from hub.sandbox.fromclause import PUPIL
from hub.sandbox.sqlast import Node, clone, column_name, parse, render, select_items, walk
from hub.sandbox.sqlcheck import STATISTICS, CheckedQuery, aggregate_names

SKETCH_SIZE = 64
_INNER_ITEMS = (
    "SELECT bool_or((__edh_a) IS NOT NULL) FILTER (WHERE __edh_w), "
    "sum(abs(CAST(__edh_a AS DOUBLE))) FILTER (WHERE __edh_w)"
)
_OUTER_ITEMS = (
    "SELECT count(*) AS __edh_n, min(pupil_id, {m}) AS __edh_sketch, "
    "count(*) FILTER (WHERE __edh_has) AS n, sum(__edh_pc) AS t, max(__edh_pc, 2) AS m"
)


@dataclass(frozen=True)
class Rewritten:
    """The queries and, per aggregate ``j``, its output item and dominance flag. When the
    query decomposes, ``main_sql`` carries the control columns and ``control_sql`` is
    empty (one pass over the data)."""

    @property
    def queries(self) -> tuple[str, ...]:
        return (self.main_sql, self.control_sql) if self.control_sql else (self.main_sql,)

    main_sql: str
    control_sql: str
    width: int
    keys: int
    aggregate_items: tuple[int, ...]
    dominance: tuple[bool, ...]


def plan(query: CheckedQuery) -> Rewritten:
    """The queries of ``query``: one pass when it decomposes, else main and control."""
    keys = group_keys(query.node, query)
    main = clone(query.node)
    main["select_list"] = main["select_list"] + [
        _alias(k, f"__edh_k_{i}") for i, k in enumerate(keys)
    ]
    dominance = tuple(a.name in STATISTICS for a in query.aggregates)
    single = single_pass(query)
    return Rewritten(
        main_sql=single or render(main),
        control_sql="" if single else render(_control(query, keys, dominance)),
        width=len(query.items),
        keys=len(keys),
        aggregate_items=tuple(a.item for a in query.aggregates),
        dominance=dominance,
    )


def _control(query: CheckedQuery, keys: list[Node], dominance: tuple[bool, ...]) -> Node:
    has, contribution = select_items(_INNER_ITEMS)
    n, sketch, n_j, total_j, top_j = select_items(_OUTER_ITEMS.format(m=SKETCH_SIZE))
    inner_items = [_alias(k, f"__edh_k_{i}") for i, k in enumerate(keys)]
    inner_items.append(select_items("SELECT pupil_id")[0])
    outer_items = [_column(f"__edh_k_{i}") for i in range(len(keys))] + [n, sketch]
    for j, agg in enumerate(query.aggregates):
        arg, cond = _argument(agg.node), agg.node.get("filter")
        if _always_present(arg, cond):  # every pupil of the cell counts: no per-pupil test
            outer_items.append(_alias(_count_all(), f"__edh_n_{j}"))
        else:
            inner_items.append(_alias(_fill(has, arg, cond), f"__edh_has_{j}"))
            renamed = _rename(n_j, "__edh_has", f"__edh_has_{j}")
            outer_items.append(_alias(renamed, f"__edh_n_{j}"))
        if dominance[j]:
            inner_items.append(_alias(_fill(contribution, arg, cond), f"__edh_pc_{j}"))
            for template, name in ((total_j, "t"), (top_j, "m")):
                renamed = _rename(template, "__edh_pc", f"__edh_pc_{j}")
                outer_items.append(_alias(renamed, f"__edh_{name}_{j}"))
    inner = clone(query.node)
    inner.update(
        select_list=inner_items,
        group_expressions=[],
        group_sets=[],
        having=None,
        qualify=None,
        modifiers=[],
        aggregate_handling="FORCE_AGGREGATES",
    )
    outer = clone(_outer_node())
    outer["select_list"] = outer_items
    outer["from_table"] = {
        "type": "SUBQUERY",
        "alias": "__edh_cells",
        "sample": None,
        "query_location": 0,
        "column_name_alias": [],
        "subquery": {"node": inner, "named_param_map": []},
    }
    return outer


@cache
def _outer_node() -> Node:
    return parse("SELECT 1 FROM __edh_cells GROUP BY ALL")


def group_keys(node: Node, query: CheckedQuery) -> list[Node]:
    """The outer query's grouping expressions, positions and aliases resolved."""
    items = node["select_list"][: len(query.items)]
    if node.get("aggregate_handling") == "FORCE_AGGREGATES":
        aggregated = {a.item for a in query.aggregates}
        return [_alias(items[i], "") for i in range(len(items)) if i not in aggregated]
    aliases = {str(i.get("alias", "")).lower(): i for i in items if i.get("alias")}
    keys = []
    for expr in node.get("group_expressions", []):
        value = expr.get("value", {}) if expr.get("class") == "CONSTANT" else {}
        if isinstance(value.get("value"), int) and not isinstance(value.get("value"), bool):
            keys.append(_alias(items[int(value["value"]) - 1], ""))
        elif column_name(expr) in aliases and len(expr.get("column_names", [])) == 1:
            keys.append(_alias(aliases[str(column_name(expr))], ""))
        else:
            keys.append(clone(expr))
    return keys


def _argument(agg: Node) -> Node:
    children = agg.get("children") or []
    return clone(children[0]) if children else _true()


def _always_present(arg: Node, cond: Node | None) -> bool:
    """True when every pupil row has the aggregate's argument: no FILTER, and the argument
    is ``*`` or the unqualified ``pupil_id`` (never NULL: a hash, kept by USING joins; a
    qualified ``b.pupil_id`` is NULL where a LEFT JOIN found no match)."""
    unqualified = arg.get("class") == "COLUMN_REF" and arg.get("column_names") == [PUPIL]
    return cond is None and (unqualified or _shape(arg) == _shape(_true()))


def _count_all() -> Node:
    return clone(select_items("SELECT count(*)")[0])


def _true() -> Node:
    return clone(select_items("SELECT TRUE")[0])


def _column(name: str) -> Node:
    return _rename(select_items("SELECT __edh_x")[0], "__edh_x", name)


def _alias(node: Node, alias: str) -> Node:
    out = clone(node)
    out["alias"] = alias
    return out


def _rename(template: Node, old: str, new: str) -> Node:
    out = clone(template)
    for sub, _, _ in walk(out):
        if column_name(sub) == old:
            sub["column_names"] = [new]
    return out


def _fill(template: Node, arg: Node, cond: Node | None) -> Node:
    """Replace the placeholders ``__edh_a`` and ``__edh_w`` in a copy of ``template`` (an
    aggregate with ``FILTER (WHERE __edh_w)``); no ``cond``: no FILTER at all (a constant
    true one costs DuckDB a pass over every row)."""
    out = substitute(template, {"__edh_a": arg, "__edh_w": cond or _true()})
    if cond is None:
        out["filter"] = None
    return out


def substitute(template: Node, columns: dict[str, Node]) -> Node:
    """A copy of ``template`` with each column named in ``columns`` replaced."""
    out = clone(template)
    for sub, _, _ in list(walk(out)):
        name = column_name(sub)
        if name in columns:
            sub.clear()
            sub.update(clone(columns[name]))
    return out


class _NotDecomposable(Exception):
    """The query needs the general two-query plan."""


_PARTIALS = {
    "count_star": ("count(*) FILTER (WHERE __edh_w)", "CAST(sum(__edh_p) AS BIGINT)"),
    "count": ("count(__edh_a) FILTER (WHERE __edh_w)", "CAST(sum(__edh_p) AS BIGINT)"),
    "sum": ("sum(__edh_a) FILTER (WHERE __edh_w)", "sum(__edh_p)"),
    "avg": ("sum(__edh_a) FILTER (WHERE __edh_w)", "sum(__edh_p) / sum(__edh_q)"),
}
_AVG_COUNT = "count(__edh_a) FILTER (WHERE __edh_w)"
# A pupil has a non-null argument under the FILTER exactly when its partial says so.
_HAS = {
    "count_star": "__edh_p > 0",
    "count": "__edh_p > 0",
    "sum": "__edh_p IS NOT NULL",
    "avg": "__edh_q > 0",
}


def single_pass(query: CheckedQuery) -> str | None:
    """One query computing the researcher's columns from per-(cell, pupil) partials, with
    the control columns beside them; None when an aggregate does not decompose (then the
    two-query :func:`plan` applies). Same output columns as the researcher's query."""
    node = query.node
    if any(m.get("type") != "ORDER_MODIFIER" and m.get("type") != "LIMIT_MODIFIER"
           for m in node.get("modifiers", [])) or node.get("qualify"):  # fmt: skip
        return None
    keys = group_keys(node, query)
    dominance = tuple(a.name in STATISTICS for a in query.aggregates)
    try:
        finals, partials, has = _finals(query)
        rewrite = _Finalizer(keys, finals, set())
        items = [_alias(rewrite(i), _output_name(i)) for i in node["select_list"]]
        having = rewrite(node["having"]) if node.get("having") else None
        names = {str(i.get("alias") or column_name(i) or "").lower() for i in node["select_list"]}
        modifiers = [_Finalizer(keys, finals, names)(m) for m in node.get("modifiers", [])]
    except _NotDecomposable:
        return None
    control = _control(query, keys, dominance)
    inner = control["from_table"]["subquery"]["node"]
    derived = {str(i.get("alias")) for i in inner["select_list"]} & set(has)
    inner["select_list"] = [i for i in inner["select_list"] if i.get("alias") not in derived]
    inner["select_list"] += partials
    inner["cte_map"] = {"map": []}
    width = len(keys)
    checks = [substitute(i, has) for i in control["select_list"][width:]]
    outer = clone(node)
    outer.update(
        select_list=items + checks + control["select_list"][:width],
        from_table=control["from_table"], where_clause=None, having=having,
        modifiers=modifiers, aggregate_handling="STANDARD_HANDLING",
        group_expressions=[_column(f"__edh_k_{i}") for i in range(width)],
        group_sets=[list(range(width))] if width else [],
    )  # fmt: skip
    return render(outer)


def _output_name(item: Node) -> str:
    """The name DuckDB gives a select item: its alias, its column, or its SQL text."""
    if item.get("alias"):
        return str(item["alias"])
    names = item.get("column_names") if item.get("class") == "COLUMN_REF" else None
    if names:
        return str(names[-1])
    bare = clone(_outer_node())
    bare.update(select_list=[item], from_table={"type": "EMPTY"}, group_expressions=[],
                group_sets=[], aggregate_handling="STANDARD_HANDLING")  # fmt: skip
    return render(bare).removeprefix("SELECT ")


def _finals(query: CheckedQuery) -> tuple[dict[int, Node], list[Node], dict[str, Node]]:
    """Per aggregate node (by id): its final expression; the partials to compute; and per
    ``__edh_has_j`` it makes redundant, the test on the partials that replaces it."""
    finals: dict[int, Node] = {}
    partials: list[Node] = []
    has: dict[str, Node] = {}
    for j, agg in enumerate(query.aggregates):
        node = agg.node
        name = "avg" if agg.name == "mean" else agg.name
        arg, cond = _argument(node), node.get("filter")
        if node.get("order_bys", {}).get("orders"):
            raise _NotDecomposable
        if node.get("distinct"):
            if name != "count" or column_name(arg) != "pupil_id":
                raise _NotDecomposable
            if _always_present(arg, cond):
                finals[id(node)] = _count_all()
                continue
            counted = select_items("SELECT count(*) FILTER (WHERE __edh_has)")[0]
            finals[id(node)] = _rename(counted, "__edh_has", f"__edh_has_{j}")
            continue
        if name not in _PARTIALS:
            raise _NotDecomposable
        partial, final = select_items(f"SELECT {_PARTIALS[name][0]}, {_PARTIALS[name][1]}")
        partials.append(_alias(_fill(partial, arg, cond), f"__edh_p_{j}"))
        final = _rename(_rename(final, "__edh_p", f"__edh_p_{j}"), "__edh_q", f"__edh_q_{j}")
        if name == "avg":
            count = select_items(f"SELECT {_AVG_COUNT}")[0]
            partials.append(_alias(_fill(count, arg, cond), f"__edh_q_{j}"))
        finals[id(node)] = final
        test = select_items(f"SELECT {_HAS[name]}")[0]
        has[f"__edh_has_{j}"] = _rename(
            _rename(test, "__edh_p", f"__edh_p_{j}"), "__edh_q", f"__edh_q_{j}"
        )
    return finals, partials, has


class _Finalizer:
    """Rewrite an outer expression over the partials: aggregates become their final form,
    cell keys become ``__edh_k_i``; names in ``aliases`` (output columns) stay; any other
    column or aggregate means the query does not decompose."""

    def __init__(self, keys: list[Node], finals: dict[int, Node], aliases: set[str]) -> None:
        self.keys = {_shape(k): i for i, k in enumerate(keys)}
        self.finals = finals
        self.aliases = aliases

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(x) for x in node]
        if not isinstance(node, dict):
            return node
        if id(node) in self.finals:
            return _alias(self.finals[id(node)], str(node.get("alias", "")))
        if "class" in node and _shape(node) in self.keys:
            key = _column(f"__edh_k_{self.keys[_shape(node)]}")
            return _alias(key, str(node.get("alias", "")))
        if node.get("class") == "COLUMN_REF" and column_name(node) not in self.aliases:
            raise _NotDecomposable
        if node.get("class") == "FUNCTION" and node["function_name"] in aggregate_names():
            raise _NotDecomposable
        return {k: self(v) for k, v in node.items()}


def _shape(node: Node) -> str:
    """An expression's structure, ignoring aliases and positions."""

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("alias", "query_location")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return json.dumps(strip(node), sort_keys=True)
