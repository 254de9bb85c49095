"""Demo data of the contracts area: a catalog dataset and a contract walked from request
to FINALIZED, with the parties' keys and the signed file under the demo data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session

from contracts.lifecycle import ReviewVerdict, State
from contracts.model import ContractTerms, LegalBasis, document_bytes
from contracts.signing import sign_detached
from hub.catalog.public import DatasetIn, Frequency, create_dataset
from hub.config import Settings
from hub.contracts import review, service, signatures
from hub.contracts.models import Contract
from hub.keys import load_or_create_key, public_jwk
from hub.trail.writer import Actor

FIELDS = [
    "statement_id",
    "actor_pseudonym",
    "verb_id",
    "object_id",
    "timestamp",
    "result_completion",
    "school_id",
    "class_id",
]

# The demo project's purpose, which its contract takes up word for word (the sandbox
# policy checks that a query's purpose is the contract's).
DEMO_PURPOSE = (
    "Identifier les signaux précoces de décrochage à partir des traces d'usage de l'ENT "
    "(mission d'intérêt public et recherche : art. 6-1-e et 89 RGPD)."
)


def _dataset(session: Session, provider: Actor, provider_id: str) -> str:
    data = DatasetIn(
        provider_id=provider_id,
        title="Traces vidéo de l'ENT Lumière",
        description="Lectures, pauses et complétions des vidéos de cours, par classe.",
        xapi_profile="https://w3id.org/xapi/video",
        verbs=[
            "https://w3id.org/xapi/video/verbs/played",
            "https://w3id.org/xapi/video/verbs/paused",
            "http://adlnet.gov/expapi/verbs/completed",
        ],
        fields=FIELDS,
        keywords=["vidéo", "ENT", "collège"],
        coverage="Collèges publics, académie de Lyon",
        update_frequency=Frequency.DAILY,
    )
    return create_dataset(session, provider, data).id


def _party_key(
    session: Session, org_id: str, path: Path, actor: Actor
) -> tuple[Ed25519PrivateKey, str]:
    key = load_or_create_key(path, allow_create=True)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    signatures.register_key(session, actor, org_id, pem)
    return key, public_jwk(key.public_key())["kid"]


def _terms(provider_id: str, project_id: str, dataset_id: str, connector_id: str) -> ContractTerms:
    today = datetime.now(UTC).date()
    return ContractTerms(
        provider_id=provider_id,
        project_id=project_id,
        datasets=[dataset_id],
        purpose=DEMO_PURPOSE,
        legal_basis=[LegalBasis.PUBLIC_TASK, LegalBasis.RESEARCH],
        allowed_fields=["actor_pseudonym", "verb_id", "object_id", "timestamp", "school_id"],
        min_cell_size=10,
        rounding_base=5,
        retention_days=365,
        valid_from=today,
        valid_until=today + timedelta(days=365),
        obligations=["publier les résultats agrégés", "supprimer les extractions à l'échéance"],
        connector_ids=[connector_id],
    )


def walk_demo_contract(
    session: Session,
    settings: Settings,
    data_dir: Path,
    *,
    provider_id: str,
    lab_id: str,
    project_id: str,
    researcher_sub: str,
    connector_id: str,
) -> Contract:
    """Create the demo dataset and take one contract from REQUESTED to FINALIZED through
    the real service functions (every step audited); write ``contrat-demo.json``."""
    provider = Actor("ent.lumiere", "provider", provider_id)
    lab = Actor(researcher_sub, "researcher", lab_id)
    operator = Actor("admin", "operator")
    dataset_id = _dataset(session, provider, provider_id)
    keys = {
        "provider": _party_key(session, provider_id, data_dir / "provider-contracts.pem", operator),
        "lab": _party_key(session, lab_id, data_dir / "lab-contracts.pem", operator),
    }
    terms = _terms(provider_id, project_id, dataset_id, connector_id)
    contract = service.create_request(session, lab, terms, settings)
    service.transition(session, provider, contract, State.OFFERED)
    service.transition(session, lab, contract, State.ACCEPTED)
    for n in range(1, settings.review.quorum + 1):
        reviewer = Actor(f"comite.{n}", "ethics_reviewer")
        review.decide(
            session,
            reviewer,
            contract,
            ReviewVerdict.APPROVE,
            "Finalité d'intérêt public, données minimisées.",
            settings.review.quorum,
        )
    payload = document_bytes(service.current_document(session, contract))
    for party, actor in (("provider", provider), ("lab", lab)):
        key, kid = keys[party]
        jws = sign_detached(key, payload, kid=kid, party=party)
        signatures.add_signature(session, actor, contract, party, jws)
    signatures.finalize(session, operator, contract, settings)
    exported = signatures.export_file(session, contract, settings)
    (data_dir / "contrat-demo.json").write_text(json.dumps(exported, indent=2, ensure_ascii=False))
    _pending_request(session, settings, terms, lab, provider)
    return contract


def _pending_request(
    session: Session, settings: Settings, terms: ContractTerms, lab: Actor, provider: Actor
) -> None:
    """A second request, amended by the provider, waiting in the committee's queue."""
    asked = terms.model_copy(update={"allowed_fields": [*terms.allowed_fields, "class_id"]})
    contract = service.create_request(session, lab, asked, settings)
    offered = asked.model_copy(update={"min_cell_size": 15, "retention_days": 180})
    service.amend(session, provider, contract, offered, service.PROVIDER, settings)
    service.transition(session, lab, contract, State.ACCEPTED)
