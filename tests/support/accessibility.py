"""Accessibility checks and screenshots for browser tests.

``assert_accessible(page)`` runs axe-core (the ``axe-playwright-python`` package bundles it)
in the page and fails on any serious or critical violation, naming the rule and elements.
``screenshots(page, name)`` saves the page at desktop width and at 390 px (a phone) under
``test-artifacts/screenshots/`` for a reviewer to look at. ``tab_to(page, id)`` moves the
focus with the Tab key only until the element with that id holds it.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

from tests.support.browser import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "screenshots"
BLOCKING = ("serious", "critical")
WIDTHS = {"bureau": (1280, 800), "mobile": (390, 844)}
_AXE = Axe()


def blocking_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page: ``rule (impact): targets``."""
    results = _AXE.run(page).response
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    found = blocking_violations(page)
    assert not found, f"{page.url}: " + "; ".join(found)


def screenshots(page: Any, name: str) -> None:
    """Full-page screenshots of the current page at each width (then back to desktop)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["bureau"][0], "height": WIDTHS["bureau"][1]})


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def tab_to(page: Any, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element ``element_id`` has the focus (fails after ``limit``)."""
    for _ in range(limit):
        if focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} is not reachable with the Tab key")
