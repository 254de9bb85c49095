"""Contracts API under ``/api/v1/contracts``, and a contract request started from a catalog
dataset (``/api/v1/catalog/datasets/{id}/contract-requests``). Each endpoint states the
roles it accepts; party checks (the contract's provider organisation, the project's
accredited members) come on top of the roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from contracts.lifecycle import State
from contracts.model import ContractTerms, RequestTerms
from hub.auth import Principal, Role, public_endpoint, require
from hub.catalog.public import get_dataset
from hub.contracts import review, service, signatures
from hub.contracts.authz import SUSPENDED, authorize
from hub.contracts.events import publish_after_commit
from hub.contracts.hubkey import hub_jwk, organisation_jwks
from hub.contracts.models import Contract, OrganisationKey
from hub.contracts.parties import party_of, refuse, require_party, start_request
from hub.contracts.review import review_decision
from hub.contracts.schemas import (
    ContractOut,
    KeyIn,
    KeyOut,
    ReasonIn,
    ReviewIn,
    ReviewOut,
    SignatureIn,
)
from hub.contracts.service import LAB, PROVIDER
from hub.contracts.views import contract_out
from hub.deps import SessionDep, actor_of, hub_context
from hub.errors import Forbidden
from hub.pagination import Page, PageParams, page_params
from hub.trail.writer import Actor

router = APIRouter(prefix="/api/v1", tags=["contracts"])

STAFF = (Role.OPERATOR, Role.ETHICS_REVIEWER, Role.DPO)
PARTIES = (Role.PROVIDER, Role.RESEARCHER)
Reader = Annotated[Principal, Depends(require(*STAFF, *PARTIES))]
Party = Annotated[Principal, Depends(require(*PARTIES))]
Pages = Annotated[PageParams, Depends(page_params)]
PARTY_ROLE = {PROVIDER: Role.PROVIDER, LAB: Role.RESEARCHER}


def _visible(session: SessionDep, who: Principal, contract_id: str) -> Contract:
    contract = service.get_contract(session, contract_id)
    if not who.roles.intersection(STAFF) and party_of(session, who, contract) is None:
        detail = "only staff and the contract's parties may read it"
        refuse(session, who, detail, contract.id, contract.project_id)
    return contract


def _as_party(
    session: SessionDep, who: Principal, contract_id: str, *parties: str
) -> tuple[Contract, str, Actor]:
    contract = service.get_contract(session, contract_id)
    party = require_party(session, who, contract, *parties)
    return contract, party, actor_of(who, PARTY_ROLE[party])


def _changed(request: Request, session: SessionDep, contract: Contract) -> ContractOut:
    publish_after_commit(hub_context(request), session, contract)
    return contract_out(session, contract)


@router.post("/contracts", status_code=201, response_model=ContractOut)
def request_contract(
    body: ContractTerms,
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.OPERATOR, Role.RESEARCHER))],
) -> ContractOut:
    """Request a contract (state REQUESTED, version 1) for a project (roles: researcher
    member of the project, operator). Terms are checked (k ≥ 10, retention limit, ...)."""
    contract = start_request(hub_context(request), session, who, body)
    return _changed(request, session, contract)


@router.get("/contracts", response_model=Page[ContractOut])
def list_contracts(
    session: SessionDep,
    pages: Pages,
    who: Reader,
    state: Annotated[State | None, Query()] = None,
) -> Page[ContractOut]:
    """Contracts (operator, ethics_reviewer, dpo: all; provider: its organisation's;
    researcher: its lab's)."""
    party = None if who.roles.intersection(STAFF) else (who.org or "")
    items, total = service.contracts(session, pages, state, party)
    out = [contract_out(session, c) for c in items]
    return Page(items=out, total=total, limit=pages.limit, offset=pages.offset)


@router.get("/contracts/hub-key", dependencies=[Depends(public_endpoint)])
def get_hub_key(request: Request) -> dict[str, Any]:
    """The public JWK the hub countersigns contracts with, marked ``edh_party: hub``
    (public); part of the trusted key set of ``edh contracts verify --keys``."""
    return {**hub_jwk(hub_context(request).settings), "edh_party": "hub"}


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(contract_id: str, session: SessionDep, who: Reader) -> ContractOut:
    """One contract, its current terms and signatures (staff; the contract's parties)."""
    return contract_out(session, _visible(session, who, contract_id))


@router.get("/contracts/{contract_id}/document")
def get_document(contract_id: str, session: SessionDep, who: Reader) -> dict[str, Any]:
    """The document to sign: its RFC 8785 canonical JSON is the JWS payload (staff;
    parties)."""
    return service.current_document(session, _visible(session, who, contract_id))


@router.get("/contracts/{contract_id}/export")
def export_contract(
    contract_id: str, request: Request, session: SessionDep, who: Reader
) -> dict[str, Any]:
    """The signed contract file for offline verification (``edh contracts verify``)."""
    contract = _visible(session, who, contract_id)
    return signatures.export_file(session, contract, hub_context(request).settings)


@router.put("/contracts/{contract_id}/terms", response_model=ContractOut)
def amend_terms(
    contract_id: str, body: ContractTerms, request: Request, session: SessionDep, who: Party
) -> ContractOut:
    """New terms, new version (roles: the contract's provider or lab, while REQUESTED or
    OFFERED); the review starts over."""
    contract, party, actor = _as_party(session, who, contract_id, PROVIDER, LAB)
    ctx = hub_context(request)
    target = State.OFFERED if party == PROVIDER else State.REQUESTED
    authorize(ctx, session, actor, contract, target)
    service.amend(session, actor, contract, body, party, ctx.settings)
    return _changed(request, session, contract)


@router.post("/contracts/{contract_id}/offer", response_model=ContractOut)
def offer(contract_id: str, request: Request, session: SessionDep, who: Party) -> ContractOut:
    """The provider offers the current terms: REQUESTED → OFFERED (role: provider)."""
    contract, _, actor = _as_party(session, who, contract_id, PROVIDER)
    authorize(hub_context(request), session, actor, contract, State.OFFERED)
    service.transition(session, actor, contract, State.OFFERED)
    return _changed(request, session, contract)


@router.post("/contracts/{contract_id}/accept", response_model=ContractOut)
def accept(contract_id: str, request: Request, session: SessionDep, who: Party) -> ContractOut:
    """The lab accepts the offer: OFFERED → ACCEPTED, ethics review pending (role:
    researcher member of the project)."""
    contract, _, actor = _as_party(session, who, contract_id, LAB)
    authorize(hub_context(request), session, actor, contract, State.ACCEPTED)
    service.transition(session, actor, contract, State.ACCEPTED)
    return _changed(request, session, contract)


@router.post("/contracts/{contract_id}/reviews", response_model=ContractOut)
def decide(
    contract_id: str,
    body: ReviewIn,
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.ETHICS_REVIEWER))],
) -> ContractOut:
    """An ethics reviewer approves, rejects or asks for changes, with a reason (role:
    ethics_reviewer; once per version; not a party's member)."""
    contract = service.get_contract(session, contract_id)
    actor = actor_of(who, Role.ETHICS_REVIEWER)
    review_decision(hub_context(request), session, actor, contract, body.verdict, body.reason)
    return _changed(request, session, contract)


