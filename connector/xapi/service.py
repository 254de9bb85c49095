"""The LRS behaviour behind the HTTP routes: store, fetch and query statements.

``Lrs.store`` validates, checks attachments and signatures, fills ``id``, ``stored``,
``authority``, ``version`` and ``timestamp`` as the specification says, and returns only
once the spool made the statements durable. It raises the ``connector.errors`` tree.
"""

from __future__ import annotations

import uuid
from typing import Any

from connector.config import XapiSettings
from connector.errors import BadRequest, NotFound
from connector.spool import Spool, SpooledStatement, StatementQuery
from connector.spool.clock import now_iso
from connector.xapi import attachments
from connector.xapi.multipart import Part
from connector.xapi.validation import validate_statements


def _with_listed_activities(holder: dict[str, Any]) -> dict[str, Any]:
    """``holder`` whose ``context.contextActivities`` values are all arrays."""
    context: dict[str, Any] = holder.get("context") or {}
    activities = context.get("contextActivities")
    if not activities or all(isinstance(v, list) for v in activities.values()):
        return holder
    listed = {k: v if isinstance(v, list) else [v] for k, v in activities.items()}
    return {**holder, "context": {**context, "contextActivities": listed}}


def _listed_context_activities(statement: dict[str, Any]) -> dict[str, Any]:
    """Single context activities become arrays of one, as the LRS must return them."""
    statement = _with_listed_activities(statement)
    obj = statement["object"]
    if obj.get("objectType") == "SubStatement":
        statement = {**statement, "object": _with_listed_activities(obj)}
    return statement


class Lrs:
    """Statement resource logic over a :class:`Spool`."""

    def __init__(self, spool: Spool, settings: XapiSettings) -> None:
        self.spool = spool
        self.settings = settings
        self.authority = {
            "objectType": "Agent",
            "account": {"homePage": settings.public_url, "name": settings.key},
        }

    def store(self, statements: list[Any], parts: list[Part], version: str) -> list[str]:
        """Validate and durably store ``statements`` (all or none); return their ids."""
        validate_statements(statements, version)
        stored_attachments = attachments.collect(statements, parts)
        stored = now_iso()
        filled_version = "2.0.0" if version.startswith("2.") else "1.0.0"
        prepared: list[dict[str, Any]] = []
        for statement in statements:
            item = {"timestamp": stored, "version": filled_version, **statement}
            item.update(stored=stored, authority=self.authority)
            if "id" not in item:
                item["id"] = str(uuid.uuid4())
            prepared.append(_listed_context_activities(item))
        return self.spool.append(prepared, stored_attachments)

    def put(self, statement_id: str, statement: Any, parts: list[Part], version: str) -> None:
        """Store one statement under ``statement_id`` (``PUT ?statementId=``)."""
        if not isinstance(statement, dict):
            raise BadRequest("body: PUT takes a single statement object")
        declared = statement.get("id")
        if declared is not None and str(declared).lower() != statement_id.lower():
            raise BadRequest("id: differs from the statementId parameter")
        self.store([{**statement, "id": statement_id}], parts, version)

    def get(self, statement_id: str, voided: bool) -> SpooledStatement:
        """The statement by id; ``voided`` selects ``voidedStatementId`` semantics."""
        found = self.spool.get(statement_id)
        if found is None or found.voided != voided:
            kind = "voided statement" if voided else "statement"
            raise NotFound(f"no {kind} with id {statement_id}")
        return found

    def query(self, query: StatementQuery) -> tuple[list[SpooledStatement], int | None]:
        """A page of matching statements and the ``seq`` to continue after (or ``None``)."""
        rows = self.spool.query(query)
        if len(rows) <= query.limit:
            return rows, None
        page = rows[: query.limit]
        return page, page[-1].seq
