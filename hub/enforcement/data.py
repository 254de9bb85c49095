"""Policy data documents (interface 3), built from the database, fresh in every process.

Each area that owns facts the policies read publishes them as :class:`PolicyDocument`
values (``data.edh.contracts`` from ``hub.contracts.policy_data``; ``researchers``,
``projects`` and ``connectors`` from ``hub.registry.policy_data``); the app gathers them
at assembly and hands them to :func:`install`, so enforcement imports no area. Any ORM
change to one of their tables (flushed objects or bulk ``insert``/``update``/``delete``
statements) also bumps the one-row ``policy_data_version`` in the same transaction.
Before each decision :class:`PolicyDataSync` reads that row (one primary-key SELECT) and
republishes the documents when it differs from what this process last published, so a
revocation committed by any process or replica is seen by the very next decision
everywhere.
Changes made by raw SQL outside the hub's ORM are not seen until the next bump.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import Connection, event, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from hub.policy.decisions import unavailable
from hub.policy.models import VERSION_ROW, PolicyDataVersion
from hub.policy.port import PolicyDecision, PolicyEngine

log = logging.getLogger("hub.policy")

STALE_DATA = "policy data could not be refreshed; refusing rather than deciding on old data"

Marker = tuple[int, str]
"""``(version, token)`` of ``policy_data_version``: which facts a publication reflects."""

_READ_VERSION = core_select(col(PolicyDataVersion.version), col(PolicyDataVersion.token)).where(
    col(PolicyDataVersion.id) == VERSION_ROW
)


@dataclass(frozen=True)
class PolicyDocument:
    """One policy data document an area publishes: ``data.edh.<name>``, built fresh from
    a session by ``build``, from the rows of ``tables`` (an ORM change to one of them bumps
    the version, so every process republishes before its next decision)."""

    name: str
    tables: frozenset[str]
    build: Callable[[Session], dict[str, Any]]


Documents = Sequence[PolicyDocument]
"""The documents the app publishes, gathered from the areas at assembly (``hub.app``)."""

_watched: set[str] = set()
"""The tables of every document a process installed: a change to one bumps the version."""


def build_documents(session: Session, documents: Documents) -> dict[str, dict[str, Any]]:
    """Every policy data document, read fresh from ``session``, by name."""
    return {document.name: document.build(session) for document in documents}


def publish(policy: PolicyEngine, session: Session, documents: Documents) -> None:
    """Push every document to ``policy`` under ``edh/<name>`` (idempotent)."""
    for name, document in build_documents(session, documents).items():
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
    """True for a table the installed policy data documents are built from."""
    return table in _watched


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

    def __init__(self, engine: Engine, policy: PolicyEngine, documents: Documents) -> None:
        self.policy = policy
        self.engine = engine
        self.documents = documents
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
        publish(self.policy, session, self.documents)
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


def install(engine: Engine, policy: PolicyEngine, documents: Documents) -> PolicyDataSync:
    """Publish ``documents`` now, bump the version on every ORM change to their tables, and
    return the sync that refreshes before each decision."""
    _watched.update(table for document in documents for table in document.tables)
    _listen_once()
    sync = PolicyDataSync(engine, policy, documents)
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