@router.get("/contracts/{contract_id}/reviews", response_model=list[ReviewOut])
def list_reviews(contract_id: str, session: SessionDep, who: Reader) -> list[ReviewOut]:
    """Every review decision on the contract (staff; parties)."""
    _visible(session, who, contract_id)
    return [ReviewOut(**d.model_dump()) for d in review.history(session, contract_id)]


@router.post("/contracts/{contract_id}/signatures", response_model=ContractOut)
def sign(
    contract_id: str, body: SignatureIn, request: Request, session: SessionDep, who: Party
) -> ContractOut:
    """A party's detached JWS over the current version (roles: provider, researcher
    member; policy ``edh/contracts/sign``). With both signatures the contract becomes
    VERIFIED."""
    contract, party, actor = _as_party(session, who, contract_id, PROVIDER, LAB)
    signatures.sign_as_party(hub_context(request), session, actor, contract, party, body.jws)
    return _changed(request, session, contract)


@router.post("/contracts/{contract_id}/finalize", response_model=ContractOut)
def finalize(
    contract_id: str,
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.OPERATOR))],
) -> ContractOut:
    """The hub countersigns a VERIFIED contract: FINALIZED (role: operator; policy
    ``edh/contracts/sign`` as the hub)."""
    contract = service.get_contract(session, contract_id)
    actor = actor_of(who, Role.OPERATOR)
    signatures.countersign(hub_context(request), session, actor, contract)
    return _changed(request, session, contract)


KeyOwner = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVIDER, Role.RESEARCHER))]
Supervisor = Annotated[Principal, Depends(require(Role.OPERATOR, Role.DPO))]
Terminator = Annotated[
    Principal,
    Depends(require(Role.OPERATOR, Role.PROVIDER, Role.RESEARCHER, Role.ETHICS_REVIEWER)),
]


