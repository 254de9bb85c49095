"""The pseudonymisation service as its own process (``edh pseudonym serve``).

It alone holds the master keys (its key custody: a PKCS#11 token, or in process in dev
mode) and answers one question over HTTP: ``POST /v1/keys/derive`` derives a key of an
allowlisted kind (``hub.pseudonym.keys``) for a caller presenting the service credential
(``Authorization: Bearer <EDH_PSEUDONYM__SERVICE__TOKEN>``). Every derivation and every
refusal is recorded in the service's own audit trail (the hub's audit code on the
service's own database), with the caller's purpose, and purged past its retention by
the service itself (``hub.pseudonym.upkeep``). The master keys never leave it.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from hub.config import Settings
from hub.db import make_engine, upgrade
from hub.errors import ServiceUnavailable, Unauthorized, ValidationFailed, install_error_handlers
from hub.pseudonym.keys import KINDS, MAX_SUBJECT, PINNED_VERSION, VERSION, LocalDeriver
from hub.pseudonym.service import custody
from hub.pseudonym.upkeep import TrailPurger
from hub.secrets import check_secret
from hub.settings.pseudonym import DEV_SERVICE_TOKEN
from hub.trail.seal import use_audit_key
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record_now

HUB = Actor(sub="hub", role="service-client")
ANONYMOUS = Actor(sub="anonymous", role="none")


class DeriveIn(BaseModel):
    """A derivation request: kind (allowlist), subject (the contract id for ``contract``)
    and why it is needed."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(" + "|".join(KINDS) + ")$")
    subject: str = Field(default="", max_length=MAX_SUBJECT)
    purpose: str = Field(min_length=3, max_length=200)
    version: str = Field(default=PINNED_VERSION, pattern=VERSION.pattern)


class DeriveOut(BaseModel):
    key: str = Field(description="Base64 of the 32-byte derived key.")
    version: str = Field(description="Master key version it was derived under.")


def service_database_url(settings: Settings) -> str:
    """The service's own database (SQLite file in the data directory when unset)."""
    url = settings.pseudonym.service.database_url
    return url or f"sqlite:///{(settings.data_dir / 'pseudonym.sqlite3').as_posix()}"


def check_service_settings(settings: Settings) -> None:
    """Refuse to serve without master keys; outside dev mode, also with master keys held
    in process (derived from ``EDH_PSEUDONYMISATION_SECRET``: development only, the
    secret could be empty or weak) or with a weak credential."""
    custody = settings.pseudonym.custody
    if custody == "remote":
        raise ServiceUnavailable("the service needs EDH_PSEUDONYM__CUSTODY=pkcs11 or inprocess")
    if settings.dev_mode:
        return
    if custody == "inprocess":
        raise ServiceUnavailable(
            "EDH_PSEUDONYM__CUSTODY=inprocess is development only; outside dev mode the "
            "master keys live in a PKCS#11 token (EDH_PSEUDONYM__CUSTODY=pkcs11)"
        )
    token = settings.pseudonym.service.token
    check_secret("EDH_PSEUDONYM__SERVICE__TOKEN", token, DEV_SERVICE_TOKEN)


def _audit(engine: Engine, actor: Actor, body: DeriveIn | None, decision: Decision) -> None:
    subject = body.subject if body else ""
    why = Why(contract_id=subject or None, purpose=body.purpose if body else None)
    resource = Resource("pseudonym-key", f"{body.kind}:{body.version}" if body else None)
    reasons = ["bad-service-credential"] if decision == Decision.DENY else []
    record_now(engine, EventDraft(actor, "pseudonym.derive", resource, decision, reasons, why))


@dataclass(frozen=True)
class ServiceState:
    """What the service's handlers share (``app.state.pseudonym``)."""

    engine: Engine
    keys: LocalDeriver
    token: bytes


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.pseudonym
    return state


State = Annotated[ServiceState, Depends(_state)]


def _caller(state: State, authorization: Annotated[str, Header()] = "") -> Actor:
    """The caller holding the service credential; a refusal is audited (401)."""
    given = authorization.removeprefix("Bearer ").encode()
    if not authorization.startswith("Bearer ") or not hmac.compare_digest(given, state.token):
        _audit(state.engine, ANONYMOUS, None, Decision.DENY)
        raise Unauthorized("a valid service credential is required")
    return HUB


router = APIRouter()


@router.post("/v1/keys/derive", response_model=DeriveOut)
def derive(body: DeriveIn, state: State, actor: Annotated[Actor, Depends(_caller)]) -> DeriveOut:
    """Derive a key of an allowlisted kind; audited (with its purpose) before it is sent."""
    try:
        key = state.keys.derive(body.kind, body.subject, body.purpose, body.version)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    _audit(state.engine, actor, body, Decision.ALLOW)
    return DeriveOut(key=base64.b64encode(key).decode(), version=body.version)


@router.get("/health")
def health(state: State) -> dict[str, str]:
    """Public liveness: answers once the keys are open (names the version, nothing else)."""
    return {"status": "ok", "current": state.keys.custody.current}


def create_service_app(settings: Settings) -> FastAPI:
    """The service's ASGI app; its database is migrated at creation."""
    check_service_settings(settings)
    engine = make_engine(service_database_url(settings))
    upgrade(engine)
    use_audit_key(engine, settings)  # its own trail is sealed like the hub's
    token = settings.pseudonym.service.token.get_secret_value().encode()
    purger = TrailPurger(engine, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purger.start()
        yield
        purger.stop()

    app = FastAPI(
        title="EDH pseudonymisation service", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.pseudonym = ServiceState(engine, LocalDeriver(custody(settings)), token)
    app.state.pseudonym_purger = purger
    install_error_handlers(app)
    app.include_router(router)
    return app
