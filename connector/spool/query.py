"""SQL for the xAPI statement query (``GET /xapi/statements`` with filters).

Non-time filters also match a statement whose StatementRef object targets a matching
statement (recursively), as the specification requires; voided statements are never
returned. Results come in ``seq`` order (the order statements were stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.spool.index import key_hash


@dataclass(frozen=True)
class StatementQuery:
    """A parsed statement query; ``agent`` is an IFI key (``connector.spool.index``).

    ``after_seq`` continues a previous page (exclusive bound in the page direction);
    ``max_seq`` pins the snapshot the first page saw, so pages never shift.
    """

    agent: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_agents: bool = False
    related_activities: bool = False
    since: str | None = None
    until: str | None = None
    ascending: bool = False
    limit: int = 100
    after_seq: int | None = None
    max_seq: int | None = None


def _index_filter(kind: str, key: str, related: bool) -> tuple[str, list[Any]]:
    broad = "" if related else " AND broad = 0"
    sql = f"seq IN (SELECT seq FROM statement_index WHERE key_hash = ?{broad})"  # noqa: S608
    return sql, [key_hash(kind, key)]


def _match_filters(q: StatementQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for kind, key, related in (
        ("verb", q.verb, False),
        ("registration", q.registration and q.registration.lower(), False),
        ("agent", q.agent, q.related_agents),
        ("activity", q.activity, q.related_activities),
    ):
        if key is not None:
            sql, args = _index_filter(kind, key, related)
            where.append(sql)
            params.extend(args)
    return where, params


def _window_filters(q: StatementQuery) -> tuple[list[str], list[Any]]:
    where = ["voided = 0"]
    params: list[Any] = []
    for sql, value in (
        ("stored > ?", q.since),
        ("stored <= ?", q.until),
        ("seq <= ?", q.max_seq),
    ):
        if value is not None:
            where.append(sql)
            params.append(value)
    if q.after_seq is not None:
        where.append("seq > ?" if q.ascending else "seq < ?")
        params.append(q.after_seq)
    return where, params


def build_query(q: StatementQuery) -> tuple[str, list[Any]]:
    """SQL and parameters selecting ``(seq, body)`` of at most ``limit + 1`` statements."""
    match, match_params = _match_filters(q)
    window, window_params = _window_filters(q)
    prefix = ""
    if match:
        prefix = (
            "WITH RECURSIVE m(id) AS (SELECT id FROM statements WHERE "  # noqa: S608
            + " AND ".join(match)
            + " UNION SELECT t.id FROM statements t JOIN m ON t.ref_id = m.id) "
        )
        window.append("id IN (SELECT id FROM m)")
    order = "ASC" if q.ascending else "DESC"
    sql = (
        f"{prefix}SELECT seq, body FROM statements WHERE {' AND '.join(window)}"  # noqa: S608
        f" ORDER BY seq {order} LIMIT ?"
    )
    return sql, [*match_params, *window_params, q.limit + 1]
