"""The hub's messages to a counterparty are durable: stored with the move they announce,
sent by whichever hub claims them, in order per process, taken once by the peer.

Oracles: what a real loopback peer received (every attempt and every accepted message)
and the ``dsp_delivery`` table. The first test kills a real ``edh serve`` process
(SIGKILL) during the backoff and restarts it on the same data directory."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

from sqlmodel import Session, col, select

from contracts.dsp import messages
from contracts.dsp.vocab import Message
from hub.context import HubContext
from hub.dataspace.courier import DELIVERED, REFUSED, Courier, enqueue
from hub.dataspace.models import DspDelivery
from hub.dataspace.tck import read_properties
from tests.support.browser import free_port
from tests.support.dsp_peer import DspCaller, Negotiation, Peer
from tests.support.processes import serving

REPO = Path(__file__).resolve().parents[2]
PROPERTIES = read_properties(REPO / "infra" / "dsp-tck" / "tck.properties")
BACKOFF = 4.0  # long enough to kill the hub between two attempts


def _command(port: int) -> list[str]:
    edh = str(Path(sys.executable).parent / "edh")
    return [edh, "serve", "--host", "127.0.0.1", "--port", str(port)]


def _env(port: int, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(data_dir),
        "EDH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "EDH_DATASPACE__TCK_MODE": "true",
        "EDH_DATASPACE__DELIVERY_BACKOFF_SECONDS": str(BACKOFF),
        "EDH_DATASPACE__DELIVERY_POLL_SECONDS": "0.5",
    }


def _hub(port: int, data_dir: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``edh serve`` in TCK mode on ``port``, until it answers (stopped after the block)."""
    ready = f"http://127.0.0.1:{port}/.well-known/dspace-version"
    return serving(_command(port), _env(port, data_dir), ready, timeout=60, interval=0.2)


def _deliveries(data_dir: Path) -> list[tuple[str, int, str | None, str]]:
    (database,) = data_dir.glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT kind, attempts, outcome, body FROM dsp_delivery ORDER BY seq")
        return list(rows.fetchall())


def test_a_hub_killed_during_the_backoff_sends_the_message_once_after_restart(
    tmp_path: Path, peer: Peer
) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    caller = DspCaller(f"http://127.0.0.1:{port}/dsp")
    with _hub(port, data_dir) as hub:
        peer.down_for = 1_000  # the consumer is down when the offer leaves
        negotiation = Negotiation(caller, peer).request(
            PROPERTIES["CN_01_01_OFFERID"], PROPERTIES["CN_01_01_DATASETID"]
        )
        path = f"/cb/negotiations/{negotiation.consumer_pid}/offers"
        deadline = time.monotonic() + 20
        while path not in peer.attempts and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(hub.pid, signal.SIGKILL)  # in the backoff: the second attempt is not due
        hub.wait(timeout=20)
    assert peer.attempts.count(path) == 1
    assert peer.history.get(negotiation.consumer_pid) is None
    peer.down_for = 0
    with _hub(port, data_dir):
        negotiation.wait("OFFERED")
        time.sleep(BACKOFF + 1)  # no further attempt comes
        assert caller.negotiation_state(negotiation.provider_pid) == "OFFERED"
    assert peer.attempts.count(path) == 2
    assert peer.history[negotiation.consumer_pid] == ["OFFERED"]
    assert peer.invalid == []
    assert _deliveries(data_dir) == [(str(Message.CONTRACT_OFFER), 2, DELIVERED, "{}")]


# The courier's claim: one sender per message, in order per process ---------------------


def _courier(ctx: HubContext) -> Courier:
    return Courier(ctx.engine, ctx.settings.dataspace, lambda _audience: None)


def _event(pid: str) -> dict[str, object]:
    return messages.negotiation_event(f"urn:p:{pid}", pid, "FINALIZED")


def _enqueue(ctx: HubContext, peer: Peer, pids: list[str]) -> None:
    with Session(ctx.engine) as session:
        for pid in pids:
            url = f"{peer.url}negotiations/{pid}/events"
            enqueue(session, pid, url, Message.NEGOTIATION_EVENT, _event(pid), "urn:peer")
        session.commit()


def _settled(ctx: HubContext) -> list[tuple[str, str | None, int]]:
    with Session(ctx.engine) as session:
        rows = session.exec(select(DspDelivery).order_by(col(DspDelivery.seq))).all()
        return [(r.process_id, r.outcome, r.attempts) for r in rows]


def test_two_couriers_on_one_database_send_each_message_once(
    hub_ctx: HubContext, peer: Peer
) -> None:
    pids = [f"urn:c:race-{i}" for i in range(30)]
    _enqueue(hub_ctx, peer, pids)
    couriers = [_courier(hub_ctx), _courier(hub_ctx), _courier(hub_ctx)]
    threads = [threading.Thread(target=c.send_due) for c in couriers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for pid in pids:
        assert peer.attempts.count(f"/cb/negotiations/{pid}/events") == 1, pid
        assert peer.history[pid] == ["FINALIZED"]
    assert _settled(hub_ctx) == [(pid, DELIVERED, 1) for pid in pids]


def test_a_later_message_waits_for_an_earlier_one_of_its_process(
    hub_ctx: HubContext, peer: Peer
) -> None:
    """The first message of a process meets a peer briefly down: the second one is not
    sent before it, then both go in order; a refusal settles a message for good."""
    _enqueue(hub_ctx, peer, ["urn:c:ordered", "urn:c:ordered"])
    courier = _courier(hub_ctx)
    try:
        _in_order_then_refused(hub_ctx, peer, courier)
    finally:
        courier.stop()  # a retry starts its background thread


def _in_order_then_refused(hub_ctx: HubContext, peer: Peer, courier: Courier) -> None:
    peer.down_for = 1
    assert courier.send_due() == 0  # the first failed (due again later), the second waited
    assert peer.attempts == ["/cb/negotiations/urn:c:ordered/events"]
    deadline = time.monotonic() + 20
    # until both are settled: the retry's background thread may have sent the second one
    # and not yet recorded its outcome when the peer's history already shows it
    while any(outcome is None for _, outcome, _ in _settled(hub_ctx)):
        assert time.monotonic() < deadline, _settled(hub_ctx)
        courier.send_due()
        time.sleep(0.1)
    assert peer.history["urn:c:ordered"] == ["FINALIZED", "FINALIZED"]
    assert _settled(hub_ctx) == [("urn:c:ordered", DELIVERED, 2), ("urn:c:ordered", DELIVERED, 1)]
    peer.refusing = 400
    _enqueue(hub_ctx, peer, ["urn:c:refused"])
    assert courier.send_due() == 1
    time.sleep(hub_ctx.settings.dataspace.delivery_backoff_seconds * 2)
    assert courier.send_due() == 0
    assert peer.attempts.count("/cb/negotiations/urn:c:refused/events") == 1
    assert _settled(hub_ctx)[-1] == ("urn:c:refused", REFUSED, 1)
