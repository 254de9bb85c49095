"""The DSP catalog: the hub's DCAT-AP catalog, with an ODRL offer per dataset, filtered
by the requesting participant (decision ``edh/dataspace/dataset``, audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from contracts.dsp import messages, odrl
from contracts.dsp.schema import validate
from contracts.dsp.vocab import CONTEXT, Message
from hub.catalog.public import DatasetRecord, datasets_by_id, find_dataset
from hub.dataspace.identity import Participant
from hub.dataspace.node import SERVICE_ID, Node
from hub.dataspace.outbox import send
from hub.enforcement.public import decide
from hub.trail.writer import Decision, EventDraft, Resource, record_now

DATASET_DECISION = "edh/dataspace/dataset"
PULL_FORMAT = "HttpData-PULL"


def offer(node: Node, dataset: DatasetRecord) -> dict[str, Any]:
    """The ODRL offer of a dataset: use, within the bounds of the terms the hub enforces
    (``contracts.dsp.odrl``: research purposes, a subset of its columns, cells of at least
    10 pupils, a release mode); each is a term Rego decides when the data is queried."""
    constraints = odrl.offer_constraints(list(dataset.fields))
    return {
        "@id": node.offer_id(dataset.id),
        "@type": "Offer",
        "permission": [{"action": "use", "constraint": constraints}],
    }


RULE_KEYS = ("permission", "prohibition", "obligation")


def rules(policy: dict[str, Any], *, constraints: bool = True) -> dict[str, Any]:
    """The rules of an ODRL policy, normalised for comparison (empty constraint lists
    dropped; every constraint list with ``constraints=False``, to compare the shape of a
    request with the offer's): what an agreement on the policy commits to."""

    def rule(item: Any) -> Any:
        if isinstance(item, dict):
            return {
                k: v
                for k, v in item.items()
                if not (k == "constraint" and (v == [] or not constraints))
            }
        return item

    return {
        key: [rule(item) for item in policy[key]]
        for key in RULE_KEYS
        if isinstance(policy.get(key), list)
    }


def _service(node: Node) -> dict[str, Any]:
    return {"@id": SERVICE_ID, "@type": "DataService", "endpointURL": node.dsp_url}


def dataset_node(node: Node, dataset: DatasetRecord) -> dict[str, Any]:
    """One ``Dataset`` of the catalog (DCAT terms of the hub catalog under ``dct:``)."""
    return {
        "@id": dataset.id,
        "@type": "Dataset",
        "dct:title": dataset.title,
        "dct:description": dataset.description,
        "dcat:keyword": list(dataset.keywords),
        "hasPolicy": [offer(node, dataset)],
        "distribution": [
            {"@type": "Distribution", "format": PULL_FORMAT, "accessService": SERVICE_ID}
        ],
    }


def visible(node: Node, session: Session, participant: Participant) -> list[DatasetRecord]:
    """The datasets ``participant`` may see; one audit event lists what was shown and the
    reasons of what was hidden."""
    rows = datasets_by_id(session)
    shown, hidden = [], {}
    today = datetime.now(UTC).date()
    for dataset in rows:
        outcome = decide(
            node.ctx,
            session,
            DATASET_DECISION,
            {
                "participant": participant.policy_input(),
                "dataset": {"id": dataset.id, "offered": True},
            },
            participant.actor(),
            today,
        )
        if outcome.allow:
            shown.append(dataset)
        else:
            hidden[dataset.id] = list(outcome.reasons)
    shown_ids = [d.id for d in shown]
    session.commit()  # SQLite: no write transaction of ours while the audit commits
    record_now(
        session.get_bind(),
        EventDraft(
            participant.actor(),
            "dsp.catalog.read",
            Resource("dsp_catalog", node.participant_id),
            decision=Decision.ALLOW,
            details={"shown": shown_ids, "hidden": hidden},
        ),
    )
    return shown


def visible_dataset(
    node: Node, session: Session, participant: Participant, dataset_id: str
) -> DatasetRecord | None:
    """The dataset ``dataset_id`` when it exists and ``participant`` may see it (the
    catalog read is then audited as by :func:`visible`), else None."""
    if find_dataset(session, dataset_id) is None:
        return None
    return next((d for d in visible(node, session, participant) if d.id == dataset_id), None)


def catalog_document(node: Node, datasets: list[DatasetRecord]) -> dict[str, Any]:
    """The ``Catalog`` answer (``dataset`` left out when none is visible)."""
    document: dict[str, Any] = {
        "@context": list(CONTEXT),
        "@id": f"urn:edh:catalog:{node.participant_id}",
        "@type": str(Message.CATALOG),
        "participantId": node.participant_id,
        "service": [_service(node)],
    }
    if datasets:
        document["dataset"] = [dataset_node(node, d) for d in datasets]
    return document


def dataset_document(node: Node, dataset: DatasetRecord) -> dict[str, Any]:
    return {"@context": list(CONTEXT), **dataset_node(node, dataset)}


def remote(node: Node, provider_url: str, provider_id: str) -> dict[str, Any]:
    """The hub as consumer: the catalog the provider at ``provider_url`` shows it (a
    signed request; raises ``DeliveryFailed`` or ``InvalidMessage``)."""
    answer = send(
        provider_url,
        "catalog/request",
        Message.CATALOG_REQUEST,
        messages.catalog_request(),
        timeout=node.timeout,
        authorization=node.authorization(provider_id),
    )
    validate(Message.CATALOG, answer)
    return answer
