"""Declared key domains: the cells a query names before it runs (public keys).

A query may list each grouping key's values in a conjunct of its outermost WHERE:
``WHERE week IN (DATE '2026-08-31', DATE '2026-09-07')``, ``WHERE verb IN ('played',
'paused')``, ``WHERE school_id IN ('school-0', 'school-1')``; with several keys, one list
each (school x week: every combination is a cell). The lists are part of the query, not
of the data, so the hub releases exactly those cells, in the lists' order, each with
noise and without the noisy threshold (a cell no pupil is in comes out as noise around
zero): releasing a declared key tells nothing about a pupil. The hub also keeps only rows
whose keys equal listed values before it counts each pupil's cells, so a pupil adds to at
most ``min(L, number of cells)`` cells, whatever the rest of the SQL does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from hub.sandbox.sqlast import Node, clone, column_name, parse, render

MAX_VALUES = 1000


def declared(node: Node, name: str) -> list[Node]:
    """The distinct constants of the first conjunct ``name IN (c1, c2, ...)`` of the
    outermost WHERE of ``node`` (constants or casts of constants, at most
    ``MAX_VALUES``), in order; empty when there is none."""
    for term in _conjuncts(node.get("where_clause")):
        if term.get("type") != "COMPARE_IN":
            continue
        column, *values = term.get("children") or [{}]
        if column_name(column) != name or not 0 < len(values) <= MAX_VALUES:
            continue
        if all(_constant(v) for v in values):
            first: dict[str, Node] = {}
            for value in values:
                first.setdefault(_canonical(value), value)
            return [clone(v) for v in first.values()]
    return []


def constants_sql(values: list[Node]) -> str:
    """One row whose columns ``__edh_c0``, ``__edh_c1``... are the declared values."""
    node = parse("SELECT 1")
    node["select_list"] = [{**clone(v), "alias": f"__edh_c{n}"} for n, v in enumerate(values)]
    return render(node)


def _conjuncts(expr: Node | None) -> Iterator[Node]:
    if not expr:
        return
    if expr.get("type") == "CONJUNCTION_AND":
        for child in expr.get("children") or []:
            yield from _conjuncts(child)
    else:
        yield expr


def _constant(value: Node) -> bool:
    if value.get("class") == "CAST":
        return _constant(value.get("child") or {})
    return value.get("class") == "CONSTANT" and not (value.get("value") or {}).get("is_null")


def _canonical(value: Node) -> str:
    """``value`` without its position in the SQL text."""
    stripped = {k: v for k, v in value.items() if k != "query_location"}
    if "child" in stripped:
        stripped["child"] = _canonical(stripped["child"])
    return json.dumps(stripped, sort_keys=True)
