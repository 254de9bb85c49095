"""Matching the attachment parts of a request to the statements that declare them.

Every declared attachment without a ``fileUrl`` must come as a part whose
``X-Experience-API-Hash`` equals its ``sha2``; every part must be declared; a part's
content must hash to its header; signature attachments are checked
(``connector.xapi.signature``). Failures raise :class:`connector.errors.BadRequest`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.errors import BadRequest
from connector.spool import Attachment
from connector.xapi import multipart, signature
from connector.xapi.multipart import Part


def declared(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The attachments a statement declares, its SubStatement's included."""
    yield from statement.get("attachments") or ()
    obj = statement["object"]
    if obj.get("objectType") == "SubStatement":
        yield from obj.get("attachments") or ()


def _declared(statements: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for statement in statements:
        for attachment in declared(statement):
            yield statement, attachment


def _parts_by_hash(parts: list[Part]) -> dict[str, Part]:
    by_hash: dict[str, Part] = {}
    for n, part in enumerate(parts, start=1):
        sha2 = part.headers.get("x-experience-api-hash", "").lower()
        if not sha2:
            raise BadRequest(f"multipart: part {n} lacks the X-Experience-API-Hash header")
        if part.headers.get("content-transfer-encoding", "").lower() != "binary":
            raise BadRequest(f"multipart: part {n} needs Content-Transfer-Encoding: binary")
        if multipart.sha2_of(part.content, sha2) != sha2:
            raise BadRequest(f"multipart: part {n} content does not match its hash {sha2}")
        by_hash[sha2] = part
    return by_hash


def collect(statements: list[dict[str, Any]], parts: list[Part]) -> list[Attachment]:
    """Attachments to store for ``statements`` given the request's attachment ``parts``."""
    by_hash = _parts_by_hash(parts)
    used: dict[str, Attachment] = {}
    for statement, declared in _declared(statements):
        sha2 = str(declared["sha2"]).lower()
        part = by_hash.get(sha2)
        if part is None:
            if "fileUrl" in declared:
                continue
            raise BadRequest(f"attachments: no part carries the content of sha2 {sha2}")
        if signature.is_signature(declared):
            signature.check(statement, declared, part.content)
        content_type = part.headers.get("content-type", declared["contentType"])
        used[sha2] = Attachment(sha2, content_type, part.content)
    unused = set(by_hash) - set(used)
    if unused:
        raise BadRequest(f"multipart: parts not declared by any statement: {sorted(unused)}")
    return list(used.values())
