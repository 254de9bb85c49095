"""``edh contracts``: sign a contract document, verify a signed contract file offline,
create a party key."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from contracts.errors import SignatureError
from contracts.model import document_bytes
from contracts.signing import PARTIES, sign_detached
from contracts.verify import TrustedKey, trusted_keys, verify_file
from hub.keys import load_or_create_key, public_jwk


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path} as JSON: {exc}") from exc


def _trusted(path: str | None) -> dict[str, TrustedKey] | None:
    if path is None:
        return None
    try:
        return trusted_keys(_read_json(path))
    except SignatureError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _verify(args: argparse.Namespace) -> int:
    report = verify_file(_read_json(args.file), _trusted(args.keys))
    if args.json:
        print(json.dumps(report.__dict__, indent=2))
    elif report.ok:
        signed = ", ".join(f"{party} ({kid})" for party, kid in sorted(report.signed_by.items()))
        print(f"contract OK: digest {report.digest}; signed by {signed}")
        if not report.trusted:
            print("warning: checked with the file's own keys only; pass --keys to check who signed")
    else:
        print("contract verification FAILED:")
        print("\n".join(f"  - {p}" for p in report.problems))
    return 0 if report.ok else 1


def _sign(args: argparse.Namespace) -> int:
    document = _read_json(args.document)
    if isinstance(document, dict) and "document" in document:
        document = document["document"]
    key = load_or_create_key(Path(args.key), allow_create=False)
    kid = public_jwk(key.public_key())["kid"]
    print(sign_detached(key, document_bytes(document), kid=kid, party=args.party))
    return 0


def _keygen(args: argparse.Namespace) -> int:
    path = Path(args.key)
    if path.exists():
        raise ValueError(f"{path} already exists; refusing to overwrite a key")
    key = load_or_create_key(path, allow_create=True)
    jwk = public_jwk(key.public_key())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    print(json.dumps({"kid": jwk["kid"], "public_key": pem.decode()}, indent=2))
    return 0


def register(subparsers: Any) -> None:
    """Add ``edh contracts verify|sign|keygen``."""
    parser = subparsers.add_parser("contracts", help="sign and verify data-sharing contracts")
    sub = parser.add_subparsers(dest="contracts_command", required=True)
    verify = sub.add_parser("verify", help="verify a signed contract file offline")
    verify.add_argument("file", help="JSON from GET /api/v1/contracts/{id}/export")
    verify.add_argument(
        "--keys", help="JWKS of the keys you trust (parties and hub); others make it fail"
    )
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    verify.set_defaults(func=_verify)
    sign = sub.add_parser("sign", help="print a detached JWS of a contract document")
    sign.add_argument("document", help="JSON from GET /api/v1/contracts/{id}/document")
    sign.add_argument("--key", required=True, help="PEM Ed25519 private key of your organisation")
    sign.add_argument("--party", required=True, choices=[p for p in PARTIES if p != "hub"])
    sign.set_defaults(func=_sign)
    keygen = sub.add_parser("keygen", help="create an Ed25519 key; print its public PEM")
    keygen.add_argument("key", help="where to write the private key (mode 0600)")
    keygen.set_defaults(func=_keygen)
