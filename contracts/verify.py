"""Offline verification of an exported contract file.

File format (JSON)::

    {"document": {...contract_document...},
     "signatures": [{"party": "provider|lab|hub", "jws": "<detached JWS>"}, ...],
     "keys": [<Ed25519 OKP JWK with "kid">, ...]}

The verifier recomputes the RFC 8785 bytes of ``document`` and checks each signature
with the key its ``kid`` names. A changed byte in the terms, a signature of another
version or a missing party makes the file fail.

The embedded ``keys`` only prove integrity: whoever re-signs a file can embed their own
keys. Given a trusted key set (:func:`trusted_keys`, e.g. the parties' registered keys
and the hub's key), the verifier ignores the embedded keys and fails any signature made
by a key outside that set, or by a key trusted for another party. A provider's or lab's
key must also be bound to an organisation (``edh_org``) and a validity period
(``edh_valid_from``, optional ``edh_valid_until``, RFC 3339): its signature fails unless
that organisation is the contract's party of that kind, as the hub's countersignature
attests (``edh_parties`` in its protected header; the provider also in the signed terms),
and unless it was made (``iat``) within the period, before the hub countersigned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from contracts.errors import SignatureError
from contracts.model import ContractTerms, document_bytes, document_digest
from contracts.signing import PARTIES, public_key_from_jwk, read_header, verify_detached


@dataclass
class Report:
    """Outcome of :func:`verify_file`: ``ok`` only when every party's signature holds."""

    ok: bool = False
    trusted: bool = False
    digest: str | None = None
    signed_by: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


LEEWAY = timedelta(minutes=5)
"""Clock difference tolerated between a signer and the hub that registered its key."""


@dataclass(frozen=True)
class TrustedKey:
    """A key the verifier trusts, for the listed parties only (all when empty), owned by
    ``org`` and valid from ``valid_from`` until ``valid_until`` (open when ``None``)."""

    key: Ed25519PublicKey
    parties: frozenset[str] = frozenset()
    org: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _instant(jwk: dict[str, Any], name: str) -> datetime | None:
    value = jwk.get(name)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SignatureError(f"key {jwk['kid']}: {name} must be an RFC 3339 instant") from exc
    if when.tzinfo is None:
        raise SignatureError(f"key {jwk['kid']}: {name} must carry a time zone")
    return when


def trusted_keys(jwks: Any) -> dict[str, TrustedKey]:
    """The trusted keys by ``kid`` from a JWKS (``{"keys": [...]}``), a list of JWKs or
    one JWK (as ``GET /api/v1/contracts/hub-key`` returns). A JWK may name the parties
    it signs for in ``edh_party`` (a string or a list). Raises ``SignatureError`` for a
    set without keys or with an unusable key."""
    if isinstance(jwks, dict):
        jwks = jwks.get("keys", [jwks])
    if not isinstance(jwks, list) or not jwks:
        raise SignatureError("the trusted key set holds no keys (expected a JWKS)")
    trusted: dict[str, TrustedKey] = {}
    for jwk in jwks:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            raise SignatureError("every trusted key must be a JWK object with a kid")
        parties = jwk.get("edh_party") or []
        parties = [parties] if isinstance(parties, str) else parties
        if not isinstance(parties, list) or not set(parties) <= set(PARTIES):
            raise SignatureError(f"key {jwk['kid']}: edh_party must name {', '.join(PARTIES)}")
        org = jwk.get("edh_org")
        if org is not None and not isinstance(org, str):
            raise SignatureError(f"key {jwk['kid']}: edh_org must be an organisation id")
        trusted[jwk["kid"]] = TrustedKey(
            public_key_from_jwk(jwk),
            frozenset(parties),
            org,
            _instant(jwk, "edh_valid_from"),
            _instant(jwk, "edh_valid_until"),
        )
    return trusted


@dataclass(frozen=True)
class Attestation:
    """What the hub's verified countersignature says: each party's organisation, when."""

    parties: Mapping[str, str]
    signed_at: datetime | None


def attestation(data: dict[str, Any], trusted: Mapping[str, TrustedKey]) -> Attestation:
    """The parties' organisations and the time the trusted hub key countersigned (empty
    when the hub's signature is missing, untrusted or invalid)."""
    payload = document_bytes(data["document"])
    for entry in data.get("signatures") or []:
        try:
            header = read_header(str(entry["jws"]))
            if header["edh_party"] != "hub" or _untrusted(entry, trusted, None) is not None:
                continue
            verify_detached(str(entry["jws"]), payload, {k: t.key for k, t in trusted.items()})
        except (SignatureError, KeyError, TypeError):
            continue
        parties = header.get("edh_parties")
        iat = header.get("iat")
        return Attestation(
            {str(k): str(v) for k, v in parties.items()} if isinstance(parties, dict) else {},
            datetime.fromtimestamp(iat, UTC) if isinstance(iat, int) else None,
        )
    return Attestation({}, None)


