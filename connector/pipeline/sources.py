"""Statement sources for ``push FILE``: JSON Lines or a JSON array, optionally gzipped."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import orjson

_NOT_JSON = object()


def open_source(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    return cast(IO[bytes], gzip.open(path, "rb")) if magic == b"\x1f\x8b" else path.open("rb")


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes: the identity of a pushed file (resumable by content)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _first_char(fh: IO[bytes]) -> bytes:
    while True:
        ch = fh.read(1)
        if not ch or not ch.isspace():
            return ch


def read_statements(path: Path, after: int = 0) -> Iterator[tuple[int, Any]]:
    """Yield ``(position, statement)`` with 1-based positions, skipping the first ``after``.

    JSON Lines stream a block at a time (memory flat in file size); a JSON array is read
    whole. Blank lines (and ``null``) are skipped but counted; a line that is not JSON
    yields a non-dict marker that validation rejects with its position. Lines up to
    ``after`` are not parsed.
    """
    with open_source(path) as fh:
        is_array = _first_char(fh) == b"["
    with open_source(path) as fh:
        if is_array:
            values = orjson.loads(fh.read())
            items = values if isinstance(values, list) else [values]
            for position, statement in enumerate(items, start=1):
                if position > after and statement is not None:
                    yield position, statement
            return
        for position, line in enumerate(_lines(fh), start=1):
            if position <= after or not line or line.isspace():
                continue
            try:
                statement = orjson.loads(line)
            except orjson.JSONDecodeError:
                statement = _NOT_JSON
            if statement is not None:  # a line ``null`` is skipped as a blank one
                yield position, statement


_BLOCK = 1 << 20
"""Bytes read at a time from a JSON Lines file."""


def _lines(fh: IO[bytes]) -> Iterator[bytes]:
    """The file's lines without their ``\\n`` (a last line without one too), split from
    blocks of :data:`_BLOCK` bytes: one ``split`` per block instead of a ``readline`` call
    per line (a Python method for gzip). A line longer than a block is joined once whole."""
    pending: list[bytes] = []
    while block := fh.read(_BLOCK):
        lines = block.split(b"\n")
        if len(lines) == 1:
            pending.append(block)
            continue
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
        pending = [lines.pop()]
        yield from lines
    last = b"".join(pending)
    if last:
        yield last
