"""A DSP counter-party for tests, playing the TCK's consumer: it listens for the hub's
callbacks on loopback, checks every message against the specification's schemas (strict
mode) and follows each process's state; ``DspCaller`` sends the consumer's messages to
the hub and checks every answer (a valid document, or a valid error body)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from contracts.dsp import messages
from contracts.dsp.schema import validate
from contracts.dsp.vocab import Message
from tests.support.browser import free_port

# path suffix → (message type, state it leads to, or None for "see eventType"): what the
# hub sends to a consumer's callbacks, and to a provider's process endpoints
SENT: dict[str, tuple[Message, str | None]] = {
    "request": (Message.CONTRACT_REQUEST, "REQUESTED"),
    "agreement/verification": (Message.AGREEMENT_VERIFICATION, "VERIFIED"),
    "offers": (Message.CONTRACT_OFFER, "OFFERED"),
    "agreement": (Message.CONTRACT_AGREEMENT, "AGREED"),
    "events": (Message.NEGOTIATION_EVENT, None),
    "termination": (Message.NEGOTIATION_TERMINATION, "TERMINATED"),
    "start": (Message.TRANSFER_START, "STARTED"),
    "completion": (Message.TRANSFER_COMPLETION, "COMPLETED"),
    "suspension": (Message.TRANSFER_SUSPENSION, "SUSPENDED"),
}
TRANSFER_TERMINATION = (Message.TRANSFER_TERMINATION, "TERMINATED")


@dataclass
class Peer:
    """What the consumer received: messages and state history per consumer pid."""

    history: dict[str, list[str]] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    down_for: int = 0  # the next messages answered 503 (the peer is briefly down)
    refusing: int | None = None  # every message answered with this status
    attempts: list[str] = field(default_factory=list)  # every path the hub posted to

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Record a message from the hub; answer (status, body) as the TCK would (or 503
        while ``down_for`` lasts, or ``refusing``)."""
        with self.lock:
            self.attempts.append(path)
            if self.down_for > 0 or self.refusing is not None:
                status = 503 if self.down_for > 0 else int(self.refusing or 400)
                self.down_for = max(0, self.down_for - 1)
                return status, {}
        parts = path.strip("/").split("/")[1:]  # negotiations|transfers, [pid], suffix...
        area, rest = parts[0], parts[1:]
        if rest == ["request"]:  # the hub, as consumer, starts a process with this peer
            return self._created(area, body)
        key, suffix = rest[0], "/".join(rest[1:])
        kind, target = (
            TRANSFER_TERMINATION if (area, suffix) == ("transfers", "termination") else SENT[suffix]
        )
        self._check(path, kind, body)
        self._note(key, target or str(body.get("eventType")), body)
        return 200, {}

    def _created(self, area: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        kind = Message.CONTRACT_REQUEST if area == "negotiations" else Message.TRANSFER_REQUEST
        self._check(area, kind, body)
        provider_pid = pid()
        self._note(provider_pid, "REQUESTED", body)
        build = messages.negotiation if area == "negotiations" else messages.transfer_process
        return 201, build(provider_pid, str(body.get("consumerPid")), "REQUESTED")

    def _check(self, where: str, kind: Message, body: dict[str, Any]) -> None:
        try:
            validate(kind, body)
        except Exception as exc:
            self.invalid.append(f"{where}: {exc}")

    def _note(self, key: str, state: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.history.setdefault(key, []).append(state)
            self.received.setdefault(key, []).append(body)

    def wait(self, consumer_pid: str, *states: str, timeout: float = 40.0) -> None:
        """Wait until the states seen for ``consumer_pid`` contain ``states`` in order."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                seen = list(self.history.get(consumer_pid, []))
            it = iter(seen)
            if all(s in it for s in states):
                return
            time.sleep(0.05)
        raise AssertionError(f"{consumer_pid}: saw {seen}, expected {states}")


def serve_peer() -> tuple[Peer, ThreadingHTTPServer]:
    """Start the consumer's callback server on a free loopback port."""
    peer = Peer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            status, answer = peer.handle(self.path, json.loads(self.rfile.read(length) or b"{}"))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}/cb/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return peer, server


@pytest.fixture
def peer() -> Iterator[Peer]:
    """A consumer's callback server for one test (shut down after it)."""
    peer, server = serve_peer()
    yield peer
    server.shutdown()


def pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass
class DspCaller:
    """Sends the consumer's messages to a hub's DSP base URL, strictly checked."""

    base: str
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method, self.base + path, json=body, headers=self.headers, timeout=30.0
        )

    def expect(
        self, method: str, path: str, body: Any, status: int, kind: Message
    ) -> dict[str, Any]:
        """Send, and assert the status and that the answer is a valid ``kind``."""
        response = self.call(method, path, body)
        assert response.status_code == status, (path, response.status_code, response.text)
        document: dict[str, Any] = response.json()
        validate(kind, document)
        return document

    def negotiation_state(self, provider_pid: str) -> str:
        doc = self.expect("GET", f"/negotiations/{provider_pid}", None, 200, Message.NEGOTIATION)
        return str(doc["state"])

    def transfer_state(self, provider_pid: str) -> str:
        doc = self.expect("GET", f"/transfers/{provider_pid}", None, 200, Message.TRANSFER_PROCESS)
        return str(doc["state"])


