"""Signed statements (xAPI "Signed Statements"): the JWS attachment is checked.

A signature attachment has usageType ``.../signature`` and contentType
``application/octet-stream``; its content is a compact JWS, algorithm RS256, RS384 or
RS512, whose payload is the statement as it was before the signature was attached
(durations compared to 0.01 s). When the JWS header carries an X.509 chain (``x5c``) the
signature is verified with the first certificate's key. Any failure raises
:class:`connector.errors.BadRequest`.
"""

from __future__ import annotations

import base64
from typing import Any

import jwt
import orjson
from cryptography import x509

from connector.errors import BadRequest
from connector.spool.durations import comparable

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS = ("RS256", "RS384", "RS512")
_IGNORED = ("attachments", "stored", "authority", "version")


def is_signature(attachment: dict[str, Any]) -> bool:
    """Whether an attachment declaration is a statement signature."""
    return bool(attachment.get("usageType") == SIGNATURE_USAGE)


def _comparable(statement: dict[str, Any], keep_id: bool) -> dict[str, Any]:
    out = {k: v for k, v in comparable(statement).items() if k not in _IGNORED}
    if not keep_id:
        out.pop("id", None)
    return out


def _key_from_x5c(header: dict[str, Any]) -> Any:
    chain = header.get("x5c")
    if not chain:
        return None
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"signature: unreadable x5c certificate ({exc})") from None
    return cert.public_key()


def check(statement: dict[str, Any], attachment: dict[str, Any], token: bytes) -> None:
    """Check the JWS ``token`` signing ``statement`` (declared by ``attachment``)."""
    if attachment.get("contentType") != "application/octet-stream":
        raise BadRequest("signature: contentType must be application/octet-stream")
    try:
        header = jwt.get_unverified_header(token)
        payload = orjson.loads(
            jwt.api_jws.decode_complete(token, options={"verify_signature": False})["payload"]
        )
    except (jwt.PyJWTError, orjson.JSONDecodeError, ValueError) as exc:
        raise BadRequest(f"signature: not a valid JWS with a JSON payload ({exc})") from None
    if header.get("alg") not in ALGORITHMS:
        raise BadRequest(f"signature: algorithm {header.get('alg')!r} is not RS256, RS384 or RS512")
    if not isinstance(payload, dict):
        raise BadRequest("signature: the JWS payload is not a statement")
    keep_id = "id" in payload
    if _comparable(payload, keep_id) != _comparable(statement, keep_id):
        raise BadRequest("signature: the JWS payload does not match the statement")
    key = _key_from_x5c(header)
    if key is not None:
        try:
            jwt.api_jws.decode_complete(token, key=key, algorithms=[header["alg"]])
        except jwt.PyJWTError as exc:
            raise BadRequest(f"signature: verification failed ({exc})") from None