def _suspension(
    request: Request,
    session: SessionDep,
    who: Principal,
    contract_id: str,
    reason: str,
    suspended: bool,
) -> ContractOut:
    contract = service.get_contract(session, contract_id)
    actor = actor_of(who, who.acting_role((Role.OPERATOR, Role.DPO)))
    authorize(hub_context(request), session, actor, contract, SUSPENDED)
    service.set_suspended(session, actor, contract, reason, suspended=suspended)
    return _changed(request, session, contract)


@router.post("/contracts/{contract_id}/suspend", response_model=ContractOut)
def suspend(
    contract_id: str, body: ReasonIn, request: Request, session: SessionDep, who: Supervisor
) -> ContractOut:
    """Suspend a FINALIZED contract; data stop flowing at once (roles: operator, dpo)."""
    return _suspension(request, session, who, contract_id, body.reason, True)


@router.post("/contracts/{contract_id}/resume", response_model=ContractOut)
def resume(
    contract_id: str, body: ReasonIn, request: Request, session: SessionDep, who: Supervisor
) -> ContractOut:
    """Lift a suspension (roles: operator, dpo)."""
    return _suspension(request, session, who, contract_id, body.reason, False)


def _terminator(session: SessionDep, who: Principal, contract_id: str) -> tuple[Contract, Actor]:
    staff = (Role.OPERATOR, Role.ETHICS_REVIEWER)
    if who.roles.intersection(staff):
        return service.get_contract(session, contract_id), actor_of(who, who.acting_role(staff))
    contract, _, actor = _as_party(session, who, contract_id, PROVIDER, LAB)
    return contract, actor


@router.post("/contracts/{contract_id}/terminate", response_model=ContractOut)
def terminate(
    contract_id: str, body: ReasonIn, request: Request, session: SessionDep, who: Terminator
) -> ContractOut:
    """End a contract for good, at once (roles: operator, ethics_reviewer, the provider,
    the lab)."""
    contract, actor = _terminator(session, who, contract_id)
    authorize(hub_context(request), session, actor, contract, State.TERMINATED)
    service.transition(session, actor, contract, State.TERMINATED, reason=body.reason)
    return _changed(request, session, contract)


@router.get("/organisation-keys")
def list_keys(
    organisation_id: Annotated[str, Query(min_length=1, max_length=64)],
    session: SessionDep,
    who: Reader,
) -> dict[str, Any]:
    """An organisation's registered contract-signing public keys as a JWKS, each with
    the party it signs as (staff, providers, researchers): with the hub's key, the
    trusted set for ``edh contracts verify --keys``."""
    return organisation_jwks(session, organisation_id)


@router.post("/organisation-keys", status_code=201, response_model=KeyOut)
def register_key(body: KeyIn, session: SessionDep, who: KeyOwner) -> OrganisationKey:
    """Register an organisation's contract-signing public key (roles: operator; provider
    or researcher of that organisation)."""
    actor = _key_owner(who, body.organisation_id)
    return signatures.register_key(session, actor, body.organisation_id, body.public_key)


@router.post("/organisation-keys/{kid}/revoke", response_model=KeyOut)
def revoke_key(
    kid: Annotated[str, Path(max_length=64)], body: ReasonIn, session: SessionDep, who: KeyOwner
) -> OrganisationKey:
    """End a contract-signing key's validity now (roles: operator; provider or researcher
    of its organisation): signatures it made before stay valid, later ones are refused,
    and the published JWK carries ``edh_valid_until``. Audited with the reason."""
    actor = _key_owner(who, signatures.key_by_kid(session, kid).organisation_id)
    return signatures.revoke_key(session, actor, kid, body.reason)


def _key_owner(who: Principal, organisation_id: str) -> Actor:
    """The actor managing ``organisation_id``'s keys: the operator, or a member of it."""
    if Role.OPERATOR in who.roles:
        return actor_of(who, Role.OPERATOR)
    if who.org != organisation_id:
        raise Forbidden("you may only manage keys of your own organisation")
    return actor_of(who, Role.PROVIDER if Role.PROVIDER in who.roles else Role.RESEARCHER)


@router.post(
    "/catalog/datasets/{dataset_id}/contract-requests",
    status_code=201,
    response_model=ContractOut,
)
def request_from_dataset(
    dataset_id: str,
    body: RequestTerms,
    request: Request,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.RESEARCHER, Role.OPERATOR))],
) -> ContractOut:
    """Start a contract request for this dataset: the provider and the dataset come from
    the catalog (roles: researcher member of the project, operator)."""
    dataset = get_dataset(session, dataset_id)
    terms = ContractTerms(
        **body.model_dump(), provider_id=dataset.provider_id, datasets=[dataset.id]
    )
    ctx = hub_context(request)
    contract = start_request(ctx, session, who, terms)
    publish_after_commit(ctx, session, contract)
    return contract_out(session, contract)