def offer(offer_id: str, dataset_id: str) -> dict[str, Any]:
    """The offer the TCK sends (``use`` without constraints)."""
    return {
        "@type": "Offer",
        "@id": offer_id,
        "target": dataset_id,
        "permission": [{"action": "use", "constraint": []}],
    }


@dataclass
class Negotiation:
    """One negotiation driven by the consumer, as the TCK's pipeline does."""

    caller: DspCaller
    peer: Peer
    consumer_pid: str = field(default_factory=pid)
    provider_pid: str = ""

    def request(self, offer_id: str, dataset_id: str) -> Negotiation:
        message = messages.contract_request(
            self.consumer_pid, offer(offer_id, dataset_id), callback_address=self.peer.url
        )
        doc = self.caller.expect("POST", "/negotiations/request", message, 201, Message.NEGOTIATION)
        assert doc["consumerPid"] == self.consumer_pid and doc["state"] == "REQUESTED"
        self.provider_pid = doc["providerPid"]
        return self

    def wait(self, *states: str) -> Negotiation:
        self.peer.wait(self.consumer_pid, *states)
        return self

    def _send(self, suffix: str, message: dict[str, Any], fail: bool) -> Negotiation:
        path = f"/negotiations/{self.provider_pid}/{suffix}"
        if fail:
            self.caller.expect("POST", path, message, 400, Message.NEGOTIATION_ERROR)
        else:
            self.caller.expect("POST", path, message, 200, Message.NEGOTIATION)
        return self

    def counter(self, offer_id: str, dataset_id: str, fail: bool = False) -> Negotiation:
        message = messages.contract_request(
            self.consumer_pid, offer(offer_id, dataset_id), provider_pid=self.provider_pid
        )
        return self._send("request", message, fail)

    def accept(self, fail: bool = False) -> Negotiation:
        event = messages.negotiation_event(self.provider_pid, self.consumer_pid, "ACCEPTED")
        return self._send("events", event, fail)

    def verify(self, fail: bool = False) -> Negotiation:
        message = messages.agreement_verification(self.provider_pid, self.consumer_pid)
        return self._send("agreement/verification", message, fail)

    def terminate(self, fail: bool = False) -> Negotiation:
        message = messages.negotiation_termination(
            self.provider_pid, self.consumer_pid, "99", ["the consumer ends it"]
        )
        return self._send("termination", message, fail)

    def provider_is(self, state: str) -> Negotiation:
        assert self.caller.negotiation_state(self.provider_pid) == state
        return self


@dataclass
class Transfer:
    """One transfer process driven by the consumer."""

    caller: DspCaller
    peer: Peer
    consumer_pid: str = field(default_factory=pid)
    provider_pid: str = ""

    def request(self, agreement_id: str, format_: str) -> Transfer:
        message = messages.transfer_request(self.consumer_pid, agreement_id, format_, self.peer.url)
        doc = self.caller.expect(
            "POST", "/transfers/request", message, 201, Message.TRANSFER_PROCESS
        )
        self.provider_pid = doc["providerPid"]
        return self

    def wait(self, *states: str) -> Transfer:
        self.peer.wait(self.consumer_pid, *states)
        return self

    def _send(self, suffix: str, kind: Message, message: dict[str, Any], fail: bool) -> Transfer:
        path = f"/transfers/{self.provider_pid}/{suffix}"
        if fail:
            self.caller.expect("POST", path, message, 400, Message.TRANSFER_ERROR)
        else:
            self.caller.expect("POST", path, message, 200, Message.TRANSFER_PROCESS)
        return self

    def start(self, fail: bool = False) -> Transfer:
        message = messages.transfer_start(self.provider_pid, self.consumer_pid)
        return self._send("start", Message.TRANSFER_START, message, fail)

    def complete(self, fail: bool = False) -> Transfer:
        message = messages.transfer_completion(self.provider_pid, self.consumer_pid)
        return self._send("completion", Message.TRANSFER_COMPLETION, message, fail)

    def suspend(self, fail: bool = False) -> Transfer:
        message = messages.transfer_code_message(
            Message.TRANSFER_SUSPENSION, self.provider_pid, self.consumer_pid, "1", ["pause"]
        )
        return self._send("suspension", Message.TRANSFER_SUSPENSION, message, fail)

    def terminate(self, fail: bool = False) -> Transfer:
        message = messages.transfer_code_message(
            Message.TRANSFER_TERMINATION, self.provider_pid, self.consumer_pid, "2", ["stop"]
        )
        return self._send("termination", Message.TRANSFER_TERMINATION, message, fail)

    def provider_is(self, state: str) -> Transfer:
        assert self.caller.transfer_state(self.provider_pid) == state
        return self


