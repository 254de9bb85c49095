"""Two participants of the data space, each its own hub process on loopback: a lab's hub
(consumer) discovers a dataset of the provider hub, negotiates through the provider's
ethics gate (the lab's contract, reviewed and signed, is the agreement) and receives a
pull data address, all over DSP with did:web identities the two operators trusted; the
oracle is each hub's database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.dsp.schema import validate, validate_did_service
from contracts.dsp.vocab import CONTEXT, Message
from hub.dataspace.did import did_for, sign_token
from tests.support.browser import free_port
from tests.support.contracts_fixtures import World, build_world

BIN = Path(sys.executable).parent
PURPOSE = "Mesurer l'effet des vidéos sur la persévérance des élèves."


@dataclass
class Node:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)
    registered: World | None = None

    @property
    def did(self) -> str:
        return did_for(self.url)

    def token(self, role: str, sub: str = "someone", org: str | None = None) -> dict[str, str]:
        """A token of the hub's own issuer (``edh token``, once per role, sub and org)."""
        key = f"{role} {sub} {org}"
        if key not in self.tokens:
            extra = ["--org", org] if org else []
            out = subprocess.run(
                [str(BIN / "edh"), "token", "--sub", sub, "--role", role, *extra],
                env=self.env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            self.tokens[key] = out.stdout.strip()
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def world(self) -> World:
        """The provider hub's registry, catalog and contract parties, through its API
        (registered once: the tests of the module share them)."""
        if self.registered is None:
            client = httpx.Client(base_url=self.url, timeout=30)
            self.registered = build_world(client, self.auth)  # type: ignore[arg-type]
        return self.registered

    def auth(self, role: str, sub: str = "tester", org: str | None = None) -> dict[str, str]:
        return self.token(role, sub, org)

    def call(self, method: str, path: str, role: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method, self.url + path, json=body, headers=self.token(role), timeout=30
        )

    def db(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data_dir / "hub.sqlite3") as db:
            return db.execute(query, args).fetchall()


def _start(root: Path, name: str) -> Node:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(root / name),
        "EDH_PUBLIC_URL": url,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    log = (root / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "edh"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (root / f"{name}.log").read_text()
        try:
            if httpx.get(url + "/.well-known/did.json", timeout=1).status_code == 200:
                return Node(url, root / name, process, env)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"hub {name} did not start")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    root = tmp_path_factory.mktemp("dsp-two-nodes")
    provider, lab = _start(root, "provider"), _start(root, "lab")
    yield provider, lab
    for node in (provider, lab):
        os.killpg(node.process.pid, signal.SIGTERM)
        node.process.wait(timeout=30)


def _until(read: Callable[[], dict[str, Any]], state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        document = read()
        if document.get("state") == state:
            return document
        time.sleep(0.1)
    raise AssertionError(f"still {document}")


def test_did_documents_are_served(nodes: tuple[Node, Node]) -> None:
    for node in nodes:
        document = httpx.get(node.url + "/.well-known/did.json").json()
        assert document["id"] == node.did
        (method,) = document["verificationMethod"]
        assert method["publicKeyJwk"]["crv"] == "Ed25519"
        for service in document["service"]:
            validate_did_service(service)


def test_untrusted_participants_are_refused(nodes: tuple[Node, Node]) -> None:
    provider, lab = nodes
    request = {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    stranger = sign_token(Ed25519PrivateKey.generate(), lab.did, provider.did)
    answer = httpx.post(
        provider.url + "/dsp/catalog/request",
        json=request,
        headers={"Authorization": f"Bearer {stranger}"},
    )
    assert answer.status_code == 401
    validate(Message.CATALOG_ERROR, answer.json())


def _trust_each_other(provider: Node, lab: Node, lab_id: str) -> None:
    """Each operator trusts the other hub; the provider's knows the lab it acts for."""
    for node, other, org in ((provider, lab, lab_id), (lab, provider, None)):
        trusted = node.call(
            "POST",
            "/api/v1/dataspace/participants",
            "operator",
            {"did": other.did, "organisation_id": org},
        )
        assert trusted.status_code == 201, trusted.text


def test_a_lab_negotiates_through_the_ethics_gate_and_gets_a_pull_address(
    nodes: tuple[Node, Node],
) -> None:
    provider, lab = nodes
    world = provider.world()
    dataset_id = world.dataset_id
    _trust_each_other(provider, lab, world.lab_id)

    # A forged token in the lab's name (another key) is refused even though the lab is trusted.
    forged = sign_token(Ed25519PrivateKey.generate(), lab.did, provider.did)
    request = {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    refused = httpx.post(
        provider.url + "/dsp/catalog/request",
        json=request,
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert refused.status_code == 401

    started = lab.call(
        "POST",
        "/api/v1/dataspace/negotiations",
        "researcher",
        {
            "provider_url": provider.url + "/dsp",
            "provider_id": provider.did,
            "dataset_id": dataset_id,
            "offer_id": f"urn:edh:offer:{dataset_id}",
        },
    )
    assert started.status_code == 201, started.text
    consumer_pid, provider_pid = started.json()["consumerPid"], started.json()["providerPid"]

    def at_lab() -> dict[str, Any]:
        return dict(
            lab.call("GET", f"/api/v1/dataspace/negotiations/{consumer_pid}", "researcher").json()
        )

    def at_provider() -> dict[str, Any]:
        path = f"/api/v1/dataspace/negotiations/{provider_pid}"
        return dict(provider.call("GET", path, "operator").json())

    time.sleep(1)
    assert at_provider()["state"] == "REQUESTED"  # the ethics gate: nothing moves alone
    gate_path = f"/api/v1/dataspace/negotiations/{provider_pid}/agreement"
    # The lab's contract, reviewed by the ethics committee and signed by both parties.
    contract = world.accepted()
    early = provider.call("POST", gate_path, "operator", {"contract_id": contract["id"]})
    assert early.status_code == 409, early.text
    contract = world.finalized()
    denied = provider.call("POST", gate_path, "researcher", {"contract_id": contract["id"]})
    assert denied.status_code == 403
    gate = provider.call("POST", gate_path, "operator", {"contract_id": contract["id"]})
    assert gate.status_code == 200, gate.text
    finalized = _until(at_lab, "FINALIZED")
    _until(at_provider, "FINALIZED")
    agreement = finalized["agreement"]
    assert agreement["assignee"] == lab.did and agreement["assigner"] == provider.did
    assert agreement["target"] == dataset_id
    assert agreement["@id"] == f"urn:edh:contract:{contract['id']}:v{contract['version']}"

    transfer = lab.call(  # a researcher of the lab asks: the token will be theirs
        "POST", "/api/v1/dataspace/transfers", "researcher", {"agreement_id": agreement["@id"]}
    )
    assert transfer.status_code == 201, transfer.text
    pid = transfer.json()["consumerPid"]
    started_transfer = _until(
        lambda: dict(lab.call("GET", f"/api/v1/dataspace/transfers/{pid}", "researcher").json()),
        "STARTED",
    )
    address = started_transfer["dataAddress"]
    (transfer_pid,) = provider.db("SELECT id FROM dsp_transfer")[0]
    assert (
        address["endpoint"] == f"{provider.url}/api/v1/dataspace/transfers/{transfer_pid}/queries"
    )
    token = {p["name"]: p["value"] for p in address["endpointProperties"]}["authorization"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] <= 3600 and claims["sub"] == "someone"
    assert (claims["project"], claims["contract"]) == (world.project_id, contract["id"])

    # The provider takes the token on its transfer's address with the identity of its
    # researcher in its realm (the sandbox then decides the query), not with another's
    # (the operator "admin"); the lab's hub does not know it.
    def with_identity(role: str, sub: str) -> dict[str, str]:
        own = provider.token(role, sub)["Authorization"]
        return {"Authorization": f"Bearer {token}", "EDH-Researcher-Authorization": own}

    bound = "the caller is not the researcher the token was issued to"
    query = {"sql": "SELECT 1", "purpose": "x"}
    headers = with_identity("researcher", "someone")
    answer = httpx.post(address["endpoint"], json=query, headers=headers)
    assert answer.status_code != 401 and bound not in answer.text, answer.text
    intruder = httpx.post(
        address["endpoint"], json=query, headers=with_identity("operator", "admin")
    )
    assert intruder.status_code == 403 and intruder.json()["reasons"] == [bound]
    headers = {"Authorization": f"Bearer {token}"}
    elsewhere = address["endpoint"].replace(provider.url, lab.url)
    assert httpx.post(elsewhere, json=query, headers=headers).status_code in (401, 404)

    # Ground truth: each hub's database holds its side, with the other's DID.
    assert provider.db(
        "SELECT state, counterparty, role FROM dsp_negotiation WHERE id = ?", provider_pid
    ) == [("FINALIZED", lab.did, "provider")]
    assert lab.db(
        "SELECT state, counterparty, role, agreement_id FROM dsp_negotiation WHERE id = ?",
        consumer_pid,
    ) == [("FINALIZED", provider.did, "consumer", agreement["@id"])]
    assert provider.db("SELECT state, counterparty FROM dsp_transfer") == [("STARTED", lab.did)]
    actions = [
        r[0]
        for r in provider.db(
            "SELECT action FROM audit_event WHERE resource_id = ? ORDER BY seq", provider_pid
        )
    ]
    assert actions[:3] == [
        "policy.edh/dataspace/negotiate",
        "policy.edh/dataspace/terms",  # no terms asked: no contract opened
        "dsp_negotiation.requested",
    ]
    assert "dsp_negotiation.finalized" in actions
    agreed = provider.db(
        "SELECT actor_sub FROM audit_event WHERE action = 'dsp_negotiation.agreed'"
    )
    assert agreed == [("someone",)]  # the operator who bound the finalized contract
    # The operator distrusts the lab: its next request is refused, the lab's hub ends it.
    path = "/api/v1/dataspace/participants/" + quote(lab.did, safe="")  # %3A stays encoded
    removed = provider.call("DELETE", path, "operator")
    assert removed.status_code == 204
    again = lab.call(
        "POST",
        "/api/v1/dataspace/negotiations",
        "researcher",
        {
            "provider_url": provider.url + "/dsp",
            "provider_id": provider.did,
            "dataset_id": dataset_id,
            "offer_id": f"urn:edh:offer:{dataset_id}",
        },
    )
    assert again.status_code == 503, again.text
    assert provider.db("SELECT count(*) FROM dsp_negotiation") == [(1,)]
    assert lab.db("SELECT state FROM dsp_negotiation ORDER BY created_at") == [
        ("FINALIZED",),
        ("TERMINATED",),
    ]
    assert provider.db(
        "SELECT resource_id FROM audit_event WHERE action = 'dsp.participant.removed'"
    ) == [(lab.did,)]


def test_a_lab_s_terms_pass_the_ethics_gate_with_no_operator_step(
    nodes: tuple[Node, Node],
) -> None:
    """The lab's researcher asks, over its own hub, for the dataset with its terms (ODRL
    constraints); the provider hub opens the lab's contract request by itself, the
    contract goes through the provider's offer, the lab's acceptance, the ethics
    committee and both signatures; the agreement then reaches the lab's hub by itself,
    with the contract's terms, and the lab gets its pull data address. (After the test
    above: the lab, distrusted there, is trusted again.)"""
    provider, lab = nodes
    world = provider.world()
    _trust_each_other(provider, lab, world.lab_id)
    found = lab.call(
        "POST",
        "/api/v1/dataspace/catalog",
        "researcher",
        {"provider_url": provider.url + "/dsp", "provider_id": provider.did},
    )
    assert found.status_code == 200, found.text
    (dataset,) = [d for d in found.json()["dataset"] if d["@id"] == world.dataset_id]
    (offer,) = dataset["hasPolicy"]
    assert offer["@id"] == f"urn:edh:offer:{world.dataset_id}"
    today = date.today()
    terms = [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": PURPOSE},
        {"leftOperand": "edh:project", "operator": "eq", "rightOperand": world.project_id},
        {
            "leftOperand": "edh:allowedFields",
            "operator": "isAllOf",
            "rightOperand": ["actor_pseudonym", "verb_id"],
        },
        {"leftOperand": "edh:releaseMode", "operator": "eq", "rightOperand": "reviewed"},
        {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": today.isoformat()},
        {
            "leftOperand": "dateTime",
            "operator": "lteq",
            "rightOperand": (today + timedelta(days=90)).isoformat(),
        },
    ]
    started = lab.call(
        "POST",
        "/api/v1/dataspace/negotiations",
        "researcher",
        {
            "provider_url": provider.url + "/dsp",
            "provider_id": provider.did,
            "dataset_id": world.dataset_id,
            "offer_id": offer["@id"],
            "constraints": terms,
        },
    )
    assert started.status_code == 201, started.text
    consumer_pid, provider_pid = started.json()["consumerPid"], started.json()["providerPid"]
    ((contract_id, state, lab_id),) = provider.db(
        "SELECT c.id, c.state, c.lab_id FROM contract c JOIN dsp_negotiation n"
        " ON n.contract_id = c.id WHERE n.id = ?",
        provider_pid,
    )
    assert (state, lab_id) == ("REQUESTED", world.lab_id)
    world.post(f"/contracts/{contract_id}/offer", world.as_provider())
    world.post(f"/contracts/{contract_id}/accept", world.as_lab())
    assert provider.db("SELECT state FROM contract WHERE id = ?", contract_id) == [("ACCEPTED",)]
    world.approve(contract_id)
    world.sign_and_finalize(contract_id)

    def at_lab() -> dict[str, Any]:
        path = f"/api/v1/dataspace/negotiations/{consumer_pid}"
        return dict(lab.call("GET", path, "researcher").json())

    agreement = _until(at_lab, "FINALIZED")["agreement"]
    assert agreement["@id"] == f"urn:edh:contract:{contract_id}:v1"
    (permission,) = agreement["permission"]
    assert {(c["leftOperand"], c["operator"]) for c in permission["constraint"]} == {
        (c["leftOperand"], c["operator"]) for c in terms
    } | {("edh:minCellSize", "gteq")}  # the contract's default k, now explicit
    transfer = lab.call(  # a researcher of the lab asks: the token will be theirs
        "POST", "/api/v1/dataspace/transfers", "researcher", {"agreement_id": agreement["@id"]}
    )
    assert transfer.status_code == 201, transfer.text
    pid = transfer.json()["consumerPid"]
    address = _until(
        lambda: dict(lab.call("GET", f"/api/v1/dataspace/transfers/{pid}", "researcher").json()),
        "STARTED",
    )["dataAddress"]
    assert address["endpoint"].startswith(provider.url + "/api/v1/")
    agreed = provider.db(
        "SELECT actor_sub FROM audit_event WHERE action = 'dsp_negotiation.agreed'"
        " AND resource_id = ?",
        provider_pid,
    )
    assert agreed == [(provider.did,)]  # the hub itself, once the contract was signed
    terms_allowed = provider.db(
        "SELECT decision FROM audit_event WHERE action = 'policy.edh/dataspace/terms'"
        " AND resource_id = ?",
        provider_pid,
    )
    assert terms_allowed == [("allow",)]
