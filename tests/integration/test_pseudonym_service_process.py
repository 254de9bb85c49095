"""The pseudonymisation service in its own process (``edh pseudonym serve``) over a real
SoftHSM2 token, and a hub pointed at it: the hub derives the same keys as the token's
master key would (HMAC oracle), holds no master key material in its settings, environment
or database, cannot derive anything once the service is gone or with a wrong credential,
and every derivation is in the service's own audit trail with its purpose."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, create_engine, select

from connector.pipeline.client import HubRefused
from contracts.pseudonym import pseudonym
from hub.app import create_app
from hub.config import Settings
from hub.errors import ServiceUnavailable
from hub.pseudonym.service import contract_key, custody, pseudonym_for, register_digest
from hub.settings.pseudonym import PseudonymServiceSettings, PseudonymSettings
from hub.trail.models import AuditEvent
from tests.support.browser import free_port
from tests.support.contract_ref import ContractRef
from tests.support.factories import make_context
from tests.support.ingest_fixtures import IngestSetup, finalize_contract

LIBRARY = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "2468"
MASTER = secrets.token_hex(32).encode()
MASTER_V2 = secrets.token_hex(32).encode()
HUB = [sys.executable, "-m", "hub"]
ERASURE = "/api/v1/pseudonym/dpo/erasure-requests"
LYON = ContractRef("c-lyon-2026")
PUPIL = "account:https://ent.lyon.example.fr|eleve.0000001"


@dataclass
class Service:
    url: str
    token: str
    database: Path
    process: subprocess.Popen[bytes]


def _token_env(tmp: Path) -> dict[str, str]:
    """A fresh SoftHSM2 token known only to the service's environment."""
    (tmp / "tokens").mkdir()
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp / 'tokens'}\nobjectstore.backend = file\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    init = ["softhsm2-util", "--init-token", "--free", "--label", "edh-svc", "--pin", PIN]
    subprocess.run([*init, "--so-pin", "97531"], check=True, capture_output=True, env=env)
    return {
        **env,
        "EDH_PSEUDONYM__CUSTODY": "pkcs11",
        "EDH_PSEUDONYM__PKCS11_LIBRARY": LIBRARY,
        "EDH_PSEUDONYM__TOKEN_LABEL": "edh-svc",
        "EDH_PSEUDONYM__PIN": PIN,
    }


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == httpx.codes.OK:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("edh pseudonym serve did not start")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    if not Path(LIBRARY).exists():
        pytest.fail("SoftHSM2 is missing: run scripts/test-services.sh")
    env = _token_env(tmp_path)
    imported = subprocess.run(
        [*HUB, "pseudonym", "keys", "import", "v1", "--secret-file", "-"],
        input=MASTER, env=env, capture_output=True, check=True,
    )  # fmt: skip
    assert b'"versions": ["v1"]' in imported.stdout
    rotated = subprocess.run(
        [*HUB, "pseudonym", "keys", "import", "v2", "--secret-file", "-"],
        input=MASTER_V2, env=env, capture_output=True, check=True,
    )  # fmt: skip
    assert b'"versions": ["v1", "v2"]' in rotated.stdout
    token, port, database = secrets.token_hex(32), free_port(), tmp_path / "pseudonym.sqlite3"
    audit_key = tmp_path / "service-audit.pem"  # seals the service's own audit trail
    audit_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env |= {
        "EDH_AUDIT__KEY_FILE": str(audit_key),
        "EDH_DEV_MODE": "false",
        "EDH_DATA_DIR": str(tmp_path / "data"),
        "EDH_PSEUDONYM__SERVICE__TOKEN": token,
        "EDH_PSEUDONYM__SERVICE__DATABASE_URL": f"sqlite:///{database}",
    }
    serve = [*HUB, "pseudonym", "serve", "--port", str(port)]
    process = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    _wait(url, process)
    yield Service(url, token, database, process)
    process.terminate()
    process.wait(timeout=30)


def _hub(service: Service, token: str | None = None) -> Settings:
    link = PseudonymServiceSettings(url=service.url, token=SecretStr(token or service.token))
    return Settings(pseudonym=PseudonymSettings(custody="remote", service=link))


def _oracle(message: bytes, master: bytes = MASTER) -> bytes:
    return hmac.new(master, message, hashlib.sha256).digest()


def _events(service: Service) -> list[AuditEvent]:
    engine = create_engine(f"sqlite:///{service.database}")
    with Session(engine) as session:
        found = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all())  # type: ignore[arg-type]
    engine.dispose()
    return found


def test_the_hub_derives_through_the_service_and_every_derivation_is_audited(
    service: Service,
) -> None:
    hub = _hub(service)
    key = contract_key(hub, LYON)
    assert key == _oracle(b"edh-pseudonym-v1|c-lyon-2026")
    assert pseudonym_for(hub, LYON, PUPIL) == pseudonym(key, PUPIL)
    register = _oracle(b"edh-erasure-register-v1")
    assert register_digest(hub, PUPIL) == pseudonym(register, PUPIL)
    events = [e for e in _events(service) if e.action == "pseudonym.derive"]
    assert [(e.decision, e.resource_id, e.contract_id, e.purpose) for e in events] == [
        ("allow", "contract:v1", "c-lyon-2026", "contract key"),
        ("allow", "contract:v1", "c-lyon-2026", "pseudonym lookup"),
        ("allow", "register:v1", None, "erasure register digest"),
    ]
    assert all(PUPIL not in str(e.model_dump()) for e in _events(service))


