"""The erasure register: a pupil erased once stays erased, under every contract.

A request carries the clear identifier once; the register keeps only its keyed digest
(:func:`register_digest`) and the pupil's pseudonym under every contract the hub knows
(each request is extended to contracts created since, whenever it is submitted again).
The same call rewrites the lake and quarantine of those contracts and the pupil sketches
of their projects' exact results in the airlock, and sets the catalog's counts to what
the lake then holds; connectors drop the pupil before
shipping and the hub strips them at registration, both from these pseudonyms.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from hub.config import Settings
from hub.ingest.public import erase_everywhere, eraser_for, lake_guard, refresh_catalog
from hub.pseudonym.public import (
    check_identifier,
    ensure_request,
    register_digest,
    register_pseudonyms,
)
from hub.sandbox.public import erase_from_ledger
from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key
from hub.storage.port import ObjectStore
from hub.trail.writer import Actor, EventDraft, Resource, Why, record


@dataclass(frozen=True)
class ErasureOutcome:
    """What one submission of an erasure request did (no pseudonym, no day)."""

    request_id: str
    contracts: int
    rows_removed: int
    batches: int
    cells_updated: int


def request_erasure(
    store: ObjectStore,
    session: Session,
    settings: Settings,
    actor: Actor,
    identifier: str,
    origin: str,
) -> ErasureOutcome:
    """Record (or extend) the erasure of the pupil ``identifier`` and erase their rows from
    the lake and quarantine of every contract; audited by request id and counts only.

    Idempotent: submitting the same pupil again keeps one request, covers contracts
    created since, and removes nothing twice. Raises ``ValidationFailed`` for an
    identifier that is not canonical. ``origin`` says who asked (``dpo``, ``provider``).
    """
    value = check_identifier(identifier)
    digest = register_digest(settings, value)
    request = ensure_request(session, digest, origin, actor.sub)
    known = register_pseudonyms(session, settings, request.id, value)
    wanted = {contract: {pseudonym: request.id} for contract, pseudonym in known.items()}
    change = erase_everywhere(eraser_for(store, settings, lake_guard(session)), session, wanted)
    refresh_catalog(session)
    secret = derive_key(settings.hub_secret, SANDBOX_PROJECT_LABEL)  # as hub.sandbox.jobs
    outcome = ErasureOutcome(
        request.id,
        len(wanted),
        change.rows_removed,
        len(change.batches),
        erase_from_ledger(session, secret, wanted),
    )
    details = {
        "origin": request.origin,
        "contracts": outcome.contracts,
        "rows_removed": outcome.rows_removed,
        "batches_rewritten": outcome.batches,
        "released_cells_updated": outcome.cells_updated,
    }
    draft = EventDraft(
        actor,
        "pseudonym.erasure",
        Resource("erasure-request", request.id),
        why=Why(purpose="erasure request"),
        details=details,
    )
    record(session, draft)
    return outcome
