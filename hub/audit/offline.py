"""Offline verification of exported checkpoints and proofs (no hub, no database).

The DPO keeps the export of ``GET /api/v1/audit/checkpoints/export`` (or ``edh audit
checkpoint --export``) in their own store; later, with only this module, they check that
each checkpoint is signed by the audit key and that every later tree extends the earlier
ones, so the log was never rewritten.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.canonical import b64url_decode, canonical_json
from hub.trail.merkle import verify_consistency, verify_inclusion

STATEMENT_FIELDS = ("log", "tree_size", "root_hash", "head_hash", "signed_at", "key_id")


def public_key_of(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key of an OKP JWK; ``ValueError`` otherwise."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("the audit key must be an Ed25519 OKP JWK")
    return Ed25519PublicKey.from_public_bytes(b64url_decode(str(jwk["x"])))


def checkpoint_signed(doc: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """Is the checkpoint document signed by ``key``?"""
    statement = {f: doc.get(f) for f in STATEMENT_FIELDS}
    try:
        key.verify(b64url_decode(str(doc["signature"])), canonical_json(statement))
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def verify_export(export: dict[str, Any], trusted_jwk: dict[str, Any] | None = None) -> list[str]:
    """Problems found in a checkpoint export (empty list: all good).

    ``trusted_jwk`` is the audit key the DPO recorded earlier; without it the key in the
    export is used (which only proves internal consistency).
    """
    key = public_key_of(trusted_jwk or export["public_key"])
    problems = []
    roots = {}
    for doc in export.get("checkpoints", []):
        if not checkpoint_signed(doc, key):
            problems.append(f"checkpoint {doc.get('tree_size')}: bad signature")
        roots[int(doc["tree_size"])] = bytes.fromhex(doc["root_hash"])
    for item in export.get("consistency", []):
        first, second = int(item["first"]), int(item["second"])
        proof = [bytes.fromhex(h) for h in item["proof"]]
        if first not in roots or second not in roots:
            problems.append(f"consistency {first}->{second}: unknown checkpoint")
        elif not verify_consistency(first, second, roots[first], roots[second], proof):
            problems.append(f"consistency {first}->{second}: the later tree rewrites the earlier")
    return problems


def verify_inclusion_proof(proof: dict[str, Any], root_hash: str | None = None) -> bool:
    """Does the inclusion proof hold against ``root_hash`` (default: the one it carries)?"""
    return verify_inclusion(
        bytes.fromhex(proof["event_hash"]),
        int(proof["leaf_index"]),
        int(proof["tree_size"]),
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(root_hash or proof["root_hash"]),
    )


def verify_consistency_proof(proof: dict[str, Any]) -> bool:
    """Does the consistency proof hold between the two roots it names?"""
    return verify_consistency(
        int(proof["first"]),
        int(proof["second"]),
        bytes.fromhex(proof["first_root"]),
        bytes.fromhex(proof["second_root"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )
