"""Conformance hardening of attachments: the multipart layout the ADL LRS conformance test
suite sends (CRLF, a boundary starting with dashes, Content-Disposition headers), and
SubStatement attachments served back by ``GET ?attachments=true``."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi.testclient import TestClient

from connector.spool import Spool
from connector.xapi import multipart

BOUNDARY = "-------314159265358979323846"
TEXTS = (b"here is a simple attachment", b"here is another simple attachment")


def declared(content: bytes) -> dict[str, Any]:
    return {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
    }


def statement(*contents: bytes) -> dict[str, Any]:
    return {
        "actor": {"objectType": "Agent", "mbox": "mailto:sample.agent@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "http://www.example.com/tincan/activities/multipart"},
        "attachments": [declared(c) for c in contents],
    }


def part(content: bytes, hash_header: str = "X-Experience-API-Hash: ") -> bytes:
    head = (
        'Content-Disposition: attachment; filename="text_data.txt"\r\n'
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
        f"{hash_header}{hashlib.sha256(content).hexdigest()}\r\n\r\n"
    )
    return head.encode() + content


def suite_body(first: dict[str, Any], parts: list[bytes]) -> bytes:
    chunks = [f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode()]
    chunks.append(orjson.dumps(first))
    for item in parts:
        chunks += [f"\r\n--{BOUNDARY}\r\n".encode(), item]
    chunks.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def post(client: TestClient, body: bytes) -> Any:
    headers = {"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"}
    return client.post("/xapi/statements", content=body, headers=headers)


def test_the_suite_multipart_layout_is_accepted(xapi: TestClient, spool: Spool) -> None:
    response = post(xapi, suite_body(statement(*TEXTS), [part(t) for t in TEXTS]))
    assert response.status_code == 200, response.text
    for text in TEXTS:
        stored = spool.attachment(hashlib.sha256(text).hexdigest())
        assert stored is not None and stored.content == text


def test_the_suite_invalid_multipart_bodies_are_400(xapi: TestClient, spool: Spool) -> None:
    too_few = suite_body(statement(*TEXTS), [part(TEXTS[0])])
    header_without_name = suite_body(statement(*TEXTS), [part(TEXTS[0]), part(TEXTS[1], "")])
    undeclared = suite_body(statement(TEXTS[0]), [part(t) for t in TEXTS])
    for body, field in (
        (too_few, "attachments"),
        (header_without_name, "multipart"),
        (undeclared, "multipart"),
    ):
        response = post(xapi, body)
        assert response.status_code == 400, response.text
        assert field in response.json()["detail"]
    assert spool.counts()["statements"] == 0


def test_substatement_attachments_are_served_back(xapi: TestClient) -> None:
    sub = {**statement(TEXTS[1]), "objectType": "SubStatement"}
    first = {**statement(TEXTS[0]), "object": sub}
    response = post(xapi, suite_body(first, [part(t) for t in TEXTS]))
    assert response.status_code == 200, response.text
    [sid] = response.json()
    got = xapi.get("/xapi/statements", params={"statementId": sid, "attachments": "true"})
    _, *parts = multipart.parse(got.content, got.headers["content-type"])
    assert sorted(p.content for p in parts) == sorted(TEXTS)
    assert {p.headers["x-experience-api-hash"] for p in parts} == {
        hashlib.sha256(t).hexdigest() for t in TEXTS
    }


def text_part(content: bytes, encoding: str = "binary") -> bytes:
    head = (
        f"Content-Type: text/plain\r\nContent-Transfer-Encoding: {encoding}\r\n"
        f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n"
    )
    return head.encode() + content


def test_the_suite_content_type_cases(xapi: TestClient, spool: Spool) -> None:
    one = statement(TEXTS[0])
    json_head = b"Content-Type: application/json\r\n\r\n"
    glued = text_part(TEXTS[0]) + b"\r\n"
    cases: list[tuple[str, bytes]] = [
        ("form-data", suite_body(one, [text_part(TEXTS[0])])),
        ("no boundary before the part", suite_body(one, []).replace(b"}\r\n", b"}\r\n" + glued)),
        ("statements in two parts", suite_body(one, [json_head + orjson.dumps(one)])),
        ("base64 part", suite_body(one, [text_part(TEXTS[0], "base64")])),
        (
            "first part not JSON",
            suite_body(one, [text_part(TEXTS[0])]).replace(b"application/json", b"text/plain", 1),
        ),
    ]
    for name, body in cases:
        kind = "form-data" if name == "form-data" else "mixed"
        headers = {"Content-Type": f"multipart/{kind}; boundary={BOUNDARY}"}
        response = xapi.post("/xapi/statements", content=body, headers=headers)
        assert response.status_code == 400, (name, response.text)
    assert spool.counts()["statements"] == 0
    by_url = {**statement(), "attachments": [{**declared(TEXTS[0]), "fileUrl": "http://x.org/f"}]}
    assert post(xapi, suite_body(by_url, [])).status_code == 200
