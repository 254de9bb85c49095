"""The shared DSP library: schemas, compaction, the two state machines, the builders."""

from __future__ import annotations

import itertools

import pytest

from contracts.dsp import jsonld, messages
from contracts.dsp.schema import InvalidMessage, validate, validate_version_document
from contracts.dsp.states import (
    NegotiationState,
    NegotiationStep,
    TransferState,
    TransferStep,
    negotiation_step,
    transfer_step,
)
from contracts.dsp.vocab import CONTEXT_URL, Message, Role
from contracts.errors import TransitionError

P, C = Role.PROVIDER, Role.CONSUMER

# The specification's state machines, transcribed from its figures and text
# (negotiation.protocol "Contract Negotiation States", transfer.process.protocol).
NEGOTIATION_SPEC = {
    (NegotiationStep.REQUEST, C): {"OFFERED": "REQUESTED"},
    (NegotiationStep.OFFER, P): {"REQUESTED": "OFFERED"},
    (NegotiationStep.ACCEPT, C): {"OFFERED": "ACCEPTED"},
    (NegotiationStep.AGREE, P): {"REQUESTED": "AGREED", "ACCEPTED": "AGREED"},
    (NegotiationStep.VERIFY, C): {"AGREED": "VERIFIED"},
    (NegotiationStep.FINALIZE, P): {"VERIFIED": "FINALIZED"},
    **{
        (NegotiationStep.TERMINATE, role): {
            s: "TERMINATED" for s in ("REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED")
        }
        for role in (P, C)
    },
}
TRANSFER_SPEC = {
    (TransferStep.START, P): {"REQUESTED": "STARTED", "SUSPENDED": "STARTED"},
    (TransferStep.START, C): {"SUSPENDED": "STARTED"},
    **{
        (step, role): table
        for role in (P, C)
        for step, table in (
            (TransferStep.SUSPEND, {"STARTED": "SUSPENDED"}),
            (TransferStep.COMPLETE, {"STARTED": "COMPLETED"}),
            (
                TransferStep.TERMINATE,
                {s: "TERMINATED" for s in ("REQUESTED", "STARTED", "SUSPENDED")},
            ),
        )
    },
}


def test_negotiation_machine_is_the_specification_s() -> None:
    for step, role, state in itertools.product(NegotiationStep, Role, NegotiationState):
        expected = NEGOTIATION_SPEC.get((step, role), {}).get(state)
        if expected is None:
            with pytest.raises(TransitionError):
                negotiation_step(step, role, state)
        else:
            assert negotiation_step(step, role, state) == expected


def test_transfer_machine_is_the_specification_s() -> None:
    steps = [s for s in TransferStep if s is not TransferStep.REQUEST]
    for step, role, state in itertools.product(steps, Role, TransferState):
        expected = TRANSFER_SPEC.get((step, role), {}).get(state)
        if expected is None:
            with pytest.raises(TransitionError):
                transfer_step(step, role, state)
        else:
            assert transfer_step(step, role, state) == expected


def _offer() -> dict[str, object]:
    return {"@type": "Offer", "@id": "o1", "target": "d1", "permission": [{"action": "use"}]}


BUILT = [
    (Message.NEGOTIATION, messages.negotiation("p", "c", "REQUESTED")),
    (Message.TRANSFER_PROCESS, messages.transfer_process("p", "c", "STARTED")),
    (Message.CONTRACT_REQUEST, messages.contract_request("c", _offer(), callback_address="x")),
    (Message.CONTRACT_REQUEST, messages.contract_request("c", _offer(), provider_pid="p")),
    (Message.CONTRACT_OFFER, messages.contract_offer("p", "c", _offer())),
    (Message.AGREEMENT_VERIFICATION, messages.agreement_verification("p", "c")),
    (Message.NEGOTIATION_EVENT, messages.negotiation_event("p", "c", "FINALIZED")),
    (Message.NEGOTIATION_TERMINATION, messages.negotiation_termination("p", "c", "1", ["r"])),
    (Message.TRANSFER_REQUEST, messages.transfer_request("c", "a", "HttpData-PULL", "x")),
    (
        Message.TRANSFER_START,
        messages.transfer_start("p", "c", messages.data_address("e", "t", "h")),
    ),
    (Message.TRANSFER_COMPLETION, messages.transfer_completion("p", "c")),
    (
        Message.TRANSFER_SUSPENSION,
        messages.transfer_code_message(Message.TRANSFER_SUSPENSION, "p", "c", "1", ["r"]),
    ),
    (
        Message.TRANSFER_TERMINATION,
        messages.transfer_code_message(Message.TRANSFER_TERMINATION, "p", "c", "1", []),
    ),
    (Message.CATALOG_ERROR, messages.error(Message.CATALOG_ERROR, "404", ["x"])),
    (Message.NEGOTIATION_ERROR, messages.error(Message.NEGOTIATION_ERROR, "400", ["x"], "p", "c")),
    (Message.TRANSFER_ERROR, messages.error(Message.TRANSFER_ERROR, "400", ["x"], "p", "c")),
]


