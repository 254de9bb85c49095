"""A client that disconnects in the middle of an upload (a real socket closed half-way
through the body, against the hub under uvicorn) is logged as a disconnect, stores
nothing, and is not an unhandled server error."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hub.storage.local import LocalStore
from tests.support.browser import free_port, serve
from tests.support.factories import make_context


def test_a_disconnect_during_an_upload_is_logged_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path)
    store = ctx.store
    assert isinstance(store, LocalStore)
    key = "quarantine/c1/batch-1/part-0.jsonl"
    target = urlsplit(store.presign_put(key, 60).url)
    port = free_port()
    caplog.set_level(logging.INFO, logger="hub")
    with serve(ctx, port):
        with socket.create_connection(("127.0.0.1", port)) as conn:
            head = (
                f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
            )
            conn.sendall(head.encode() + b"x" * 65536)
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _said(caplog, "client disconnected"):
            time.sleep(0.1)
    assert _said(caplog, "client disconnected")
    assert not _said(caplog, "unhandled error")
    assert store.size(key) is None
    ctx.engine.dispose()


def _said(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
