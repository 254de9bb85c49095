"""multipart/mixed attachments and signed statements (JWS), per the xAPI specification."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import jwt
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from connector.spool import Spool
from connector.xapi import multipart

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
CONTENT = "Le compte rendu de l'élève".encode()
SHA = hashlib.sha256(CONTENT).hexdigest()


def statement(*attachments: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:pupil@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.org/activity"},
        "attachments": list(attachments),
    }


def declared(sha2: str = SHA, length: int = len(CONTENT), **extra: Any) -> dict[str, Any]:
    return {
        "usageType": "http://example.org/usage/report",
        "display": {"fr-FR": "compte rendu"},
        "contentType": "text/plain",
        "length": length,
        "sha2": sha2,
        **extra,
    }


def send(client: TestClient, first: Any, parts: list[tuple[str, str, bytes]]) -> Any:
    body, content_type = multipart.build(orjson.dumps(first), parts)
    return client.post("/xapi/statements", content=body, headers={"Content-Type": content_type})


def test_attachment_is_stored_and_served_back(xapi: TestClient, spool: Spool) -> None:
    response = send(xapi, statement(declared()), [(SHA, "text/plain", CONTENT)])
    assert response.status_code == 200, response.text
    [sid] = response.json()
    assert spool.attachment(SHA).content == CONTENT  # type: ignore[union-attr]
    got = xapi.get("/xapi/statements", params={"statementId": sid, "attachments": "true"})
    assert got.headers["content-type"].startswith("multipart/mixed")
    first, part = multipart.parse(got.content, got.headers["content-type"])
    assert orjson.loads(first.content)["id"] == sid
    assert part.content == CONTENT and part.headers["x-experience-api-hash"] == SHA


def test_file_url_attachments_need_no_part(xapi: TestClient) -> None:
    response = xapi.post(
        "/xapi/statements", json=statement(declared(sha2="b" * 64, fileUrl="http://example.org/f"))
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("stmt", "parts", "words"),
    [
        (statement(declared()), [], "no part carries"),
        (statement(), [(SHA, "text/plain", CONTENT)], "not declared"),
        (statement(declared()), [("c" * 64, "text/plain", CONTENT)], "does not match its hash"),
        (
            statement(declared(sha2="abc")),
            [("abc", "text/plain", CONTENT)],
            "statement[0].attachments[0].sha2",
        ),
    ],
)
def test_attachment_mismatches_are_400(
    xapi: TestClient,
    spool: Spool,
    stmt: dict[str, Any],
    parts: list[tuple[str, str, bytes]],
    words: str,
) -> None:
    response = send(xapi, stmt, parts)
    assert response.status_code == 400 and words in response.json()["detail"]
    assert spool.counts()["statements"] == 0


def test_part_without_hash_header_is_400(xapi: TestClient) -> None:
    body = (
        b"--b\r\nContent-Type: application/json\r\n\r\n"
        + orjson.dumps(statement(declared()))
        + b"\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        + CONTENT
        + b"\r\n--b--\r\n"
    )
    response = xapi.post(
        "/xapi/statements", content=body, headers={"Content-Type": "multipart/mixed; boundary=b"}
    )
    assert response.status_code == 400 and "X-Experience-API-Hash" in response.json()["detail"]


def _certificate(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vendor")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey) -> bytes:
    """A JWS of ``payload`` signed by ``signer``, carrying ``key``'s certificate (x5c)."""
    return jwt.encode(
        payload, signer, algorithm="RS256", headers={"x5c": [_certificate(key)]}
    ).encode()


def send_signed(client: TestClient, statement: dict[str, Any], token: bytes) -> Any:
    """Send ``statement`` with ``token`` as its signature attachment."""
    sha = hashlib.sha256(token).hexdigest()
    signature = declared(
        sha2=sha, length=len(token), usageType=SIGNATURE, contentType="application/octet-stream"
    )
    signed = {**statement, "attachments": [signature]}
    return send(client, signed, [(sha, "application/octet-stream", token)])


PAYLOAD = {k: v for k, v in statement().items() if k != "attachments"}


def test_signed_statement_is_verified(xapi: TestClient) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert send_signed(xapi, PAYLOAD, _rs256(PAYLOAD, key, key)).status_code == 200

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = send_signed(xapi, PAYLOAD, _rs256(PAYLOAD, key, other))
    assert forged.status_code == 400 and "verification failed" in forged.json()["detail"]

    tampered = {**PAYLOAD, "object": {"id": "http://example.org/other"}}
    response = send_signed(xapi, tampered, _rs256(PAYLOAD, key, key))
    assert response.status_code == 400 and "does not match" in response.json()["detail"]


def test_signature_with_a_forbidden_algorithm_is_400(xapi: TestClient) -> None:
    token = jwt.encode(PAYLOAD, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    response = send_signed(xapi, PAYLOAD, token.encode())
    assert response.status_code == 400 and "RS256" in response.json()["detail"]
    response = send_signed(xapi, PAYLOAD, b"not.a.jws")
    assert response.status_code == 400 and "signature" in response.json()["detail"]
