"""The KeyDeriver port: the only keys the hub may obtain from the master keys.

Contract of every adapter: ``derive(kind, subject, purpose)`` returns the 32-byte key of
``kind`` under the current master key version, for one of an allowlist of kinds:
``contract`` (``subject`` = the contract id: the contract's pseudonymisation key),
``register`` (the erasure register key) and ``use`` (the record-of-use key), the last two
with an empty ``subject``. Any other kind or subject raises ``ValueError``; ``purpose``
says why (it is audited by the service). A service that cannot answer raises
``ServiceUnavailable`` (no key is ever guessed or cached).

Adapters: ``LocalDeriver`` (a key custody in this process: the service itself, or the
hub in the embedded dev mode) and ``RemoteDeriver`` (the hub: HTTP to the service).
"""

from __future__ import annotations

import base64
from typing import Protocol

import httpx

from hub.errors import ServiceUnavailable
from hub.pseudonym.custody import KeyCustody

KINDS: dict[str, bytes] = {
    "contract": b"edh-pseudonym-v1|",
    "register": b"edh-erasure-register-v1",
    "use": b"edh-pupil-use-v1",
}
MAX_SUBJECT = 256


def message(kind: str, subject: str) -> bytes:
    """The MAC input of ``kind``/``subject``; ``ValueError`` outside the allowlist."""
    label = KINDS.get(kind)
    if label is None:
        raise ValueError("unknown key kind")
    needs_subject = kind == "contract"
    if needs_subject != bool(subject) or len(subject) > MAX_SUBJECT:
        raise ValueError("subject not allowed for this key kind")
    return label + subject.encode()


class KeyDeriver(Protocol):
    """Derives the hub's keys from the master keys (see module docstring)."""

    def derive(self, kind: str, subject: str, purpose: str) -> bytes: ...


class LocalDeriver:
    """Derivation through a key custody of this process."""

    def __init__(self, custody: KeyCustody) -> None:
        self.custody = custody

    def derive(self, kind: str, subject: str, purpose: str) -> bytes:
        return self.custody.mac(message(kind, subject))


class RemoteDeriver:
    """Derivation by the pseudonymisation service over HTTP, with the service credential."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
        )

    def derive(self, kind: str, subject: str, purpose: str) -> bytes:
        message(kind, subject)  # refuse locally what the service would refuse
        body = {"kind": kind, "subject": subject, "purpose": purpose}
        try:
            answer = self._client.post("/v1/keys/derive", json=body)
        except httpx.HTTPError:
            raise ServiceUnavailable("the pseudonymisation service does not answer") from None
        if answer.status_code != httpx.codes.OK:
            raise ServiceUnavailable(
                f"the pseudonymisation service refused the request ({answer.status_code})"
            )
        return base64.b64decode(answer.json()["key"])
