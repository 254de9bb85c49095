"""Documents of the xAPI document resources (state, activity profile, agent profile).

A document is addressed by ``(resource, scope, doc_id)``; ``scope`` encodes the owner
(activity id, agent IFI key, registration). Each write gets a new ETag (quoted SHA-1 of
the content). Preconditions are checked inside the write transaction, so concurrent
writers cannot both pass an ``If-Match`` on the same version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from connector.errors import PreconditionFailed
from connector.spool.store import Spool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    resource TEXT NOT NULL,
    scope TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    etag TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (resource, scope, doc_id)
)
"""


@dataclass(frozen=True)
class Document:
    """A stored document with its concurrency token and modification time (ISO, UTC)."""

    content_type: str
    content: bytes
    etag: str
    updated: str


@dataclass(frozen=True)
class Preconditions:
    """``If-Match`` / ``If-None-Match`` header values (``None`` when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None

    def check(self, current: Document | None) -> None:
        """Raise ``PreconditionFailed`` unless the headers hold for ``current``."""
        if self.if_match is not None and (
            current is None or not _matches(self.if_match, current.etag)
        ):
            raise PreconditionFailed("If-Match: the document changed or does not exist")
        none_match = self.if_none_match
        if none_match is not None and current is not None and _matches(none_match, current.etag):
            raise PreconditionFailed("If-None-Match: the document already exists")


@dataclass(frozen=True)
class Scope:
    """The owners of a set of documents: exactly ``value``, or every scope under a prefix."""

    value: str
    prefix: bool = False

    def where(self) -> tuple[str, tuple[object, ...]]:
        """SQL condition and parameters selecting this scope."""
        if self.prefix:
            return "substr(scope, 1, ?) = ?", (len(self.value), self.value)
        return "scope = ?", (self.value,)


def _matches(header: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags or etag.strip('"') in tags


def etag_of(content: bytes) -> str:
    """The quoted ETag of a content."""
    return '"' + hashlib.sha1(content, usedforsecurity=False).hexdigest() + '"'


class DocumentStore:
    """Documents kept in the spool's database (see module docstring)."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        with spool.transaction() as db:
            db.execute(_SCHEMA)

    def get(self, resource: str, scope: str, doc_id: str) -> Document | None:
        """The document, or ``None``."""
        row = self.spool.fetch_one(
            "SELECT content_type, content, etag, updated FROM documents"
            " WHERE resource = ? AND scope = ? AND doc_id = ?",
            (resource, scope, doc_id),
        )
        return None if row is None else Document(row[0], bytes(row[1]), row[2], row[3])

    def ids(self, resource: str, scope: Scope, since: str | None) -> list[str]:
        """Ids of the documents of ``scope`` updated after ``since``."""
        where, args = scope.where()
        rows = self.spool.fetch_all(
            f"SELECT doc_id FROM documents WHERE resource = ? AND {where}"  # noqa: S608
            " AND updated > ? ORDER BY doc_id",
            (resource, *args, since or ""),
        )
        return [r[0] for r in rows]

    def write(
        self,
        key: tuple[str, str, str],
        build: Callable[[Document | None], tuple[str, bytes]],
        preconditions: Preconditions,
        updated: str,
    ) -> Document:
        """Atomically check ``preconditions`` and store ``build(current)``; return it."""
        resource, scope, doc_id = key
        with self.spool.transaction() as db:
            current = self.get(resource, scope, doc_id)
            preconditions.check(current)
            content_type, content = build(current)
            document = Document(content_type, content, etag_of(content), updated)
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?)",
                (resource, scope, doc_id, content_type, content, document.etag, updated),
            )
        return document

    def delete_all(self, resource: str, scope: Scope) -> None:
        """Delete every document of ``scope``."""
        where, args = scope.where()
        with self.spool.transaction() as db:
            db.execute(f"DELETE FROM documents WHERE resource = ? AND {where}", (resource, *args))  # noqa: S608

    def delete(self, key: tuple[str, str, str], preconditions: Preconditions) -> None:
        """Delete one document if ``preconditions`` hold (no error when it is absent)."""
        resource, scope, doc_id = key
        with self.spool.transaction() as db:
            preconditions.check(self.get(resource, scope, doc_id))
            db.execute(
                "DELETE FROM documents WHERE resource = ? AND scope = ? AND doc_id = ?",
                (resource, scope, doc_id),
            )
