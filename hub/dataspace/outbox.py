"""Messages the hub sends to another participant (callbacks and requests).

``post`` validates the message against its schema first (the hub never sends an invalid
message), then POSTs it to ``url``; it answers the peer's JSON body (or ``{}``) and
raises ``DeliveryFailed`` when the peer is unreachable or refuses, ``retryable`` when
the peer is briefly down (unreachable, a timeout, 408, 425, 429 or 5xx) rather than
answering. ``send`` is ``post`` to ``base``/``path``. The hub's own moves go through
the durable delivery of ``hub.dataspace.courier``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from contracts.dsp.schema import validate
from contracts.dsp.vocab import Message

log = logging.getLogger("hub.dataspace")


RETRYABLE_STATUS = frozenset({408, 425, 429})


class DeliveryFailed(RuntimeError):
    """The peer did not accept a message (unreachable, or a non-2xx answer);
    ``retryable`` when it may take it later (not reached, busy, or a server error)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def join(base: str, path: str) -> str:
    """``base`` (with or without a trailing slash) followed by ``path``."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def send(
    base: str,
    path: str,
    kind: Message,
    message: dict[str, Any],
    *,
    timeout: float,
    authorization: str | None = None,
) -> dict[str, Any]:
    """POST ``message`` (a valid ``kind``) to ``base``/``path``; the answer's JSON body."""
    return post(join(base, path), kind, message, timeout=timeout, authorization=authorization)


def post(
    url: str,
    kind: Message,
    message: dict[str, Any],
    *,
    timeout: float,
    authorization: str | None = None,
) -> dict[str, Any]:
    """POST ``message`` (a valid ``kind``) to ``url``; the answer's JSON body."""
    validate(kind, message)
    headers = {"Authorization": authorization} if authorization else {}
    try:
        response = httpx.post(url, json=message, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{kind} to {url}: {type(exc).__name__}", retryable=True) from exc
    if not response.is_success:
        status = response.status_code
        retryable = status >= 500 or status in RETRYABLE_STATUS
        raise DeliveryFailed(f"{kind} to {url}: HTTP {status}", retryable=retryable)
    log.info("sent %s to %s", kind, url)
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
