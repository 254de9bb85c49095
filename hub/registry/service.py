"""Registry operations. Each change records its audit event in the same transaction.

All functions raise ``NotFound``, ``Conflict`` or ``ValidationFailed`` (from
``hub.errors``) with a reason; none commits (the caller's transaction does).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.keys import load_public_key, public_jwk
from hub.pagination import PageParams, paginate
from hub.registry import schemas
from hub.registry.models import Connector, Organisation, Project, ProjectMember, Researcher
from hub.trail.writer import Actor, EventDraft, Resource, Why, record


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    resource: Resource,
    why: Why | None = None,
    **details: object,
) -> None:
    record(session, EventDraft(actor, action, resource, why=why or Why(), details=dict(details)))


def get_org(session: Session, org_id: str, kind: schemas.OrgKind | None = None) -> Organisation:
    """The organisation ``org_id`` (of ``kind`` when given)."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    if kind is not None and org.kind != kind:
        raise ValidationFailed(f"organisation {org_id} is a {org.kind}, not a {kind}")
    return org


def org_by_siren(session: Session, siren: str) -> Organisation | None:
    """The organisation registered with SIREN ``siren``, if any."""
    return session.exec(select(Organisation).where(Organisation.siren == siren)).first()


def create_org(session: Session, actor: Actor, data: schemas.OrganisationIn) -> Organisation:
    if org_by_siren(session, data.siren):
        raise Conflict(f"an organisation with SIREN {data.siren} is already registered")
    org = Organisation(name=data.name, siren=data.siren, kind=data.kind)
    session.add(org)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same SIREN
        raise Conflict(f"an organisation with SIREN {data.siren} is already registered") from exc
    _audit(
        session,
        actor,
        "organisation.created",
        Resource("organisation", org.id),
        siren=org.siren,
        kind=org.kind,
    )
    return org


def rename_org(session: Session, actor: Actor, org_id: str, name: str) -> Organisation:
    org = get_org(session, org_id)
    old, org.name = org.name, name
    session.add(org)
    _audit(
        session,
        actor,
        "organisation.updated",
        Resource("organisation", org.id),
        old_name=old,
        new_name=name,
    )
    return org


def delete_org(session: Session, actor: Actor, org_id: str) -> None:
    org = get_org(session, org_id)
    for model, column in (
        (Researcher, Researcher.organisation_id),
        (Project, Project.lab_id),
        (Connector, Connector.organisation_id),
    ):
        if session.exec(select(model).where(column == org_id)).first():
            raise Conflict(f"organisation {org_id} still has {model.__tablename__}s")
    session.delete(org)
    _audit(session, actor, "organisation.deleted", Resource("organisation", org_id))


def get_researcher(session: Session, researcher_id: str) -> Researcher:
    researcher = session.get(Researcher, researcher_id)
    if researcher is None:
        raise NotFound(f"researcher {researcher_id} does not exist")
    return researcher


def researcher_by_subject(session: Session, subject: str) -> Researcher | None:
    return session.exec(select(Researcher).where(Researcher.subject == subject)).first()


def create_researcher(session: Session, actor: Actor, data: schemas.ResearcherIn) -> Researcher:
    get_org(session, data.organisation_id, schemas.OrgKind.LAB)
    if researcher_by_subject(session, data.subject):
        raise Conflict(f"a researcher with subject {data.subject} is already registered")
    acc = data.accreditation
    researcher = Researcher(
        subject=data.subject,
        name=data.name,
        email=str(data.email),
        organisation_id=data.organisation_id,
        accreditation_granted_by=acc.granted_by,
        accredited_from=acc.valid_from,
        accredited_until=acc.valid_until,
    )
    session.add(researcher)
    session.flush()
    _audit(
        session,
        actor,
        "researcher.accredited",
        Resource("researcher", researcher.id),
        granted_by=acc.granted_by,
        valid_from=acc.valid_from.isoformat(),
        valid_until=acc.valid_until.isoformat(),
    )
    return researcher


