"""Static rules on a researcher's SELECT, checked on DuckDB's own syntax tree.

A query passes when it reads only the project's named views (and its own CTEs), calls no
file, catalog, setting or secret function, uses no set operation, subquery expression,
sample, column-alias list, positional (``#n``) or whole-row reference, joins only per-pupil
tables with ``JOIN ... USING (pupil_id)`` (``hub.sandbox.fromclause``), and touches
``pupil_id`` only to select it unchanged, group by it, count it or partition a window by it
(so every ``pupil_id`` the outer query sees is a real pupil). An aggregating outer query
reads a FROM that keeps ``pupil_id``. Unless the project may see rows, the outermost SELECT
must aggregate and must not output ``pupil_id``. Each broken rule is one reason of the
raised ``QueryRefused``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb

from hub.sandbox import fromclause
from hub.sandbox.errors import QueryRefused
from hub.sandbox.fromclause import PUPIL
from hub.sandbox.sqlast import Node, column_name, parse, walk

# Every function a query may call, at any level (anything else is refused by name):
# arithmetic, rounding, dates, bounded string tests, and aggregates that return one
# number (never a list, a string of many values, nor a map). None raises on a row's value
# (``ln``/``log`` raise on zero: off the list), so a failure cannot tell that a row exists.
SCALAR_FUNCTIONS = frozenset(
    {
        *("+", "-", "*", "/", "//", "%", "~~", "!~~", "~~*", "!~~*"),
        *("abs", "round", "floor", "ceil", "ceiling", "trunc", "sign", "sqrt", "cbrt"),
        *("exp", "pow", "power", "greatest", "least"),
        *("nullif", "ifnull", "isnan", "isinf", "isfinite"),
        *("date_trunc", "datetrunc", "date_part", "datepart", "date_diff", "datediff"),
        *("date_sub", "datesub", "time_bucket", "year", "month", "day", "week"),
        *("weekofyear", "yearweek", "dayofweek", "isodow", "dayofyear", "isoyear"),
        *("hour", "minute", "epoch", "last_day", "strftime"),
        *("lower", "upper", "length", "strlen", "contains", "starts_with", "prefix"),
        *("suffix", "ends_with"),
    }
)
AGGREGATE_FUNCTIONS = frozenset(
    {
        *("count", "count_star", "sum", "avg", "mean", "fsum", "sumkahan", "kahan_sum"),
        *("min", "max", "stddev", "stddev_samp", "stddev_pop", "var_samp", "var_pop"),
        *("variance", "median", "quantile", "quantile_cont", "quantile_disc", "mode"),
        *("bool_and", "bool_or", "any_value", "first", "last", "arg_min", "arg_max"),
        *("min_by", "max_by", "count_if", "countif", "approx_count_distinct"),
    }
)
WINDOW_FUNCTIONS = frozenset(
    {
        *("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile"),
        *("lag", "lead", "first_value", "last_value", "nth_value"),
    }
)
ALLOWED_FUNCTIONS = SCALAR_FUNCTIONS | AGGREGATE_FUNCTIONS | WINDOW_FUNCTIONS
# Expression classes and their allowed types (None: any type of that class).
ALLOWED_EXPRESSIONS: dict[str, frozenset[str] | None] = {
    "CONSTANT": None,
    "COLUMN_REF": None,
    "FUNCTION": None,
    "WINDOW": None,
    "STAR": None,
    "CASE": None,
    "CAST": None,
    "BETWEEN": None,
    "COMPARISON": None,
    "CONJUNCTION": None,
    "OPERATOR": frozenset(
        {
            "OPERATOR_NOT",
            "OPERATOR_IS_NULL",
            "OPERATOR_IS_NOT_NULL",
            "COMPARE_IN",
            "COMPARE_NOT_IN",
            "OPERATOR_COALESCE",
        }
    ),
}
CAST_TYPES = frozenset(
    {
        *("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE"),
        *("DECIMAL", "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "VARCHAR"),
    }
)
NUMBER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"}
)
COUNTS = frozenset({"count", "count_star"})
STATISTICS = frozenset(
    {
        "sum",
        "avg",
        "mean",
        "fsum",
        "sumkahan",
        "kahan_sum",
        "stddev",
        "stddev_samp",
        "stddev_pop",
        "var_samp",
        "var_pop",
        "variance",
        "sem",
    }
)
INDIVIDUAL = frozenset(
    {
        "min",
        "max",
        "arg_min",
        "arg_max",
        "argmin",
        "argmax",
        "min_by",
        "max_by",
        "first",
        "last",
        "any_value",
        "arbitrary",
        "median",
        "quantile",
        "quantile_cont",
        "quantile_disc",
        "mode",
        "mad",
        "approx_quantile",
        "reservoir_quantile",
    }
)
PUPIL_PARENTS = frozenset({"select_list", "group_expressions", "partitions"})


@cache
def aggregate_names() -> frozenset[str]:
    """Every aggregate function DuckDB knows (lower case)."""
    with duckdb.connect(":memory:") as con:
        rows = con.execute(
            "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
            "WHERE function_type = 'aggregate'"
        ).fetchall()
    return frozenset(r[0] for r in rows)


@dataclass(frozen=True)
class Aggregate:
    """One aggregate call of the outermost SELECT: its node and the item holding it."""

    item: int
    node: Node

    @property
    def name(self) -> str:
        return str(self.node.get("function_name", "")).lower()


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed the rules: its tree, what it touched, its outer aggregates."""

    node: Node
    tables: tuple[str, ...]
    views_named: tuple[str, ...]  # views a FROM names, under a CTE's name too (DuckDB
    # reads the view where a CTE's own body names it): the views the query needs
    columns: tuple[str, ...]
    aggregated: bool
    items: tuple[str, ...]
    aggregates: tuple[Aggregate, ...]

    def item_kind(self, index: int) -> str:
        """``key``, ``count``, ``statistic`` or ``individual`` for output column ``index``."""
        names = [a.name for a in self.aggregates if a.item == index]
        if not names:
            return "key"
        if any(n in INDIVIDUAL for n in names):
            return "individual"
        if _is_plain_count(self.node["select_list"][index]):
            return "count"
        return "statistic"