def _binding_problem(
    kid: str, key: TrustedKey, party: str, header: dict[str, Any], hub: Attestation
) -> str | None:
    """Why a provider's or lab's signature is not bound to the contract's party in time."""
    if key.org is None or key.valid_from is None:
        return f"key {kid} is not bound to an organisation and a validity period"
    expected = hub.parties.get(party)
    if expected is None:
        return f"the {party}'s organisation is not attested by a trusted hub countersignature"
    if key.org != expected:
        return f"key {kid} belongs to {key.org}, not to the contract's {party} {expected}"
    return signing_time_problem(kid, party, header, key, hub.signed_at)


def signing_time(header: Mapping[str, Any]) -> datetime | None:
    """A JWS header's signing time (``iat``, Unix seconds), or ``None`` when it is
    missing, not an integer or outside the calendar."""
    iat = header.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        return None
    try:
        return datetime.fromtimestamp(iat, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def signing_time_problem(
    kid: str, party: str, header: Mapping[str, Any], key: TrustedKey, latest: datetime | None
) -> str | None:
    """Why ``party``'s signature (by ``kid``) was not made within its key's validity
    period and no later than ``latest`` (the hub's countersignature; for the hub itself
    when it receives the signature, now), each with ``LEEWAY``; ``None`` when it was."""
    when = signing_time(header)
    if when is None:
        return f"the {party}'s signature has no signing time (iat)"
    early = key.valid_from is not None and when < key.valid_from - LEEWAY
    late = key.valid_until is not None and when >= key.valid_until
    if early or late or (latest is not None and when > latest + LEEWAY):
        return f"key {kid} was not valid when the {party} signed ({when.isoformat()})"
    return None


def _untrusted(
    entry: Any, trusted: Mapping[str, TrustedKey], hub: Attestation | None
) -> str | None:
    """Why ``entry``'s signature cannot count against ``trusted`` (``hub``: the hub's
    attestation the parties' keys are bound against; ``None`` to check only the key)."""
    header = read_header(str(entry["jws"]))
    kid, party = str(header.get("kid")), str(header["edh_party"])
    if kid not in trusted:
        return f"key {kid} is not in the trusted key set"
    if trusted[kid].parties and party not in trusted[kid].parties:
        allowed = ", ".join(sorted(trusted[kid].parties))
        return f"key {kid} is trusted for {allowed}, not for {party}"
    if hub is None or party == "hub":
        return None
    return _binding_problem(kid, trusted[kid], party, header, hub)


def _keys(data: dict[str, Any], problems: list[str]) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in data.get("keys") or []:
        try:
            keys[str(jwk["kid"])] = public_key_from_jwk(jwk)
        except (SignatureError, KeyError, TypeError) as exc:
            problems.append(f"unusable key: {exc}")
    return keys


def _check_document(document: Any, problems: list[str]) -> bool:
    if not isinstance(document, dict) or not isinstance(document.get("terms"), dict):
        problems.append("the file has no contract document")
        return False
    try:
        ContractTerms.model_validate(document["terms"])
    except ValueError as exc:
        problems.append(f"invalid terms: {exc}")
    return True


def verify_file(data: Any, trusted: Mapping[str, TrustedKey] | None = None) -> Report:
    """Verify a parsed contract file; never raises for bad content (see ``problems``).
    With ``trusted``, signatures are checked with those keys only (``report.trusted``)."""
    report = Report(trusted=trusted is not None)
    if not isinstance(data, dict):
        report.problems.append("not a contract file (expected a JSON object)")
        return report
    if not _check_document(data.get("document"), report.problems):
        return report
    payload = document_bytes(data["document"])
    report.digest = document_digest(data["document"])
    hub = None
    if trusted is None:
        keys = _keys(data, report.problems)
    else:
        keys = {kid: t.key for kid, t in trusted.items()}
        hub = attestation(data, trusted)
        provider = data["document"]["terms"].get("provider_id")
        if hub.parties and hub.parties.get("provider") != provider:
            report.problems.append("the hub's countersignature names another provider")
            hub = Attestation({}, hub.signed_at)
    for entry in data.get("signatures") or []:
        try:
            distrust = None if trusted is None else _untrusted(entry, trusted, hub)
            if distrust is not None:
                raise SignatureError(distrust)
            party = verify_detached(str(entry["jws"]), payload, keys)
        except (SignatureError, KeyError, TypeError) as exc:
            report.problems.append(f"signature {entry.get('party', '?')}: {exc}")
            continue
        report.signed_by[party] = str(read_header(str(entry["jws"]))["kid"])
    missing = [p for p in PARTIES if p not in report.signed_by]
    if missing:
        report.problems.append(f"missing valid signature of: {', '.join(missing)}")
    report.ok = not report.problems
    return report
