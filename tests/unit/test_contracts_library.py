"""The shared contract library: model rules, canonical form, JWS, lifecycle, schema."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from contracts.canonical import b64url_decode, canonical_json
from contracts.errors import SignatureError, TransitionError
from contracts.lifecycle import (
    ReviewStatus,
    ReviewVerdict,
    State,
    check_amendable,
    check_transition,
    verdict_outcome,
)
from contracts.model import ContractTerms, contract_document, document_bytes, document_schema
from contracts.signing import public_key_from_jwk, read_header, sign_detached, verify_detached
from contracts.verify import verify_file

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "contract.schema.json"
TERMS: dict[str, Any] = {
    "provider_id": "prov",
    "project_id": "proj",
    "datasets": ["ds1"],
    "purpose": "Étudier la persévérance scolaire.",
    "legal_basis": ["gdpr-art-6-1-e"],
    "allowed_fields": ["verb_id", "timestamp"],
    "retention_days": 180,
    "valid_from": "2026-01-01",
    "valid_until": "2026-12-31",
}


def _doc(**overrides: Any) -> dict[str, Any]:
    return contract_document("c-1", 1, ContractTerms.model_validate({**TERMS, **overrides}))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"min_cell_size": 9}, "below the default k=10"),
        ({"row_level": True}, "row_level_reason"),
        ({"row_level": True, "row_level_reason": "   "}, "row_level_reason"),
        ({"valid_until": "2025-12-31"}, "valid_until must be after valid_from"),
        ({"datasets": ["a", "a"]}, "datasets contains duplicates"),
        ({"allowed_fields": ["DROP TABLE"]}, "allowed_fields"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
        ({"legal_basis": []}, "legal_basis"),
        ({"epsilon_max_per_query": 0.5}, "epsilon_max_per_query must lie between"),
        ({"epsilon_max_per_query": 9, "epsilon_budget": 8}, "epsilon_max_per_query must lie"),
    ],
)
def test_contradictory_terms_are_refused_with_reasons(
    overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        ContractTerms.model_validate({**TERMS, **overrides})


def test_row_level_with_a_reason_and_a_higher_k_are_accepted() -> None:
    terms = ContractTerms.model_validate(
        {**TERMS, "row_level": True, "row_level_reason": "Appariement validé", "min_cell_size": 20}
    )
    assert terms.row_level and terms.min_cell_size == 20


def test_a_term_added_later_leaves_older_documents_unchanged_while_unset() -> None:
    """epsilon_max_per_query came after contracts were signed: unset, it is not in the
    signed document (same bytes, same digest); set, it is."""
    assert "epsilon_max_per_query" not in _doc()["terms"]
    assert _doc(epsilon_max_per_query=4)["terms"]["epsilon_max_per_query"] == 4


def test_document_bytes_are_rfc8785_canonical() -> None:
    doc = _doc()
    assert document_bytes(doc) == canonical_json(json.loads(json.dumps(doc, indent=3)))
    assert document_bytes(doc).startswith(b'{"contract_id":"c-1","terms":{')


def test_detached_jws_verifies_and_any_changed_byte_fails() -> None:
    key = Ed25519PrivateKey.generate()
    payload = document_bytes(_doc())
    jws = sign_detached(key, payload, kid="k1", party="provider")
    assert jws.split(".")[1] == ""
    header = read_header(jws)
    assert header.pop("iat") == pytest.approx(time.time(), abs=60)
    assert header == {"alg": "EdDSA", "kid": "k1", "edh_party": "provider"}
    assert verify_detached(jws, payload, {"k1": key.public_key()}) == "provider"
    for i in (0, len(payload) // 2, len(payload) - 1):
        changed = payload[:i] + bytes([payload[i] ^ 1]) + payload[i + 1 :]
        with pytest.raises(SignatureError, match="does not match"):
            verify_detached(jws, changed, {"k1": key.public_key()})


def test_jws_with_the_wrong_key_alg_or_shape_is_refused() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    payload = b"{}"
    jws = sign_detached(key, payload, kid="k1", party="lab")
    with pytest.raises(SignatureError, match="does not match"):
        verify_detached(jws, payload, {"k1": other.public_key()})
    with pytest.raises(SignatureError, match="not registered"):
        verify_detached(jws, payload, {"k2": key.public_key()})
    with pytest.raises(SignatureError, match="detached"):
        verify_detached(jws.replace("..", ".e30."), payload, {"k1": key.public_key()})
    none_alg = "eyJhbGciOiJub25lIiwia2lkIjoiazEiLCJlZGhfcGFydHkiOiJsYWIifQ.." + jws.split("..")[1]
    assert b'"none"' in b64url_decode(none_alg.split(".")[0])
    with pytest.raises(SignatureError, match="alg must be EdDSA"):
        verify_detached(none_alg, payload, {"k1": key.public_key()})
    with pytest.raises(SignatureError, match="unknown party"):
        sign_detached(key, payload, kid="k1", party="researcher")


def test_public_key_from_jwk_refuses_other_key_types() -> None:
    with pytest.raises(SignatureError):
        public_key_from_jwk({"kty": "EC", "crv": "P-256", "x": "AA"})
    with pytest.raises(SignatureError):
        public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})


def test_lifecycle_lists_the_allowed_targets() -> None:
    check_transition(State.REQUESTED, State.OFFERED)
    with pytest.raises(TransitionError) as exc:
        check_transition(State.REQUESTED, State.FINALIZED)
    assert exc.value.allowed == ["OFFERED", "TERMINATED"]
    with pytest.raises(TransitionError, match="final state"):
        check_transition(State.TERMINATED, State.REQUESTED)
    for frozen in (State.ACCEPTED, State.AGREED, State.VERIFIED, State.FINALIZED):
        with pytest.raises(TransitionError, match="frozen"):
            check_amendable(frozen)


def test_ethics_gate_is_the_only_way_to_agreed() -> None:
    reachable_agreed = [s for s in State if s != State.AGREED and _can(s, State.AGREED)]
    assert reachable_agreed == [State.ACCEPTED]
    assert [s for s in State if _can(s, State.FINALIZED)] == [State.VERIFIED]


def _can(source: State, target: State) -> bool:
    try:
        check_transition(source, target)
    except TransitionError:
        return False
    return True


def test_verdict_outcome_honours_the_quorum() -> None:
    assert verdict_outcome(ReviewVerdict.APPROVE, 1, 2) is ReviewStatus.PENDING
    assert verdict_outcome(ReviewVerdict.APPROVE, 2, 2) is ReviewStatus.APPROVED
    assert verdict_outcome(ReviewVerdict.REJECT, 5, 2) is ReviewStatus.REJECTED
    assert verdict_outcome(ReviewVerdict.REQUEST_CHANGES, 1, 1) is ReviewStatus.CHANGES_REQUESTED


def test_schema_file_is_current_and_enforces_the_floor_rules() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema == document_schema(), "regenerate schemas/contract.schema.json"
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(_doc())) == []
    for bad in (
        {**_doc(), "extra": 1},
        {**_doc(), "terms": {**_doc()["terms"], "min_cell_size": 5}},
        {**_doc(), "terms": {**_doc()["terms"], "row_level": True}},
        {**_doc(), "terms": {**_doc()["terms"], "legal_basis": ["consent"]}},
    ):
        assert list(validator.iter_errors(bad)), bad


def _signed_file() -> dict[str, Any]:
    from hub.keys import public_jwk

    doc, sigs, keys = _doc(), [], []
    for party in ("provider", "lab", "hub"):
        key = Ed25519PrivateKey.generate()
        jwk = public_jwk(key.public_key())
        sigs.append(
            {
                "party": party,
                "jws": sign_detached(key, document_bytes(doc), kid=jwk["kid"], party=party),
            }
        )
        keys.append(jwk)
    return {"document": doc, "signatures": sigs, "keys": keys}


def test_verify_file_needs_every_party_and_a_well_formed_file() -> None:
    good = _signed_file()
    assert verify_file(good).ok
    assert verify_file([]).problems == ["not a contract file (expected a JSON object)"]
    assert verify_file({"document": "x"}).problems == ["the file has no contract document"]
    no_keys = {**good, "keys": [{"kty": "RSA", "kid": "r"}]}
    report = verify_file(no_keys)
    assert not report.ok and "unusable key" in report.problems[0]
    swapped = {**good, "signatures": [{"party": "hub", "jws": good["signatures"][0]["jws"]}]}
    report = verify_file(swapped)
    assert report.signed_by.keys() == {"provider"}  # the JWS header, not the label, names the party
    assert "missing valid signature of: lab, hub" in report.problems
    bad_terms = {
        **good,
        "document": {
            **good["document"],
            "terms": {**good["document"]["terms"], "min_cell_size": 3},
        },
    }
    assert any("invalid terms" in p for p in verify_file(bad_terms).problems)
