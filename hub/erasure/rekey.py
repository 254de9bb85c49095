"""Re-pseudonymisation after a key rotation, from the identifiers the vendor holds.

A pseudonym is a one-way HMAC of the clear identifier: neither the hub nor the
pseudonymisation service can map a contract's pseudonyms from one master key version to
another. The vendor (the data controller) can: its connector
(``edh-connector repseudonymise --roster FILE``) obtains the contract's key under its
current version and under the hub's new version (``rotation_keys``), computes the pair
(old pseudonym, new pseudonym) of every identifier of its roster, and sends only the
pairs. :func:`repseudonymise` then, in one transaction:

- rewrites every registered object of the contract through the erasure machinery (new
  keys ``*.rekeyed-<id>.parquet``, hub-signed manifests linked to the original and to the
  re-pseudonymisation, old objects removed with every version by the erasure role once
  the transaction commits): each row's ``actor_pseudonym`` and every pseudonymised agent
  of its ``statement_json`` are mapped; a row naming a pseudonym absent from the pairs is
  dropped (fail closed: no pseudonym of the old key remains);
- deletes the contract's quarantined objects (refused data under the old key);
- maps the erasure register's pseudonyms of the contract, the record of use's digests
  and the airlock's cell sketches of the contract's project;
- moves ``contract.key_version`` to the new version, sets the catalog's counts, and
  records the run (``Repseudonymisation``) and an audit event with counts only.

A batch shipped under the old key and completed afterwards is refused at completion
(``hub.ingest.complete``: its manifest names the key version). The pairs are the
vendor's word: the hub can check their form (hex, one-to-one), not that they come from
real identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
from sqlmodel import Session

from contracts.pseudonym import PSEUDONYM_HOME_PAGE
from hub.columns import new_id
from hub.config import Settings
from hub.contracts.public import ContractRecord, get_contract, set_key_version
from hub.errors import Conflict, ValidationFailed
from hub.ingest.public import (
    REKEY_KIND,
    REKEYED,
    ContractRewrite,
    Rewrite,
    Rewritten,
    eraser_for,
    lake_guard,
    refresh_catalog,
    rewrite_contract,
)
from hub.pseudonym.public import (
    contract_key,
    record_repseudonymisation,
    remap_register,
    remap_uses,
)
from hub.sandbox.public import remap_ledger
from hub.secrets import SANDBOX_PROJECT_LABEL, derive_key
from hub.storage.port import ObjectStore
from hub.trail.writer import Actor, EventDraft, Resource, Why, record

HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_PAIRS = 1_000_000


@dataclass(frozen=True)
class RotationKeys:
    """A contract's key under its current version and under the version it moves to."""

    contract_id: str
    from_version: str
    from_key: bytes
    to_version: str
    to_key: bytes


@dataclass(frozen=True)
class _Moved:
    """The contract as it will derive its key after the move."""

    id: str
    key_version: str


def _target_version(settings: Settings, contract: ContractRecord) -> str:
    """The hub's current master key version; ``Conflict`` when the contract already
    derives from it (nothing to re-pseudonymise)."""
    target = settings.pseudonym.key_version
    if target == contract.key_version:
        raise Conflict(f"the contract's key already derives from {target}")
    return target


def rotation_keys(settings: Settings, session: Session, contract_id: str) -> RotationKeys:
    """The contract's key under its version and under the hub's current one."""
    contract = get_contract(session, contract_id)
    target = _target_version(settings, contract)
    old = contract_key(settings, contract, "re-pseudonymisation (old key)")
    new = contract_key(settings, _Moved(contract.id, target), "re-pseudonymisation (new key)")
    return RotationKeys(contract.id, contract.key_version, old, target, new)


def check_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The mapping old → new; ``ValidationFailed`` unless every pseudonym is lower-case
    hex SHA-256 and the pairs are one-to-one (the message names no pseudonym)."""
    mapping = dict(pairs)
    if not all(HEX64.match(a) and HEX64.match(b) for a, b in pairs):
        raise ValidationFailed("pseudonyms must be 64 lower-case hex digits")
    if len(mapping) != len(pairs) or len(set(mapping.values())) != len(mapping):
        raise ValidationFailed("the pairs must map each old pseudonym to one new, one-to-one")
    return mapping


def _remap_agents(value: Any, mapping: dict[str, str]) -> bool:
    """Map, in place, the pseudonym of every pseudonymised agent in ``value``; False when
    one is not in ``mapping``."""
    if isinstance(value, dict):
        account = value.get("account")
        if isinstance(account, dict) and account.get("homePage") == PSEUDONYM_HOME_PAGE:
            new = mapping.get(str(account.get("name")))
            if new is None:
                return False
            account["name"] = new
        return all(_remap_agents(v, mapping) for v in value.values())
    if isinstance(value, list):
        return all(_remap_agents(v, mapping) for v in value)
    return True


DROP = object()
"""A row to drop: it names a pseudonym absent from the pairs."""


def _remap_row(actor: str | None, text: str | None, mapping: dict[str, str]) -> Any:
    """The row's new ``statement_json`` (``None`` stays ``None``), or ``DROP``."""
    if actor not in mapping:
        return DROP
    if text is None:
        return None
    statement = orjson.loads(text)
    return orjson.dumps(statement).decode() if _remap_agents(statement, mapping) else DROP


