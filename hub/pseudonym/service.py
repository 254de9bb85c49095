"""Contract-scoped pseudonymisation keys and pseudonym lookups.

The key of a contract is ``HMAC-SHA256(EDH_PSEUDONYMISATION_SECRET, "edh-pseudonym-v1|" +
contract_id)``: deterministic (the hub stores no key), distinct per contract (two contracts
cannot join their pupils), and useless without the master secret.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from contracts.pseudonym import pseudonym

KEY_LABEL = b"edh-pseudonym-v1|"


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