def check(sql: str, views: frozenset[str], *, row_level: bool) -> CheckedQuery:
    """Parse ``sql`` and apply every rule; raise ``QueryRefused`` listing broken rules."""
    node = parse(sql)
    ctes = _cte_names(node)
    relations = fromclause.relation_names(node)
    problems: list[str] = []
    tables: set[str] = set()
    columns: set[str] = set()
    for sub, key, parent in walk(node):
        problems += _node_problems(sub, key, parent, views | ctes, tables)
        name = column_name(sub)
        if name in relations and len(sub["column_names"]) == 1:
            problems.append(
                f"whole-row reference {name!r} is not allowed (a column may not share its name "
                "with a table or CTE): name its columns"
            )
        elif name:
            columns.add(name)
    aggregates = _outer_aggregates(node)
    aggregated = _is_aggregated(node, aggregates)
    problems += fromclause.pupil_problems(node, aggregated=aggregated)
    problems += _outer_problems(node, aggregates, aggregated, row_level)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise QueryRefused("; ".join(unique), reasons=unique)
    return CheckedQuery(
        node=node,
        tables=tuple(sorted(tables - ctes)),
        views_named=tuple(sorted(tables & views)),
        columns=tuple(sorted(columns)),
        aggregated=aggregated,
        items=tuple(_item_label(i) for i in node["select_list"]),
        aggregates=tuple(aggregates),
    )


def _cte_names(node: Node) -> frozenset[str]:
    names: set[str] = set()
    for sub, key, _ in walk(node):
        if key == "cte_map" and isinstance(sub.get("map"), list):
            names.update(str(entry["key"]).lower() for entry in sub["map"])
    return frozenset(names)