@pytest.mark.parametrize(("kind", "document"), BUILT, ids=[str(k) for k, _ in BUILT])
def test_every_built_message_is_valid(kind: Message, document: dict[str, object]) -> None:
    validate(kind, document)


@pytest.mark.parametrize(
    ("kind", "document", "where"),
    [
        (Message.NEGOTIATION, {**messages.negotiation("p", "c", "X")}, "state"),
        (Message.CONTRACT_REQUEST, messages.contract_request("c", _offer()), "(root)"),
        (Message.NEGOTIATION_EVENT, messages.negotiation_event("p", "c", "AGREED"), "eventType"),
        (
            Message.TRANSFER_REQUEST,
            {**messages.transfer_request("c", "a", "f", "x"), "format": 1},
            "format",
        ),
        (
            Message.NEGOTIATION,
            {**messages.negotiation("p", "c", "OFFERED"), "@context": []},
            "@context",
        ),
        (Message.AGREEMENT_VERIFICATION, messages.negotiation("p", "c", "OFFERED"), "@type"),
    ],
)
def test_invalid_messages_are_refused_naming_where(
    kind: Message, document: dict[str, object], where: str
) -> None:
    with pytest.raises(InvalidMessage, match=where):
        validate(kind, document)


def test_version_document_is_valid() -> None:
    validate_version_document(messages.version_document("/dsp"))
    with pytest.raises(InvalidMessage):
        validate_version_document({"protocolVersions": []})


def test_compaction_rewrites_prefixed_and_full_iris_to_terms() -> None:
    document = {
        "@context": CONTEXT_URL,
        "@type": "dspace:ContractRequestMessage",
        "https://w3id.org/dspace/2025/1/consumerPid": "c",
        "dspace:callbackAddress": "x",
        "dspace:offer": {
            "@type": "odrl:Offer",
            "@id": "o1",
            "odrl:target": "d1",
            "http://www.w3.org/ns/odrl/2/permission": [{"odrl:action": "use"}],
        },
    }
    compacted = jsonld.compact(document)
    assert compacted == messages.contract_request(
        "c",
        {"@type": "Offer", "@id": "o1", "target": "d1", "permission": [{"action": "use"}]},
        callback_address="x",
    )
    validate(Message.CONTRACT_REQUEST, compacted)


@pytest.mark.parametrize(
    "document",
    [[], "x", {"@type": "CatalogRequestMessage"}, {"@context": "https://example.org/other"}],
)
def test_compaction_refuses_documents_without_the_2025_1_context(document: object) -> None:
    with pytest.raises(InvalidMessage):
        jsonld.compact(document)


def test_odrl_agreement_constraints_read_back_as_the_same_terms() -> None:
    """ODRL both ways: the constraints written from a contract's terms read back as
    exactly those terms, inside the offer's bounds, without a problem."""
    from contracts.dsp import odrl

    terms = {
        "purpose": "Mesurer l'effet des vidéos sur la persévérance.",
        "project_id": "p1",
        "allowed_fields": ["verb_id", "timestamp"],
        "min_cell_size": 12,
        "release_mode": "reviewed",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "retention_days": 90,  # not an ODRL term: neither written nor read
    }
    offered = odrl.offer_constraints(["verb_id", "timestamp", "school_id"])
    written = odrl.agreement_constraints(terms)
    assert {c["leftOperand"] for c in written} == {t.left for t in odrl.TERMS}
    read, problems = odrl.request_terms(written, offered)
    assert problems == []
    assert read == {k: v for k, v in terms.items() if k != "retention_days"}


def test_odrl_request_terms_report_every_problem_and_leave_unknown_ones_to_rego() -> None:
    from contracts.dsp import odrl

    offered = odrl.offer_constraints(["verb_id"])
    asked = [
        {"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": ["not", "text"]},
        {"leftOperand": "edh:allowedFields", "operator": "isAllOf", "rightOperand": ["pupil"]},
        {"leftOperand": "edh:minCellSize", "operator": "gteq", "rightOperand": "3"},
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
        {"and": []},
    ]
    read, problems = odrl.request_terms(asked, offered)
    assert read == {}
    assert problems == [
        "purpose needs a string",
        "edh:allowedFields outside the offer: pupil",
        "edh:minCellSize is below the offer's 10",
        "only atomic constraints are understood",
        "the request lacks purpose",
        "the request lacks edh:project",
        "the request lacks dateTime",
    ]
    assert odrl.request_terms([], offered) == ({}, [])  # no terms asked: no contract
