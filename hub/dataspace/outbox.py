"""Messages the hub sends to another participant (callbacks and requests).

``send`` validates the message against its schema first (the hub never sends an invalid
message), then POSTs it to ``base``/``path``; it answers the peer's JSON body (or ``{}``)
and raises ``DeliveryFailed`` when the peer is unreachable or refuses.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from contracts.dsp.schema import validate
from contracts.dsp.vocab import Message

log = logging.getLogger("hub.dataspace")


class DeliveryFailed(RuntimeError):
    """The peer did not accept a message (unreachable, or a non-2xx answer)."""


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
    validate(kind, message)
    headers = {"Authorization": authorization} if authorization else {}
    url = join(base, path)
    try:
        response = httpx.post(url, json=message, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{kind} to {url}: {type(exc).__name__}") from exc
    if not response.is_success:
        raise DeliveryFailed(f"{kind} to {url}: HTTP {response.status_code}")
    log.info("sent %s to %s", kind, url)
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
