"""The hub's DSP endpoints outside TCK mode, on SQLite and PostgreSQL: identity by the
hub's tokens, the catalog filtered by Rego, hostile input, strangers, transfer grants;
the oracle is the database and the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from contracts.dsp import messages
from contracts.dsp.schema import validate
from contracts.dsp.vocab import CONTEXT, Message
from hub.catalog.schemas import DatasetIn, Frequency
from hub.catalog.service import create_dataset
from hub.context import HubContext
from hub.dataspace.models import DspNegotiation, DspTransfer
from hub.registry.schemas import OrganisationIn, OrgKind
from hub.registry.service import create_org
from hub.trail.models import AuditEvent
from hub.trail.writer import SYSTEM
from tests.support.contracts_fixtures import World
from tests.support.factories import new_siren

Auth = Callable[..., dict[str, str]]
LAB_A, LAB_B = "urn:edh:org:lab-a", "urn:edh:org:lab-b"


@pytest.fixture
def dataset_id(hub_ctx: HubContext) -> str:
    with Session(hub_ctx.engine) as session:
        org = create_org(
            session,
            SYSTEM,
            OrganisationIn(name="Éditeur", siren=new_siren(), kind=OrgKind.PROVIDER),
        )
        data = DatasetIn(
            provider_id=org.id,
            title="Traces de lecture",
            description="Traces xAPI de lecture au collège.",
            xapi_profile="https://w3id.org/xapi/edh/profiles/reading",
            verbs=["http://adlnet.gov/expapi/verbs/completed"],
            fields=["verb_id"],
            coverage="collèges",
            update_frequency=Frequency.MONTHLY,
        )
        dataset = create_dataset(session, SYSTEM, data)
        session.commit()
        return dataset.id


@pytest.fixture
def dsp(client: TestClient, auth: Auth) -> Iterator[Callable[..., Any]]:
    def call(method: str, path: str, body: Any = None, *, lab: str | None = "lab-a") -> Any:
        headers = auth("researcher", sub=f"someone@{lab}", org=lab) if lab else {}
        return client.request(method, "/dsp" + path, json=body, headers=headers)

    yield call


def _count(ctx: HubContext, model: type[Any]) -> int:
    with Session(ctx.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _events(ctx: HubContext, action: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list(session.exec(query.order_by(col(AuditEvent.ts))).all())


def _request(dataset_id: str, consumer_pid: str = "urn:c:1") -> dict[str, Any]:
    offer = {
        "@type": "Offer",
        "@id": f"urn:edh:offer:{dataset_id}",
        "target": dataset_id,
        "permission": [{"action": "use"}],
    }
    return messages.contract_request(consumer_pid, offer, callback_address="http://127.0.0.1:9/")


def test_without_a_token_every_endpoint_answers_401_with_an_error_body(
    dsp: Callable[..., Any], dataset_id: str
) -> None:
    cases = [
        ("POST", "/catalog/request", Message.CATALOG_ERROR),
        ("GET", f"/catalog/datasets/{dataset_id}", Message.CATALOG_ERROR),
        ("POST", "/negotiations/request", Message.NEGOTIATION_ERROR),
        ("GET", "/negotiations/x", Message.NEGOTIATION_ERROR),
        ("POST", "/transfers/request", Message.TRANSFER_ERROR),
        ("POST", "/transfers/x/completion", Message.TRANSFER_ERROR),
    ]
    for method, path, kind in cases:
        response = dsp(method, path, {"@context": CONTEXT}, lab=None)
        assert response.status_code == 401, (path, response.text)
        validate(kind, response.json())


def test_catalog_offers_each_dataset_in_odrl_and_is_audited(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext
) -> None:
    request = {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    catalog = dsp("POST", "/catalog/request", request).json()
    validate(Message.CATALOG, catalog)
    (dataset,) = catalog["dataset"]
    assert dataset["@id"] == dataset_id
    assert dataset["hasPolicy"][0]["@id"] == f"urn:edh:offer:{dataset_id}"
    (event,) = _events(hub_ctx, "dsp.catalog.read")
    assert event.actor_sub == LAB_A and event.details["shown"] == [dataset_id]


HOSTILE: list[tuple[str, Any]] = [
    ("malformed JSON", b'{"@context": '),
    ("an array", b"[1, 2]"),
    ("no context", b'{"@type": "ContractRequestMessage", "consumerPid": "c"}'),
    (
        "a wrong type",
        b'{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "X"}',
    ),
    (
        "a huge string",
        b'{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "'
        + b"A" * 5000
        + b'"}',
    ),
]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/catalog/request", Message.CATALOG_ERROR),
        ("/negotiations/request", Message.NEGOTIATION_ERROR),
        ("/negotiations/urn:x/events", Message.NEGOTIATION_ERROR),
        ("/transfers/request", Message.TRANSFER_ERROR),
        ("/transfers/urn:x/start", Message.TRANSFER_ERROR),
    ],
)
def test_hostile_bodies_are_400_error_bodies_and_write_nothing(
    client: TestClient, auth: Auth, hub_ctx: HubContext, path: str, kind: Message
) -> None:
    headers = {**auth("researcher", org="lab-a"), "Content-Type": "application/json"}
    for label, body in HOSTILE:
        response = client.post("/dsp" + path, content=body, headers=headers)
        assert response.status_code == 400, (label, response.text)
        assert response.headers["content-type"] == "application/json"
        validate(kind, response.json())
        assert "AAAAAAAAAA" not in response.text
    assert _count(hub_ctx, DspNegotiation) == 0 and _count(hub_ctx, DspTransfer) == 0


def test_an_offer_the_hub_never_made_is_refused(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext
) -> None:
    forged = _request(dataset_id)
    forged["offer"]["@id"] = "urn:edh:offer:something-else"
    response = dsp("POST", "/negotiations/request", forged)
    assert response.status_code == 400
    validate(Message.NEGOTIATION_ERROR, response.json())
    assert _count(hub_ctx, DspNegotiation) == 0


def test_a_stranger_cannot_read_nor_move_a_negotiation(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext
) -> None:
    created = dsp("POST", "/negotiations/request", _request(dataset_id))
    assert created.status_code == 201
    pid = created.json()["providerPid"]
    assert dsp("GET", f"/negotiations/{pid}").json()["state"] == "REQUESTED"
    stranger = dsp("GET", f"/negotiations/{pid}", lab="lab-b")
    assert stranger.status_code == 404
    validate(Message.NEGOTIATION_ERROR, stranger.json())
    termination = messages.negotiation_termination(pid, "urn:c:1", "1", ["no"])
    assert (
        dsp("POST", f"/negotiations/{pid}/termination", termination, lab="lab-b").status_code == 404
    )
    with Session(hub_ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None and row.state == "REQUESTED" and row.counterparty == LAB_A
    refusals = _events(hub_ctx, "dsp_negotiation.access.refused")
    assert [e.actor_sub for e in refusals] == [LAB_B, LAB_B]
    assert [e.action for e in _events(hub_ctx, "policy.edh/dataspace/negotiate")] == [
        "policy.edh/dataspace/negotiate"
    ]


def test_illegal_step_is_a_400_audited_and_changes_nothing(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext
) -> None:
    pid = dsp("POST", "/negotiations/request", _request(dataset_id)).json()["providerPid"]
    accepted = messages.negotiation_event(pid, "urn:c:1", "ACCEPTED")
    response = dsp("POST", f"/negotiations/{pid}/events", accepted)
    assert response.status_code == 400
    body = response.json()
    validate(Message.NEGOTIATION_ERROR, body)
    assert body["providerPid"] == pid and body["consumerPid"] == "urn:c:1"
    (refusal,) = _events(hub_ctx, "dsp_negotiation.accepted.refused")
    assert refusal.decision == "deny" and "REQUESTED" in refusal.reasons[0]
    with Session(hub_ctx.engine) as session:
        assert session.get(DspNegotiation, pid).state == "REQUESTED"  # type: ignore[union-attr]


def _finalized_agreement(
    ctx: HubContext, dataset_id: str, assignee: str, contract_id: str | None
) -> str:
    with Session(ctx.engine) as session:
        session.add(
            DspNegotiation(
                id="urn:n:done",
                role="provider",
                provider_pid="urn:n:done",
                consumer_pid="urn:c:done",
                counterparty=assignee,
                state="FINALIZED",
                dataset_id=dataset_id,
                offer={"permission": [{"action": "use"}]},
                callback_address="",
                agreement_id="urn:agreement:1",
                agreement={"@id": "urn:agreement:1"},
                contract_id=contract_id,
            )
        )
        session.commit()
    return "urn:agreement:1"


def test_transfer_is_granted_only_to_the_agreement_s_assignee(
    dsp: Callable[..., Any], world: World, hub_ctx: HubContext
) -> None:
    lab = world.lab_id
    contract_id = world.finalized()["id"]
    agreement = _finalized_agreement(hub_ctx, world.dataset_id, f"urn:edh:org:{lab}", contract_id)
    request = messages.transfer_request(
        "urn:t:1", agreement, "HttpData-PULL", "http://127.0.0.1:9/"
    )
    refused = dsp("POST", "/transfers/request", request, lab="lab-b")
    assert refused.status_code == 400
    assert refused.json()["reason"] == ["the agreement was made with another participant"]
    push = messages.transfer_request("urn:t:1", agreement, "HttpData-PUSH", "http://127.0.0.1:9/")
    assert dsp("POST", "/transfers/request", push, lab=lab).json()["reason"] == [
        "the hub does not serve this format"
    ]
    assert _count(hub_ctx, DspTransfer) == 0
    granted = dsp("POST", "/transfers/request", request, lab=lab)
    assert granted.status_code == 201
    validate(Message.TRANSFER_PROCESS, granted.json())
    with Session(hub_ctx.engine) as session:
        (row,) = session.exec(select(DspTransfer)).all()
        # granted, then started by the hub's reaction (the pull address is minted then)
        assert (row.state, row.counterparty, row.agreement_id) == (
            "STARTED",
            f"urn:edh:org:{lab}",
            agreement,
        )
    decisions = _events(hub_ctx, "policy.edh/dataspace/transfer")
    assert [e.decision for e in decisions] == ["deny", "deny", "allow"]


def test_an_agreement_without_a_contract_grants_nothing_outside_tck_mode(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext
) -> None:
    """Fail closed: only TCK mode's scripted agreements have no contract."""
    agreement = _finalized_agreement(hub_ctx, dataset_id, LAB_A, None)
    request = messages.transfer_request(
        "urn:t:1", agreement, "HttpData-PULL", "http://127.0.0.1:9/"
    )
    refused = dsp("POST", "/transfers/request", request)
    assert refused.status_code == 400
    assert refused.json()["reason"] == ["the agreement's contract is not in force"]
    assert _count(hub_ctx, DspTransfer) == 0


