"""The connector's access log: method, path and status only.

Query strings of the xAPI resources carry identifiers (``?agent={"mbox": ...}``), so they
are never written; uvicorn's own access log (which writes them) is turned off by
``edh-connector run``.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger("edh.connector.access")


class AccessLogMiddleware:
    """Logs ``METHOD /path STATUS`` for every HTTP request (never the query string)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            LOG.info("%s %s %d", scope["method"], scope["path"], status)
