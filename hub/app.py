"""The hub's FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from contracts import redaction
from hub import db
from hub.audit.api import router as audit_router
from hub.audit.schedule import start_scheduler
from hub.auth import TokenIssuer, TokenVerifier, public_endpoint
from hub.bus import outbox
from hub.catalog.api import router as catalog_router
from hub.config import DEV_HUB_SECRET, Settings
from hub.context import HealthCheck, HubContext
from hub.contracts import policy_data as contract_policy_data
from hub.contracts.api import router as contracts_router
from hub.contracts.hubkey import HUB_KEY_SETTING, hub_key_path
from hub.dataspace.api import router as dataspace_router
from hub.dataspace.manage import router as dataspace_manage_router
from hub.dataspace.pull import router as dataspace_pull_router
from hub.dataspace.push import router as dataspace_push_router
from hub.dataspace.wiring import build_node
from hub.enforcement.factory import attach_policy
from hub.erasure.api import router as erasure_router
from hub.errors import ServiceUnavailable, StorageUnavailable, answer_as, install_error_handlers
from hub.ingest.api import router as ingest_router
from hub.ingest.integrity import settle_alerts
from hub.ingest.keys_api import router as keys_router
from hub.ingest.upload_api import router as storage_router
from hub.ingest.wiring import attach_data_plane
from hub.keys import is_held, load_or_create_key
from hub.metrics import RequestMetricsMiddleware
from hub.metrics import router as metrics_router
from hub.middleware import AccessLogMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from hub.openapi import install_openapi
from hub.pseudonym.service import service_health
from hub.registry import policy_data as registry_policy_data
from hub.registry.api import router as registry_router
from hub.sandbox.airlock.api import router as airlock_router
from hub.sandbox.api import router as sandbox_router
from hub.sandbox.runtime import runtime_for, uninstall
from hub.secrets import check_secret
from hub.settings.pseudonym import DEV_SERVICE_TOKEN
from hub.storage.local import UPLOAD_ROUTE
from hub.storage.port import StoreError
from hub.system import router as system_router
from hub.trail.key import AUDIT_KEY_SETTING, audit_key_path
from hub.trail.seal import use_audit_key
from hub.web.airlock import router as airlock_ui_router
from hub.web.audit import router as audit_ui_router
from hub.web.csrf import CsrfCookieMiddleware, is_https
from hub.web.errors_html import error_page
from hub.web.home import router as home_router
from hub.web.login import router as login_router
from hub.web.research import router as research_router
from hub.web.review import router as review_router
from hub.web.templating import STATIC_DIR

ROUTERS = (
    system_router,
    registry_router,
    login_router,
    home_router,
    contracts_router,
    catalog_router,
    review_router,
    ingest_router,
    keys_router,
    erasure_router,
    storage_router,
    sandbox_router,
    research_router,
    airlock_router,
    airlock_ui_router,
    audit_router,
    audit_ui_router,
    dataspace_router,
    dataspace_manage_router,
    dataspace_pull_router,
    dataspace_push_router,
)

POLICY_DOCUMENTS = (*registry_policy_data.DOCUMENTS, *contract_policy_data.DOCUMENTS)
"""The areas' policy data documents, published to the policy engine (``hub.enforcement.data``
imports no area: the app hands them in)."""

ISSUER_KEY_SETTING = "EDH_AUTH__SIGNING_KEY_FILE"


def check_secrets(settings: Settings) -> None:
    """Refuse to start outside dev mode with a default, short or low-entropy secret, or
    with master key material: the hub then derives keys through the pseudonymisation
    service (``EDH_PSEUDONYM__CUSTODY=remote``), ``EDH_PSEUDONYMISATION_SECRET`` is the
    embedded dev mode's only."""
    if settings.dev_mode:
        return
    if settings.pseudonym.custody != "remote":
        raise ServiceUnavailable(
            "outside dev mode the hub holds no master key: set EDH_PSEUDONYM__CUSTODY=remote "
            "and EDH_PSEUDONYM__SERVICE__URL (the pseudonymisation service)"
        )
    service_token = settings.pseudonym.service.token
    check_secret("EDH_PSEUDONYM__SERVICE__TOKEN", service_token, DEV_SERVICE_TOKEN)
    check_secret("EDH_HUB_SECRET", settings.hub_secret, DEV_HUB_SECRET)


