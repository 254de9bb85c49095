"""multipart/mixed bodies of the xAPI statement resource (statements with attachments).

Requests: the first part is the statement(s) as ``application/json``; each further part is
one attachment's raw content, with ``X-Experience-API-Hash`` (its SHA-2, hex) and
``Content-Transfer-Encoding: binary``. Responses to ``GET ?attachments=true`` use the
same layout. Malformed bodies raise :class:`connector.errors.BadRequest`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from connector.errors import BadRequest

_HASHES = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class Part:
    """One part of a multipart body: lower-cased header names and raw content."""

    headers: dict[str, str]
    content: bytes


def media_type(content_type: str) -> str:
    """The bare media type of a Content-Type header value, lower-cased."""
    return content_type.split(";", 1)[0].strip().lower()


def _boundary(content_type: str) -> bytes:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            return value.strip('"').encode("latin-1")
    raise BadRequest("Content-Type: multipart/mixed needs a boundary parameter")


def _headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"multipart: malformed part header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse(body: bytes, content_type: str) -> list[Part]:
    """Split a multipart/mixed body into its parts (at least one)."""
    delimiter = b"--" + _boundary(content_type)
    sections = body.split(delimiter)
    parts: list[Part] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        head, sep, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("multipart: a part lacks the blank line after its headers")
        parts.append(Part(_headers(head) if head else {}, content.removesuffix(b"\r\n")))
    else:
        raise BadRequest("multipart: the body does not end with the closing boundary")
    if not parts:
        raise BadRequest("multipart: the body holds no part")
    return parts


def sha2_of(content: bytes, like: str) -> str:
    """Hex SHA-2 of ``content`` with the digest size of the hex string ``like``."""
    algorithm = _HASHES.get(len(like))
    if algorithm is None:
        raise BadRequest(f"attachments: {like!r} is not a SHA-2 hex digest")
    return algorithm(content).hexdigest()


def build(first: bytes, attachments: Sequence[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed body: JSON ``first``, then ``(sha2, content_type, content)`` parts."""
    boundary = secrets.token_hex(16)
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), first]
    for sha2, content_type, content in attachments:
        head = (
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {sha2}\r\n\r\n"
        )
        chunks += [head.encode(), content]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'
