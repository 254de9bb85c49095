"""Browser fixtures: the hub served on loopback and a Playwright page in Debian's Chromium.

``live_hub`` runs the real app under uvicorn in a thread on a free port; ``page`` is a
headless Chromium page (``/usr/bin/chromium``). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from hub.app import create_app
from hub.context import HubContext
from tests.support.factories import make_context

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A loopback TCP port free at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(ctx: HubContext, port: int) -> Iterator[str]:
    """Serve the hub of ``ctx`` with uvicorn on ``port`` in a thread; yield its base URL."""
    config = uvicorn.Config(create_app(context=ctx), host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the hub did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class LiveHub:
    """A running hub: its context (database, issuer) and base URL."""

    ctx: HubContext
    url: str

    def login(self, page: Any, *roles: str, sub: str = "tester", org: str | None = None) -> None:
        """Log ``page`` in through the real /login form with a freshly minted token."""
        token = self.ctx.issuer.mint(sub, list(roles), org=org, name=sub)
        page.goto(f"{self.url}/login")
        page.fill("#token", token)
        page.click("button[type=submit]")


@pytest.fixture
def live_hub(tmp_path: Path) -> Iterator[LiveHub]:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path)
    with serve(ctx, free_port()) as url:
        yield LiveHub(ctx=ctx, url=url)
    ctx.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; a screenshot named after the test is saved when the test ends."""
    context = chromium.new_context(locale="fr-FR")
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