@pytest.mark.parametrize(
    "rules",
    [
        {"permission": [{"action": "distribute"}]},
        {"permission": [{"action": "use"}], "prohibition": [{"action": "anonymize"}]},
    ],
)
def test_only_the_hub_s_own_odrl_offer_can_be_requested(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext, rules: dict[str, Any]
) -> None:
    """ODRL → Rego: the hub agrees only to the rules it offered (which its decisions
    enforce); a consumer's offer carrying other rules is a 400, and nothing is stored.
    (Constraints, the consumer's terms: tests/integration/test_dsp_odrl_terms.py.)"""
    message = _request(dataset_id)
    message["offer"] = {**{k: v for k, v in message["offer"].items() if k != "permission"}, **rules}
    response = dsp("POST", "/negotiations/request", message)
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == [
        "the offer's rules are not those the hub offers for this dataset"
    ]
    assert _count(hub_ctx, DspNegotiation) == 0


def test_the_agreement_carries_the_hub_s_offer_whatever_the_consumer_sent(
    dsp: Callable[..., Any], dataset_id: str, hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    """Rego → ODRL: without a contract (TCK mode) the agreement is the catalog's offer
    (with a contract, its signed terms: tests/integration/test_dsp_odrl_terms.py)."""
    message = _request(dataset_id)
    message["offer"]["permission"] = [{"action": "use", "constraint": []}]
    pid = dsp("POST", "/negotiations/request", message).json()["providerPid"]
    catalog = dsp(
        "POST", "/catalog/request", {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    )
    offered = catalog.json()["dataset"][0]["hasPolicy"][0]
    from hub.dataspace.negotiation import agreement_document, agreement_rules
    from hub.dataspace.node import Node

    with Session(hub_ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None
        node = Node(hub_ctx)
        agreement = agreement_document(node, row, agreement_rules(node, session, row, None))
    assert agreement["permission"] == offered["permission"]
    assert agreement["target"] == dataset_id and agreement["assignee"] == LAB_A
    validate(Message.CONTRACT_AGREEMENT, messages.contract_agreement(pid, "urn:c:1", agreement))


def test_a_negotiation_lives_in_the_database_not_in_a_hub(
    db_url: str, tmp_path: Any, dataset_id: str, hub_ctx: HubContext, auth: Auth
) -> None:
    """Two hubs on one database (a restart, or a second replica): a negotiation started
    through the first is read and moved through the second."""
    from hub.app import create_app
    from tests.support.factories import make_context

    other = make_context(db_url, tmp_path / "second")
    other.issuer, other.verifier = hub_ctx.issuer, hub_ctx.verifier  # one realm
    headers = auth("researcher", sub="r@lab-a", org="lab-a")
    with TestClient(create_app(context=hub_ctx)) as first:
        created = first.post(
            "/dsp/negotiations/request", json=_request(dataset_id), headers=headers
        )
    pid = created.json()["providerPid"]
    with TestClient(create_app(context=other)) as second:
        assert (
            second.get(f"/dsp/negotiations/{pid}", headers=headers).json()["state"] == "REQUESTED"
        )
        termination = messages.negotiation_termination(pid, "urn:c:1", "1", ["done"])
        moved = second.post(
            f"/dsp/negotiations/{pid}/termination", json=termination, headers=headers
        )
        assert moved.status_code == 200, moved.text
    other.engine.dispose()
    with Session(hub_ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None and row.state == "TERMINATED"
