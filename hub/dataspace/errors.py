"""DSP error answers: ``CatalogError``, ``ContractNegotiationError``, ``TransferError``.

The protocol's bindings answer errors with these bodies (not problem+json): 400 for a
malformed message or an illegal transition, 404 for an unknown process or a participant
that may not see it (the binding answers both alike), 401 without a valid identity.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from contracts.dsp import messages
from contracts.dsp.schema import validate
from contracts.dsp.vocab import Message


class DspFailure(Exception):
    """An error answer of a DSP endpoint: status, body type, code and reasons."""

    def __init__(
        self,
        status: int,
        kind: Message,
        reasons: list[str],
        *,
        provider_pid: str = "",
        consumer_pid: str = "",
    ) -> None:
        super().__init__("; ".join(reasons))
        self.status = status
        self.kind = kind
        self.reasons = reasons
        self.provider_pid = provider_pid
        self.consumer_pid = consumer_pid

    def response(self) -> JSONResponse:
        """The error body, valid against its schema, with the status."""
        body = messages.error(
            self.kind, str(self.status), self.reasons, self.provider_pid, self.consumer_pid
        )
        validate(self.kind, body)
        return JSONResponse(body, status_code=self.status)
