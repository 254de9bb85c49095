"""Contracts and catalog fixtures: a provider, a lab with an accredited researcher, a
project, a catalog dataset and both parties' signing keys, all through the real API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from contracts.model import document_bytes
from contracts.signing import sign_detached
from hub.context import HubContext
from hub.keys import public_jwk
from tests.support.factories import new_siren

Auth = Callable[..., dict[str, str]]
FIELDS = ["statement_id", "actor_pseudonym", "verb_id", "object_id", "timestamp", "school_id"]
VIDEO_VERBS = [
    "https://w3id.org/xapi/video/verbs/played",
    "https://w3id.org/xapi/video/verbs/paused",
]


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def dataset_body(provider_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "provider_id": provider_id,
        "title": "Vidéos pédagogiques FUN-MOOC",
        "description": "Interactions des élèves avec les vidéos de cours (lecture, pause).",
        "xapi_profile": "https://w3id.org/xapi/video",
        "verbs": VIDEO_VERBS,
        "fields": FIELDS,
        "keywords": ["vidéo", "MOOC"],
        "coverage": "Lycées, académie de Lyon",
        "update_frequency": "DAILY",
    }
    return {**body, **overrides}


@dataclass
class World:
    """Registered parties and helpers that drive a contract through the API."""

    client: TestClient
    auth: Auth
    provider_id: str = ""
    lab_id: str = ""
    project_id: str = ""
    dataset_id: str = ""
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    def as_provider(self) -> dict[str, str]:
        return self.auth("provider", sub="ent.editeur", org=self.provider_id)

    def as_lab(self) -> dict[str, str]:
        return self.auth("researcher", sub="claire", org=self.lab_id)

    def as_reviewer(self, sub: str = "comite.1", org: str | None = None) -> dict[str, str]:
        return self.auth("ethics_reviewer", sub=sub, org=org)

    def as_operator(self) -> dict[str, str]:
        return self.auth("operator", sub="admin")

    def post(self, path: str, headers: dict[str, str], body: Any = None) -> Any:
        resp = self.client.post(f"/api/v1{path}", json=body, headers=headers)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    def terms(self, **overrides: Any) -> dict[str, Any]:
        today = datetime.now(UTC).date()
        body = {
            "provider_id": self.provider_id,
            "project_id": self.project_id,
            "datasets": [self.dataset_id],
            "purpose": "Mesurer l'effet des vidéos sur la persévérance des élèves.",
            "legal_basis": ["gdpr-art-6-1-e", "gdpr-art-89"],
            "allowed_fields": ["actor_pseudonym", "verb_id", "timestamp"],
            "min_cell_size": 10,
            "retention_days": 180,
            "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
            "obligations": ["publier les résultats", "supprimer les données à l'échéance"],
        }
        return {**body, **overrides}

    def request(self, **overrides: Any) -> dict[str, Any]:
        return self.post("/contracts", self.as_lab(), self.terms(**overrides))  # type: ignore[no-any-return]

    def accepted(self, **amended: Any) -> dict[str, Any]:
        """A contract awaiting review; with ``amended`` terms the lab first makes a v2."""
        contract = self.request()
        if amended:
            path = f"/api/v1/contracts/{contract['id']}/terms"
            resp = self.client.put(path, json=self.terms(**amended), headers=self.as_lab())
            assert resp.status_code == 200, resp.text
        self.post(f"/contracts/{contract['id']}/offer", self.as_provider())
        return self.post(f"/contracts/{contract['id']}/accept", self.as_lab())  # type: ignore[no-any-return]

    def agreed(self) -> dict[str, Any]:
        return self.approve(self.accepted()["id"])

    def approve(self, contract_id: str) -> dict[str, Any]:
        """The ethics committee's approval of an ACCEPTED contract."""
        reason = "Finalité d'intérêt public claire, minimisation suffisante."
        body = {"verdict": "approve", "reason": reason}
        return self.post(f"/contracts/{contract_id}/reviews", self.as_reviewer(), body)  # type: ignore[no-any-return]

    def jws(self, contract_id: str, party: str, key: Ed25519PrivateKey | None = None) -> str:
        doc = self.client.get(
            f"/api/v1/contracts/{contract_id}/document", headers=self.as_operator()
        ).json()
        key = key or self.keys[party]
        kid = public_jwk(key.public_key())["kid"]
        return sign_detached(key, document_bytes(doc), kid=kid, party=party)

    def finalized(self) -> dict[str, Any]:
        return self.sign_and_finalize(self.agreed()["id"])

    def sign_and_finalize(self, cid: str) -> dict[str, Any]:
        """Both parties sign an AGREED contract, the hub countersigns: FINALIZED."""
        self.post(
            f"/contracts/{cid}/signatures", self.as_provider(), {"jws": self.jws(cid, "provider")}
        )
        self.post(f"/contracts/{cid}/signatures", self.as_lab(), {"jws": self.jws(cid, "lab")})
        return self.post(f"/contracts/{cid}/finalize", self.as_operator())  # type: ignore[no-any-return]


def issuer_auth(ctx: HubContext) -> Auth:
    """Like the ``auth`` fixture, for a hub context built by the test itself."""

    def headers(*roles: str, sub: str = "tester", org: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.issuer.mint(sub, list(roles), org=org)}"}

    return headers


def build_world(client: TestClient, auth: Auth) -> World:
    """Register everything a contract needs, through the registry and catalog APIs."""
    world = World(client, auth)
    op = world.as_operator()
    ids = [
        world.post("/organisations", op, {"name": kind, "siren": new_siren(), "kind": kind})["id"]
        for kind in ("provider", "lab")
    ]
    world.provider_id, world.lab_id = ids
    today = date.today()
    researcher = world.post(
        "/researchers",
        op,
        {
            "subject": "claire",
            "name": "Claire Martin",
            "email": "claire@lab.example.fr",
            "organisation_id": world.lab_id,
            "accreditation": {
                "granted_by": "CASD",
                "valid_from": today.isoformat(),
                "valid_until": (today + timedelta(days=400)).isoformat(),
            },
        },
    )
    world.project_id = world.post(
        "/projects",
        op,
        {
            "title": "Persévérance",
            "purpose": "Étudier la persévérance scolaire.",
            "lab_id": world.lab_id,
            "members": [researcher["id"]],
        },
    )["id"]
    world.dataset_id = world.post("/catalog/datasets", op, dataset_body(world.provider_id))["id"]
    for party, org_id in (("provider", world.provider_id), ("lab", world.lab_id)):
        world.keys[party] = Ed25519PrivateKey.generate()
        body = {"organisation_id": org_id, "public_key": public_pem(world.keys[party])}
        world.post("/organisation-keys", op, body)
    return world


@pytest.fixture
def world(client: TestClient, auth: Auth) -> World:
    return build_world(client, auth)
