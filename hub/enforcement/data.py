"""Policy data documents (interface 3), built from the database, fresh in every process.

``data.edh.contracts`` comes from the contracts area; ``researchers``, ``projects`` and
``connectors`` from the registry. Any ORM change to one of their tables (flushed objects
or bulk ``insert``/``update``/``delete`` statements) also bumps the one-row
``policy_data_version`` in the same transaction. Before each decision
:class:`PolicyDataSync` reads that row (one primary-key SELECT) and republishes the
documents when it differs from what this process last published, so a revocation
committed by any process or replica is seen by the very next decision everywhere.
Changes made by raw SQL outside the hub's ORM are not seen until the next bump.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from itertools import chain
from typing import Any

from sqlalchemy import Connection, event, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from hub.contracts.policy_data import contract_documents
from hub.policy.decisions import unavailable
from hub.policy.models import VERSION_ROW, PolicyDataVersion
from hub.policy.port import PolicyDecision, PolicyEngine
from hub.registry.models import Connector, Project, ProjectMember, Researcher

log = logging.getLogger("hub.policy")

DOCUMENTS = ("contracts", "researchers", "projects", "connectors")
WATCHED_TABLES = frozenset({"researcher", "project", "project_member", "connector"})
STALE_DATA = "policy data could not be refreshed; refusing rather than deciding on old data"

Marker = tuple[int, str]
"""``(version, token)`` of ``policy_data_version``: which facts a publication reflects."""

_READ_VERSION = core_select(col(PolicyDataVersion.version), col(PolicyDataVersion.token)).where(
    col(PolicyDataVersion.id) == VERSION_ROW
)


def researcher_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.researchers``, keyed by token subject."""
    return {
        r.subject: {
            "id": r.id,
            "lab_id": r.organisation_id,
            "accredited_from": r.accredited_from.isoformat(),
            "accredited_until": r.accredited_until.isoformat(),
            "revoked": r.revoked_at is not None,
        }
        for r in session.exec(select(Researcher)).all()
    }


def project_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.projects``: lab, purpose and member subjects of every project."""
    members: dict[str, list[str]] = {}
    rows = session.exec(
        select(ProjectMember.project_id, Researcher.subject).where(
            ProjectMember.researcher_id == Researcher.id
        )
    ).all()
    for project_id, subject in rows:
        members.setdefault(project_id, []).append(subject)
    return {
        p.id: {"lab_id": p.lab_id, "members": sorted(members.get(p.id, [])), "purpose": p.purpose}
        for p in session.exec(select(Project)).all()
    }


def connector_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.connectors``: organisation and revocation of every connector."""
    return {
        c.id: {"organisation_id": c.organisation_id, "revoked": c.revoked_at is not None}
        for c in session.exec(select(Connector)).all()
    }


def build_documents(session: Session) -> dict[str, dict[str, Any]]:
    """Every policy data document, read fresh from ``session``."""
    return {
        "contracts": contract_documents(session),
        "researchers": researcher_documents(session),
        "projects": project_documents(session),
        "connectors": connector_documents(session),
    }


def publish(policy: PolicyEngine, session: Session) -> None:
    """Push every document to ``policy`` under ``edh/<name>`` (idempotent)."""
    for name, document in build_documents(session).items():
        policy.put_data(f"edh/{name}", document)


def read_version(session: Session) -> Marker:
    """The facts' ``(version, token)`` as ``session``'s transaction sees them."""
    row = session.connection().execute(_READ_VERSION).one()
    return int(row[0]), str(row[1])


def bump_version(connection: Connection) -> None:
    """Record a change to the policy facts, in ``connection``'s transaction."""
    connection.execute(
        update(PolicyDataVersion)
        .where(col(PolicyDataVersion.id) == VERSION_ROW)
        .values(version=col(PolicyDataVersion.version) + 1, token=uuid.uuid4().hex)
    )


def is_watched(table: str) -> bool:
    """True for a table the policy data documents are built from."""
    return table in WATCHED_TABLES or table.startswith("contract")


def touches_policy_data(session: OrmSession) -> bool:
    """True when the session's pending changes touch a table the documents come from."""
    objects = chain(session.new, session.dirty, session.deleted)
    return any(is_watched(str(getattr(obj, "__tablename__", ""))) for obj in objects)


class PolicyDataSync:
    """Keeps what ``policy`` decides on equal to the facts behind ``engine``.

    ``published`` is the marker of the facts last pushed (``None``: stale, nothing is
    trusted). ``decide`` compares it with the facts' current marker and republishes when
    they differ; refresh and evaluation hold one lock, so a decision never evaluates data
    another thread pushed from a different transaction (not even one's uncommitted
    changes) and publications never go back in time.
    """

    def __init__(self, engine: Engine, policy: PolicyEngine) -> None:
        self.policy = policy
        self.engine = engine
        self._lock = threading.Lock()
        self.published: Marker | None = None

    @property
    def is_stale(self) -> bool:
        """True until a publication succeeded (and after a failed one)."""
        return self.published is None

    def refresh(self) -> None:
        """Publish the committed facts now (own session); raises on failure."""
        with self._lock, Session(self.engine) as session:
            self._publish(session, read_version(session))

    def _publish(self, session: Session, marker: Marker) -> None:
        self.published = None
        publish(self.policy, session)
        self.published = marker

    def decide(self, session: Session, decision: str, input: Mapping[str, Any]) -> PolicyDecision:
        """``policy.decide`` on the facts ``session`` sees: republished from ``session``
        first when they changed since the last publication. Fails closed: a refresh that
        fails refuses with :data:`STALE_DATA` (and the next decision retries)."""
        try:
            marker = read_version(session)
        except Exception:
            log.exception("cannot read the policy data version; deciding is refused")
            return unavailable(STALE_DATA, self.policy.bundle_hash)
        with self._lock:
            if marker != self.published:
                try:
                    self._publish(session, marker)
                except Exception:
                    log.exception("policy data refresh failed; decisions deny until it succeeds")
                    return unavailable(STALE_DATA, self.policy.bundle_hash)
            return self.policy.decide(decision, input)


_syncs: weakref.WeakKeyDictionary[Engine, PolicyDataSync] = weakref.WeakKeyDictionary()


def install(engine: Engine, policy: PolicyEngine) -> PolicyDataSync:
    """Publish now, bump the version on every ORM change to the facts, and return the sync
    that refreshes before each decision."""
    _listen_once()
    sync = PolicyDataSync(engine, policy)
    sync.refresh()
    _syncs[engine] = sync
    return sync


def sync_for(engine: Engine) -> PolicyDataSync | None:
    """The sync installed for ``engine``, if any."""
    return _syncs.get(engine)


def _after_flush(session: OrmSession, _context: object) -> None:
    if touches_policy_data(session):
        bump_version(session.connection())


def _orm_execute(state: ORMExecuteState) -> None:
    """Bulk ``update()``/``delete()``/``insert()`` statements bypass the flush."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if is_watched(str(getattr(table, "name", ""))):
            bump_version(state.session.connection())


_LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("after_flush", _after_flush),
    ("do_orm_execute", _orm_execute),
)


def _listen_once() -> None:
    for name, listener in _LISTENERS:
        if not event.contains(OrmSession, name, listener):
            event.listen(OrmSession, name, listener)