def renew_accreditation(
    session: Session, actor: Actor, researcher_id: str, acc: schemas.AccreditationIn
) -> Researcher:
    researcher = get_researcher(session, researcher_id)
    researcher.accreditation_granted_by = acc.granted_by
    researcher.accredited_from, researcher.accredited_until = acc.valid_from, acc.valid_until
    researcher.revoked_at, researcher.revocation_reason = None, None
    session.add(researcher)
    _audit(
        session,
        actor,
        "researcher.accredited",
        Resource("researcher", researcher.id),
        granted_by=acc.granted_by,
        valid_from=acc.valid_from.isoformat(),
        valid_until=acc.valid_until.isoformat(),
    )
    return researcher


def revoke_researcher(
    session: Session, actor: Actor, researcher_id: str, reason: str
) -> Researcher:
    researcher = get_researcher(session, researcher_id)
    if researcher.revoked_at is not None:
        raise Conflict(f"researcher {researcher_id} is already revoked")
    researcher.revoked_at, researcher.revocation_reason = datetime.now(UTC), reason
    session.add(researcher)
    _audit(
        session, actor, "researcher.revoked", Resource("researcher", researcher.id), reason=reason
    )
    return researcher


def find_project(session: Session, project_id: str) -> Project | None:
    """The project ``project_id``, if it exists."""
    return session.get(Project, project_id)


