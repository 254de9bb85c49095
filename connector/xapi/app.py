"""The connector's xAPI endpoint (an LRS) as a FastAPI application, base path ``/xapi/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from connector import dataspace, metrics
from connector.config import ConnectorSettings
from connector.spool import Spool
from connector.spool.documents import DocumentStore
from connector.xapi import about, documents, lookups, statements
from connector.xapi.accesslog import AccessLogMiddleware
from connector.xapi.alternate import AlternateSyntaxMiddleware
from connector.xapi.errors import install_error_handlers
from connector.xapi.http import VersionHeaderMiddleware
from connector.xapi.service import Lrs
from contracts import redaction


def create_app(settings: ConnectorSettings | None = None, spool: Spool | None = None) -> FastAPI:
    """The LRS app over ``spool`` (default: the settings' spool file, closed on shutdown);
    its access log keeps no query string (``contracts.redaction``: agents are named there)."""
    redaction.install()
    settings = settings or ConnectorSettings()
    owned = spool is None
    store = spool or Spool(settings.spool_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            store.close()

    app = FastAPI(title="EDH connector xAPI endpoint", version="0.1.0", lifespan=lifespan)
    app.state.lrs = Lrs(store, settings.xapi)
    app.state.documents = DocumentStore(store)
    app.state.dsp = dataspace.Provider(settings)
    install_error_handlers(app)
    app.add_middleware(AlternateSyntaxMiddleware, max_body_bytes=settings.xapi.max_body_bytes)
    app.add_middleware(VersionHeaderMiddleware, unversioned=settings.xapi.unversioned_answer)
    app.add_middleware(metrics.RequestMetricsMiddleware)
    app.add_middleware(AccessLogMiddleware)
    for module in (about, statements, documents, lookups, metrics, dataspace):
        app.include_router(module.router)
    return app