def test_the_hub_holds_no_master_key_and_derives_nothing_without_the_service(
    service: Service,
) -> None:
    hub = _hub(service)
    every_setting = hub.model_dump_json()
    secret_values = [hub.pseudonym.service.token.get_secret_value()]
    assert MASTER.decode() not in every_setting + "".join(secret_values)
    assert not any(MASTER.decode() in value for value in os.environ.values())
    assert PIN not in every_setting  # the token's PIN is the service's alone
    with pytest.raises(ServiceUnavailable, match="holds no master key"):
        custody(hub)
    with pytest.raises(ServiceUnavailable, match="refused the request \\(401\\)"):
        contract_key(_hub(service, secrets.token_hex(32)), LYON)
    denied = [e for e in _events(service) if e.decision == "deny"]
    assert [(e.actor_sub, e.reasons) for e in denied] == [("anonymous", ["bad-service-credential"])]
    service.process.terminate()
    service.process.wait(timeout=30)
    with pytest.raises(ServiceUnavailable, match="does not answer"):
        contract_key(hub, LYON)


def test_hostile_derivations_answer_problem_json_and_derive_nothing(service: Service) -> None:
    auth = {"Authorization": f"Bearer {service.token}"}
    for body in (
        {"kind": "raw", "subject": "x", "purpose": "try a raw MAC"},
        {"kind": "register", "subject": "c-1", "purpose": "a subject where none is allowed"},
        {"kind": "contract", "subject": "", "purpose": "a contract key without contract"},
        {"kind": "contract", "subject": "c" * 300, "purpose": "too long"},
        {"kind": "contract", "subject": "c-1", "purpose": "x", "extra": 1},
    ):
        answer = httpx.post(f"{service.url}/v1/keys/derive", json=body, headers=auth)
        assert answer.status_code == httpx.codes.BAD_REQUEST, body
        assert answer.headers["content-type"] == "application/problem+json"
        assert "key" not in answer.json()
    answer = httpx.post(f"{service.url}/v1/keys/derive", content=b"{", headers=auth)
    assert answer.status_code == httpx.codes.BAD_REQUEST
    assert not [e for e in _events(service) if e.decision == "allow"]


def _database_text(engine: Engine) -> str:
    """Every row of every table of the hub's database, as text."""
    parts = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            parts += [repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(parts)


def test_a_served_hub_hands_out_keys_and_erases_through_the_service_only(
    service: Service, ingest: IngestSetup
) -> None:
    ingest.ctx.settings.pseudonym = _hub(service).pseudonym  # the served hub: custody=remote
    terms = ingest.hub_client().terms(ingest.contract_id)
    assert terms.pseudonym_key == _oracle(f"edh-pseudonym-v1|{ingest.contract_id}".encode())
    dpo = ingest.world.auth("dpo", sub="dpo.1")
    erased = ingest.client.post(ERASURE, json={"identifier": PUPIL}, headers=dpo)
    assert erased.status_code == httpx.codes.OK, erased.text
    purposes = {(e.resource_id, e.contract_id, e.purpose) for e in _events(service)}
    assert ("contract:v1", ingest.contract_id, "contract key") in purposes
    assert ("contract:v1", ingest.contract_id, "pseudonym lookup") in purposes
    assert ("register:v1", None, "erasure register digest") in purposes
    stored = _database_text(ingest.ctx.engine)
    assert MASTER.decode() not in stored and PUPIL not in stored
    ingest.ctx.settings.pseudonym.key_version = "v2"  # rotation: new contracts only
    renewed = finalize_contract(ingest.world, [ingest.connector_id])
    key = ingest.hub_client().terms(renewed).pseudonym_key
    assert key == _oracle(f"edh-pseudonym-v2|{renewed}".encode(), MASTER_V2)
    assert ingest.hub_client().terms(ingest.contract_id).pseudonym_key == terms.pseudonym_key
    service.process.terminate()
    service.process.wait(timeout=30)
    with pytest.raises(HubRefused) as refused:
        ingest.hub_client().terms(ingest.contract_id)
    assert refused.value.status == httpx.codes.SERVICE_UNAVAILABLE


def test_a_contract_keeps_the_key_version_it_was_created_with(service: Service) -> None:
    hub = _hub(service)
    old, new = ContractRef("c-2025"), ContractRef("c-2026", "v2")
    assert contract_key(hub, old) == _oracle(b"edh-pseudonym-v1|c-2025")
    assert contract_key(hub, new) == _oracle(b"edh-pseudonym-v2|c-2026", MASTER_V2)
    register = _oracle(b"edh-erasure-register-v1")  # pinned to v1 across rotations
    assert register_digest(hub, PUPIL) == pseudonym(register, PUPIL)
    with pytest.raises(ServiceUnavailable, match="\\(400\\)"):
        contract_key(hub, ContractRef("c-2027", "v9"))
    versions = [e.resource_id for e in _events(service) if e.decision == "allow"]
    assert versions == ["contract:v1", "contract:v2", "register:v1"]


def test_health_reports_the_pseudonymisation_service(service: Service, tmp_path: Path) -> None:
    link = PseudonymServiceSettings(url=service.url, token=SecretStr(service.token))
    ctx = make_context(
        f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        tmp_path,
        pseudonym=PseudonymSettings(custody="remote", service=link),
    )
    client = TestClient(create_app(context=ctx))
    up = client.get("/health")
    assert up.status_code == httpx.codes.OK
    assert up.json()["checks"]["pseudonym_service"] == {"status": "ok"}
    service.process.terminate()
    service.process.wait(timeout=30)
    down = client.get("/health")
    assert down.status_code == httpx.codes.SERVICE_UNAVAILABLE
    assert down.json()["checks"]["pseudonym_service"] == {"status": "degraded"}
    assert "does not answer" not in down.text  # the reason goes to the operator and the logs
    ctx.engine.dispose()
