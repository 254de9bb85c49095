"""Builders of the documents a participant sends, in the 2025-1 compact form.

Every builder returns a plain JSON object with ``@context`` the 2025-1 context; callers
validate it (``contracts.dsp.schema.validate``) before it leaves the process.
"""

from __future__ import annotations

from typing import Any

from contracts.dsp.vocab import CONTEXT, VERSION, Message


def _doc(kind: Message, **fields: Any) -> dict[str, Any]:
    body = {k: v for k, v in fields.items() if v is not None}
    return {"@context": list(CONTEXT), "@type": str(kind), **body}


def version_document(path: str, identifier_type: str = "did:web") -> dict[str, Any]:
    """The ``/.well-known/dspace-version`` answer: one HTTPS binding of 2025-1 at ``path``."""
    return {
        "protocolVersions": [
            {
                "version": VERSION,
                "path": path,
                "binding": "HTTPS",
                "identifierType": identifier_type,
            }
        ]
    }


def catalog_request() -> dict[str, Any]:
    """A CatalogRequestMessage without filter: the whole catalog the provider shows."""
    return _doc(Message.CATALOG_REQUEST)


def negotiation(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    return _doc(
        Message.NEGOTIATION, providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def transfer_process(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    return _doc(
        Message.TRANSFER_PROCESS, providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def error(
    kind: Message, code: str, reasons: list[str], provider_pid: str = "", consumer_pid: str = ""
) -> dict[str, Any]:
    """A ``CatalogError``, ``ContractNegotiationError`` or ``TransferError`` body; the pids
    are those of the process the error is about (empty when the caller named none)."""
    pids = (
        {}
        if kind is Message.CATALOG_ERROR
        else {"providerPid": provider_pid, "consumerPid": consumer_pid}
    )
    return _doc(kind, **pids, code=code, reason=reasons or None)


def contract_request(
    consumer_pid: str,
    offer: dict[str, Any],
    *,
    callback_address: str | None = None,
    provider_pid: str | None = None,
) -> dict[str, Any]:
    """An initial request (with ``callback_address``) or a counter-request (with
    ``provider_pid``)."""
    return _doc(
        Message.CONTRACT_REQUEST,
        consumerPid=consumer_pid,
        providerPid=provider_pid,
        offer=offer,
        callbackAddress=callback_address,
    )


def contract_offer(
    provider_pid: str,
    consumer_pid: str | None,
    offer: dict[str, Any],
    callback_address: str | None = None,
) -> dict[str, Any]:
    return _doc(
        Message.CONTRACT_OFFER,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        offer=offer,
        callbackAddress=callback_address,
    )


def contract_agreement(
    provider_pid: str, consumer_pid: str, agreement: dict[str, Any]
) -> dict[str, Any]:
    return _doc(
        Message.CONTRACT_AGREEMENT,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        agreement=agreement,
    )


def agreement_verification(provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return _doc(Message.AGREEMENT_VERIFICATION, providerPid=provider_pid, consumerPid=consumer_pid)


def negotiation_event(provider_pid: str, consumer_pid: str, event_type: str) -> dict[str, Any]:
    """``event_type`` is ``ACCEPTED`` (consumer) or ``FINALIZED`` (provider)."""
    return _doc(
        Message.NEGOTIATION_EVENT,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        eventType=event_type,
    )


def negotiation_termination(
    provider_pid: str, consumer_pid: str, code: str, reasons: list[str]
) -> dict[str, Any]:
    return _doc(
        Message.NEGOTIATION_TERMINATION,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        code=code,
        reason=reasons or None,
    )


def transfer_request(
    consumer_pid: str,
    agreement_id: str,
    format_: str,
    callback_address: str,
    data_address: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``TransferRequestMessage``; ``data_address`` (a push) is where the provider sends."""
    return _doc(
        Message.TRANSFER_REQUEST,
        consumerPid=consumer_pid,
        agreementId=agreement_id,
        format=format_,
        callbackAddress=callback_address,
        dataAddress=data_address,
    )


def transfer_start(
    provider_pid: str, consumer_pid: str, data_address: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _doc(
        Message.TRANSFER_START,
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        dataAddress=data_address,
    )


def transfer_completion(provider_pid: str, consumer_pid: str) -> dict[str, Any]:
    return _doc(Message.TRANSFER_COMPLETION, providerPid=provider_pid, consumerPid=consumer_pid)


def transfer_code_message(
    kind: Message, provider_pid: str, consumer_pid: str, code: str, reasons: list[str]
) -> dict[str, Any]:
    """A ``TransferSuspensionMessage`` or ``TransferTerminationMessage``."""
    return _doc(
        kind, providerPid=provider_pid, consumerPid=consumer_pid, code=code, reason=reasons or None
    )


def data_address(endpoint: str, token: str, endpoint_type: str) -> dict[str, Any]:
    """A data address: ``endpoint`` reached with the bearer ``token`` (where a consumer
    pulls, or where a provider pushes)."""
    return {
        "@type": "DataAddress",
        "endpointType": endpoint_type,
        "endpoint": endpoint,
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": token},
            {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
        ],
    }
