"""Contract-scoped pseudonymisation keys and pseudonym lookups.

The key of a contract is ``HMAC-SHA256(master key, "edh-pseudonym-v1|" + contract_id)``,
computed by the key custody (``hub.pseudonym.custody``): outside dev mode in the separate
pseudonymisation service (``edh pseudonym serve``, a PKCS#11 token that never lets the
master key out), which the hub asks over HTTP (``hub.pseudonym.keys.RemoteDeriver``); in
the embedded dev mode in process from ``EDH_PSEUDONYMISATION_SECRET`` (version ``v1`` is
that secret). Deterministic (the hub stores no key), distinct per contract (two contracts
cannot join their pupils), useless without the master key.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Protocol

from contracts.pseudonym import pseudonym
from hub.config import Settings
from hub.errors import ServiceUnavailable, ValidationFailed
from hub.pseudonym.custody import InProcessCustody, KeyCustody, open_pkcs11
from hub.pseudonym.keys import PINNED_VERSION, KeyDeriver, LocalDeriver, RemoteDeriver


class VersionedContract(Protocol):
    """A contract as key derivation needs it (``hub.contracts.public.ContractRecord``)."""

    @property
    def id(self) -> str: ...

    @property
    def key_version(self) -> str: ...


IDENTIFIER = re.compile(
    r"^(mbox:mailto:\S+@\S+|mbox_sha1sum:[0-9a-f]{40}|openid:\S+|account:\S+\|.+)$"
)


_IN_PROCESS: dict[str, InProcessCustody] = {}
_REMOTE: dict[tuple[str, str, float], RemoteDeriver] = {}


def custody(settings: Settings) -> KeyCustody:
    """The configured key custody (one per process and configuration); a process
    configured with ``custody=remote`` holds none (``ServiceUnavailable``)."""
    cfg = settings.pseudonym
    if cfg.custody == "remote":
        raise ServiceUnavailable("this process holds no master key (EDH_PSEUDONYM__CUSTODY)")
    if cfg.custody == "pkcs11":
        pin = cfg.pin.get_secret_value()
        return open_pkcs11(str(cfg.pkcs11_library), cfg.token_label, pin, cfg.key_version)
    secret = settings.pseudonymisation_secret.get_secret_value()
    tag = hashlib.sha256(secret.encode()).hexdigest()
    found = _IN_PROCESS.get(tag)
    if found is None:
        found = _IN_PROCESS[tag] = InProcessCustody("v1")
        found.import_secret("v1", secret.encode())
    return found


def deriver(settings: Settings) -> KeyDeriver:
    """How this process derives keys: the pseudonymisation service (``custody=remote``)
    or its own key custody."""
    service = settings.pseudonym.service
    if settings.pseudonym.custody != "remote":
        return LocalDeriver(custody(settings))
    token = service.token.get_secret_value()
    tag = (service.url, token, service.timeout_seconds)
    found = _REMOTE.get(tag)
    if found is None:
        found = _REMOTE[tag] = RemoteDeriver(service.url, token, service.timeout_seconds)
    return found


def service_health(settings: Settings) -> RemoteDeriver | None:
    """The pseudonymisation service this process derives through (its ``check`` is the
    hub's ``pseudonym_service`` health check), or ``None`` when it holds its own keys."""
    found = deriver(settings)
    return found if isinstance(found, RemoteDeriver) else None


def contract_key(
    settings: Settings, contract: VersionedContract, purpose: str = "contract key"
) -> bytes:
    """The 32-byte pseudonymisation key of ``contract`` (under the master key version it
    was created with), derived for ``purpose``."""
    return deriver(settings).derive("contract", contract.id, purpose, contract.key_version)


def key_text(key: bytes) -> str:
    """A contract key as the API hands it to a connector (standard base64)."""
    return base64.b64encode(key).decode()


def pseudonym_for(settings: Settings, contract: VersionedContract, identifier: str) -> str:
    """The pseudonym the connector computes for a canonical agent identifier
    (``account:<homePage>|<name>``, ``mbox:<mailto>``, ...) under ``contract``.

    Used for erasure requests and the DPO's per-pupil report; the identifier itself is
    never stored.
    """
    return pseudonym(contract_key(settings, contract, "pseudonym lookup"), identifier)


def register_digest(settings: Settings, identifier: str) -> str:
    """The erasure register's keyed digest of a canonical identifier: HMAC-SHA256 under a
    register key derived from the master key (not a contract key, so it is the same for
    every contract and no contract key holder can compute it)."""
    key = deriver(settings).derive("register", "", "erasure register digest", PINNED_VERSION)
    return pseudonym(key, identifier)


def use_key(settings: Settings) -> bytes:
    """The key of the record of use (derived from the master key, never stored)."""
    return deriver(settings).derive("use", "", "record of use", PINNED_VERSION)


def use_digest(key: bytes, contract_id: str, pseudonym_value: str) -> str:
    """The keyed digest under which a pupil's use by a released query is recorded."""
    return pseudonym(key, f"{contract_id}|{pseudonym_value}")


def check_identifier(identifier: str) -> str:
    """The stripped identifier; ``ValidationFailed`` unless it has a canonical xAPI form
    (the message never repeats the value)."""
    value = identifier.strip()
    if value.startswith("mbox"):
        value = value.lower()  # as the connector canonicalises it
    if not IDENTIFIER.match(value):
        raise ValidationFailed(
            "identifier must be a canonical xAPI agent identifier: account:<homePage>|<name>, "
            "mbox:mailto:<address>, mbox_sha1sum:<40 hex> or openid:<uri>",
            errors=[{"field": "identifier", "message": "not a canonical agent identifier"}],
        )
    return value
