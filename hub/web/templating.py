"""The Jinja2 environment shared by every page (templates under ``hub/web/templates``).

Pages extend ``base.html`` (the DSFR header, navigation, breadcrumb and footer) and use the
DSFR component macros of ``_dsfr.html`` (the global ``dsfr``); the filters below turn codes
into French.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from hub.web import labels
from hub.web.csrf import csrf_context
from hub.web.navigation import sections_for

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[csrf_context])
"""Every template sees ``csrf_token`` (the hidden field of each form)."""
templates.env.filters.update(
    paris_time=labels.paris_time,
    day_fr=labels.day,
    contract_state=labels.contract_state,
    role_fr=labels.role,
    action_fr=labels.action,
    resource_fr=labels.resource_type,
    reason_fr=labels.reason,
)
templates.env.globals["sections_for"] = sections_for
templates.env.globals["dsfr"] = templates.env.get_template("_dsfr.html").module
