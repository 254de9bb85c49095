"""The ethics committee's pages under ``/review`` (role: ethics_reviewer): the queue, a
request's full terms with the diff against the previous version, the decision form
(reason mandatory), and the history of decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from contracts.lifecycle import ReviewStatus, ReviewVerdict, State
from hub.auth import Principal, Role
from hub.contracts import public as contracts
from hub.contracts.public import ContractRecord
from hub.deps import SessionDep, actor_of, hub_context
from hub.errors import HubError
from hub.web.csrf import csrf_protect
from hub.web.names import names_for
from hub.web.session import page_roles, ui_principal
from hub.web.templating import templates

router = APIRouter(
    prefix="/review",
    include_in_schema=False,
    dependencies=[Depends(page_roles(Role.ETHICS_REVIEWER)), Depends(csrf_protect)],
)

TERM_LABELS = {
    "provider_id": "Fournisseur (éditeur)",
    "project_id": "Projet de recherche",
    "datasets": "Jeux de données",
    "purpose": "Finalité",
    "legal_basis": "Base légale (RGPD)",
    "allowed_fields": "Champs autorisés",
    "pseudonymisation_scope": "Portée de la pseudonymisation",
    "min_cell_size": "Taille minimale des cellules (k)",
    "row_level": "Accès ligne à ligne",
    "row_level_reason": "Justification de l'accès ligne à ligne",
    "rounding_base": "Arrondi des effectifs",
    "release_mode": "Mode de diffusion des résultats",
    "epsilon_per_query": "Budget de confidentialité par requête (ε)",
    "epsilon_max_per_query": "Budget maximal qu'une requête peut demander (ε)",
    "epsilon_budget": "Budget de confidentialité du projet (ε)",
    "retention_days": "Durée de conservation (jours)",
    "valid_from": "Début de validité",
    "valid_until": "Fin de validité",
    "obligations": "Obligations",
    "connector_ids": "Connecteurs",
}
VERDICT_LABELS = {
    ReviewVerdict.APPROVE: "Approuver",
    ReviewVerdict.REJECT: "Rejeter",
    ReviewVerdict.REQUEST_CHANGES: "Demander des modifications",
}
DECISION_LABELS = {
    ReviewVerdict.APPROVE: "Approbation",
    ReviewVerdict.REJECT: "Rejet",
    ReviewVerdict.REQUEST_CHANGES: "Modifications demandées",
}
STATUS_LABELS = {
    ReviewStatus.NONE: "non soumis",
    ReviewStatus.PENDING: "en attente d'avis",
    ReviewStatus.APPROVED: "approuvé",
    ReviewStatus.REJECTED: "rejeté",
    ReviewStatus.CHANGES_REQUESTED: "modifications demandées",
}

CHOOSE_VERDICT = "Choisissez une décision : approuver, rejeter ou demander des modifications."
FRENCH_ERRORS = {
    "validation-failed": f"Le motif est obligatoire (au moins {contracts.MIN_REASON} caractères).",
    "conflict": "Vous avez déjà rendu une décision sur cette version.",
    "forbidden": "Vous ne pouvez pas examiner cette demande : conflit d'intérêts (membre "
    "d'une partie ou auteur des conditions).",
    "invalid-transition": "Cette demande n'attend plus d'avis du comité.",
}


def show(value: Any) -> str:
    """A term value as French text for the page."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _names(session: Session, contract: ContractRecord) -> dict[str, str]:
    """The names of the contract's provider, lab and project (their ids when unknown)."""
    ids = {"provider": contract.provider_id, "lab": contract.lab_id}
    ids["project"] = contract.project_id
    found = names_for(session, ids.values())
    return {role: found.get(i, i) for role, i in ids.items()}


def _page(
    request: Request, name: str, principal: Principal, status: int = 200, **ctx: Any
) -> Response:
    context = {
        "principal": principal,
        "show": show,
        "labels": TERM_LABELS,
        "verdicts": VERDICT_LABELS,
        "decisions_fr": DECISION_LABELS,
        "statuses": STATUS_LABELS,
        **ctx,
    }
    return templates.TemplateResponse(request, f"review/{name}", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep) -> Response:
    """The requests awaiting the committee, and the latest decisions."""
    principal = ui_principal(request, Role.ETHICS_REVIEWER)
    pending = [(c, _names(session, c)) for c in contracts.review_queue(session)]
    recent = contracts.recent_decisions(session, 20)
    titles = names_for(session, (d.contract_id for d in recent))
    return _page(request, "queue.html", principal, pending=pending, recent=recent, titles=titles)


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    contract_id: str,
    status: int = 200,
    error: str | None = None,
) -> Response:
    contract = contracts.get_contract(session, contract_id)
    all_versions = contracts.versions(session, contract.id)
    current = all_versions[-1]
    previous = all_versions[-2].terms if len(all_versions) > 1 else None
    decisions = contracts.review_history(session, contract.id)
    mine = any(d.reviewer_sub == principal.sub and d.version == contract.version for d in decisions)
    actor = actor_of(principal, Role.ETHICS_REVIEWER)
    awaiting = contract.state == State.ACCEPTED and contract.review_status == ReviewStatus.PENDING
    # Having decided already says more than the policy's refusal, so it is asked first.
    ctx = hub_context(request)
    conflict = awaiting and not mine and not contracts.may_review(ctx, session, actor, contract)
    can_decide = awaiting and not mine and not conflict
    return _page(
        request,
        "detail.html",
        principal,
        status,
        contract=contract,
        names=_names(session, contract),
        terms=current.terms,
        digest=current.digest,
        changes=contracts.terms_diff(previous, current.terms),
        has_previous=previous is not None,
        versions=all_versions,
        decisions=decisions,
        can_decide=can_decide,
        mine=mine,
        conflict=conflict,
        error=error,
        saved=request.query_params.get("enregistre") == "1",
        quorum=ctx.settings.review.quorum,
    )


@router.get("/{contract_id}", response_class=HTMLResponse)
def detail_page(request: Request, contract_id: str, session: SessionDep) -> Response:
    """One request: full terms, diff against the previous version, form, history."""
    principal = ui_principal(request, Role.ETHICS_REVIEWER)
    return _detail(request, session, principal, contract_id)


@router.post("/{contract_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    contract_id: str,
    session: SessionDep,
    verdict: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record the reviewer's decision; on refusal, the page again with the reason."""
    principal = ui_principal(request, Role.ETHICS_REVIEWER)
    if verdict not in set(ReviewVerdict):
        return _detail(request, session, principal, contract_id, 400, CHOOSE_VERDICT)
    try:
        actor = actor_of(principal, Role.ETHICS_REVIEWER)
        ctx = hub_context(request)
        contract = contracts.review_decision(
            ctx, session, actor, contract_id, ReviewVerdict(verdict), reason
        )
        contracts.publish_after_commit(ctx, session, contract)
    except HubError as exc:
        session.rollback()
        message = FRENCH_ERRORS.get(exc.slug, exc.detail)
        return _detail(request, session, principal, contract_id, exc.status, message)
    return RedirectResponse(f"/review/{contract_id}?enregistre=1", status_code=303)
