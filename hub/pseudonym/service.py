"""Contract-scoped pseudonymisation keys and pseudonym lookups.

The key of a contract is ``HMAC-SHA256(EDH_PSEUDONYMISATION_SECRET, "edh-pseudonym-v1|" +
contract_id)``: deterministic (the hub stores no key), distinct per contract (two contracts
cannot join their pupils), and useless without the master secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pydantic import SecretStr

from contracts.pseudonym import pseudonym
from hub.errors import ValidationFailed

KEY_LABEL = b"edh-pseudonym-v1|"
REGISTER_LABEL = b"edh-erasure-register-v1"
IDENTIFIER = re.compile(
    r"^(mbox:mailto:\S+@\S+|mbox_sha1sum:[0-9a-f]{40}|openid:\S+|account:\S+\|.+)$"
)


def contract_key(secret: SecretStr, contract_id: str) -> bytes:
    """The 32-byte pseudonymisation key of ``contract_id``."""
    master = secret.get_secret_value().encode()
    return hmac.new(master, KEY_LABEL + contract_id.encode(), hashlib.sha256).digest()


def pseudonym_for(secret: SecretStr, contract_id: str, identifier: str) -> str:
    """The pseudonym the connector computes for a canonical agent identifier
    (``account:<homePage>|<name>``, ``mbox:<mailto>``, ...) under ``contract_id``.

    Used for erasure requests and the DPO's per-pupil report; the identifier itself is
    never stored.
    """
    return pseudonym(contract_key(secret, contract_id), identifier)


def register_digest(secret: SecretStr, identifier: str) -> str:
    """The erasure register's keyed digest of a canonical identifier: HMAC-SHA256 under a
    register key derived from the master secret (not a contract key, so it is the same
    for every contract and no contract key holder can compute it)."""
    master = secret.get_secret_value().encode()
    register_key = hmac.new(master, REGISTER_LABEL, hashlib.sha256).digest()
    return pseudonym(register_key, identifier)


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
