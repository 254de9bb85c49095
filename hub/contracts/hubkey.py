"""The hub's own contract-signing key (trusted third party), and party key look-ups."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from contracts.clock import as_utc
from contracts.verify import TrustedKey
from hub.config import Settings
from hub.contracts.models import OrganisationKey
from hub.keys import load_or_create_key, load_public_key, public_jwk
from hub.registry.public import get_org

HUB_KEY_SETTING = "EDH_CONTRACTS__HUB_KEY_FILE"


def hub_key_path(settings: Settings) -> Path:
    """Where the hub's contract key lives (``EDH_CONTRACTS__HUB_KEY_FILE`` or the data dir)."""
    return settings.contracts.hub_key_file or settings.data_dir / "keys" / "contracts-hub.pem"


def hub_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The hub's private key, held in memory once loaded; created only in dev mode
    (raises ``ServiceUnavailable``)."""
    return load_or_create_key(
        hub_key_path(settings), allow_create=settings.dev_mode, setting=HUB_KEY_SETTING
    )


def hub_jwk(settings: Settings) -> dict[str, Any]:
    """The public JWK of the hub's contract key (``kid`` = RFC 7638 thumbprint)."""
    return public_jwk(hub_signing_key(settings).public_key())


def _keys(session: Session, organisation_id: str) -> list[OrganisationKey]:
    """Every key the organisation registered, revoked ones included (oldest first)."""
    query = select(OrganisationKey).where(OrganisationKey.organisation_id == organisation_id)
    return list(session.exec(query.order_by(col(OrganisationKey.created_at))).all())


def _until(row: OrganisationKey) -> datetime | None:
    return None if row.revoked_at is None else as_utc(row.revoked_at)


def organisation_keys(session: Session, organisation_id: str) -> dict[str, TrustedKey]:
    """The organisation's public keys by ``kid``, each bound to the organisation and valid
    from its registration until its revocation (open while not revoked): a revoked key
    still verifies what it signed before, never anything after."""
    return {
        row.kid: TrustedKey(
            load_public_key(row.public_key_pem),
            org=row.organisation_id,
            valid_from=as_utc(row.created_at),
            valid_until=_until(row),
        )
        for row in _keys(session, organisation_id)
    }


def organisation_jwks(session: Session, organisation_id: str) -> dict[str, Any]:
    """The organisation's contract keys as a JWKS; each JWK names in ``edh_party`` the party
    the organisation signs as (its kind: provider, lab), in ``edh_org`` the organisation,
    in ``edh_valid_from`` when the key was registered and, once revoked, in
    ``edh_valid_until`` when (RFC 3339): what ``edh contracts verify --keys`` binds each
    signature to. Raises ``NotFound``."""
    party = str(get_org(session, organisation_id).kind)
    return {"keys": [_bound_jwk(row, party) for row in _keys(session, organisation_id)]}


def _rfc3339(instant: datetime) -> str:
    return as_utc(instant).isoformat().replace("+00:00", "Z")


def _bound_jwk(row: OrganisationKey, party: str) -> dict[str, Any]:
    jwk = {
        **public_jwk(load_public_key(row.public_key_pem)),
        "edh_party": party,
        "edh_org": row.organisation_id,
        "edh_valid_from": _rfc3339(row.created_at),
    }
    if row.revoked_at is not None:
        jwk["edh_valid_until"] = _rfc3339(row.revoked_at)
    return jwk