def _node_problems(
    node: Node, key: str, parent: Node | None, allowed: frozenset[str], tables: set[str]
) -> list[str]:
    kind = str(node.get("type", ""))
    klass = node.get("class")
    if klass is None and kind in _TABLE_REF_TYPES:
        return _table_problems(node, allowed, tables)
    if key == "map" and "value" in node and node["value"].get("aliases"):
        return ["column alias lists on CTEs are not allowed (name columns in the SELECT)"]
    if kind in ("SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"):
        return ["set operations and recursive CTEs are not allowed"]
    if kind == "SELECT_NODE" and len(node.get("group_sets", [])) > 1:
        # in a CTE, ROLLUP(pupil_id) would add a NULL pupil that counts towards k
        return ["GROUPING SETS, ROLLUP and CUBE are not supported: one query per level"]
    if klass == "SUBQUERY":
        return ["subquery expressions are not allowed (use a CTE and GROUP BY)"]
    if klass == "PARAMETER":
        return ["query parameters are not allowed"]
    if klass == "POSITIONAL_REFERENCE":
        return ["positional references (#n) are not allowed: name the column"]
    if klass is not None and not _allowed_expression(node):
        construct = str(node.get("type") or klass).lower().replace("_", " ")
        return [f"{construct} is not allowed in the sandbox"]
    if klass in ("FUNCTION", "WINDOW"):
        return _function_problems(node)
    if klass == "CAST" and node["cast_type"].get("id") not in CAST_TYPES:
        return [f"cast to {str(node['cast_type'].get('id')).lower()} is not allowed"]
    if klass == "STAR":
        return _star_problems(node)
    if klass in ("COMPARISON", "BETWEEN", "OPERATOR"):
        return _implicit_cast_problems(node)
    if klass == "COLUMN_REF":
        return _pupil_problems(node, key, parent)
    if node.get("alias", "").lower() == PUPIL and klass is not None:
        return [f"only the {PUPIL} column itself may be named {PUPIL}"]
    return []


_TABLE_REF_TYPES = frozenset(
    {
        "BASE_TABLE",
        "TABLE_FUNCTION",
        "JOIN",
        "SUBQUERY",
        "EXPRESSION_LIST",
        "EMPTY",
        "PIVOT",
        "SHOW_REF",
        "COLUMN_DATA",
        "DELIM_GET",
        "CTE",
    }
)


def _table_problems(node: Node, allowed: frozenset[str], tables: set[str]) -> list[str]:
    kind = node["type"]
    problems = []
    if node.get("column_name_alias"):
        problems.append("column alias lists on tables are not allowed")
    if node.get("sample"):
        problems.append("TABLESAMPLE is not allowed")
    if kind == "BASE_TABLE":
        name = str(node.get("table_name", "")).lower()
        qualified = node.get("schema_name") or node.get("catalog_name")
        if qualified or name not in allowed or node.get("at_clause"):
            problems.append(f"unknown table {name!r}: only the project's views can be read")
        tables.add(name)
    elif kind == "TABLE_FUNCTION":
        problems.append("table functions (read_*, glob, range, ...) are not allowed")
    elif kind == "JOIN":
        problems += fromclause.join_problems(node)
    elif kind not in ("SUBQUERY", "EMPTY"):
        problems.append(f"{kind.lower()} in FROM is not allowed")
    return problems


def _allowed_expression(node: Node) -> bool:
    klass = str(node["class"])
    if klass not in ALLOWED_EXPRESSIONS:
        return False
    types = ALLOWED_EXPRESSIONS[klass]
    return types is None or str(node.get("type")) in types


def _function_problems(node: Node) -> list[str]:
    name = str(node.get("function_name", "")).lower()
    if node.get("schema") or node.get("catalog"):
        return [f"qualified function {name!r} is not allowed"]
    if name not in ALLOWED_FUNCTIONS:
        return [f"function {name!r} is not allowed in the sandbox (not on its allowlist)"]
    if node.get("alias", "").lower() == PUPIL:
        return [f"only the {PUPIL} column itself may be named {PUPIL}"]
    if node.get("class") == "WINDOW" and not any(
        column_name(p) == PUPIL for p in node.get("partitions", [])
    ):
        return [f"window function {name!r} must be partitioned by {PUPIL} (one pupil's rows)"]
    return []


def _implicit_cast_problems(node: Node) -> list[str]:
    """A text expression compared with a number (``=``, ``IN``, ``BETWEEN``...) is
    converted by DuckDB and fails on a row whose text is not a number: that failure
    would tell that such a row exists. Refused where the text side is visible in the
    tree (a text constant, or a CASE with a text branch); other conversion failures are
    covered by how failed runs are released (docs/sandbox.md)."""
    operands = [node.get(k) for k in ("left", "right", "input", "lower", "upper")]
    operands += node.get("children") or []
    present = [o for o in operands if isinstance(o, dict)]
    if any(map(_is_text, present)) and any(map(_is_number, present)):
        return ["a text value compared with a number is not allowed (it fails on some rows): "
                "compare with a text constant, or convert with TRY_CAST"]  # fmt: skip
    return []


