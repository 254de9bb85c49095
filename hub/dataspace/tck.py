"""TCK mode: what the Eclipse DSP TCK's scenarios expect of the hub as provider.

The TCK's properties file (``infra/dsp-tck/tck.properties``, same keys as the TCK's
sample) names, per scenario, the dataset and offer ids (``CN_01_01_DATASETID``,
``CN_01_01_OFFERID``, ``CAT_01_01_DATASETID``) and the agreement ids
(``TP_01_01_AGREEMENTID``). ``seed`` puts those datasets in the hub's catalog (of a test
provider organisation) and those agreements, FINALIZED with the TCK's participant, in the
negotiation table; ``ScriptedReactions`` moves each negotiation and transfer as its
scenario expects (offer, agree, finalize, terminate; start, suspend, complete).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from contracts.dsp.states import NegotiationState
from contracts.dsp.vocab import Role
from hub.catalog.public import DatasetIn, Frequency, create_dataset, find_dataset
from hub.dataspace import catalog, negotiation, transfer
from hub.dataspace.identity import TCK_PARTICIPANT
from hub.dataspace.models import DspNegotiation, DspTransfer
from hub.dataspace.node import Node
from hub.dataspace.process import move
from hub.registry.public import (
    OrganisationIn,
    OrganisationRecord,
    OrgKind,
    create_org,
    org_by_siren,
)
from hub.trail.writer import SYSTEM

log = logging.getLogger("hub.dataspace")

_IN_REPOSITORY = Path(__file__).resolve().parents[2] / "infra" / "dsp-tck" / "tck.properties"
_INSTALLED = Path(sys.prefix) / "share" / "edh" / "dsp-tck" / "tck.properties"
DEFAULT_PROPERTIES = _IN_REPOSITORY if _IN_REPOSITORY.exists() else _INSTALLED
TCK_PROVIDER_SIREN = "732829320"
TRANSFER_DATASET = "TCK-TRANSFERS"
NOT_SEEDED = frozenset({"CAT_01_03"})
"""Scenarios that expect their dataset to be absent (CAT:01-03: dataset not found)."""

_KEY = re.compile(r"^(CAT|CN_C|CN|TP_C|TP)_(\d\d)_(\d\d)_(DATASETID|OFFERID|AGREEMENTID)$")

# What the provider does after each consumer step, per scenario (the TCK's
# ``recordContractRequestedAction``/``recordAgreedAction``/``recordVerifiedAction``).
NEGOTIATION_SCRIPTS: dict[str, dict[str, tuple[str, ...]]] = {
    "CN_01_01": {"requested#1": ("offer",)},
    "CN_01_02": {"requested#1": ("offer",), "requested#2": ("terminate",)},
    "CN_01_03": {"requested#1": ("offer",), "accepted": ("agree",), "verified": ("finalize",)},
    "CN_01_04": {"requested#1": ("agree",), "verified": ("finalize",)},
    "CN_02_01": {"requested#1": ("terminate",)},
    "CN_02_02": {},
    "CN_02_03": {"requested#1": ("agree",)},
    "CN_02_04": {"requested#1": ("offer",)},
    "CN_02_05": {"requested#1": ("offer", "pause", "terminate")},
    "CN_02_06": {"requested#1": ("offer",), "accepted": ("terminate",)},
    "CN_02_07": {"requested#1": ("agree",), "verified": ("terminate",)},
    "CN_03_01": {"requested#1": ("agree",), "verified": ("finalize",)},
    "CN_03_02": {"requested#1": ("offer",)},
    "CN_03_03": {"requested#1": ("offer",)},
    "CN_03_04": {"requested#1": ("offer",)},
}

# The hub as consumer: its moves after each provider step (the TCK's ConsumerActions).
CONSUMER_NEGOTIATION_SCRIPTS: dict[str, dict[str, tuple[str, ...]]] = {
    "CN_C_01_01": {"offered": ("accept",), "agreed": ("verify",)},
    "CN_C_01_02": {"offered": ("counter",)},
    "CN_C_01_03": {"offered": ("terminate",)},
    "CN_C_01_04": {"agreed": ("verify",)},
    "CN_C_02_02": {"initiated": ("pause", "terminate")},
    "CN_C_02_03": {"agreed": ("terminate",)},
    "CN_C_02_05": {"offered": ("accept",)},
    "CN_C_02_06": {"agreed": ("verify",)},
    "CN_C_03_04": {"offered": ("accept",)},
    "CN_C_03_05": {"offered": ("accept",)},
    "CN_C_03_06": {"offered": ("accept",)},
}
CONSUMER_TRANSFER_SCRIPTS: dict[str, dict[str, tuple[str, ...]]] = {
    "TP_C_02_01": {"started": ("terminate",)},
    "TP_C_02_02": {"started": ("complete",)},
    "TP_C_02_03": {"started": ("suspend", "pause", "terminate")},
    "TP_C_02_04": {"started": ("suspend", "pause", "start", "pause", "complete")},
    "TP_C_02_05": {"initiated": ("pause", "terminate")},
}

_START = ("start",)
TRANSFER_SCRIPTS: dict[str, tuple[str, ...]] = {
    "TP_01_01": ("start", "pause", "terminate"),
    "TP_01_02": ("start", "pause", "complete"),
    "TP_01_03": ("start", "pause", "suspend", "pause", "terminate"),
    "TP_01_04": ("start", "pause", "suspend", "pause", "start", "pause", "complete"),
    "TP_01_05": ("terminate",),
    "TP_02_01": _START,
    "TP_02_02": _START,
    "TP_02_03": _START,
    "TP_02_04": _START,
    "TP_02_05": (),
    "TP_03_01": (),
    "TP_03_02": (),
    "TP_03_03": _START,
    "TP_03_04": _START,
    "TP_03_05": _START,
    "TP_03_06": _START,
}


def read_properties(path: Path) -> dict[str, str]:
    """``key=value`` lines of a Java properties file (comments and blanks skipped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#!" or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        out[key.strip()] = value.strip()
    return out


def scenario_ids(properties: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{"CN_01_01": {"DATASETID": ..., "OFFERID": ...}, ...}`` (provider scenarios)."""
    out: dict[str, dict[str, str]] = {}
    for key, value in properties.items():
        match = _KEY.match(key)
        if match:
            group, major, minor, kind = match.groups()
            out.setdefault(f"{group}_{major}_{minor}", {})[kind] = value
    return out


class ScriptedReactions:
    """The moves each TCK scenario expects, found by dataset or agreement id, in the role
    the hub holds in the process."""

    def __init__(self, scenarios: dict[str, dict[str, str]]) -> None:
        self._by_dataset = {
            ids["DATASETID"]: name for name, ids in scenarios.items() if name.startswith("CN")
        }
        self._by_agreement = {
            ids["AGREEMENTID"]: name for name, ids in scenarios.items() if name.startswith("TP")
        }

    def negotiation(self, node: Node, pid: str, trigger: str, count: int) -> None:
        with Session(node.ctx.engine) as session:
            row = session.get(DspNegotiation, pid)
            if row is None:
                return
            scenario, role = self._by_dataset.get(row.dataset_id, ""), row.role
        if role == Role.PROVIDER:
            key = f"{trigger}#{count}" if trigger == "requested" else trigger
            script = NEGOTIATION_SCRIPTS.get(scenario, {}).get(key, ())
        else:
            script = CONSUMER_NEGOTIATION_SCRIPTS.get(scenario, {}).get(trigger, ())
        moves: dict[str, Callable[[Session], None]] = {
            "offer": lambda s: negotiation.offer(node, s, pid),
            "agree": lambda s: negotiation.agree(node, s, pid),
            "finalize": lambda s: negotiation.finalize(node, s, pid),
            "accept": lambda s: negotiation.accept(node, s, pid),
            "verify": lambda s: negotiation.verify(node, s, pid),
            "counter": lambda s: negotiation.counter(node, s, pid),
            "terminate": lambda s: negotiation.terminate(node, s, pid, "the hub ends it"),
        }
        _play(node, script, moves)

    def transfer(self, node: Node, pid: str, trigger: str) -> None:
        with Session(node.ctx.engine) as session:
            row = session.get(DspTransfer, pid)
            if row is None:
                return
            scenario, role = self._by_agreement.get(row.agreement_id, ""), row.role
        if role == Role.PROVIDER:
            script = TRANSFER_SCRIPTS.get(scenario, ()) if trigger == "requested" else ()
        else:
            script = CONSUMER_TRANSFER_SCRIPTS.get(scenario, {}).get(trigger, ())
        moves: dict[str, Callable[[Session], None]] = {
            "start": lambda s: transfer.start(node, s, pid),
            "complete": lambda s: transfer.complete(node, s, pid),
            "suspend": lambda s: transfer.suspend(node, s, pid, "the hub pauses"),
            "terminate": lambda s: transfer.terminate(node, s, pid, "the hub ends it"),
        }
        _play(node, script, moves)


def _play(node: Node, script: tuple[str, ...], moves: dict[str, Callable[[Session], None]]) -> None:
    for name in script:
        if name == "pause":
            time.sleep(node.pause_seconds)
            continue
        with Session(node.ctx.engine) as session:
            moves[name](session)


def _provider(session: Session) -> OrganisationRecord:
    found = org_by_siren(session, TCK_PROVIDER_SIREN)
    if found:
        return found
    data = OrganisationIn(
        name="Fournisseur du TCK", siren=TCK_PROVIDER_SIREN, kind=OrgKind.PROVIDER
    )
    return create_org(session, SYSTEM, data)


def _dataset(session: Session, provider_id: str, dataset_id: str) -> None:
    if find_dataset(session, dataset_id) is not None:
        return
    data = DatasetIn(
        provider_id=provider_id,
        title=f"Jeu de données du TCK {dataset_id}",
        description="Jeu de données de test du TCK du Dataspace Protocol.",
        xapi_profile="https://w3id.org/xapi/edh/profiles/tck",
        verbs=["http://adlnet.gov/expapi/verbs/completed"],
        fields=["verb_id"],
        coverage="test",
        update_frequency=Frequency.MONTHLY,
    )
    create_dataset(session, SYSTEM, data, dataset_id)


def _agreement(node: Node, session: Session, agreement_id: str, role: Role) -> None:
    if negotiation.finalized_agreement(session, agreement_id, role) is not None:
        return
    pid = f"urn:edh:tck:{role}:{agreement_id}"
    row = DspNegotiation(
        id=pid,
        role=str(role),
        provider_pid=pid if role == Role.PROVIDER else f"urn:edh:tck:provider:{agreement_id}",
        consumer_pid=pid if role == Role.CONSUMER else f"urn:edh:tck:consumer:{agreement_id}",
        counterparty=TCK_PARTICIPANT,
        state=str(NegotiationState.FINALIZED),
        dataset_id=TRANSFER_DATASET,
        offer={"@id": node.offer_id(TRANSFER_DATASET), "permission": [{"action": "use"}]},
        callback_address="",
    )
    rules = catalog.rules(row.offer)
    row.agreement = negotiation.agreement_document(node, row, rules, agreement_id)
    row.agreement_id = agreement_id
    session.add(row)
    move(session, row, NegotiationState.FINALIZED, "seeded", node.participant_id)


def install(node: Node, path: Path | None) -> None:
    """Seed what the properties at ``path`` name and script the node's reactions."""
    scenarios = scenario_ids(read_properties(path or DEFAULT_PROPERTIES))
    node.offer_ids.update(
        {ids["DATASETID"]: ids["OFFERID"] for ids in scenarios.values() if "OFFERID" in ids}
    )
    with Session(node.ctx.engine) as session:
        provider = _provider(session)
        datasets = [
            ids["DATASETID"]
            for name, ids in sorted(scenarios.items())
            if "DATASETID" in ids and name not in NOT_SEEDED and not name.startswith("CN_C")
        ]
        for dataset_id in [*datasets, TRANSFER_DATASET]:
            _dataset(session, provider.id, dataset_id)
        for name, ids in scenarios.items():
            if "AGREEMENTID" in ids:
                role = Role.CONSUMER if name.startswith("TP_C") else Role.PROVIDER
                _agreement(node, session, ids["AGREEMENTID"], role)
        session.commit()
    node.reactions = ScriptedReactions(scenarios)
    log.info("TCK mode: %d scenarios seeded", len(scenarios))


def initiate_negotiation(node: Node, body: dict[str, str]) -> dict[str, Any]:
    """The TCK's ``negotiation.initiate.url`` hook: request ``offerId`` on ``datasetId``
    from the TCK's connector at ``connectorAddress``, as consumer; the negotiation's
    document."""
    with Session(node.ctx.engine) as session:
        row = negotiation.initiate(
            node,
            session,
            body["connectorAddress"],
            TCK_PARTICIPANT,
            body["datasetId"],
            body["offerId"],
        )
        return negotiation.document(row)


def initiate_transfer(node: Node, body: dict[str, str]) -> dict[str, Any] | None:
    """The TCK's ``transfer.initiate.url`` hook: ask the TCK's connector for a transfer
    under the seeded consumer agreement ``agreementId``; the transfer's document (None when
    the agreement is unknown)."""
    with Session(node.ctx.engine) as session:
        agreement = negotiation.finalized_agreement(session, body["agreementId"], Role.CONSUMER)
        if agreement is None:
            return None
        granted = (agreement.counterparty, agreement.agreement_id or "")
        row = transfer.initiate(node, session, granted, body["format"], body["connectorAddress"])
        return transfer.document(row)