@dataclass
class ConsumerHub:
    """The hub as consumer, driven as the TCK's provider drives it: the initiate hooks
    start a process with this peer; the test sends the provider's messages."""

    caller: DspCaller
    peer: Peer
    consumer_pid: str = ""
    provider_pid: str = ""

    def initiate_negotiation(self, dataset_id: str, offer_id: str) -> ConsumerHub:
        body = {
            "datasetId": dataset_id,
            "offerId": offer_id,
            "providerId": "urn:tck:provider",
            "connectorAddress": self.peer.url,
        }
        doc = self.caller.expect(
            "POST", "/tck/negotiations/requests", body, 200, Message.NEGOTIATION
        )
        self.consumer_pid, self.provider_pid = doc["consumerPid"], doc["providerPid"]
        return self.wait("REQUESTED")

    def initiate_transfer(self, agreement_id: str, format_: str) -> ConsumerHub:
        body = {
            "agreementId": agreement_id,
            "format": format_,
            "providerId": "urn:tck:provider",
            "connectorAddress": self.peer.url,
        }
        path = "/tck/transfers/requests"
        doc = self.caller.expect("POST", path, body, 200, Message.TRANSFER_PROCESS)
        self.consumer_pid, self.provider_pid = doc["consumerPid"], doc["providerPid"]
        return self.wait("REQUESTED")

    def wait(self, *states: str) -> ConsumerHub:
        """Wait for the hub's own moves, as the peer (provider) received them."""
        self.peer.wait(self.provider_pid, *states)
        return self

    def _send(self, area: str, suffix: str, message: dict[str, Any], fail: bool) -> ConsumerHub:
        kind = Message.NEGOTIATION if area == "negotiations" else Message.TRANSFER_PROCESS
        error = Message.NEGOTIATION_ERROR if area == "negotiations" else Message.TRANSFER_ERROR
        path = f"/{area}/{self.consumer_pid}/{suffix}"
        if fail:
            self.caller.expect("POST", path, message, 400, error)
        else:
            self.caller.expect("POST", path, message, 200, kind)
        return self

    def offer(self, offer_id: str, dataset_id: str, fail: bool = False) -> ConsumerHub:
        body = {**offer(offer_id, dataset_id)}
        message = messages.contract_offer(self.provider_pid, self.consumer_pid, body)
        return self._send("negotiations", "offers", message, fail)

    def agree(self, dataset_id: str, fail: bool = False) -> ConsumerHub:
        agreement = {
            "@id": pid(),
            "@type": "Agreement",
            "target": dataset_id,
            "assigner": "urn:tck:provider",
            "assignee": "urn:edh:hub",
            "timestamp": "2026-12-06T18:00:00Z",
            "permission": [{"action": "use"}],
        }
        message = messages.contract_agreement(self.provider_pid, self.consumer_pid, agreement)
        return self._send("negotiations", "agreement", message, fail)

    def finalize(self, fail: bool = False) -> ConsumerHub:
        message = messages.negotiation_event(self.provider_pid, self.consumer_pid, "FINALIZED")
        return self._send("negotiations", "events", message, fail)

    def terminate_negotiation(self) -> ConsumerHub:
        message = messages.negotiation_termination(self.provider_pid, self.consumer_pid, "1", ["x"])
        return self._send("negotiations", "termination", message, False)

    def start(self, fail: bool = False) -> ConsumerHub:
        address = messages.data_address(
            "http://example.com", "t", "https://w3id.org/idsa/v4.1/HTTP"
        )
        message = messages.transfer_start(self.provider_pid, self.consumer_pid, address)
        return self._send("transfers", "start", message, fail)

    def suspend(self, fail: bool = False) -> ConsumerHub:
        message = messages.transfer_code_message(
            Message.TRANSFER_SUSPENSION, self.provider_pid, self.consumer_pid, "1", ["pause"]
        )
        return self._send("transfers", "suspension", message, fail)

    def complete(self, fail: bool = False) -> ConsumerHub:
        message = messages.transfer_completion(self.provider_pid, self.consumer_pid)
        return self._send("transfers", "completion", message, fail)

    def terminate_transfer(self) -> ConsumerHub:
        message = messages.transfer_code_message(
            Message.TRANSFER_TERMINATION, self.provider_pid, self.consumer_pid, "1", ["stop"]
        )
        return self._send("transfers", "termination", message, False)

    def hub_is(self, state: str) -> ConsumerHub:
        read = (
            self.caller.negotiation_state
            if self.caller.call("GET", f"/negotiations/{self.consumer_pid}").status_code == 200
            else self.caller.transfer_state
        )
        assert read(self.consumer_pid) == state
        return self
