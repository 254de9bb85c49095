"""A client that disconnects in the middle of an upload (a real socket closed half-way
through the body of a granted upload, against the hub under uvicorn) is logged as a
disconnect, stores nothing, and is not an unhandled server error."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.support.ingest_batches import presigned
from tests.support.ingest_fixtures import IngestSetup


def test_a_disconnect_during_an_upload_is_logged_as_such(
    sqlite_ingest: IngestSetup, caplog: pytest.LogCaptureFixture
) -> None:
    upload = presigned(sqlite_ingest).grant["uploads"][0]
    target = urlsplit(upload["url"])
    host, port = target.hostname or "127.0.0.1", target.port or 80
    caplog.set_level(logging.INFO, logger="hub")
    with socket.create_connection((host, port)) as conn:
        head = (
            f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
        )
        conn.sendall(head.encode() + b"x" * 65536)
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _said(caplog, "client disconnected"):
        time.sleep(0.1)
    assert _said(caplog, "client disconnected")
    assert not _said(caplog, "unhandled error")
    store = sqlite_ingest.ctx.store
    assert store is not None and store.size(upload["key"]) is None


def _said(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