def hub_key_files(settings: Settings) -> dict[str, tuple[str, Path]]:
    """Every private key the hub signs with: name -> (setting, file)."""
    return {
        "issuer": (ISSUER_KEY_SETTING, settings.signing_key_path()),
        "audit": (AUDIT_KEY_SETTING, audit_key_path(settings)),
        "contracts": (HUB_KEY_SETTING, hub_key_path(settings)),
    }


def load_keys(settings: Settings) -> dict[str, Ed25519PrivateKey]:
    """Load and check every key at start (held in memory from then on); raises
    ``ServiceUnavailable`` naming the setting and the file of the first one missing or bad."""
    return {
        name: load_or_create_key(path, allow_create=settings.dev_mode, setting=setting)
        for name, (setting, path) in hub_key_files(settings).items()
    }


def _key_health(path: Path) -> HealthCheck:
    def check() -> None:
        if not is_held(path):
            raise ServiceUnavailable("key not loaded")

    return check


def build_context(settings: Settings) -> HubContext:
    """Check the secrets, load every key, open the database (migrated): everything a
    request needs. ``/health`` reports each key's presence as ``key:<name>`` and, with
    remote custody, the pseudonymisation service as ``pseudonym_service``."""
    check_secrets(settings)
    keys = load_keys(settings)
    engine = db.make_engine(
        settings.database_url(), echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    db.upgrade(engine)
    use_audit_key(engine, settings)
    issuer = TokenIssuer(keys["issuer"], settings.auth)
    verifier = TokenVerifier(settings.auth, None if settings.auth.jwks_url else issuer.jwks())
    ctx = HubContext(settings=settings, engine=engine, issuer=issuer, verifier=verifier)
    for name, (_, path) in hub_key_files(settings).items():
        ctx.health_checks[f"key:{name}"] = _key_health(path)
    service = service_health(settings)
    if service is not None:
        ctx.health_checks["pseudonym_service"] = service.check
    attach_policy(ctx, POLICY_DOCUMENTS)
    return attach_data_plane(ctx)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work lives as long as the app: the audit scheduler, when enabled
    (``app.state.audit_scheduler``), the sandbox runtime (started now, so that it
    takes over the jobs stopped hubs left behind), the outbox relay (publishing what
    stopped hubs committed) and the data-space courier (sending the messages to
    participants they left), stopped on shutdown."""
    scheduler = app.state.audit_scheduler = start_scheduler(app.state.hub)
    runtime_for(app.state.hub)
    outbox.start_relay(app.state.hub)
    app.state.dataspace.courier.start()
    try:
        yield
    finally:
        if scheduler is not None:
            await asyncio.to_thread(scheduler.stop)
        await asyncio.to_thread(uninstall, app.state.hub)
        await asyncio.to_thread(settle_alerts)
        await asyncio.to_thread(outbox.stop_relay, app.state.hub.engine)
        await asyncio.to_thread(app.state.dataspace.courier.stop)


def create_app(settings: Settings | None = None, context: HubContext | None = None) -> FastAPI:
    """A ready hub app; ``context`` lets tests and the demo share one database and keys."""
    ctx = context or build_context(settings or Settings())
    redaction.install()  # signed upload URLs never reach a log line
    app = FastAPI(
        title="Education Data Hub",
        version="0.1.0",
        description="Trusted third party for sharing pseudonymised learning traces (xAPI) "
        "with accredited researchers under ethics-approved contracts.",
        lifespan=lifespan,
        docs_url=None,  # served by hub.web.home with local assets (no CDN)
        redoc_url=None,
    )
    app.state.hub = ctx
    app.state.dataspace = build_node(ctx)
    install_error_handlers(app, render_page=error_page)
    answer_as(app, StoreError, StorageUnavailable("the object store could not serve the request"))
    install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(metrics_router, dependencies=[Depends(public_endpoint)])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=ctx.settings.max_body_bytes,
        overrides=((UPLOAD_ROUTE, ctx.settings.storage.upload_max_bytes),),
    )
    https = is_https(ctx.settings.public_url)
    app.add_middleware(CsrfCookieMiddleware, secure=https)
    app.add_middleware(SecurityHeadersMiddleware, https=https)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    return app
