"""The DPO's pages under ``/audit`` (French; roles dpo and operator, read-only for the
operator). Every page view is decided by the policy and audited; the verification status
of the log is shown on every page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.audit.public import (
    PUPIL_REPORT_PURPOSE,
    READERS,
    alert_rules,
    authorize_read,
    describe,
    export_checkpoints,
    last_verification,
    list_alerts,
    one_event,
    parse_filter,
    pupil_report,
    run_alert_rules,
    search_page,
    stream_export,
    task_status,
    verify_log,
)
from hub.auth import Principal, Role
from hub.deps import SessionDep, hub_context
from hub.errors import NotFound, TooManyRequests, ValidationFailed
from hub.params import EventSeq, bounded_int
from hub.trail.checkpoints import list_checkpoints, load_signer
from hub.trail.writer import Actor
from hub.web.csrf import csrf_protect
from hub.web.names import names_for
from hub.web.session import page_roles, ui_principal
from hub.web.templating import templates

router = APIRouter(
    prefix="/audit",
    include_in_schema=False,
    dependencies=[Depends(page_roles(*READERS)), Depends(csrf_protect)],
)
PAGE_SIZE = 20  # events per page of the journal

FIELD_LABELS = {
    "since": "Depuis le",
    "until": "Jusqu'au",
    "actor": "Acteur (identifiant)",
    "role": "Rôle",
    "organisation": "Organisation",
    "action": "Action",
    "contract": "Contrat",
    "project": "Projet",
    "dataset": "Jeu de données",
    "decision": "Décision",
}
DECISION_LABELS = {"allow": "Autorisé", "deny": "Refusé", "info": "Information"}
KIND_LABELS = {
    "modified": "modifié",
    "deleted": "supprimé",
    "inserted": "inséré",
    "reordered": "déplacé",
    "renumbered": "renuméroté",
    "truncated": "tronqué (événements signés disparus)",
    "rewritten": "réécrit (empreintes recalculées)",
    "forged-append": "ajouté hors du journal (faux ajout)",
    "head-mismatch": "dernier événement réécrit",
    "checkpoint-mismatch": "racine différente du point de contrôle signé",
    "bad-signature": "signature de point de contrôle invalide",
}
TASK_LABELS = {
    "checkpoint": "Signature d'un point de contrôle",
    "alerts": "Évaluation des règles d'alerte",
    "verify": "Vérification de l'intégrité",
    "purge": "Purge (durée de conservation)",
    "lake-purge": "Purge du lac, de la quarantaine et des résultats (conservation des contrats)",
}


def every_label(minutes: int) -> str:
    """A task's period in French: « toutes les 10 min », « chaque heure », « désactivée »."""
    if minutes == 0:
        return "désactivée"
    if minutes % 1440 == 0:
        return "chaque jour" if minutes == 1440 else f"tous les {minutes // 1440} jours"
    if minutes == 1:
        return "chaque minute"
    if minutes % 60 == 0:
        return "chaque heure" if minutes == 60 else f"toutes les {minutes // 60} h"
    return f"toutes les {minutes} min"


