"""The cluster harness's S3 stand-in (``tests/cluster/s3.py``) comes back from ``kill -9``
with exactly what it acknowledged, in the order the writes took effect.

Oracle: the objects a client read back from the live server before the kill. Concurrent
conditional writes to one key (the broker's watermark pattern: read the ETag, put with
``If-Match``) are the case a journal recorded before serving got wrong: its order was the
arrival order, not the order the writes took effect, and refused writes were replayed.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.browser import free_port
from tests.support.processes import serving

BUCKET = "journal"


def stand_in(journal: Path, port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "tests.cluster.s3", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    return serving([*command, "--journal", str(journal)], dict(os.environ), url, 60, 0.1)


def _client(port: int) -> object:
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


def _bump(s3: object, key: str) -> int:
    """Read the counter at ``key`` and write it plus one (with a mark of this attempt) if
    nobody wrote meanwhile; how many writes were refused before one succeeded."""
    refused = 0
    while True:
        got = s3.get_object(Bucket=BUCKET, Key=key)  # type: ignore[attr-defined]
        value = int(got["Body"].read().split()[0])
        body = f"{value + 1} {uuid.uuid4()}".encode()  # each attempt its own bytes and ETag
        try:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body, IfMatch=got["ETag"])  # type: ignore[attr-defined]
            return refused
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("PreconditionFailed", "412"):
                raise
            refused += 1


def test_a_killed_stand_in_comes_back_with_what_it_acknowledged(tmp_path: Path) -> None:
    journal, port = tmp_path / "journal.jsonl", free_port()
    with stand_in(journal, port) as proc:
        s3 = _client(port)
        s3.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        s3.put_object(Bucket=BUCKET, Key="counter", Body=b"0")  # type: ignore[attr-defined]
        with ThreadPoolExecutor(8) as pool:
            refused = sum(pool.map(lambda _: _bump(s3, "counter"), range(200)))
        s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")  # type: ignore[attr-defined]
        s3.delete_object(Bucket=BUCKET, Key="gone")  # type: ignore[attr-defined]
        before = s3.get_object(Bucket=BUCKET, Key="counter")["Body"].read()  # type: ignore[attr-defined]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert before.split()[0] == b"200"
    assert refused > 0, "the writes did not race: the test proves nothing"
    with stand_in(journal, port):
        s3 = _client(port)
        after = s3.get_object(Bucket=BUCKET, Key="counter")["Body"].read()  # type: ignore[attr-defined]
        listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])  # type: ignore[attr-defined]
    assert after == before
    assert [o["Key"] for o in listed] == ["counter"]


def test_a_delete_without_a_body_is_answered_on_a_kept_alive_connection(tmp_path: Path) -> None:
    """The MinIO client's DELETE carries no ``Content-Length``; the stand-in read its
    "body" to the end of the stream, so the answer waited for the client's 300 s read
    timeout (found by the cluster harness: the connectors' ``ship`` runs and the hubs'
    erasures of unverified uploads stalled for five minutes)."""
    port = free_port()
    with stand_in(tmp_path / "journal.jsonl", port):
        s3 = _client(port)
        s3.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")  # type: ignore[attr-defined]
        url = s3.generate_presigned_url(  # type: ignore[attr-defined]
            "delete_object", Params={"Bucket": BUCKET, "Key": "gone"}
        )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            path = url.split(str(port), 1)[1]
            connection.request("DELETE", path)  # no Content-Length header
            assert connection.getresponse().status == 204
        finally:
            connection.close()
        with pytest.raises(ClientError):
            s3.head_object(Bucket=BUCKET, Key="gone")  # type: ignore[attr-defined]
