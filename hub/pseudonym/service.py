"""Contract-scoped pseudonymisation keys and pseudonym lookups.

The key of a contract is ``HMAC-SHA256(master key, "edh-pseudonym-v1|" + contract_id)``,
computed by the key custody (``hub.pseudonym.custody``): in process from
``EDH_PSEUDONYMISATION_SECRET`` (version ``v1`` is that secret), or inside a PKCS#11 token
that never lets the master key out. Deterministic (the hub stores no key), distinct per
contract (two contracts cannot join their pupils), useless without the master key.
"""

from __future__ import annotations

import hashlib
import re

from contracts.pseudonym import pseudonym
from hub.config import Settings
from hub.errors import ValidationFailed
from hub.pseudonym.custody import InProcessCustody, KeyCustody, open_pkcs11

KEY_LABEL = b"edh-pseudonym-v1|"
REGISTER_LABEL = b"edh-erasure-register-v1"
USE_LABEL = b"edh-pupil-use-v1"
IDENTIFIER = re.compile(
    r"^(mbox:mailto:\S+@\S+|mbox_sha1sum:[0-9a-f]{40}|openid:\S+|account:\S+\|.+)$"
)


_IN_PROCESS: dict[str, InProcessCustody] = {}


def custody(settings: Settings) -> KeyCustody:
    """The configured key custody (one per process and configuration)."""
    cfg = settings.pseudonym
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


def contract_key(settings: Settings, contract_id: str) -> bytes:
    """The 32-byte pseudonymisation key of ``contract_id``."""
    return custody(settings).mac(KEY_LABEL + contract_id.encode())


def pseudonym_for(settings: Settings, contract_id: str, identifier: str) -> str:
    """The pseudonym the connector computes for a canonical agent identifier
    (``account:<homePage>|<name>``, ``mbox:<mailto>``, ...) under ``contract_id``.

    Used for erasure requests and the DPO's per-pupil report; the identifier itself is
    never stored.
    """
    return pseudonym(contract_key(settings, contract_id), identifier)


def register_digest(settings: Settings, identifier: str) -> str:
    """The erasure register's keyed digest of a canonical identifier: HMAC-SHA256 under a
    register key derived from the master key (not a contract key, so it is the same for
    every contract and no contract key holder can compute it)."""
    return pseudonym(custody(settings).mac(REGISTER_LABEL), identifier)


def use_key(settings: Settings) -> bytes:
    """The key of the record of use (derived from the master key, never stored)."""
    return custody(settings).mac(USE_LABEL)


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
