"""The Jinja2 environment shared by every page (templates under ``hub/web/templates``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from hub.web.csrf import csrf_context

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[csrf_context])
"""Every template sees ``csrf_token`` (the hidden field of each form)."""
