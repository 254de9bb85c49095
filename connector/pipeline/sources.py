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

    JSON Lines stream line by line (memory flat in file size); a JSON array is read whole.
    Blank lines are skipped but counted; a line that is not JSON yields a non-dict marker
    that validation rejects with its position.
    """
    with open_source(path) as fh:
        is_array = _first_char(fh) == b"["
    with open_source(path) as fh:
        if is_array:
            values = orjson.loads(fh.read())
            items: Iterator[Any] = iter(values if isinstance(values, list) else [values])
        else:
            items = (_parse(line) for line in fh)
        for position, statement in enumerate(items, start=1):
            if position > after and statement is not None:
                yield position, statement


def _parse(line: bytes) -> Any:
    if not line.strip():
        return None
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _NOT_JSON
