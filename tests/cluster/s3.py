"""``python -m tests.cluster.s3 --port P --journal FILE``: the harness's S3 server, a moto
server that survives ``kill -9``.

moto keeps its objects in memory. This one writes every request to ``FILE`` (moto's
recorder, one JSON line a request, under a lock so concurrent requests do not interleave)
before serving it, and when started again replays the recorded writes (PUT, POST,
DELETE, in order) into its memory before it listens: what the killed server acknowledged
is there again (a write it received but did not acknowledge may be there too, as on a
disk). It stands in for MinIO's disks; it is not MinIO.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
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


def _record_under_lock() -> None:
    """Record every request from now on, one whole line at a time."""
    from moto.moto_api import recorder

    lock, record = threading.Lock(), recorder._record_request

    def locked(*args: Any, **kwargs: Any) -> None:
        with lock:
            record(*args, **kwargs)

    recorder._record_request = locked  # type: ignore[method-assign]
    recorder.start_recording()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.s3", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args()
    os.environ["MOTO_RECORDER_FILEPATH"] = str(args.journal)
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    replayed = replay(args.journal, app)
    print(f"s3: replayed {replayed} recorded writes", flush=True)
    _record_under_lock()
    server = make_server(
        "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
