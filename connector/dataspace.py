"""The connector as the Dataspace Protocol provider of its batches (``HttpData-PUSH``).

Its hub, the consumer, asks for a transfer under the vendor's contract:
``POST /dsp/transfers/request`` with a TransferRequestMessage whose data address is the
hub's batch endpoint for that transfer and a token scoped to it. The connector takes it
only from its own hub (a token signed by a key of the hub's DID document, read from
``<hub url>/.well-known/did.json``, for the connector's participant id
``urn:edh:connector:<id>``, unexpired; else 401), only for its own contract, in the
``HttpData-PUSH`` format, with a data address and callback on its hub (else 400: no data
leaves for an address a caller chose). It answers the process (REQUESTED), then starts
it (TransferStartMessage, with its own connector token) and ships the spool's next batch
to the data address (``connector.pipeline.transfer``); the hub completes the transfer
once the batch is registered. With nothing to ship it completes the transfer itself;
a failure terminates it. Processes are kept in memory (a restarted connector forgets
them; the hub may ask again).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from connector.config import ConnectorSettings
from connector.pipeline.commands import key_path, load_key
from connector.pipeline.transfer import push_one_batch
from contracts.connector_token import mint_connector_token
from contracts.dsp import messages
from contracts.dsp.schema import InvalidMessage, validate
from contracts.dsp.vocab import Message

log = logging.getLogger("connector.dataspace")
PUSH_FORMAT = "HttpData-PUSH"
PARTICIPANT_PREFIX = "urn:edh:connector:"

router = APIRouter(prefix="/dsp", tags=["dataspace"])


class Refused(Exception):
    """A DSP request the connector refuses: ``status`` and the reasons of its error body."""

    def __init__(self, status: int, reasons: list[str]) -> None:
        super().__init__(reasons[0])
        self.status = status
        self.reasons = reasons

    def response(self, provider_pid: str = "", consumer_pid: str = "") -> JSONResponse:
        body = messages.error(
            Message.TRANSFER_ERROR, str(self.status), self.reasons, provider_pid, consumer_pid
        )
        return JSONResponse(body, status_code=self.status)


@dataclass
class Transfer:
    """One push process, the connector as provider."""

    consumer_pid: str
    callback: str
    endpoint: str
    token: str
    state: str = "REQUESTED"


@dataclass
class Provider:
    """The connector's DSP provider: its settings and its processes (in memory)."""

    settings: ConnectorSettings
    transfers: dict[str, Transfer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def participant_id(self) -> str:
        return PARTICIPANT_PREFIX + self.settings.hub.connector_id

    @property
    def hub_url(self) -> str:
        return self.settings.hub.url.rstrip("/")

    def verify_hub(self, request: Request) -> None:
        """The request carries a token of this connector's hub; else ``Refused`` 401."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Refused(401, ["a token of the hub is required"])
        try:
            document = httpx.get(self.hub_url + "/.well-known/did.json", timeout=10).json()
            keys = [m["publicKeyJwk"] for m in document["verificationMethod"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise Refused(401, ["the hub's DID document cannot be read"]) from exc
        for jwk in keys:
            try:
                jwt.decode(
                    token,
                    jwt.PyJWK.from_dict({**jwk, "alg": "EdDSA"}).key,
                    algorithms=["EdDSA"],
                    audience=self.participant_id,
                    issuer=document.get("id"),
                    options={"require": ["exp", "iat", "iss", "aud"]},
                )
                return
            except (jwt.PyJWTError, ValueError):
                continue
        raise Refused(401, ["the token is not one of the connector's hub"])

    def on_hub(self, url: object) -> bool:
        return isinstance(url, str) and url.startswith(self.hub_url + "/")

    def accept(self, message: dict[str, Any]) -> tuple[str, Transfer]:
        """A valid push request of the hub for the connector's contract; else ``Refused``."""
        try:
            validate(Message.TRANSFER_REQUEST, message)
        except InvalidMessage as exc:
            raise Refused(400, [str(exc)]) from exc
        contract = f"urn:edh:contract:{self.settings.hub.contract_id}:v"
        address = message.get("dataAddress") or {}
        properties = {p.get("name"): p.get("value") for p in address.get("endpointProperties", [])}
        checks = {
            "the connector pushes only HttpData-PUSH": message["format"] == PUSH_FORMAT,
            "the agreement is not the connector's contract": message["agreementId"].startswith(
                contract
            ),
            "the data address is not on the connector's hub": self.on_hub(address.get("endpoint")),
            "the data address carries no token": isinstance(properties.get("authorization"), str),
            "the callback is not the connector's hub": self.on_hub(message["callbackAddress"]),
        }
        problems = [reason for reason, ok in checks.items() if not ok]
        if problems:
            raise Refused(400, problems)
        transfer = Transfer(
            consumer_pid=message["consumerPid"],
            callback=message["callbackAddress"].rstrip("/"),
            endpoint=address["endpoint"],
            token=str(properties["authorization"]),
        )
        pid = f"urn:uuid:{uuid.uuid4()}"
        with self.lock:
            self.transfers[pid] = transfer
        return pid, transfer

    def tell(self, pid: str, suffix: str, kind: Message, body: dict[str, Any]) -> None:
        """Send the hub one of the connector's moves on ``pid``, with its own token."""
        transfer = self.transfers[pid]
        key = load_key(key_path(self.settings))
        token = mint_connector_token(key, self.settings.hub.connector_id)
        validate(kind, body)
        url = f"{transfer.callback}/transfers/{transfer.consumer_pid}/{suffix}"
        answer = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        answer.raise_for_status()

    def run(self, pid: str) -> None:
        """Start ``pid``, ship the next batch (the hub then completes the transfer); with
        nothing to ship, complete it; on a failure, terminate it."""
        transfer = self.transfers[pid]
        try:
            self.tell(
                pid,
                "start",
                Message.TRANSFER_START,
                messages.transfer_start(pid, transfer.consumer_pid),
            )
            transfer.state = "STARTED"
            report = push_one_batch(self.settings, transfer.endpoint, transfer.token)
            if report.batches_registered + report.batches_already_registered == 0:
                completion = messages.transfer_completion(pid, transfer.consumer_pid)
                self.tell(pid, "completion", Message.TRANSFER_COMPLETION, completion)
                transfer.state = "COMPLETED"
        except Exception as exc:  # the hub hears why the push stopped
            log.warning("push transfer %s failed: %s", pid, type(exc).__name__)
            self._terminate(pid, type(exc).__name__)

    def _terminate(self, pid: str, reason: str) -> None:
        transfer = self.transfers[pid]
        body = messages.transfer_code_message(
            Message.TRANSFER_TERMINATION, pid, transfer.consumer_pid, "push-failed", [reason]
        )
        try:
            self.tell(pid, "termination", Message.TRANSFER_TERMINATION, body)
        except (httpx.HTTPError, ValueError):
            log.warning("the hub did not hear that push transfer %s ended", pid)
        transfer.state = "TERMINATED"


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.dsp
    return provider


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise Refused(400, ["the body is not JSON"]) from exc
    if not isinstance(body, dict):
        raise Refused(400, ["the body is not a message"])
    return body


@router.post("/transfers/request")
async def transfer_request(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """The hub asks for a push of the next batch: the process, REQUESTED (201)."""
    provider = _provider(request)
    try:
        provider.verify_hub(request)
        pid, transfer = provider.accept(await _body(request))
    except Refused as exc:
        return exc.response()
    tasks.add_task(provider.run, pid)
    document = messages.transfer_process(pid, transfer.consumer_pid, "REQUESTED")
    return JSONResponse(document, status_code=201)


@router.post("/transfers/{pid}/{step}")
async def transfer_step(pid: str, step: str, request: Request) -> JSONResponse:
    """The hub's completion, suspension or termination of a push process."""
    provider = _provider(request)
    target = {"completion": "COMPLETED", "termination": "TERMINATED", "suspension": "SUSPENDED"}
    transfer = provider.transfers.get(pid)
    try:
        provider.verify_hub(request)
        if transfer is None or step not in target:
            raise Refused(404, ["no such transfer process"])
        await _body(request)
    except Refused as exc:
        return exc.response(pid)
    transfer.state = target[step]
    return JSONResponse(messages.transfer_process(pid, transfer.consumer_pid, transfer.state))


@router.get("/transfers/{pid}")
async def transfer_state(pid: str, request: Request) -> JSONResponse:
    """A push process as the connector sees it."""
    provider = _provider(request)
    transfer = provider.transfers.get(pid)
    try:
        provider.verify_hub(request)
        if transfer is None:
            raise Refused(404, ["no such transfer process"])
    except Refused as exc:
        return exc.response(pid)
    return JSONResponse(messages.transfer_process(pid, transfer.consumer_pid, transfer.state))
