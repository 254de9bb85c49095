"""Registry API under ``/api/v1``. Each endpoint declares the roles it accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from hub.auth import Principal, Role, require
from hub.deps import SessionDep, actor_of
from hub.enforcement.public import operator_action
from hub.errors import Forbidden
from hub.pagination import Page, PageParams, page_params
from hub.registry import schemas, service
from hub.registry.models import Connector, Organisation, Project, Researcher

router = APIRouter(prefix="/api/v1", tags=["registry"])

READERS = (Role.OPERATOR, Role.PROVIDER, Role.RESEARCHER, Role.ETHICS_REVIEWER, Role.DPO)
# Operator actions: the operator role, then the policy decision edh/admin/registry (audited).
Operator = Annotated[Principal, Depends(operator_action())]
Pages = Annotated[PageParams, Depends(page_params)]


def _researcher_out(r: Researcher) -> schemas.ResearcherOut:
    return schemas.ResearcherOut(
        **r.model_dump(exclude={"created_at"}),
        accredited_now=r.is_accredited(datetime.now(UTC).date()),
    )


def _project_out(session: SessionDep, p: Project) -> schemas.ProjectOut:
    return schemas.ProjectOut(**p.model_dump(), members=service.project_members(session, p.id))


def _connector_out(c: Connector) -> schemas.ConnectorOut:
    return schemas.ConnectorOut(
        **c.model_dump(exclude={"public_key_pem"}), public_key=c.public_key_pem
    )


# Organisations -------------------------------------------------------------------------------


@router.post("/organisations", status_code=201, response_model=schemas.OrganisationOut)
def create_organisation(
    body: schemas.OrganisationIn, session: SessionDep, who: Operator
) -> Organisation:
    """Register an organisation (role: operator). Duplicate SIREN → 409."""
    return service.create_org(session, actor_of(who, Role.OPERATOR), body)


@router.get("/organisations", response_model=Page[schemas.OrganisationOut])
def list_organisations(
    session: SessionDep,
    pages: Pages,
    _: Annotated[Principal, Depends(require(*READERS))],
    kind: schemas.OrgKind | None = None,
) -> Page[Organisation]:
    """List organisations (roles: operator, provider, researcher, ethics_reviewer, dpo)."""
    items, total = service.organisations(session, pages, kind)
    return Page(items=items, total=total, limit=pages.limit, offset=pages.offset)


@router.get("/organisations/{org_id}", response_model=schemas.OrganisationOut)
def get_organisation(
    org_id: str, session: SessionDep, _: Annotated[Principal, Depends(require(*READERS))]
) -> Organisation:
    """One organisation (roles: operator, provider, researcher, ethics_reviewer, dpo)."""
    return service.get_org(session, org_id)


@router.patch("/organisations/{org_id}", response_model=schemas.OrganisationOut)
def rename_organisation(
    org_id: str, body: schemas.OrganisationPatch, session: SessionDep, who: Operator
) -> Organisation:
    """Rename an organisation (role: operator)."""
    return service.rename_org(session, actor_of(who, Role.OPERATOR), org_id, body.name)


@router.delete("/organisations/{org_id}", status_code=204)
def delete_organisation(org_id: str, session: SessionDep, who: Operator) -> Response:
    """Delete an organisation that nothing refers to (role: operator)."""
    service.delete_org(session, actor_of(who, Role.OPERATOR), org_id)
    return Response(status_code=204)


# Researchers ---------------------------------------------------------------------------------

STAFF = (Role.OPERATOR, Role.ETHICS_REVIEWER, Role.DPO)


@router.post("/researchers", status_code=201, response_model=schemas.ResearcherOut)
def create_researcher(
    body: schemas.ResearcherIn, session: SessionDep, who: Operator
) -> schemas.ResearcherOut:
    """Register and accredit a researcher of a lab (role: operator)."""
    return _researcher_out(service.create_researcher(session, actor_of(who, Role.OPERATOR), body))


@router.get("/researchers", response_model=Page[schemas.ResearcherOut])
def list_researchers(
    session: SessionDep,
    pages: Pages,
    _: Annotated[Principal, Depends(require(*STAFF))],
    organisation_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[schemas.ResearcherOut]:
    """List researchers (roles: operator, ethics_reviewer, dpo)."""
    items, total = service.researchers(session, pages, organisation_id)
    return Page(
        items=[_researcher_out(r) for r in items],
        total=total,
        limit=pages.limit,
        offset=pages.offset,
    )


@router.get("/researchers/{researcher_id}", response_model=schemas.ResearcherOut)
def get_researcher(
    researcher_id: str,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(*STAFF, Role.RESEARCHER))],
) -> schemas.ResearcherOut:
    """One researcher (roles: operator, ethics_reviewer, dpo; a researcher sees only self)."""
    researcher = service.get_researcher(session, researcher_id)
    if not who.roles.intersection(STAFF) and researcher.subject != who.sub:
        raise Forbidden("researchers may only read their own record")
    return _researcher_out(researcher)


@router.put("/researchers/{researcher_id}/accreditation", response_model=schemas.ResearcherOut)
def renew_accreditation(
    researcher_id: str, body: schemas.AccreditationIn, session: SessionDep, who: Operator
) -> schemas.ResearcherOut:
    """Grant or renew a researcher's accreditation, lifting any revocation (role: operator)."""
    actor = actor_of(who, Role.OPERATOR)
    return _researcher_out(service.renew_accreditation(session, actor, researcher_id, body))


