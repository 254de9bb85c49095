"""The KeyDeriver port: the only keys the hub may obtain from the master keys.

Contract of every adapter: ``derive(kind, subject, purpose, version)`` returns the 32-byte
key of ``kind`` for one of an allowlist of kinds: ``contract`` (``subject`` = the contract
id: the contract's pseudonymisation key under the master key ``version`` the contract was
created with, label ``edh-pseudonym-<version>|``), ``register`` (the erasure register
key) and ``use`` (the record-of-use key), the last two with an empty ``subject`` and
always under ``v1`` (``PINNED_VERSION``: the register and the record of use must match
across key rotations). Any other kind, subject or version raises ``ValueError`` (an
unknown version too); ``purpose`` says why (it is audited by the service). A service
that cannot answer raises ``ServiceUnavailable`` (no key is ever guessed or cached).

Adapters: ``LocalDeriver`` (a key custody in this process: the service itself, or the
hub in the embedded dev mode) and ``RemoteDeriver`` (the hub: HTTP to the service).
"""

from __future__ import annotations

import base64
import re
from typing import Protocol

import httpx

from hub.errors import ServiceUnavailable
from hub.pseudonym.custody import KeyCustody

KINDS: dict[str, bytes] = {
    "contract": b"edh-pseudonym-{version}|",
    "register": b"edh-erasure-register-v1",
    "use": b"edh-pupil-use-v1",
}
MAX_SUBJECT = 256
PINNED_VERSION = "v1"
VERSION = re.compile(r"^v[0-9]{1,4}$")


def message(kind: str, subject: str, version: str) -> bytes:
    """The MAC input of ``kind``/``subject`` under ``version``; ``ValueError`` outside the
    allowlist."""
    label = KINDS.get(kind)
    if label is None:
        raise ValueError("unknown key kind")
    needs_subject = kind == "contract"
    if needs_subject != bool(subject) or len(subject) > MAX_SUBJECT:
        raise ValueError("subject not allowed for this key kind")
    if not VERSION.match(version) or (not needs_subject and version != PINNED_VERSION):
        raise ValueError("key version not allowed for this key kind")
    return label.replace(b"{version}", version.encode()) + subject.encode()


class KeyDeriver(Protocol):
    """Derives the hub's keys from the master keys (see module docstring)."""

    def derive(self, kind: str, subject: str, purpose: str, version: str) -> bytes: ...


class LocalDeriver:
    """Derivation through a key custody of this process."""

    def __init__(self, custody: KeyCustody) -> None:
        self.custody = custody

    def derive(self, kind: str, subject: str, purpose: str, version: str) -> bytes:
        try:
            return self.custody.mac(message(kind, subject, version), version)
        except KeyError:
            raise ValueError("unknown key version") from None


class RemoteDeriver:
    """Derivation by the pseudonymisation service over HTTP, with the service credential."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
        )

    def derive(self, kind: str, subject: str, purpose: str, version: str) -> bytes:
        message(kind, subject, version)  # refuse locally what the service would refuse
        body = {"kind": kind, "subject": subject, "purpose": purpose, "version": version}
        try:
            answer = self._client.post("/v1/keys/derive", json=body)
        except httpx.HTTPError:
            raise ServiceUnavailable("the pseudonymisation service does not answer") from None
        if answer.status_code != httpx.codes.OK:
            raise ServiceUnavailable(
                f"the pseudonymisation service refused the request ({answer.status_code})"
            )
        return base64.b64decode(answer.json()["key"])

    def check(self) -> None:
        """Health check: the service answers ``GET /health``; raises ``ServiceUnavailable``."""
        try:
            answer = self._client.get("/health")
        except httpx.HTTPError:
            raise ServiceUnavailable("the pseudonymisation service does not answer") from None
        if answer.status_code != httpx.codes.OK:
            raise ServiceUnavailable(f"the pseudonymisation service answers {answer.status_code}")
