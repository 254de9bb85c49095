"""Party keys and signatures: providers and labs sign the exact current version of an
AGREED contract with their registered keys; once both hold it is VERIFIED; the hub then
countersigns as trusted third party and the contract is FINALIZED. Callers acting for a
user go through :func:`sign_as_party` and :func:`countersign` (policy
``edh/contracts/sign``); :func:`add_signature` and :func:`finalize` are the unguarded
steps the demo seeding uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from contracts.errors import SignatureError
from contracts.lifecycle import State
from contracts.model import ContractTerms, contract_document, document_bytes
from contracts.signing import read_header, sign_detached, verify_detached
from contracts.verify import signing_time_problem
from hub.config import Settings
from hub.context import HubContext
from hub.contracts.authz import authorize_sign
from hub.contracts.hubkey import hub_jwk, hub_signing_key, organisation_keys
from hub.contracts.models import Contract, ContractSignature, OrganisationKey
from hub.contracts.service import HUB, LAB, PROVIDER, audit, current_document, transition
from hub.contracts.service import versions as all_versions
from hub.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from hub.keys import load_public_key, public_jwk
from hub.registry.public import get_org
from hub.trail.writer import Actor, EventDraft, Resource, record


def register_key(
    session: Session, actor: Actor, organisation_id: str, public_key_pem: str
) -> OrganisationKey:
    """Register an organisation's Ed25519 public key; raises ``Conflict`` if known."""
    get_org(session, organisation_id)
    kid = public_jwk(load_public_key(public_key_pem))["kid"]
    if session.exec(select(OrganisationKey).where(OrganisationKey.kid == kid)).first():
        raise Conflict(f"key {kid} is already registered")
    row = OrganisationKey(organisation_id=organisation_id, kid=kid, public_key_pem=public_key_pem)
    session.add(row)
    session.flush()
    record(
        session,
        EventDraft(
            actor,
            "organisation.key_registered",
            Resource("organisation", organisation_id),
            details={"kid": kid},
        ),
    )
    return row


def revoke_key(session: Session, actor: Actor, kid: str, reason: str) -> OrganisationKey:
    """End the validity of key ``kid`` now: what it signed before stays valid, nothing it
    signs from now on is accepted (raises ``NotFound``, ``Conflict`` if already revoked)."""
    row = key_by_kid(session, kid)
    if row.revoked_at is not None:
        raise Conflict(f"key {kid} is already revoked")
    row.revoked_at = datetime.now(UTC)
    session.add(row)
    session.flush()
    record(
        session,
        EventDraft(
            actor,
            "organisation.key_revoked",
            Resource("organisation", row.organisation_id),
            details={"kid": kid, "reason": reason},
        ),
    )
    return row


def key_by_kid(session: Session, kid: str) -> OrganisationKey:
    """Registered key ``kid`` (raises ``NotFound``)."""
    row = session.exec(select(OrganisationKey).where(OrganisationKey.kid == kid)).first()
    if row is None:
        raise NotFound(f"no registered key {kid}")
    return row


def signatures(session: Session, contract: Contract) -> list[ContractSignature]:
    """The signatures of the contract's current version."""
    query = select(ContractSignature).where(
        ContractSignature.contract_id == contract.id, ContractSignature.version == contract.version
    )
    return list(session.exec(query).all())


def _older_version(session: Session, contract: Contract, jws: str, keys: dict[str, Any]) -> int:
    for old in all_versions(session, contract.id)[:-1]:
        doc = contract_document(contract.id, old.version, ContractTerms.model_validate(old.terms))
        try:
            verify_detached(jws, document_bytes(doc), keys)
        except SignatureError:
            continue
        return old.version
    raise SignatureError("the signature does not match this exact contract version")


def signed_version(session: Session, contract: Contract, party: str, jws: str) -> tuple[str, int]:
    """The ``kid`` of ``party``'s registered key that made ``jws`` and the version of the
    contract it signs (the current one, or an earlier one: a stale signature). Raises
    ``ValidationFailed`` for a malformed or forged JWS, an unregistered key, another
    party's header, bytes no version of the contract has, or a signing time (``iat``)
    missing or outside the key's validity (before its registration, in the future), or a
    key revoked by now (a backdated signing time does not help): the hub then never
    countersigns what ``edh contracts verify --keys`` would refuse."""
    org_id = contract.provider_id if party == PROVIDER else contract.lab_id
    trusted = organisation_keys(session, org_id)
    keys = {kid: bound.key for kid, bound in trusted.items()}
    try:
        header = read_header(jws)
        if header["edh_party"] != party:
            raise SignatureError(f"the JWS is made as {header['edh_party']}, you sign as {party}")
        try:
            verify_detached(jws, document_bytes(current_document(session, contract)), keys)
            version = contract.version
        except SignatureError as exc:
            if "exact contract version" not in str(exc):
                raise
            version = _older_version(session, contract, jws, keys)
        kid = str(header["kid"])
        now = datetime.now(UTC)
        late = signing_time_problem(kid, party, header, trusted[kid], now)
        if late:
            raise SignatureError(late)
        revoked = trusted[kid].valid_until
        if revoked is not None and now >= revoked:  # whatever signing time it claims
            raise SignatureError(f"key {kid} was revoked: it signs nothing any more")
    except SignatureError as exc:
        reason = str(exc)
        raise ValidationFailed(f"signature refused: {reason}", reasons=[reason]) from exc
    return kid, version


