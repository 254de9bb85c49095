"""Pseudonyms shared by the connector (which computes them) and the hub (erasure, lookups).

A pseudonym is ``hex(HMAC-SHA256(key, identifier))`` where ``identifier`` is the canonical
inverse functional identifier of an xAPI agent (:func:`identifier_of`) and ``key`` the
contract-scoped key handed out by the hub's pseudonymisation service.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

PSEUDONYM_HOME_PAGE: Final = "urn:edh:pseudonym"
"""The ``account.homePage`` of a pseudonymised agent (its ``name`` is the pseudonym)."""


def identifier_of(agent: dict[str, Any]) -> str | None:
    """The canonical identifier of ``agent``: ``mbox:``, ``mbox_sha1sum:``, ``openid:`` or
    ``account:<homePage>|<name>`` (None for an anonymous group)."""
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"]).strip().lower()
    if "mbox_sha1sum" in agent:
        return "mbox_sha1sum:" + str(agent["mbox_sha1sum"]).strip().lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"]).strip()
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{account.get('homePage', '')}|{account.get('name', '')}"
    return None


def pseudonym(key: bytes, identifier: str) -> str:
    """The pseudonym of a canonical identifier under ``key``."""
    return hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()
