"""``python -m tests.cluster.s3 --port P --journal FILE``: the harness's S3 server, a moto
server that survives ``kill -9``.

moto keeps its objects in memory. This one serves writes (PUT, POST, DELETE) one at a time
and appends each write that succeeded (2xx) to ``FILE``, one JSON line, before its answer
leaves; when started again it replays the journal into its memory before it listens. So
the journal's order is the order the writes took effect, and it holds exactly the writes
a client may have seen acknowledged: conditional writes (``If-Match``, as the broker's
storage uses) replay to the same outcome, and a write refused or cut by a kill is not
replayed. It stands in for MinIO's disks; it is not MinIO.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WRITES = frozenset({"PUT", "POST", "DELETE"})
DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding"})


def complete_entries(journal: Path) -> Iterator[dict[str, Any]]:
    """The recorded requests; a last line cut by a kill is dropped from the file."""
    if not journal.exists():
        return
    data = journal.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        journal.write_bytes(complete)
    for line in complete.splitlines():
        yield json.loads(line)


def replay(journal: Path, app: Callable[..., Any]) -> int:
    """Send every recorded write to the WSGI ``app`` (moto's); how many were replayed."""
    from werkzeug.test import Client

    client, count = Client(app), 0
    for entry in complete_entries(journal):
        if entry["method"] not in WRITES:
            continue
        body = entry.get("body") or b""
        if entry.get("body_encoded"):
            body = base64.b64decode(body)
        url = urlsplit(entry["url"])
        headers = {k: v for k, v in entry["headers"].items() if k.lower() not in DROPPED_HEADERS}
        client.open(
            url.path,
            method=entry["method"],
            query_string=url.query,
            headers=headers,
            data=body,
            base_url=f"{url.scheme}://{url.netloc}",
        )
        count += 1
    return count


class JournaledApp:
    """moto's WSGI app with its writes serialised and journaled once they succeed."""

    def __init__(self, app: Callable[..., Any], journal: Path) -> None:
        self._app, self._lock = app, threading.Lock()
        self._journal = journal.open("ab")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] not in WRITES:
            return self._app(environ, start_response)
        body = _read_body(environ)
        with self._lock:
            status, headers, chunks = _serve(self._app, environ)
            if status.startswith("2"):
                self._append(_entry(environ, body))
        start_response(status, headers)
        return chunks

    def _append(self, entry: dict[str, Any]) -> None:
        self._journal.write(json.dumps(entry).encode() + b"\n")
        self._journal.flush()


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request's whole body, put back as the input the app reads. A request with
    neither ``Content-Length`` nor a chunked body has none (a DELETE, usually): reading
    to the end of the stream would wait for the client to close its kept-alive connection."""
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def _serve(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[str, list[Any], list[bytes]]:
    """Run ``app`` to the end: its status, headers and whole answer."""
    answer: list[Any] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        answer[:] = [status, headers]

    result = app(environ, start_response)
    try:
        chunks = list(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answer[0], answer[1], chunks


def _entry(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    from werkzeug.datastructures import EnvironHeaders

    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
    return {
        "method": environ["REQUEST_METHOD"],
        "url": f"{environ['wsgi.url_scheme']}://{host}{path}",
        "headers": dict(EnvironHeaders(environ)),
        "body": base64.b64encode(body).decode("ascii"),
        "body_encoded": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.s3", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    replayed = replay(args.journal, app)
    print(f"s3: replayed {replayed} recorded writes", flush=True)
    journaled = JournaledApp(app, args.journal)
    server = make_server(
        "127.0.0.1", args.port, journaled, threaded=True, request_handler=MotoRequestHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