@router.post("/researchers/{researcher_id}/revoke", response_model=schemas.ResearcherOut)
def revoke_researcher(
    researcher_id: str, body: schemas.RevocationIn, session: SessionDep, who: Operator
) -> schemas.ResearcherOut:
    """Revoke an accreditation at once, with a reason (role: operator)."""
    actor = actor_of(who, Role.OPERATOR)
    return _researcher_out(service.revoke_researcher(session, actor, researcher_id, body.reason))


# Projects ------------------------------------------------------------------------------------


@router.post("/projects", status_code=201, response_model=schemas.ProjectOut)
def create_project(
    body: schemas.ProjectIn,
    session: SessionDep,
    who: Annotated[Principal, Depends(require(Role.OPERATOR, Role.RESEARCHER))],
) -> schemas.ProjectOut:
    """Create a research project (roles: operator; researcher, who becomes a member)."""
    creator = None
    role = Role.OPERATOR if Role.OPERATOR in who.roles else Role.RESEARCHER
    if role == Role.RESEARCHER:
        creator = service.researcher_by_subject(session, who.sub)
        if creator is None or not creator.is_accredited(datetime.now(UTC).date()):
            raise Forbidden("only an accredited researcher may create a project")
    project = service.create_project(session, actor_of(who, role), body, creator)
    return _project_out(session, project)


@router.get("/projects", response_model=Page[schemas.ProjectOut])
def list_projects(
    session: SessionDep,
    pages: Pages,
    _: Annotated[Principal, Depends(require(*READERS))],
) -> Page[schemas.ProjectOut]:
    """List projects (roles: operator, provider, researcher, ethics_reviewer, dpo)."""
    items, total = service.projects(session, pages)
    return Page(
        items=[_project_out(session, p) for p in items],
        total=total,
        limit=pages.limit,
        offset=pages.offset,
    )


@router.get("/projects/{project_id}", response_model=schemas.ProjectOut)
def get_project(
    project_id: str, session: SessionDep, _: Annotated[Principal, Depends(require(*READERS))]
) -> schemas.ProjectOut:
    """One project and its members (roles: all but connector)."""
    return _project_out(session, service.get_project(session, project_id))


@router.post("/projects/{project_id}/members", status_code=201, response_model=schemas.ProjectOut)
def add_member(
    project_id: str, body: schemas.MemberIn, session: SessionDep, who: Operator
) -> schemas.ProjectOut:
    """Add an accredited researcher of the project's lab (role: operator)."""
    project = service.add_member(
        session, actor_of(who, Role.OPERATOR), project_id, body.researcher_id
    )
    return _project_out(session, project)


@router.delete("/projects/{project_id}/members/{researcher_id}", status_code=204)
def remove_member(
    project_id: str, researcher_id: str, session: SessionDep, who: Operator
) -> Response:
    """Remove a member; takes effect on the next request (role: operator)."""
    service.remove_member(session, actor_of(who, Role.OPERATOR), project_id, researcher_id)
    return Response(status_code=204)


# Connectors ----------------------------------------------------------------------------------

Registrar = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVIDER))]


def _provider_scope(who: Principal, organisation_id: str) -> Role:
    """Operators act anywhere; a provider only for its own organisation (token ``org``)."""
    if Role.OPERATOR in who.roles:
        return Role.OPERATOR
    if who.org != organisation_id:
        raise Forbidden("providers may only manage connectors of their own organisation")
    return Role.PROVIDER


@router.post("/connectors", status_code=201, response_model=schemas.ConnectorOut)
def register_connector(
    body: schemas.ConnectorIn, session: SessionDep, who: Registrar
) -> schemas.ConnectorOut:
    """Register a connector's public key for a provider (roles: operator, provider of that org)."""
    role = _provider_scope(who, body.organisation_id)
    return _connector_out(service.create_connector(session, actor_of(who, role), body))


@router.get("/connectors", response_model=Page[schemas.ConnectorOut])
def list_connectors(
    session: SessionDep, pages: Pages, who: Registrar
) -> Page[schemas.ConnectorOut]:
    """List connectors (operator: all; provider: its organisation's)."""
    own = None if Role.OPERATOR in who.roles else (who.org or "")
    items, total = service.connectors(session, pages, own)
    return Page(
        items=[_connector_out(c) for c in items],
        total=total,
        limit=pages.limit,
        offset=pages.offset,
    )


@router.get("/connectors/{connector_id}", response_model=schemas.ConnectorOut)
def get_connector(connector_id: str, session: SessionDep, who: Registrar) -> schemas.ConnectorOut:
    """One connector (roles: operator, provider of that org)."""
    connector = service.get_connector(session, connector_id)
    _provider_scope(who, connector.organisation_id)
    return _connector_out(connector)


@router.post("/connectors/{connector_id}/revoke", response_model=schemas.ConnectorOut)
def revoke_connector(
    connector_id: str, body: schemas.RevocationIn, session: SessionDep, who: Registrar
) -> schemas.ConnectorOut:
    """Revoke a connector's key at once (roles: operator, provider of that org)."""
    connector = service.get_connector(session, connector_id)
    role = _provider_scope(who, connector.organisation_id)
    return _connector_out(
        service.revoke_connector(session, actor_of(who, role), connector_id, body.reason)
    )
