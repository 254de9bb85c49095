"""A consumer's ODRL terms become a contract request of the contract area.

A ContractRequestMessage whose offer carries constraints (``contracts.dsp.odrl``) asks
for a research contract on the dataset: ``requested`` reads the terms, checks them
(inside the offer's bounds, a project of the lab the consumer acts for, valid contract
terms) and asks Rego (``edh/dataspace/terms``: only constraints the hub enforces), which
refuses with the reasons (400, audited); ``open_contract`` then creates the lab's
contract request, REQUESTED, in the consumer's transaction. From there the contract goes
the contract area's way (the provider's offer, the lab's acceptance, the ethics
committee's review, both signatures, the hub's countersignature); once FINALIZED the hub
sends it as the agreement (``hub.dataspace.contract_gate.agree_linked``).
A request without constraints opens no contract (the lab's contract is then bound by the
operator, ``POST /api/v1/dataspace/negotiations/{pid}/agreement``).
A consumer's counter-offer (``countered``) changes the contract or is refused, never
ignored: its terms (allowed by the same decision, so only terms Rego enforces) amend the
linked contract as a new version of the lab's while the contract is REQUESTED or
OFFERED; once it is under the ethics review or signed, or when the counter-offer drops
the terms, it is refused (400 with the reason, audited, nothing changed).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from contracts.dsp import odrl
from contracts.lifecycle import AMENDABLE
from contracts.model import ContractTerms, LegalBasis
from hub.catalog.public import DatasetRecord
from hub.contracts.public import (
    LAB,
    ContractRecord,
    amend,
    check_terms,
    create_request,
    current_terms,
    get_contract,
    publish_after_commit,
)
from hub.dataspace.contract_gate import acts_for
from hub.dataspace.identity import DSP_ROLE, Participant
from hub.dataspace.models import DspNegotiation
from hub.dataspace.node import Node
from hub.dataspace.process import authorize, refuse
from hub.errors import HubError, ValidationFailed
from hub.registry.public import find_project
from hub.trail.writer import Actor

TERMS = "edh/dataspace/terms"
LEGAL_BASIS = [LegalBasis.PUBLIC_TASK, LegalBasis.RESEARCH]


def _contract_terms(
    node: Node, session: Session, lab: str | None, dataset: DatasetRecord, values: dict[str, Any]
) -> tuple[ContractTerms | None, list[str]]:
    """The contract terms of ``values`` for ``dataset``, or the problems (no data quoted)."""
    project = find_project(session, str(values.get("project_id")))
    if lab is None or project is None or project.lab_id != lab:
        return None, ["the project is not a project of the lab the consumer acts for"]
    try:
        start, end = (
            date.fromisoformat(values["valid_from"]),
            date.fromisoformat(values["valid_until"]),
        )
        retention = max(1, min((end - start).days, node.ctx.settings.contracts.max_retention_days))
        terms = ContractTerms(
            provider_id=dataset.provider_id,
            datasets=[dataset.id],
            legal_basis=LEGAL_BASIS,
            retention_days=retention,
            **values,
        )
        check_terms(session, terms, node.ctx.settings)
    except ValidationError as exc:
        return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    except ValueError:
        return None, ["dateTime needs ISO dates (YYYY-MM-DD)"]
    except ValidationFailed as exc:
        return None, list(exc.extra.get("errors") or [exc.detail])
    return terms, []


def requested(
    node: Node,
    session: Session,
    who: Participant,
    row: DspNegotiation,
    dataset: DatasetRecord,
    offer: dict[str, Any],
) -> ContractTerms | None:
    """The contract terms the consumer's ``offer`` asks for (None: it carries none), once
    Rego allowed them; a refusal is raised as a 400 with the reasons (audited)."""
    constraints = odrl.constraints_of(offer)
    values, problems = odrl.request_terms(constraints, odrl.offer_constraints(list(dataset.fields)))
    terms = None
    if values and not problems:
        lab = acts_for(session, who.id)
        terms, problems = _contract_terms(node, session, lab, dataset, values)
    asked = [
        {
            "leftOperand": odrl.left_operand(c.get("leftOperand", "")),
            "operator": str(c.get("operator", "")),
        }
        for c in constraints
        if isinstance(c, dict)
    ]
    facts = {"terms": {"constraints": asked, "problems": problems}}
    authorize(node, session, TERMS, who, row, facts, 400)
    return terms


def open_contract(
    node: Node, session: Session, who: Participant, terms: ContractTerms
) -> ContractRecord:
    """The lab's contract request for ``terms``, REQUESTED, made by the participant for
    its lab (audited, ``edh.contract.changed`` published once the caller commits)."""
    actor = Actor(sub=who.id, role=DSP_ROLE, org=acts_for(session, who.id))
    contract = create_request(session, actor, terms, node.ctx.settings)
    publish_after_commit(node.ctx, session, contract)
    return contract


def countered(
    node: Node, session: Session, who: Participant, row: DspNegotiation, asked: ContractTerms | None
) -> None:
    """Apply the terms ``asked`` by the consumer's counter-offer on ``row`` (already
    allowed by ``requested``) to its contract, in the caller's transaction: a new
    version of the lab's (REQUESTED: the review starts over) if they differ, or the
    contract they open when the negotiation has none. Refused (raised, audited
    ``dsp_negotiation.requested.refused``, the caller's changes rolled back) when the
    contract's terms are frozen or the counter-offer drops them."""
    if row.contract_id is None:
        if asked is not None:
            row.contract_id = open_contract(node, session, who, asked).id
        return
    contract = get_contract(session, row.contract_id)
    if asked is None:
        reason = "a counter-offer on a negotiation bound to a contract must carry its terms"
        raise refuse(session, row, who.id, "requested.refused", reason)
    if contract.state not in AMENDABLE:
        reason = (
            f"the contract's terms are frozen in state {contract.state}; a counter-offer "
            f"changes them only while the contract is {' or '.join(AMENDABLE)}"
        )
        raise refuse(session, row, who.id, "requested.refused", reason)
    if asked == current_terms(session, contract):
        return
    actor = Actor(sub=who.id, role=DSP_ROLE, org=acts_for(session, who.id))
    try:
        amend(session, actor, contract.id, asked, LAB, node.ctx.settings)
    except HubError as exc:
        raise refuse(session, row, who.id, "requested.refused", exc.detail) from exc
    publish_after_commit(node.ctx, session, contract)
