"""Rules on FROM clauses: which joins are allowed, and which sources keep ``pupil_id``.

Disclosure control groups the outer FROM (and WHERE) by the cell keys and ``pupil_id``
(``hub.sandbox.rewrite``), so every row of the outer FROM must belong to exactly one
pupil and carry that pupil's ``pupil_id``. Every view does. A join keeps the property
when it is an inner or left join whose only condition is ``USING (pupil_id)`` between two
named tables (views, CTEs or such joins) that both carry ``pupil_id``: a joined row pairs
rows of one pupil, and the unqualified ``pupil_id`` after ``USING`` is that pupil (the
left one's for a left join, never NULL). Every other join (ON, other USING columns,
cross, natural, positional, asof, semi, anti, right, full, lateral subqueries) is refused.

A CTE or subquery carries ``pupil_id`` when its own FROM does and it selects ``pupil_id``
(or ``*`` without excluding it). All functions are pure reads of DuckDB's syntax tree.
"""

from __future__ import annotations

from collections.abc import Iterator

from hub.sandbox.sqlast import Node, column_name, walk

PUPIL = "pupil_id"
JOIN_HINT = "join per-pupil tables with JOIN ... USING (pupil_id)"
KEEP_PUPIL = (
    "every table in FROM must keep pupil_id so each released cell can be checked for k pupils"
)
_REF_TYPES = {
    "CROSS": "cross joins (FROM a, b) and LATERAL",
    "NATURAL": "NATURAL joins",
    "POSITIONAL": "POSITIONAL joins",
    "ASOF": "ASOF joins",
}
_JOIN_TYPES = {"OUTER": "FULL", "RIGHT_SEMI": "SEMI", "RIGHT_ANTI": "ANTI"}
_NAMED = ("BASE_TABLE", "JOIN")
# CTE name -> (its query node, the CTEs its body sees)
Scope = dict[str, tuple[Node, "Scope"]]


def join_problems(join: Node) -> list[str]:
    """Why a JOIN table reference breaks the join rule (module docstring); [] when allowed."""
    ref, kind = str(join.get("ref_type")), str(join.get("join_type"))
    if ref != "REGULAR":
        return [f"{_REF_TYPES.get(ref, ref.lower() + ' joins')} are not allowed: {JOIN_HINT}"]
    if kind not in ("INNER", "LEFT"):
        name = _JOIN_TYPES.get(kind, kind)
        return [f"{name} joins are not allowed (only inner and left joins): {JOIN_HINT}"]
    if join.get("condition") is not None:
        return [f"join conditions with ON are not allowed: {JOIN_HINT}"]
    using = [str(c).lower() for c in join.get("using_columns") or []]
    if using != [PUPIL]:
        return [f"joins may only use USING (pupil_id), not USING ({', '.join(using)}): {JOIN_HINT}"]
    if any(join[side].get("type") not in _NAMED for side in ("left", "right")):
        return [f"join views or CTEs by name, not subqueries or functions: {JOIN_HINT}"]
    return []


def relation_names(root: Node) -> frozenset[str]:
    """Every table, CTE and alias name the query defines or reads (lower case)."""
    names: set[str] = set()
    for sub, key, _ in walk(root):
        if key == "cte_map" and isinstance(sub.get("map"), list):
            names.update(str(entry["key"]).lower() for entry in sub["map"])
        elif sub.get("class") is None and sub.get("type") in ("BASE_TABLE", "SUBQUERY", "JOIN"):
            names.update(str(sub.get(k) or "").lower() for k in ("table_name", "alias"))
    return frozenset(names - {""})


def pupil_problems(root: Node, *, aggregated: bool) -> list[str]:
    """Reasons some source loses ``pupil_id``: a join side anywhere in the query, or (when
    the outer query aggregates, so disclosure control must group by pupil) the outer FROM."""
    sources = _Sources()
    problems = [
        f"{_describe(side)} has no pupil_id: {KEEP_PUPIL}"
        for side, scope in sources.join_sides(root, {})
        if not sources.keeps(side, scope)
    ]
    if aggregated and not sources.keeps(root.get("from_table") or {}, _with_ctes(root, {})):
        problems.append(
            f"the outer FROM has no pupil_id: {KEEP_PUPIL} (select pupil_id in every CTE it reads)"
        )
    return problems


class _Sources:
    """Carry analysis with one answer per query node (CTEs read many times stay linear)."""

    def __init__(self) -> None:
        self.memo: dict[int, bool] = {}

    def keeps(self, ref: Node, scope: Scope) -> bool:
        """Whether every row of the table reference ``ref`` carries ``pupil_id``."""
        kind = ref.get("type")
        if kind == "BASE_TABLE":
            name = str(ref.get("table_name", "")).lower()
            return self.outputs(*scope[name]) if name in scope else True  # views carry it
        if kind == "SUBQUERY":
            return self.outputs(ref["subquery"]["node"], scope)
        if kind == "JOIN":
            return self.keeps(ref["left"], scope) and self.keeps(ref["right"], scope)
        return kind not in ("EMPTY", None)  # other kinds are refused by other rules

    def outputs(self, node: Node, scope: Scope) -> bool:
        """Whether the query ``node`` outputs ``pupil_id`` read from a source that has it."""
        if node.get("type") != "SELECT_NODE":
            return True  # set operations are refused by other rules
        if id(node) not in self.memo:
            inner = _with_ctes(node, scope)
            selected = any(column_name(i) == PUPIL or _star_keeps(i) for i in node["select_list"])
            self.memo[id(node)] = selected and self.keeps(node["from_table"], inner)
        return self.memo[id(node)]

    def join_sides(self, node: Node, scope: Scope) -> Iterator[tuple[Node, Scope]]:
        """Each side of each join in ``node``, its CTEs and FROM subqueries, with its scope."""
        if node.get("type") != "SELECT_NODE":
            return
        inner = _with_ctes(node, scope)
        for entry in _cte_entries(node):
            yield from self.join_sides(*inner[str(entry["key"]).lower()])
        yield from self._from_sides(node.get("from_table") or {}, inner)

    def _from_sides(self, ref: Node, scope: Scope) -> Iterator[tuple[Node, Scope]]:
        if ref.get("type") == "SUBQUERY":
            yield from self.join_sides(ref["subquery"]["node"], scope)
        elif ref.get("type") == "JOIN":
            for side in (ref["left"], ref["right"]):
                if side.get("type") != "JOIN":
                    yield side, scope
                yield from self._from_sides(side, scope)


def _cte_entries(node: Node) -> list[Node]:
    entries: list[Node] = (node.get("cte_map") or {}).get("map") or []
    return entries


def _with_ctes(node: Node, scope: Scope) -> Scope:
    """``scope`` plus the CTEs of ``node``; each CTE's body sees the CTEs before it."""
    out = dict(scope)
    for entry in _cte_entries(node):
        out[str(entry["key"]).lower()] = (entry["value"]["query"]["node"], dict(out))
    return out


def _star_keeps(item: Node) -> bool:
    if item.get("class") != "STAR":
        return False
    excluded = [str(c).lower() for c in item.get("exclude_list") or []]
    excluded += [str(q.get("column", "")).lower() for q in item.get("qualified_exclude_list") or []]
    return PUPIL not in excluded


def _describe(ref: Node) -> str:
    name = ref.get("alias") or ref.get("table_name")
    return f"table {str(name)!r}" if name else "a subquery in FROM"
