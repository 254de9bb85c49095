"""The researcher's page ``/research`` (role: researcher): write a query for one of the
caller's projects, follow its job, read the released result and how it was released."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.auth import Principal, Role
from hub.deps import SessionDep, hub_context
from hub.errors import HubError, ValidationFailed
from hub.registry import public as registry
from hub.registry.public import ProjectRecord
from hub.sandbox import public as sandbox
from hub.web.csrf import csrf_protect
from hub.web.session import page_roles, ui_principal
from hub.web.templating import templates

router = APIRouter(
    prefix="/research",
    include_in_schema=False,
    dependencies=[Depends(page_roles(Role.RESEARCHER)), Depends(csrf_protect)],
)

STATUS_LABELS = {
    "queued": "en attente",
    "running": "en cours",
    "succeeded": "terminée",
    "failed": "échouée",
    "refused": "refusée",
    "cancelled": "annulée",
    "pending_review": "en attente du contrôle des sorties",
    "released": "diffusée après contrôle",
    "rejected": "rejetée par le contrôle des sorties",
}
STATUS_KINDS = {
    "succeeded": "success",
    "failed": "error",
    "refused": "error",
    "cancelled": "warning",
    "pending_review": "new",
    "released": "success",
    "rejected": "error",
}
EXAMPLE = (  # the shape released under differential privacy: per pupil, then per school
    "WITH p AS (SELECT pupil_id, any_value(school_id) AS school_id, count(*) AS n_statements\n"
    "           FROM statements GROUP BY pupil_id)\n"
    "SELECT school_id, count(*) AS eleves,\n"
    "       avg(least(greatest(n_statements, 0), 100)) AS traces_par_eleve\n"
    "FROM p GROUP BY school_id ORDER BY school_id"
)


def _projects(session: Session, principal: Principal) -> list[ProjectRecord]:
    researcher = registry.researcher_by_subject(session, principal.sub)
    if researcher is None:
        return []
    return registry.projects_of(session, researcher.id)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    full = {"statuses": STATUS_LABELS, "status_kinds": STATUS_KINDS, **context}
    return templates.TemplateResponse(request, f"research/{name}", full, status_code=status)


def _index(request: Request, session: Session, principal: Principal, **extra: Any) -> Response:
    projects = _projects(session, principal)
    runtime = sandbox.runtime_for(hub_context(request))
    budgets = {p.id: sandbox.privacy_budget(runtime, session, principal, p.id) for p in projects}
    context = {
        "principal": principal,
        "projects": projects,
        "budgets": budgets,
        "project_options": [(p.id, p.title) for p in projects],
        "project_titles": {p.id: p.title for p in projects},
        "jobs": sandbox.list_jobs(session, principal, None)[:20],
        "sql": EXAMPLE,
        "error": None,
        "project_id": None,
        "purpose": "",
        "epsilon": "",
        "preview": None,
        **extra,
    }
    return _page(request, "index.html", context, 400 if extra.get("error") else 200)


@router.get("", response_class=HTMLResponse)
def research_home(request: Request, session: SessionDep) -> Response:
    principal = ui_principal(request, Role.RESEARCHER)
    return _index(request, session, principal)


@dataclass(frozen=True)
class QueryForm:
    """The query form as typed: project, SQL, purpose, ε (text; empty: the default)."""

    project_id: str
    sql: str
    purpose: str
    epsilon: str

    def query(self) -> tuple[str, str | None, float | None]:
        """(SQL, purpose, ε) for ``jobs``; ``ValidationFailed`` for an ε out of range."""
        return self.sql, self.purpose or None, _epsilon(self.epsilon)

    def fields(self) -> dict[str, Any]:
        """The form's values, to show it again."""
        return {"sql": self.sql, "project_id": self.project_id, "purpose": self.purpose,
                "epsilon": self.epsilon}  # fmt: skip


def _query_form(
    project_id: Annotated[str, Form(max_length=64)],
    sql: Annotated[str, Form(max_length=100_000)],
    purpose: Annotated[str, Form(max_length=2000)] = "",
    epsilon: Annotated[str, Form(max_length=32)] = "",
) -> QueryForm:
    return QueryForm(project_id, sql, purpose, epsilon)


Typed = Annotated[QueryForm, Depends(_query_form)]


@router.post("")
def research_submit(request: Request, session: SessionDep, typed: Typed) -> Response:
    principal = ui_principal(request, Role.RESEARCHER)
    runtime = sandbox.runtime_for(hub_context(request))
    try:
        job = sandbox.submit(runtime, session, principal, typed.project_id, *typed.query())
    except HubError as exc:  # refused, forbidden, unknown project: shown on the page
        return _refused(request, session, principal, exc, typed)
    return RedirectResponse(f"/research/jobs/{job.id}", status_code=303)


@router.post("/preview", response_class=HTMLResponse)
def research_preview(request: Request, session: SessionDep, typed: Typed) -> Response:
    """The form again, with the noise the query would get (nothing runs or is spent)."""
    principal = ui_principal(request, Role.RESEARCHER)
    runtime = sandbox.runtime_for(hub_context(request))
    try:
        found = sandbox.preview(runtime, session, principal, typed.project_id, typed.query())
    except HubError as exc:
        return _refused(request, session, principal, exc, typed)
    return _index(request, session, principal, preview=found, **typed.fields())


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def research_job(job_id: str, request: Request, session: SessionDep) -> Response:
    principal = ui_principal(request, Role.RESEARCHER)
    job = sandbox.get_job(session, principal, job_id)
    context = {
        "principal": principal,
        "job": job,
        "result": job.result,
        "report": job.report,
        "active": job.status in sandbox.ACTIVE,
    }
    return _page(request, "job.html", context)


@router.post("/jobs/{job_id}/cancel")
def research_cancel(job_id: str, request: Request, session: SessionDep) -> Response:
    principal = ui_principal(request, Role.RESEARCHER)
    sandbox.cancel(sandbox.runtime_for(hub_context(request)), session, principal, job_id)
    return RedirectResponse(f"/research/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}/result.csv")
def research_csv(job_id: str, request: Request, session: SessionDep) -> Response:
    principal = ui_principal(request, Role.RESEARCHER)
    job = sandbox.get_job(session, principal, job_id)
    result = job.result or {"columns": [], "rows": []}
    headers = {"Content-Disposition": f'attachment; filename="resultat-{job.id[:8]}.csv"'}
    return Response(
        sandbox.to_csv(result["columns"], result["rows"]), media_type="text/csv", headers=headers
    )


def _refused(
    request: Request, session: Session, principal: Principal, exc: HubError, typed: QueryForm
) -> Response:
    """The page again with why the query was refused (refused, forbidden, unknown project)."""
    error = {"detail": exc.detail, "reasons": exc.extra.get("reasons") or []}
    return _index(request, session, principal, error=error, **typed.fields())


def _epsilon(text: str) -> float | None:
    """The ε typed in the form (a decimal comma allowed), None when empty (the contract's
    default); ``ValidationFailed`` when it is not a number in (0, 10]."""
    if not text.strip():
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        value = -1.0
    if not 0 < value <= 10:
        raise ValidationFailed("epsilon must be a number greater than 0 and at most 10")
    return value
