"""Posting the hub's web forms like a browser: with the CSRF cookie and hidden field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.web.csrf import CSRF_COOKIE, CSRF_FIELD


def form(client: TestClient, **fields: str) -> dict[str, str]:
    """``fields`` plus the browser's CSRF token (the login page issues it once)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/login")
    return {**fields, CSRF_FIELD: client.cookies[CSRF_COOKIE]}
