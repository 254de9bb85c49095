"""The hub's FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub import db
from hub.audit.api import router as audit_router
from hub.audit.schedule import start_scheduler
from hub.audit.seal import use_audit_key
from hub.audit.ui import router as audit_ui_router
from hub.auth import TokenIssuer, TokenVerifier
from hub.catalog.api import router as catalog_router
from hub.config import DEV_PSEUDONYMISATION_SECRET, Settings
from hub.context import HubContext
from hub.contracts.api import router as contracts_router
from hub.errors import ServiceUnavailable, install_error_handlers
from hub.ingest.api import router as ingest_router
from hub.ingest.wiring import attach_data_plane
from hub.keys import load_or_create_key
from hub.metrics import RequestMetricsMiddleware
from hub.metrics import router as metrics_router
from hub.middleware import AccessLogMiddleware, BodyLimitMiddleware
from hub.policy.factory import attach_policy
from hub.pseudonym.api import router as pseudonym_router
from hub.registry.api import router as registry_router
from hub.sandbox.api import router as sandbox_router
from hub.sandbox.runtime import runtime_for, uninstall
from hub.sandbox.web import router as research_router
from hub.storage.local import UPLOAD_ROUTE
from hub.storage.upload_api import router as storage_router
from hub.system import router as system_router
from hub.web.login import router as login_router
from hub.web.review import router as review_router
from hub.web.templating import STATIC_DIR

ROUTERS = (
    system_router,
    registry_router,
    login_router,
    metrics_router,
    contracts_router,
    catalog_router,
    review_router,
    ingest_router,
    pseudonym_router,
    storage_router,
    sandbox_router,
    research_router,
    audit_router,
    audit_ui_router,
)


def check_secrets(settings: Settings) -> None:
    """Refuse to start outside dev mode with a default secret or a missing key."""
    if settings.dev_mode:
        return
    if settings.pseudonymisation_secret.get_secret_value() == DEV_PSEUDONYMISATION_SECRET:
        raise ServiceUnavailable(
            "EDH_PSEUDONYMISATION_SECRET is the development default; set a real secret "
            "(or EDH_DEV_MODE=true for a trial)"
        )


def build_context(settings: Settings) -> HubContext:
    """Open the database (migrated) and load the keys: everything a request needs."""
    check_secrets(settings)
    engine = db.make_engine(
        settings.database_url(), echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    db.upgrade(engine)
    use_audit_key(engine, settings)
    key = load_or_create_key(settings.signing_key_path(), allow_create=settings.dev_mode)
    issuer = TokenIssuer(key, settings.auth)
    verifier = TokenVerifier(settings.auth, None if settings.auth.jwks_url else issuer.jwks())
    ctx = HubContext(settings=settings, engine=engine, issuer=issuer, verifier=verifier)
    attach_policy(ctx)
    return attach_data_plane(ctx)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work lives as long as the app: the audit scheduler, when enabled
    (``app.state.audit_scheduler``), and the sandbox runtime (started now, so that it
    takes over the jobs stopped hubs left behind), stopped on shutdown."""
    scheduler = app.state.audit_scheduler = start_scheduler(app.state.hub)
    runtime_for(app.state.hub)
    try:
        yield
    finally:
        if scheduler is not None:
            await asyncio.to_thread(scheduler.stop)
        await asyncio.to_thread(uninstall, app.state.hub)


def create_app(settings: Settings | None = None, context: HubContext | None = None) -> FastAPI:
    """A ready hub app; ``context`` lets tests and the demo share one database and keys."""
    ctx = context or build_context(settings or Settings())
    app = FastAPI(
        title="Education Data Hub",
        version="0.1.0",
        description="Trusted third party for sharing pseudonymised learning traces (xAPI) "
        "with accredited researchers under ethics-approved contracts.",
        lifespan=lifespan,
    )
    app.state.hub = ctx
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=ctx.settings.max_body_bytes,
        overrides=((UPLOAD_ROUTE, ctx.settings.storage.upload_max_bytes),),
    )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    return app