def rekeyed(mapping: dict[str, str], rekey_id: str) -> Rewrite:
    """The re-pseudonymisation rewrite of one file (see module docstring)."""

    def rewrite(table: pa.Table) -> Rewritten:
        actors = table.column("actor_pseudonym").to_pylist()
        texts = table.column("statement_json").to_pylist()
        rows = [(a, _remap_row(a, t, mapping)) for a, t in zip(actors, texts, strict=True)]
        kept = table.filter(pa.array([t is not DROP for _, t in rows]))
        rows = [(a, t) for a, t in rows if t is not DROP]
        new_actors = pa.array([mapping[a] for a, _ in rows], pa.string())
        new_texts = pa.array([t for _, t in rows], pa.string())
        for name, column in (("actor_pseudonym", new_actors), ("statement_json", new_texts)):
            kept = kept.set_column(kept.schema.get_field_index(name), name, column)
        kept = kept.replace_schema_metadata(table.schema.metadata)
        removed = table.num_rows - kept.num_rows
        links = {"repseudonymisation": rekey_id}
        return Rewritten(kept, removed, [rekey_id], links, REKEYED, REKEY_KIND)

    return rewrite


@dataclass
class RekeyOutcome:
    """What one re-pseudonymisation did (counts only; the lake's are those of
    ``ContractRewrite``, by the same names)."""

    id: str
    contract_id: str
    key_version: str
    pairs: int
    objects_rewritten: int = 0
    rows_kept: int = 0
    rows_dropped: int = 0
    quarantined_deleted: int = 0
    erased_mapped: int = 0
    erased_not_in_roster: int = 0
    uses_mapped: int = 0
    cells_mapped: int = 0


def _rewrite_lake(
    store: ObjectStore,
    session: Session,
    settings: Settings,
    contract_id: str,
    mapping: dict[str, str],
    run_id: str,
) -> ContractRewrite:
    eraser = eraser_for(store, settings, lake_guard(session))
    return rewrite_contract(eraser, session, contract_id, rekeyed(mapping, run_id))


def repseudonymise(
    store: ObjectStore,
    session: Session,
    settings: Settings,
    actor: Actor,
    contract_id: str,
    versions: tuple[str, str],
    pairs: list[tuple[str, str]],
) -> RekeyOutcome:
    """Move the contract's data from ``versions[0]`` (its current key version) to
    ``versions[1]`` (the hub's current one) with ``pairs`` (see module docstring).

    Raises ``Conflict`` when the versions are not those, ``ValidationFailed`` for bad
    pairs, ``LakeObjectAltered`` when a registered object no longer matches the registry
    (nothing changed). The caller's transaction commits everything at once.
    """
    contract = get_contract(session, contract_id)
    target = _target_version(settings, contract)
    if versions != (contract.key_version, target):
        raise Conflict(f"the contract moves from {contract.key_version} to {target}")
    mapping = check_pairs(pairs)
    run_id = new_id()
    lake = _rewrite_lake(store, session, settings, contract.id, mapping, run_id)
    outcome = RekeyOutcome(run_id, contract.id, target, len(mapping), **vars(lake))
    outcome.erased_mapped, outcome.erased_not_in_roster = remap_register(
        session, contract.id, mapping
    )
    outcome.uses_mapped = remap_uses(session, settings, contract.id, mapping)
    secret = derive_key(settings.hub_secret, SANDBOX_PROJECT_LABEL)  # as hub.sandbox.jobs
    outcome.cells_mapped = remap_ledger(session, secret, contract.project_id, mapping)
    record_repseudonymisation(
        session,
        run_id=outcome.id,
        contract_id=contract.id,
        versions=(contract.key_version, target),
        pairs=outcome.pairs,
        objects_rewritten=outcome.objects_rewritten,
        rows=(outcome.rows_kept, outcome.rows_dropped),
        requested_by=actor.sub,
    )
    details = {"from_version": contract.key_version, **vars(outcome)}
    set_key_version(session, contract.id, target)
    refresh_catalog(session)
    why = Why(contract_id=contract.id, project_id=contract.project_id, purpose="key rotation")
    record(
        session,
        EventDraft(
            actor,
            "pseudonym.repseudonymisation",
            Resource("contract", contract.id),
            why=why,
            details=details,
        ),
    )
    return outcome
