"""The output checkers' pages ``/controle-sorties`` (role: output_checker): the results
held for review, and for each one its SQL, exact result, findings per cell in French,
the reviews so far, and the approve / reject forms (comment mandatory)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.auth import Principal, Role
from hub.deps import SessionDep, hub_context
from hub.errors import HubError
from hub.sandbox import public as sandbox
from hub.web.csrf import csrf_protect
from hub.web.names import names_for
from hub.web.session import page_roles, ui_principal
from hub.web.templating import templates

router = APIRouter(
    prefix="/controle-sorties",
    include_in_schema=False,
    dependencies=[Depends(page_roles(Role.OUTPUT_CHECKER)), Depends(csrf_protect)],
)

STATUS_LABELS = {
    "pending_review": "en attente de contrôle",
    "released": "diffusé",
    "rejected": "rejeté",
}
STATUS_KINDS = {"pending_review": "new", "released": "success", "rejected": "error"}
DECISION_LABELS = {"approve": "approuvé", "reject": "rejeté"}
# French text per finding code (hub.sandbox.airlock.findings); {column} is the aggregate.
FINDING_LABELS = {
    "dominance_nk": "« {column} » : les 2 plus fortes contributions individuelles font "
    "{share:.0%} du total (règle NK : plus de {limit:.0%})",
    "dominance_p": "« {column} » : le total moins les 2 plus fortes contributions est "
    "inférieur à {limit:.0%} de la plus forte (règle p %)",
    "isolation": "« {column} » : tous les élèves sauf un y contribuent exactement du même "
    "montant ; le total moins ce montant commun révèle la valeur d'un seul élève",
    "differencing": "différenciation : les élèves de cette cellule diffèrent de moins de "
    "{k} élèves d'une cellule de la requête {job_id:.8} ({status})",
    "same_pupils": "mêmes élèves qu'une cellule de la requête {job_id:.8} ({status}) dont "
    "les valeurs diffèrent : {values}",
    "rounding": "« {column} » : effectifs exacts, non arrondis (le contrat ne fixe pas de base)",
    "individual": "« {column} » : valeur individuelle (min, max, médiane…), jamais diffusée",
}


def finding_fr(finding: dict[str, Any]) -> str:
    """One finding in French."""
    label = FINDING_LABELS.get(str(finding.get("code")), str(finding.get("code")))
    params = dict(finding.get("params", {}))
    if "status" in params:
        params["status"] = STATUS_LABELS.get(params["status"], params["status"])
    return label.format(column=finding.get("column"), **params)


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    job_id: str,
    status: int = 200,
    errors: list[str] | None = None,
) -> Response:
    held = sandbox.read_held(hub_context(request), session, principal, job_id)
    reviewers = {r.checker for r in held.reviews}
    can_review = (
        held.hold.status == sandbox.HOLD_PENDING
        and principal.sub != held.hold.submitted_by
        and principal.sub not in reviewers
    )
    context = {
        "principal": principal,
        "held": held,
        "findings": held.findings,
        "finding_fr": finding_fr,
        "statuses": STATUS_LABELS,
        "status_kinds": STATUS_KINDS,
        "decisions": DECISION_LABELS,
        "names": names_for(session, [held.hold.project_id]),
        "can_review": can_review,
        "errors": errors or [],
        "saved": request.query_params.get("enregistre") == "1",
    }
    return templates.TemplateResponse(request, "airlock/detail.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep) -> Response:
    """The results awaiting review, oldest first."""
    principal = ui_principal(request, Role.OUTPUT_CHECKER)
    pending = sandbox.held_results(session)
    names = names_for(session, [h.hold.project_id for h in pending])
    context = {"principal": principal, "pending": pending, "names": names}
    return templates.TemplateResponse(request, "airlock/queue.html", context)


@router.get("/{job_id}", response_class=HTMLResponse)
def detail_page(request: Request, job_id: str, session: SessionDep) -> Response:
    """One held result: SQL, exact result, findings per cell, reviews, forms."""
    principal = ui_principal(request, Role.OUTPUT_CHECKER)
    return _detail(request, session, principal, job_id)


@router.post("/{job_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    job_id: str,
    session: SessionDep,
    action: Annotated[str, Form(max_length=16)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record an approval or a rejection; on refusal, the page again with the reason."""
    principal = ui_principal(request, Role.OUTPUT_CHECKER)
    if action not in set(sandbox.ReviewAction) or not comment.strip():
        message = "Choisissez approuver ou rejeter et saisissez un commentaire."
        return _detail(request, session, principal, job_id, 400, [message])
    ctx = hub_context(request)
    try:
        contracts = sandbox.runtime_for(ctx).source.contracts(session)
        decision = sandbox.ReviewAction(action)
        sandbox.review_held(ctx, session, principal, job_id, decision, comment, contracts)
        session.commit()
    except HubError as exc:
        session.rollback()
        reasons = list(exc.extra.get("reasons") or [exc.detail])
        return _detail(request, session, principal, job_id, exc.status, reasons)
    return RedirectResponse(f"/controle-sorties/{job_id}?enregistre=1", status_code=303)