def _page(
    request: Request,
    session: Session,
    who: Principal,
    name: str,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    full = {
        "principal": who,
        "verification": last_verification(session),
        "audit_tasks": task_status(session, hub_context(request).settings.audit),
        "task_labels": TASK_LABELS,
        "every_label": every_label,
        "kind_labels": KIND_LABELS,
        "decision_labels": DECISION_LABELS,
        "is_dpo": Role.DPO in who.roles,
        **context,
    }
    return templates.TemplateResponse(request, f"audit/{name}", full, status_code=status)


def _reader(request: Request, session: Session, what: str) -> Principal:
    who = ui_principal(request, *READERS)
    authorize_read(hub_context(request), session, who, what)
    return who


def _french_error(exc: ValidationFailed) -> str:
    fields = [e.get("field", "") for e in exc.extra.get("errors", [])]
    labels = ", ".join(f"« {FIELD_LABELS.get(f, f)} »" for f in fields) or "la recherche"
    return f"Recherche invalide : vérifiez {labels} (dates au format AAAA-MM-JJ)."


@router.get("", response_class=HTMLResponse)
def index(request: Request, session: SessionDep) -> Response:
    who = _reader(request, session, describe("ui/events", request.query_params))
    params = {k: v for k, v in request.query_params.items() if v and k != "before"}
    context: dict[str, Any] = {"params": params, "labels": FIELD_LABELS, "error": None}
    try:
        before = bounded_int(request.query_params.get("before"))
        items, next_before = search_page(
            session, parse_filter(params), limit=PAGE_SIZE, before=before
        )
    except ValidationFailed as exc:
        context.update(items=[], next_before=None, error=_french_error(exc))
        return _page(request, session, who, "index.html", context, status=400)
    except ValueError:
        context.update(items=[], next_before=None, error="Numéro de page invalide.")
        return _page(request, session, who, "index.html", context, status=400)
    context.update(items=items, next_before=next_before, names=_names(session, items))
    return _page(request, session, who, "index.html", context)


def _names(session: Session, events: list[dict[str, Any]]) -> dict[str, str]:
    """Names of the organisations, projects and contracts the events mention."""
    fields = ("actor_org", "contract_id", "project_id", "resource_id")
    return names_for(session, (e.get(f) for e in events for f in fields))


@router.get("/evenements/{seq}", response_class=HTMLResponse)
def event(seq: EventSeq, request: Request, session: SessionDep) -> Response:
    who = _reader(request, session, f"ui/events/{seq}")
    found = one_event(session, seq)
    if found is None:
        raise NotFound(f"l'événement {seq} n'existe pas (ou a été purgé)")
    context = {"event": found, "names": _names(session, [found])}
    return _page(request, session, who, "event.html", context)


@router.get("/export")
def export(request: Request) -> Response:
    return stream_export(request, ui_principal(request, *READERS))


@router.post("/verifier")
def verify_now(request: Request, session: SessionDep) -> Response:
    _reader(request, session, "ui/verify")
    session.commit()
    ctx = hub_context(request)
    verify_log(ctx.engine, ctx.settings, ctx.bus)
    return RedirectResponse("/audit", status_code=303)


@router.get("/alertes", response_class=HTMLResponse)
def alert_list(request: Request, session: SessionDep) -> Response:
    who = _reader(request, session, "ui/alerts")
    ctx = hub_context(request)
    context = {"rules": alert_rules(ctx.settings.audit), "alerts": list_alerts(session)}
    return _page(request, session, who, "alerts.html", context)


@router.post("/alertes/evaluer")
def run_alerts(request: Request, session: SessionDep) -> Response:
    ui_principal(request, Role.DPO)
    _reader(request, session, "ui/alerts/run")
    session.commit()
    ctx = hub_context(request)
    run_alert_rules(ctx.engine, ctx.settings, ctx.bus)
    return RedirectResponse("/audit/alertes", status_code=303)


@router.get("/eleve", response_class=HTMLResponse)
def pupil_form(request: Request, session: SessionDep) -> Response:
    who = ui_principal(request, Role.DPO)
    context = {"uses": None, "error": None, "identifier": ""}
    return _page(request, session, who, "pupil.html", context)


@router.post("/eleve", response_class=HTMLResponse)
def pupil(
    request: Request, session: SessionDep, identifier: Annotated[str, Form(max_length=2000)]
) -> Response:
    who = ui_principal(request, Role.DPO)
    authorize_read(hub_context(request), session, who, "ui/pupil-report")
    context: dict[str, Any] = {"uses": None, "error": None, "identifier": identifier}
    try:
        actor = Actor(who.sub, str(Role.DPO), who.org)
        uses = pupil_report(hub_context(request), session, identifier, actor, PUPIL_REPORT_PURPOSE)
        ids = [i for u in uses for i in (u.project_id, u.contract_id)]
        context |= {"uses": uses, "names": names_for(session, ids)}
    except ValidationFailed:
        context["error"] = (
            "Identifiant invalide : saisissez l'identifiant xAPI canonique de l'élève, "
            "par exemple account:https://ent.exemple.fr|12345 ou mbox:mailto:eleve@exemple.fr."
        )
        return _page(request, session, who, "pupil.html", context, status=400)
    except TooManyRequests:
        context["error"] = "Trop de consultations cette heure-ci : réessayez plus tard."
        return _page(request, session, who, "pupil.html", context, status=429)
    return _page(request, session, who, "pupil.html", context)


@router.get("/points-de-controle", response_class=HTMLResponse)
def checkpoints(request: Request, session: SessionDep) -> Response:
    who = _reader(request, session, "ui/checkpoints")
    context = {"checkpoints": list_checkpoints(session)}
    return _page(request, session, who, "checkpoints.html", context)


@router.get("/points-de-controle.json")
def checkpoints_json(request: Request, session: SessionDep) -> Response:
    _reader(request, session, "ui/checkpoints/export")
    doc = export_checkpoints(session, load_signer(hub_context(request).settings))
    headers = {"Content-Disposition": 'attachment; filename="audit-checkpoints.json"'}
    return JSONResponse(doc, headers=headers)