def _constant_type(node: Node) -> str:
    if node.get("class") != "CONSTANT":
        return ""
    return str(node["value"]["type"]["id"])


def _is_text(node: Node) -> bool:
    if node.get("class") == "CASE":
        branches = [c["then_expr"] for c in node["case_checks"]] + [node["else_expr"]]
        return any(map(_is_text, branches))
    return _constant_type(node) == "VARCHAR"


def _is_number(node: Node) -> bool:
    return _constant_type(node) in NUMBER_TYPES


def _star_problems(node: Node) -> list[str]:
    if node.get("replace_list") or node.get("rename_list") or node.get("columns"):
        return ["SELECT * with REPLACE, RENAME or COLUMNS(...) is not allowed"]
    if node.get("expr") or node.get("alias"):
        return ["COLUMNS(...) expressions are not allowed"]
    return []


def _pupil_problems(node: Node, key: str, parent: Node | None) -> list[str]:
    name = column_name(node)
    alias = str(node.get("alias", "")).lower()
    if name != PUPIL:
        return [f"only the {PUPIL} column itself may be named {PUPIL}"] if alias == PUPIL else []
    if alias not in ("", PUPIL):
        return [f"{PUPIL} may not be renamed"]
    counted = parent is not None and key == "children" and parent.get("function_name") in COUNTS
    if key in PUPIL_PARENTS or counted:
        return []
    return [
        f"{PUPIL} may only be selected as is, grouped by, counted or used in PARTITION BY "
        "(never filtered, compared or transformed)"
    ]


def _outer_aggregates(node: Node) -> list[Aggregate]:
    names = aggregate_names()
    found = []
    for index, item in enumerate(node.get("select_list", [])):
        for sub in _walk_no_window(item):
            if sub.get("class") == "FUNCTION" and str(sub["function_name"]).lower() in names:
                found.append(Aggregate(index, sub))
    return found


def _walk_no_window(item: Node) -> list[Node]:
    """``item`` and its sub-expressions, not descending into window functions."""
    if item.get("class") == "WINDOW":
        return []
    out = [item]
    for value in item.values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, dict) and "class" in child:
                out += _walk_no_window(child)
    return out


def _is_aggregated(node: Node, aggregates: list[Aggregate]) -> bool:
    forced = node.get("aggregate_handling") == "FORCE_AGGREGATES"
    return bool(node.get("group_expressions") or aggregates or forced)


def _outer_problems(
    node: Node, aggregates: list[Aggregate], aggregated: bool, row_level: bool
) -> list[str]:
    if node.get("type") != "SELECT_NODE":
        return []
    problems = []
    for item in node.get("select_list", []):
        if column_name(item) == PUPIL or item.get("class") == "STAR":
            problems.append(f"{PUPIL} is a pseudonym and is never released; list the columns")
    if row_level:
        return problems
    if not aggregated:
        problems.append(
            "row-level output is not allowed for this project: aggregate with GROUP BY "
            "(e.g. SELECT school_id, count(DISTINCT pupil_id) ... GROUP BY school_id)"
        )
    if any(column_name(g) == PUPIL for g in node.get("group_expressions", [])):
        problems.append(f"grouping the released output by {PUPIL} would release single pupils")
    if any(_walk_has_window(i) for i in node.get("select_list", [])):
        problems.append("window functions are not allowed in the outermost SELECT")
    for agg in aggregates:
        if agg.name not in COUNTS | STATISTICS | INDIVIDUAL:
            problems.append(f"aggregate {agg.name!r} cannot be released (it lists values)")
    return problems


def _walk_has_window(item: Node) -> bool:
    return any(sub.get("class") == "WINDOW" for sub, _, _ in walk(item))


def _is_plain_count(item: Node) -> bool:
    return item.get("class") == "FUNCTION" and str(item.get("function_name")).lower() in COUNTS


def _item_label(item: Node) -> str:
    alias = str(item.get("alias") or "")
    return alias or column_name(item) or str(item.get("function_name") or "")
