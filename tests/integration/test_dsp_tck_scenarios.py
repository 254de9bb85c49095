"""The Eclipse DSP TCK's provider scenarios (MET, CAT, CN, TP), ported, run over HTTP
against the hub started with exactly the ``# start:`` command of
``infra/dsp-tck/tck.properties``, in strict mode: every message and answer from the hub
is checked against the specification's schemas, every rejected step must be a 400 with a
valid error body. The oracle of the last tests is the hub's database, before and after a
restart."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from contracts.dsp.schema import validate, validate_version_document
from contracts.dsp.vocab import CONTEXT, Message
from hub.dataspace.tck import read_properties
from tests.support.dsp_peer import (
    ConsumerHub,
    DspCaller,
    Negotiation,
    Peer,
    Transfer,
    serve_peer,
)

REPO = Path(__file__).resolve().parents[2]
PROPERTIES_FILE = REPO / "infra" / "dsp-tck" / "tck.properties"
PROPERTIES = read_properties(PROPERTIES_FILE)
START_PREFIX = "# start: "
FINAL: dict[str, tuple[str, str]] = {}  # provider pid → (table, state the scenario ended in)


def start_command() -> str:
    lines = PROPERTIES_FILE.read_text(encoding="utf-8").splitlines()
    commands = [line[len(START_PREFIX) :] for line in lines if line.startswith(START_PREFIX)]
    assert len(commands) == 1, "the properties file carries one '# start:' line"
    return commands[0]


@dataclass
class Hub:
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path


def _start(workdir: Path, data_dir: Path) -> Hub:
    env = {
        **os.environ,
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(data_dir),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    log = workdir.parent / f"hub-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            start_command(),
            shell=True,
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    url = PROPERTIES["dataspacetck.dsp.connector.http.base.url"] + "/.well-known/dspace-version"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return Hub(process, data_dir, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the hub did not start: " + log.read_text())


def _stop(hub: Hub) -> None:
    """Stop the hub's whole process group and wait until its port is free: the shell
    exits before the server it started, which would otherwise still answer there."""
    os.killpg(hub.process.pid, signal.SIGTERM)
    try:
        hub.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(hub.process.pid, signal.SIGKILL)
        hub.process.wait()
    address = urlsplit(PROPERTIES["dataspacetck.dsp.connector.http.base.url"])
    deadline = time.monotonic() + 20
    while _answers(address.hostname or "127.0.0.1", address.port or 80):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(hub.process.pid, signal.SIGKILL)
        time.sleep(0.1)


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dsp-tck")
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def hub(workdir: Path) -> Iterator[Hub]:
    started = _start(workdir / "empty", workdir / "data")
    yield started
    if started.process.poll() is None:
        _stop(started)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    consumer, server = serve_peer()
    yield consumer
    server.shutdown()


@pytest.fixture
def caller(hub: Hub, peer: Peer) -> Iterator[DspCaller]:
    authorization = PROPERTIES["dataspacetck.dsp.connector.http.headers.authorization"]
    yield DspCaller(
        PROPERTIES["dataspacetck.dsp.connector.http.url"], {"Authorization": authorization}
    )
    assert peer.invalid == [], "the hub sent messages the schemas refuse"


def ids(scenario: str, kind: str) -> str:
    return PROPERTIES[f"{scenario}_{kind}"]


def negotiate(caller: DspCaller, peer: Peer, scenario: str) -> Negotiation:
    return Negotiation(caller, peer).request(ids(scenario, "OFFERID"), ids(scenario, "DATASETID"))


def ended(process: Negotiation | Transfer, state: str) -> None:
    table = "dsp_negotiation" if isinstance(process, Negotiation) else "dsp_transfer"
    process.provider_is(state)
    FINAL[process.provider_pid] = (table, state)


# MET and CAT ----------------------------------------------------------------------------


def test_met_01_01_version_document(hub: Hub) -> None:
    base = PROPERTIES["dataspacetck.dsp.connector.http.base.url"]
    document = httpx.get(base + "/.well-known/dspace-version").json()
    validate_version_document(document)
    versions = document["protocolVersions"]
    entry = next(v for v in versions if v["version"] == "2025-1")
    assert entry["binding"] == "HTTPS"
    assert base + entry["path"] == PROPERTIES["dataspacetck.dsp.connector.http.url"]


def test_cat_01_01_catalog_lists_the_dataset(caller: DspCaller) -> None:
    request = {"@context": list(CONTEXT), "@type": "CatalogRequestMessage"}
    catalog = caller.expect("POST", "/catalog/request", request, 200, Message.CATALOG)
    assert ids("CAT_01_01", "DATASETID") in {d["@id"] for d in catalog["dataset"]}
    assert ids("CAT_01_03", "DATASETID") not in {d["@id"] for d in catalog["dataset"]}


def test_cat_01_02_dataset_request(caller: DspCaller) -> None:
    dataset_id = ids("CAT_01_02", "DATASETID")
    dataset = caller.expect("GET", f"/catalog/datasets/{dataset_id}", None, 200, Message.DATASET)
    assert dataset["@id"] == dataset_id


def test_cat_01_03_dataset_not_found(caller: DspCaller) -> None:
    dataset_id = ids("CAT_01_03", "DATASETID")
    caller.expect("GET", f"/catalog/datasets/{dataset_id}", None, 404, Message.CATALOG_ERROR)


# CN: the hub as provider -----------------------------------------------------------------


def test_cn_01_01_offer_then_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_01_01").wait("OFFERED").terminate(), "TERMINATED")


def test_cn_01_02_counter_offer_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_01_02").wait("OFFERED")
    n.counter(ids("CN_01_02", "OFFERID"), ids("CN_01_02", "DATASETID")).wait("TERMINATED")
    ended(n, "TERMINATED")


def test_cn_01_03_offer_accept_agree_verify_finalize(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_01_03").wait("OFFERED").accept().wait("AGREED")
    ended(n.verify().wait("FINALIZED"), "FINALIZED")


def test_cn_01_04_agree_verify_finalize(caller: DspCaller, peer: Peer) -> None:
    ended(
        negotiate(caller, peer, "CN_01_04").wait("AGREED").verify().wait("FINALIZED"), "FINALIZED"
    )


def test_cn_02_01_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_02_01").wait("TERMINATED"), "TERMINATED")


def test_cn_02_02_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_02_02").terminate(), "TERMINATED")


def test_cn_02_03_agreement_then_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_02_03").wait("AGREED").terminate(), "TERMINATED")


def test_cn_02_04_offer_then_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_02_04").wait("OFFERED").terminate(), "TERMINATED")


def test_cn_02_05_offer_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_02_05").wait("OFFERED", "TERMINATED"), "TERMINATED")


def test_cn_02_06_accepted_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_02_06").wait("OFFERED").accept().wait("TERMINATED")
    ended(n, "TERMINATED")


def test_cn_02_07_verified_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_02_07").wait("AGREED").verify().wait("TERMINATED")
    ended(n, "TERMINATED")


def test_cn_03_01_termination_after_finalized_is_refused(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_03_01").wait("AGREED").verify().wait("FINALIZED")
    ended(n.provider_is("FINALIZED").terminate(fail=True), "FINALIZED")


def test_cn_03_02_verification_of_an_offer_is_refused(caller: DspCaller, peer: Peer) -> None:
    ended(negotiate(caller, peer, "CN_03_02").wait("OFFERED").verify(fail=True), "OFFERED")


def test_cn_03_03_verification_before_agreement_is_refused(caller: DspCaller, peer: Peer) -> None:
    n = negotiate(caller, peer, "CN_03_03").wait("OFFERED").accept().verify(fail=True)
    ended(n, "ACCEPTED")


def test_cn_03_04_second_counter_offer_is_refused(caller: DspCaller, peer: Peer) -> None:
    offer_id, dataset_id = ids("CN_03_04", "OFFERID"), ids("CN_03_04", "DATASETID")
    n = negotiate(caller, peer, "CN_03_04").wait("OFFERED").counter(offer_id, dataset_id)
    ended(n.counter(offer_id, dataset_id, fail=True), "REQUESTED")


# TP: the hub as provider -----------------------------------------------------------------


def transfer(caller: DspCaller, peer: Peer, scenario: str) -> Transfer:
    return Transfer(caller, peer).request(ids(scenario, "AGREEMENTID"), ids(scenario, "FORMAT"))


def test_tp_01_01_started_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_01_01").wait("STARTED", "TERMINATED"), "TERMINATED")


def test_tp_01_02_started_then_provider_completes(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_01_02").wait("STARTED", "COMPLETED"), "COMPLETED")


def test_tp_01_03_suspended_then_terminated(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_01_03").wait("STARTED", "SUSPENDED", "TERMINATED")
    ended(t, "TERMINATED")


def test_tp_01_04_suspended_restarted_completed(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_01_04").wait("STARTED", "SUSPENDED", "STARTED", "COMPLETED")
    ended(t, "COMPLETED")


def test_tp_01_05_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_01_05").wait("TERMINATED"), "TERMINATED")


def test_tp_02_01_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_02_01").wait("STARTED").provider_is("STARTED")
    ended(t.terminate(), "TERMINATED")


def test_tp_02_02_consumer_completes(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_02_02").wait("STARTED").provider_is("STARTED")
    ended(t.complete(), "COMPLETED")


def test_tp_02_03_consumer_suspends_then_terminates(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_02_03").wait("STARTED").suspend().provider_is("SUSPENDED")
    ended(t.terminate(), "TERMINATED")


def test_tp_02_04_consumer_suspends_restarts_completes(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_02_04").wait("STARTED").suspend().provider_is("SUSPENDED")
    ended(t.start().provider_is("STARTED").complete(), "COMPLETED")


def test_tp_02_05_requested_then_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_02_05").provider_is("REQUESTED").terminate(), "TERMINATED")


def test_tp_03_01_completion_of_a_request_is_refused(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_03_01").complete(fail=True), "REQUESTED")


def test_tp_03_02_suspension_of_a_request_is_refused(caller: DspCaller, peer: Peer) -> None:
    ended(transfer(caller, peer, "TP_03_02").suspend(fail=True), "REQUESTED")


def test_tp_03_03_completion_when_suspended_is_refused(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_03_03").wait("STARTED").suspend()
    ended(t.complete(fail=True), "SUSPENDED")


def test_tp_03_04_start_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_03_04").wait("STARTED").terminate()
    ended(t.start(fail=True), "TERMINATED")


def test_tp_03_05_suspension_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_03_05").wait("STARTED").terminate()
    ended(t.suspend(fail=True), "TERMINATED")


def test_tp_03_06_completion_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    t = transfer(caller, peer, "TP_03_06").wait("STARTED").terminate()
    ended(t.complete(fail=True), "TERMINATED")


def test_pull_data_address_is_the_query_api_with_an_expiring_token(peer: Peer) -> None:
    starts = [
        body
        for bodies in peer.received.values()
        for body in bodies
        if body["@type"] == "TransferStartMessage"
    ]
    assert starts
    for start in starts:
        address = start["dataAddress"]
        validate(Message.TRANSFER_START, start)
        assert address["endpoint"].endswith(
            f"/api/v1/dataspace/transfers/{start['providerPid']}/queries"
        )
        props = {p["name"]: p["value"] for p in address["endpointProperties"]}
        assert props["authType"] == "bearer" and props["authorization"].count(".") == 2


# CN_C and TP_C: the hub as consumer, started by the TCK's initiate hooks -----------------


def consumer(caller: DspCaller, peer: Peer) -> ConsumerHub:
    return ConsumerHub(caller, peer)


def negotiating(caller: DspCaller, peer: Peer, scenario: str) -> tuple[ConsumerHub, str, str]:
    dataset_id = ids(scenario, "DATASETID")
    offer_id = f"urn:tck:offer:{dataset_id}"
    return consumer(caller, peer).initiate_negotiation(dataset_id, offer_id), offer_id, dataset_id


def done(hub_side: ConsumerHub, table: str, state: str) -> None:
    hub_side.hub_is(state)
    FINAL[hub_side.consumer_pid] = (table, state)


def test_cn_c_01_01_accept_verify_finalized(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_01_01")
    c.offer(offer_id, dataset_id).wait("ACCEPTED").agree(dataset_id).wait("VERIFIED")
    done(c.finalize(), "dsp_negotiation", "FINALIZED")


def test_cn_c_01_02_counter_offer_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_01_02")
    c.offer(offer_id, dataset_id).wait("REQUESTED", "REQUESTED").hub_is("REQUESTED")
    done(c.terminate_negotiation(), "dsp_negotiation", "TERMINATED")


def test_cn_c_01_03_consumer_terminates_the_offer(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_01_03")
    done(c.offer(offer_id, dataset_id).wait("TERMINATED"), "dsp_negotiation", "TERMINATED")


def test_cn_c_01_04_agreement_verified_finalized(caller: DspCaller, peer: Peer) -> None:
    c, _, dataset_id = negotiating(caller, peer, "CN_C_01_04")
    done(c.agree(dataset_id).wait("VERIFIED").finalize(), "dsp_negotiation", "FINALIZED")


def test_cn_c_02_01_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c, _, _ = negotiating(caller, peer, "CN_C_02_01")
    done(c.terminate_negotiation(), "dsp_negotiation", "TERMINATED")


def test_cn_c_02_02_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    c, _, _ = negotiating(caller, peer, "CN_C_02_02")
    done(c.wait("TERMINATED"), "dsp_negotiation", "TERMINATED")


def test_cn_c_02_03_agreement_then_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    c, _, dataset_id = negotiating(caller, peer, "CN_C_02_03")
    done(c.agree(dataset_id).wait("TERMINATED"), "dsp_negotiation", "TERMINATED")


def test_cn_c_02_04_offer_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_02_04")
    c.offer(offer_id, dataset_id).hub_is("OFFERED")
    done(c.terminate_negotiation(), "dsp_negotiation", "TERMINATED")


def test_cn_c_02_05_accepted_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_02_05")
    c.offer(offer_id, dataset_id).wait("ACCEPTED")
    done(c.terminate_negotiation(), "dsp_negotiation", "TERMINATED")


def test_cn_c_02_06_verified_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c, _, dataset_id = negotiating(caller, peer, "CN_C_02_06")
    c.agree(dataset_id).wait("VERIFIED")
    done(c.terminate_negotiation(), "dsp_negotiation", "TERMINATED")


def test_cn_c_03_01_finalized_on_a_request_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, _, _ = negotiating(caller, peer, "CN_C_03_01")
    done(c.finalize(fail=True), "dsp_negotiation", "REQUESTED")


def test_cn_c_03_02_agreement_on_an_offer_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_03_02")
    c.offer(offer_id, dataset_id).hub_is("OFFERED")
    done(c.agree(dataset_id, fail=True), "dsp_negotiation", "OFFERED")


def test_cn_c_03_03_finalized_on_an_offer_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_03_03")
    done(c.offer(offer_id, dataset_id).finalize(fail=True), "dsp_negotiation", "OFFERED")


def test_cn_c_03_04_finalized_when_accepted_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_03_04")
    c.offer(offer_id, dataset_id).wait("ACCEPTED")
    done(c.finalize(fail=True), "dsp_negotiation", "ACCEPTED")


def test_cn_c_03_05_offer_when_accepted_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_03_05")
    c.offer(offer_id, dataset_id).wait("ACCEPTED")
    done(c.offer(offer_id, dataset_id, fail=True), "dsp_negotiation", "ACCEPTED")


def test_cn_c_03_06_finalized_when_agreed_is_refused(caller: DspCaller, peer: Peer) -> None:
    c, offer_id, dataset_id = negotiating(caller, peer, "CN_C_03_06")
    c.offer(offer_id, dataset_id).wait("ACCEPTED").agree(dataset_id).hub_is("AGREED")
    done(c.finalize(fail=True), "dsp_negotiation", "AGREED")


def transferring(caller: DspCaller, peer: Peer, scenario: str) -> ConsumerHub:
    agreement, format_ = ids(scenario, "AGREEMENTID"), ids(scenario, "FORMAT")
    return consumer(caller, peer).initiate_transfer(agreement, format_)


TP = "dsp_transfer"


def test_tp_c_01_01_started_then_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_01_01").start().hub_is("STARTED")
    done(c.terminate_transfer(), TP, "TERMINATED")


def test_tp_c_01_02_started_then_provider_completes(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_01_02").start().complete(), TP, "COMPLETED")


def test_tp_c_01_03_suspended_then_terminated(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_01_03").start().suspend().hub_is("SUSPENDED")
    done(c.terminate_transfer(), TP, "TERMINATED")


def test_tp_c_01_04_suspended_restarted_completed(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_01_04").start().suspend().start().hub_is("STARTED")
    done(c.complete(), TP, "COMPLETED")


def test_tp_c_01_05_provider_terminates(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_01_05").terminate_transfer(), TP, "TERMINATED")


def test_tp_c_02_01_consumer_terminates(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_02_01").start().wait("TERMINATED"), TP, "TERMINATED")


def test_tp_c_02_02_consumer_completes(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_02_02").start().wait("COMPLETED"), TP, "COMPLETED")


def test_tp_c_02_03_consumer_suspends_then_terminates(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_02_03").start().wait("SUSPENDED", "TERMINATED")
    done(c, TP, "TERMINATED")


def test_tp_c_02_04_consumer_suspends_restarts_completes(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_02_04").start()
    done(c.wait("SUSPENDED", "STARTED", "COMPLETED"), TP, "COMPLETED")


def test_tp_c_02_05_consumer_terminates_the_request(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_02_05").wait("TERMINATED"), TP, "TERMINATED")


def test_tp_c_03_01_completion_of_a_request_is_refused(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_03_01").complete(fail=True), TP, "REQUESTED")


def test_tp_c_03_02_suspension_of_a_request_is_refused(caller: DspCaller, peer: Peer) -> None:
    done(transferring(caller, peer, "TP_C_03_02").suspend(fail=True), TP, "REQUESTED")


def test_tp_c_03_03_completion_when_suspended_is_refused(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_03_03").start().suspend()
    done(c.complete(fail=True), TP, "SUSPENDED")


def test_tp_c_03_04_start_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_03_04").start().terminate_transfer()
    done(c.start(fail=True), TP, "TERMINATED")


def test_tp_c_03_05_suspension_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_03_05").start().terminate_transfer()
    done(c.suspend(fail=True), TP, "TERMINATED")


def test_tp_c_03_06_completion_after_termination_is_refused(caller: DspCaller, peer: Peer) -> None:
    c = transferring(caller, peer, "TP_C_03_06").start().terminate_transfer()
    done(c.complete(fail=True), TP, "TERMINATED")


# Ground truth: the database, and a restart ----------------------------------------------


def _db_states(hub: Hub) -> dict[str, str]:
    with sqlite3.connect(hub.data_dir / "hub.sqlite3") as db:
        rows = db.execute(
            "SELECT id, state FROM dsp_negotiation UNION ALL SELECT id, state FROM dsp_transfer"
        ).fetchall()
    return dict(rows)


def _audited(hub: Hub, pid: str) -> list[str]:
    with sqlite3.connect(hub.data_dir / "hub.sqlite3") as db:
        rows = db.execute(
            "SELECT action FROM audit_event WHERE resource_id = ? ORDER BY seq", (pid,)
        ).fetchall()
    return [r[0] for r in rows]


def test_every_step_is_in_the_database_and_the_audit_log(hub: Hub) -> None:
    assert len(FINAL) == 63  # 15 CN, 16 TP, 16 CN_C and 16 TP_C scenarios
    states = _db_states(hub)
    assert {pid: states[pid] for pid in FINAL} == {pid: s for pid, (_, s) in FINAL.items()}
    for pid, (table, state) in FINAL.items():
        actions = _audited(hub, pid)
        assert f"{table}.requested" in actions, actions
        if state == "TERMINATED":
            assert f"{table}.terminated" in actions


def test_states_survive_a_restart(hub: Hub, workdir: Path, peer: Peer) -> None:
    _stop(hub)
    again = _start(workdir / "empty", hub.data_dir)
    try:
        caller = DspCaller(PROPERTIES["dataspacetck.dsp.connector.http.url"])
        for pid, (table, state) in FINAL.items():
            read = caller.negotiation_state if table == "dsp_negotiation" else caller.transfer_state
            assert read(pid) == state
        n = Negotiation(caller, peer).request(
            ids("CN_01_04", "OFFERID"), ids("CN_01_04", "DATASETID")
        )
        n.wait("AGREED").verify().wait("FINALIZED")
    finally:
        _stop(again)
