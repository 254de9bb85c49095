"""DuckDB's own parser as the single source of truth about a query's structure.

``parse`` turns SQL text into DuckDB's JSON syntax tree (``json_serialize_sql``) after
checking with ``duckdb.extract_statements`` that the text holds exactly one SELECT;
``render`` turns a (possibly rewritten) tree back into SQL (``json_deserialize_sql``).
Parsing never executes anything: it runs on a private in-memory connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any, TypeVar, cast

import duckdb

from hub.sandbox.errors import QueryRefused

T = TypeVar("T")

Node = dict[str, Any]


_LOCAL = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's parser connection (in-memory, no external access, never queried)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_LOCAL, "con", None)
    if con is None:
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        _LOCAL.con = con
    return con


def parse(sql: str) -> Node:
    """The SELECT node of ``sql``; raise ``QueryRefused`` unless it is exactly one SELECT."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"syntax error: {_first_line(exc)}", reasons=["syntax"]) from exc
    if len(statements) != 1:
        raise QueryRefused(
            f"exactly one statement is allowed, got {len(statements)}",
            reasons=["single-statement"],
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(
            f"only SELECT queries are allowed, got {kind.name}", reasons=["select-only"]
        )
    row = _connection().execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        detail = str(tree.get("error_message", "unparseable query"))
        raise QueryRefused(f"query refused by the parser: {detail}", reasons=["select-only"])
    node: Node = tree["statements"][0]["node"]
    return node


def render(node: Node) -> str:
    """SQL text for a SELECT node (inverse of :func:`parse`)."""
    doc = {"error": False, "statements": [{"node": node, "named_param_map": []}]}
    row = _connection().execute("SELECT json_deserialize_sql(?)", [json.dumps(doc)]).fetchone()
    assert row is not None
    return str(row[0])


def select_items(sql: str) -> list[Node]:
    """The select-list expressions of a trusted SQL snippet (a fresh copy each call)."""
    return clone(_template_items(sql))


def clone(tree: T) -> T:
    """A deep copy of a JSON tree (dicts, lists and scalars), several times cheaper than
    ``copy.deepcopy``: a tree is copied on every rewrite step, on each query's clock."""
    if isinstance(tree, dict):
        return cast(T, {key: clone(value) for key, value in tree.items()})
    if isinstance(tree, list):
        return cast(T, [clone(item) for item in tree])
    return tree


@cache
def _template_items(sql: str) -> list[Node]:
    items: list[Node] = parse(sql)["select_list"]
    return items


def walk(
    node: Any, key: str = "", parent: Node | None = None
) -> Iterator[tuple[Node, str, Node | None]]:
    """Every dict in the tree with the key it sits under and its parent dict."""
    if isinstance(node, dict):
        yield node, key, parent
        for k, v in node.items():
            yield from _walk_child(v, k, node)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key, parent)


def _walk_child(value: Any, key: str, parent: Node) -> Iterator[tuple[Node, str, Node | None]]:
    if isinstance(value, dict | list):
        yield from walk(value, key, parent)


def column_name(node: Node) -> str | None:
    """The (lower-case) column a COLUMN_REF names, ignoring its table qualifier."""
    if node.get("class") != "COLUMN_REF":
        return None
    names = node.get("column_names") or []
    return str(names[-1]).lower() if names else None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
