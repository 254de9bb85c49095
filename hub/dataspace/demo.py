"""The data-space demo: a lab's hub, its own process, reaches the demo hub over DSP.

``run`` drives two running hubs through their public APIs only: the demo hub (``edh
demo``, the provider, with its seeded vendor, lab, project and parties' keys) and a
lab's hub (``edh serve``, the consumer). The operators trust each other's ``did:web``;
the lab's researcher discovers the dataset in the provider's catalog and asks for it
with the project's terms (ODRL); the provider opens the lab's contract request by
itself; the vendor offers, the lab accepts, the ethics committee approves, both parties
sign and the hub countersigns; the agreement reaches the lab's hub by itself, which asks
for the transfer and receives a pull data address to the sandbox's query API.
``scripts/demo-dataspace.sh`` starts both hubs and runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts.model import document_bytes
from contracts.signing import sign_detached
from hub.contracts.public import DEMO_PURPOSE
from hub.dataspace.did import did_for
from hub.keys import load_or_create_key, public_jwk

FIELDS = ["actor_pseudonym", "verb_id", "timestamp", "school_id"]


@dataclass
class Hub:
    """One running hub: its URL, its data directory (for ``edh token``), its tokens."""

    url: str
    data_dir: Path
    tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def did(self) -> str:
        return did_for(self.url)

    def token(self, role: str, sub: str, org: str = "") -> str:
        """A token of this hub's own issuer (``edh token`` on its data directory)."""
        key = (role, sub, org)
        if key not in self.tokens:
            env = {
                **os.environ,
                "EDH_DEV_MODE": "true",
                "EDH_DATA_DIR": str(self.data_dir),
                "EDH_PUBLIC_URL": self.url,
            }
            extra = ["--org", org] if org else []
            command = [sys.executable, "-m", "hub", "token", "--sub", sub, "--role", role, *extra]
            # our own CLI with arguments of this module: minted and audited as usual
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
            self.tokens[key] = out.stdout.strip()
        return self.tokens[key]

    def call(self, method: str, path: str, who: tuple[str, ...], body: Any = None) -> Any:
        """``method path`` as ``who`` (role, sub[, org]); the JSON answer, or exit."""
        headers = {"Authorization": f"Bearer {self.token(*who)}"}
        answer = httpx.request(method, self.url + path, json=body, headers=headers, timeout=60)
        if not answer.is_success:
            raise SystemExit(f"{method} {self.url}{path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None


def _say(step: str) -> None:
    print(f"- {step}", flush=True)


def _until(read: Callable[[], dict[str, Any]], state: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    document = read()
    while document.get("state") != state and time.monotonic() < deadline:
        time.sleep(0.3)
        document = read()
    if document.get("state") != state:
        raise SystemExit(f"still {document.get('state')}, expected {state}")
    return document


OPERATOR = ("operator", "admin")
RESEARCHER = ("researcher", "claire.martin")


def _parties(provider: Hub) -> tuple[str, str, str]:
    """The demo's lab, its project and the vendor, from the provider's registry."""
    orgs = provider.call("GET", "/api/v1/organisations?limit=100", OPERATOR)["items"]
    lab = next(o["id"] for o in orgs if o["kind"] == "lab")
    vendor = next(o["id"] for o in orgs if o["kind"] == "provider")
    projects = provider.call("GET", "/api/v1/projects?limit=100", OPERATOR)["items"]
    project = next(p["id"] for p in projects if p["lab_id"] == lab)
    return lab, project, vendor


def _terms(project_id: str) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    return [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": DEMO_PURPOSE},
        {"leftOperand": "edh:project", "operator": "eq", "rightOperand": project_id},
        {"leftOperand": "edh:allowedFields", "operator": "isAllOf", "rightOperand": FIELDS},
        {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": today.isoformat()},
        {
            "leftOperand": "dateTime",
            "operator": "lteq",
            "rightOperand": (today + timedelta(days=180)).isoformat(),
        },
    ]


def _through_the_gate(provider: Hub, contract_id: str, lab: str, vendor: str) -> None:
    """The contract area's way: offer, acceptance, ethics review, signatures, countersign."""
    path = f"/api/v1/contracts/{contract_id}"
    provider.call("POST", f"{path}/offer", ("provider", "ent.lumiere", vendor))
    provider.call("POST", f"{path}/accept", (*RESEARCHER, lab))
    _say("contract ACCEPTED: waiting for the ethics committee")
    reviewer = 0
    while provider.call("GET", path, OPERATOR)["state"] == "ACCEPTED":
        reviewer += 1
        body = {"verdict": "approve", "reason": "Finalité d'intérêt public, données minimisées."}
        provider.call("POST", f"{path}/reviews", ("ethics_reviewer", f"comite.{reviewer}"), body)
    _say(f"ethics committee: approved by {reviewer} reviewer(s)")
    document = document_bytes(provider.call("GET", f"{path}/document", OPERATOR))
    signers = {"provider": ("provider", "ent.lumiere", vendor), "lab": (*RESEARCHER, lab)}
    for party, who in signers.items():
        key = load_or_create_key(provider.data_dir / f"{party}-contracts.pem", allow_create=False)
        kid = public_jwk(key.public_key())["kid"]
        jws = sign_detached(key, document, kid=kid, party=party)
        provider.call("POST", f"{path}/signatures", who, {"jws": jws})
    provider.call("POST", f"{path}/finalize", OPERATOR)
    _say("contract signed by both parties and countersigned: FINALIZED")


def _ready(hub: Hub, timeout: float = 180) -> None:
    """Wait until ``hub`` serves its DID document (the demo hub seeds first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(hub.url + "/.well-known/did.json", timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{hub.url} did not start")


def run(provider: Hub, lab_hub: Hub) -> dict[str, Any]:
    """The whole walk; answers the data address the lab's hub received."""
    for hub in (provider, lab_hub):
        _ready(hub)
    lab, project, vendor = _parties(provider)
    provider.call(
        "POST",
        "/api/v1/dataspace/participants",
        OPERATOR,
        {"did": lab_hub.did, "organisation_id": lab},
    )
    lab_hub.call("POST", "/api/v1/dataspace/participants", OPERATOR, {"did": provider.did})
    _say(f"operators trust each other: {provider.did} <-> {lab_hub.did}")
    where = {"provider_url": provider.url + "/dsp", "provider_id": provider.did}
    catalog = lab_hub.call("POST", "/api/v1/dataspace/catalog", RESEARCHER, where)
    dataset = catalog["dataset"][0]
    offer = dataset["hasPolicy"][0]
    _say(f"lab discovers {dataset['dct:title']!r} ({dataset['@id']}), offer {offer['@id']}")
    body = {**where, "dataset_id": dataset["@id"], "offer_id": offer["@id"]}
    started = lab_hub.call(
        "POST",
        "/api/v1/dataspace/negotiations",
        RESEARCHER,
        body | {"constraints": _terms(project)},
    )
    provider_pid, consumer_pid = started["providerPid"], started["consumerPid"]
    negotiation = provider.call("GET", f"/api/v1/dataspace/negotiations/{provider_pid}", OPERATOR)
    contract_id = negotiation["contract_id"]
    _say(f"negotiation REQUESTED; the provider opened contract request {contract_id}")
    _through_the_gate(provider, contract_id, lab, vendor)
    agreement = _until(
        lambda: lab_hub.call("GET", f"/api/v1/dataspace/negotiations/{consumer_pid}", RESEARCHER),
        "FINALIZED",
    )["agreement"]
    _say(f"lab's hub holds the agreement {agreement['@id']} (FINALIZED)")
    transfer = lab_hub.call(
        "POST", "/api/v1/dataspace/transfers", RESEARCHER, {"agreement_id": agreement["@id"]}
    )
    address = _until(
        lambda: lab_hub.call(
            "GET", f"/api/v1/dataspace/transfers/{transfer['consumerPid']}", RESEARCHER
        ),
        "STARTED",
    )["dataAddress"]
    _say(f"transfer STARTED: pull data address {address['endpoint']} (bearer token, expiring)")
    _say(f"the token opens queries to {RESEARCHER[1]} only, with their own access token")
    return dict(address)
