"""A DSP counter-party for tests, playing the TCK's consumer: it listens for the hub's
callbacks on loopback, checks every message against the specification's schemas (strict
mode) and follows each process's state; ``DspCaller`` sends the consumer's messages to
the hub and checks every answer (a valid document, or a valid error body)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from contracts.dsp import messages
from contracts.dsp.schema import validate
from contracts.dsp.vocab import Message
from tests.support.browser import free_port

# callback path suffix → (message type, state it leads to, or None for "see eventType")
CALLBACKS: dict[str, tuple[Message, str | None]] = {
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

    def handle(self, path: str, body: dict[str, Any]) -> None:
        parts = path.strip("/").split("/")  # cb, negotiations|transfers, pid, suffix
        kind, target = CALLBACKS[parts[-1]]
        if parts[1] == "transfers" and parts[-1] == "termination":
            kind, target = TRANSFER_TERMINATION
        try:
            validate(kind, body)
        except Exception as exc:
            self.invalid.append(f"{path}: {exc}")
        state = target or str(body.get("eventType"))
        with self.lock:
            self.history.setdefault(parts[2], []).append(state)
            self.received.setdefault(parts[2], []).append(body)

    def wait(self, consumer_pid: str, *states: str, timeout: float = 20.0) -> None:
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
            peer.handle(self.path, json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}/cb/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return peer, server


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