def get_project(session: Session, project_id: str) -> Project:
    project = find_project(session, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


def project_members(session: Session, project_id: str) -> list[str]:
    rows = session.exec(
        select(ProjectMember.researcher_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(ProjectMember.researcher_id)
    ).all()
    return list(rows)


def projects_of(session: Session, researcher_id: str) -> list[Project]:
    """The projects ``researcher_id`` is a member of, by title."""
    query = (
        select(Project)
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(ProjectMember.researcher_id == researcher_id)
        .order_by(col(Project.title), col(Project.id))
    )
    return list(session.exec(query).all())


def _check_member(session: Session, project: Project, researcher_id: str) -> None:
    researcher = get_researcher(session, researcher_id)
    if researcher.organisation_id != project.lab_id:
        raise ValidationFailed(f"researcher {researcher_id} is not in the project's lab")
    if not researcher.is_accredited(datetime.now(UTC).date()):
        raise ValidationFailed(f"researcher {researcher_id} is not accredited")


def create_project(
    session: Session, actor: Actor, data: schemas.ProjectIn, creator: Researcher | None
) -> Project:
    """Create a project; a researcher creating it must be in the lab and becomes a member."""
    get_org(session, data.lab_id, schemas.OrgKind.LAB)
    members = list(dict.fromkeys(data.members))
    if creator is not None:
        if creator.organisation_id != data.lab_id:
            raise Forbidden("researchers may only create projects in their own lab")
        members = list(dict.fromkeys([creator.id, *members]))
    project = Project(title=data.title, purpose=data.purpose, lab_id=data.lab_id)
    session.add(project)
    session.flush()
    for rid in members:
        _check_member(session, project, rid)
        session.add(ProjectMember(project_id=project.id, researcher_id=rid))
    why = Why(project_id=project.id, purpose=project.purpose)
    _audit(session, actor, "project.created", Resource("project", project.id), why, members=members)
    return project


def add_member(session: Session, actor: Actor, project_id: str, researcher_id: str) -> Project:
    project = get_project(session, project_id)
    if researcher_id in project_members(session, project_id):
        raise Conflict(f"researcher {researcher_id} is already a member")
    _check_member(session, project, researcher_id)
    session.add(ProjectMember(project_id=project_id, researcher_id=researcher_id))
    _audit(
        session,
        actor,
        "project.member_added",
        Resource("project", project_id),
        Why(project_id=project_id),
        researcher_id=researcher_id,
    )
    return project


def remove_member(session: Session, actor: Actor, project_id: str, researcher_id: str) -> None:
    get_project(session, project_id)
    row = session.exec(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.researcher_id == researcher_id
        )
    ).first()
    if row is None:
        raise NotFound(f"researcher {researcher_id} is not a member of project {project_id}")
    session.delete(row)
    _audit(
        session,
        actor,
        "project.member_removed",
        Resource("project", project_id),
        Why(project_id=project_id),
        researcher_id=researcher_id,
    )


def find_connector(session: Session, connector_id: str) -> Connector | None:
    """The connector ``connector_id`` (revoked or not), if it is registered."""
    return session.get(Connector, connector_id)


def get_connector(session: Session, connector_id: str) -> Connector:
    connector = find_connector(session, connector_id)
    if connector is None:
        raise NotFound(f"connector {connector_id} does not exist")
    return connector


def create_connector(session: Session, actor: Actor, data: schemas.ConnectorIn) -> Connector:
    get_org(session, data.organisation_id, schemas.OrgKind.PROVIDER)
    kid = public_jwk(load_public_key(data.public_key))["kid"]
    if session.exec(select(Connector).where(Connector.key_id == kid)).first():
        raise Conflict("this public key is already registered to a connector")
    connector = Connector(
        name=data.name,
        organisation_id=data.organisation_id,
        public_key_pem=data.public_key,
        key_id=kid,
    )
    session.add(connector)
    session.flush()
    _audit(
        session,
        actor,
        "connector.registered",
        Resource("connector", connector.id),
        organisation_id=data.organisation_id,
        key_id=kid,
    )
    return connector


def revoke_connector(session: Session, actor: Actor, connector_id: str, reason: str) -> Connector:
    connector = get_connector(session, connector_id)
    if connector.revoked_at is not None:
        raise Conflict(f"connector {connector_id} is already revoked")
    connector.revoked_at = datetime.now(UTC)
    session.add(connector)
    _audit(session, actor, "connector.revoked", Resource("connector", connector_id), reason=reason)
    return connector


# Listings: one page of rows and the total, in a stable order ---------------------------------


def organisations(
    session: Session, pages: PageParams, kind: str | None = None
) -> tuple[list[Organisation], int]:
    """Organisations by name, of ``kind`` when given."""
    query = select(Organisation).order_by(col(Organisation.name), col(Organisation.id))
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return paginate(session, query, pages)


def researchers(
    session: Session, pages: PageParams, organisation_id: str | None = None
) -> tuple[list[Researcher], int]:
    """Researchers by name, of ``organisation_id`` when given."""
    query = select(Researcher).order_by(col(Researcher.name), col(Researcher.id))
    if organisation_id:
        query = query.where(Researcher.organisation_id == organisation_id)
    return paginate(session, query, pages)


def projects(session: Session, pages: PageParams) -> tuple[list[Project], int]:
    """Projects, oldest first."""
    query = select(Project).order_by(col(Project.created_at), col(Project.id))
    return paginate(session, query, pages)


def connectors(
    session: Session, pages: PageParams, organisation_id: str | None
) -> tuple[list[Connector], int]:
    """Connectors, oldest first: every one when ``organisation_id`` is None, else that
    organisation's only."""
    query = select(Connector).order_by(col(Connector.created_at), col(Connector.id))
    if organisation_id is not None:
        query = query.where(Connector.organisation_id == organisation_id)
    return paginate(session, query, pages)


def project_titles(session: Session, ids: set[str]) -> dict[str, str]:
    """Id → title for the projects among ``ids``; other ids are left out."""
    query = select(Project.id, Project.title).where(col(Project.id).in_(ids))
    return dict(session.exec(query).all())


def organisation_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Id → name for the organisations among ``ids``; other ids are left out."""
    query = select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))
    return dict(session.exec(query).all())


def names_of(session: Session, ids: set[str]) -> dict[str, str]:
    """Id → name for the organisations (their name) and projects (their title) among
    ``ids``; other ids are left out."""
    return organisation_names(session, ids) | project_titles(session, ids)