def _verify_party(session: Session, contract: Contract, party: str, jws: str) -> str:
    kid, version = signed_version(session, contract, party, jws)
    if version != contract.version:
        reason = f"stale signature: it signs version {version}, current is {contract.version}"
        raise ValidationFailed(f"signature refused: {reason}", reasons=[reason])
    return kid


def _store(
    session: Session, actor: Actor, contract: Contract, party: str, kid: str, jws: str
) -> None:
    row = ContractSignature(
        contract_id=contract.id,
        version=contract.version,
        party=party,
        kid=kid,
        jws=jws,
        signed_by=actor.sub,
    )
    session.add(row)
    session.flush()
    audit(session, actor, contract, "contract.signed", party=party, kid=kid, version=row.version)


def _require_state(contract: Contract, state: State, rule: str) -> None:
    if contract.state != state:
        raise InvalidTransition(f"{rule}; this one is {contract.state}", allowed=[])


def sign_as_party(
    ctx: HubContext, session: Session, actor: Actor, contract: Contract, party: str, jws: str
) -> Contract:
    """:func:`add_signature` behind the policy ``edh/contracts/sign`` (the signer belongs
    to the party's organisation, the contract is AGREED, the JWS signs its current
    version). Raises ``InvalidTransition``, ``ValidationFailed`` (forged, unknown key),
    ``Forbidden`` (policy refusal, e.g. a stale signature), ``Conflict``."""
    _require_state(contract, State.AGREED, "parties sign an AGREED contract")
    _, version = signed_version(session, contract, party, jws)
    authorize_sign(ctx, session, actor, contract, party, version)
    return add_signature(session, actor, contract, party, jws)


def countersign(ctx: HubContext, session: Session, actor: Actor, contract: Contract) -> Contract:
    """:func:`finalize` behind the policy ``edh/contracts/sign`` as the hub (an operator,
    on a VERIFIED contract). Raises ``InvalidTransition`` or ``Forbidden``."""
    _require_state(contract, State.VERIFIED, "only a VERIFIED contract can be finalized")
    authorize_sign(ctx, session, actor, contract, HUB, contract.version)
    return finalize(session, actor, contract, ctx.settings)


def add_signature(
    session: Session, actor: Actor, contract: Contract, party: str, jws: str
) -> Contract:
    """Store ``party``'s valid signature of the current version of an AGREED contract;
    with both parties' signatures the contract becomes VERIFIED. Raises
    ``InvalidTransition`` (wrong state), ``ValidationFailed`` (forged, stale, unknown
    key), ``Conflict`` (party already signed)."""
    _require_state(contract, State.AGREED, "parties sign an AGREED contract")
    kid = _verify_party(session, contract, party, jws)
    if any(s.party == party for s in signatures(session, contract)):
        raise Conflict(f"the {party} already signed version {contract.version}")
    _store(session, actor, contract, party, kid, jws)
    if {s.party for s in signatures(session, contract)} >= {PROVIDER, LAB}:
        transition(session, actor, contract, State.VERIFIED, reason="both parties signed")
    return contract


def finalize(session: Session, actor: Actor, contract: Contract, settings: Settings) -> Contract:
    """The hub countersigns a VERIFIED contract with its own key: FINALIZED."""
    _require_state(contract, State.VERIFIED, "only a VERIFIED contract can be finalized")
    key, kid = hub_signing_key(settings), hub_jwk(settings)["kid"]
    payload = document_bytes(current_document(session, contract))
    parties = {PROVIDER: contract.provider_id, LAB: contract.lab_id}
    jws = sign_detached(key, payload, kid=kid, party=HUB, claims={"edh_parties": parties})
    _store(session, actor, contract, HUB, kid, jws)
    contract.finalized_at = datetime.now(UTC)
    return transition(session, actor, contract, State.FINALIZED, reason="hub countersigned")


def export_file(session: Session, contract: Contract, settings: Settings) -> dict[str, Any]:
    """The self-contained file ``edh contracts verify`` checks offline."""
    sigs = signatures(session, contract)
    rows = session.exec(
        select(OrganisationKey).where(
            OrganisationKey.kid.in_([s.kid for s in sigs])  # type: ignore[attr-defined]
        )
    ).all()
    keys = [public_jwk(load_public_key(r.public_key_pem)) for r in rows]
    if any(s.party == HUB for s in sigs):
        keys.append(hub_jwk(settings))
    return {
        "document": current_document(session, contract),
        "signatures": [{"party": s.party, "kid": s.kid, "jws": s.jws} for s in sigs],
        "keys": keys,
    }
