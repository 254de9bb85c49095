"""Identity: EdDSA access tokens, JWKS verification (built-in issuer or OIDC), role checks.

Every API endpoint declares its roles with ``Depends(require(Role.X, ...))``; a missing or
invalid token answers 401, a valid token without an accepted role answers 403 and the
refusal is audited.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request
from jwt import PyJWKClient, PyJWKSet

from hub.config import MAX_TOKEN_TTL, MIN_TOKEN_TTL, AuthSettings
from hub.errors import Forbidden, Unauthorized
from hub.keys import public_jwk

ALGORITHMS = ["EdDSA", "ES256"]
AUTH_FAILED = "auth.failed"
"""Audit action of a failed authentication (401)."""
UNAUTHENTICATED = "unauthenticated"
"""Audit role of a caller whose authentication failed."""
UNKNOWN_SUBJECT = "unknown"


class Role(StrEnum):
    """The hub's roles (realm roles at an OIDC provider)."""

    OPERATOR = "operator"
    PROVIDER = "provider"
    CONNECTOR = "connector"
    RESEARCHER = "researcher"
    ETHICS_REVIEWER = "ethics_reviewer"
    DPO = "dpo"
    OUTPUT_CHECKER = "output_checker"


ALL_ROLES = tuple(Role)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: subject, roles held, organisation (if any), display name."""

    sub: str
    roles: frozenset[str]
    org: str | None = None
    name: str | None = None

    def acting_role(self, accepted: tuple[Role, ...]) -> str:
        """The first accepted role the caller holds (the role recorded in the audit log)."""
        for role in accepted:
            if role in self.roles:
                return str(role)
        return ",".join(sorted(self.roles)) or "none"


class TokenIssuer:
    """The built-in issuer: mints EdDSA tokens and publishes its JWKS."""

    def __init__(self, key: Ed25519PrivateKey, settings: AuthSettings) -> None:
        self._key = key
        self._settings = settings
        self.jwk = public_jwk(key.public_key())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def mint(
        self,
        sub: str,
        roles: list[str],
        *,
        org: str | None = None,
        name: str | None = None,
        ttl: int | None = None,
    ) -> str:
        """A signed access token for ``sub`` with ``roles`` (validated against :class:`Role`)
        living ``ttl`` seconds (default ``token_ttl_seconds``); raises ``ValueError`` for an
        unknown role or a lifetime outside ``MIN_TOKEN_TTL``..``MAX_TOKEN_TTL``."""
        unknown = sorted(set(roles) - {str(r) for r in Role})
        if unknown:
            raise ValueError(f"unknown roles: {', '.join(unknown)}")
        lifetime = self._settings.token_ttl_seconds if ttl is None else ttl
        if not MIN_TOKEN_TTL <= lifetime <= MAX_TOKEN_TTL:
            raise ValueError(f"token lifetime must be {MIN_TOKEN_TTL}..{MAX_TOKEN_TTL} seconds")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": sub,
            "roles": roles,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        if org:
            claims["org"] = org
        if name:
            claims["name"] = name
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.jwk["kid"]})


class TokenVerifier:
    """Verifies tokens against a JWKS: the built-in issuer's, or an OIDC provider's URL."""

    def __init__(self, settings: AuthSettings, local_jwks: dict[str, Any] | None) -> None:
        self._settings = settings
        self._remote = PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._local = PyJWKSet.from_dict(local_jwks) if local_jwks else None

    def _key_for(self, token: str) -> Any:
        if self._remote is not None:
            return self._remote.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        assert self._local is not None
        for jwk in self._local.keys:
            if jwk.key_id == kid:
                return jwk.key
        raise Unauthorized("token signed by an unknown key")

    def verify(self, token: str) -> Principal:
        """Return the principal of a valid token; raise ``Unauthorized`` with the reason."""
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=ALGORITHMS,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return Principal(
            sub=str(claims["sub"]),
            roles=frozenset(_roles_of(claims)),
            org=claims.get("org"),
            name=claims.get("name"),
        )


def _roles_of(claims: dict[str, Any]) -> list[str]:
    """Roles from ``roles`` or, for Keycloak-style providers, ``realm_access.roles``."""
    roles = claims.get("roles")
    if roles is None:
        roles = (claims.get("realm_access") or {}).get("roles", [])
    if not isinstance(roles, list):
        return []
    return [str(r) for r in roles if str(r) in {str(x) for x in Role}]


def bearer_token(request: Request) -> str:
    """The bearer token of a request; raise ``Unauthorized`` when absent or malformed."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer access token is required")
    return token.strip()


def claimed_subject(token: str | None) -> str:
    """The ``sub`` a token claims, read without verifying it (for the audit of a failed
    authentication only), at most 128 characters; ``unknown`` when there is none."""
    if not token:
        return UNKNOWN_SUBJECT
    try:
        sub = jwt.decode(token, options={"verify_signature": False}).get("sub")
    except (jwt.PyJWTError, ValueError, AttributeError):
        return UNKNOWN_SUBJECT
    return str(sub)[:128] if sub else UNKNOWN_SUBJECT


def authenticate(request: Request) -> Principal:
    """Verify the request's bearer token with the app's verifier; a failure is audited
    (``hub.context.HubContext.audit_auth_failure``) and raised as ``Unauthorized``."""
    verifier: TokenVerifier = request.app.state.hub.verifier
    token = None
    try:
        token = bearer_token(request)
        return verifier.verify(token)
    except Unauthorized as exc:
        request.app.state.hub.audit_auth_failure(request, token, exc.detail)
        raise


def public_endpoint() -> None:
    """Dependency marking an endpoint as deliberately public (e.g. published public keys)."""


public_endpoint.roles = ()  # type: ignore[attr-defined]


def require(*roles: Role) -> Callable[[Request], Principal]:
    """Dependency: the caller must hold one of ``roles``; refusals are audited (403)."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if not principal.roles.intersection(str(r) for r in roles):
            request.app.state.hub.audit_denial(principal, roles, request)
            raise Forbidden(
                f"this endpoint requires one of the roles: {', '.join(roles)}",
                required_roles=list(roles),
            )
        request.state.principal = principal
        return principal

    dependency.roles = tuple(roles)  # type: ignore[attr-defined]
    return dependency
