"""Cross-process freshness: two hub contexts (two database engines, two OPA engines, as
two replicas or uvicorn workers would have) on one database, SQLite and PostgreSQL. A
change committed through one is seen by the very next decision of the other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from hub.app import POLICY_DOCUMENTS
from hub.context import HubContext
from hub.db import make_engine, session_scope
from hub.enforcement.data import STALE_DATA, PolicyDataSync, sync_for
from hub.enforcement.enforce import check, decide
from hub.errors import Forbidden
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.policy.port import PolicyDecision
from hub.registry.models import Researcher
from hub.trail.writer import Resource, Why
from tests.support.contracts_fixtures import World
from tests.support.factories import make_context
from tests.support.policy_fixtures import claire, claire_id, query_input

QUERY = "edh/sandbox/query"
REVOKED = "the accreditation of researcher claire is revoked"


@pytest.fixture
def replica(db_url: str, tmp_path: Path) -> Iterator[HubContext]:
    """A second hub on the same database: its own engine, policy engine and data sync."""
    ctx = make_context(db_url, tmp_path / "replica")
    yield ctx
    ctx.engine.dispose()


def _ask(ctx: HubContext, world: World, contract: dict[str, Any]) -> list[str]:
    """The reasons of ``ctx``'s audited decision; empty when it allows."""
    try:
        with session_scope(ctx.engine) as session:
            check(
                ctx,
                session,
                QUERY,
                query_input(world, contract),
                claire(world),
                Resource("query", None),
                Why(contract_id=contract["id"], project_id=world.project_id),
            )
    except Forbidden as refused:
        return list(refused.extra["reasons"])
    return []


def _peek(ctx: HubContext, session: Session, world: World, contract: dict[str, Any]) -> bool:
    """Whether ``ctx`` allows, deciding on what ``session`` sees (no audit)."""
    today = datetime.now(UTC).date()
    return decide(ctx, session, QUERY, query_input(world, contract), claire(world), today).allow


@pytest.mark.parametrize("target", ["researcher", "contract", "membership"])
def test_a_change_through_one_hub_denies_the_next_decision_of_the_other(
    hub_ctx: HubContext,
    replica: HubContext,
    client: TestClient,
    world: World,
    target: str,
) -> None:
    contract = world.finalized()  # made through hub_ctx after the replica published
    assert _ask(replica, world, contract) == []
    rid, cid = claire_id(client, world), contract["id"]
    body = {"reason": "Signalement de la CNIL en cours d'instruction."}
    if target == "researcher":
        world.post(f"/researchers/{rid}/revoke", world.as_operator(), body)
        expected = REVOKED
    elif target == "contract":
        world.post(f"/contracts/{cid}/suspend", world.as_operator(), body)
        expected = f"contract {cid} is SUSPENDED, not FINALIZED"
    else:
        path = f"/api/v1/projects/{world.project_id}/members/{rid}"
        assert client.delete(path, headers=world.as_operator()).status_code == 204
        expected = f"researcher claire is not a member of project {world.project_id}"
    assert _ask(replica, world, contract) == [expected]


def test_a_bulk_update_in_one_hub_is_seen_by_the_other(
    hub_ctx: HubContext, replica: HubContext, client: TestClient, world: World
) -> None:
    contract = world.finalized()
    assert _ask(replica, world, contract) == []
    rid = claire_id(client, world)
    with session_scope(hub_ctx.engine) as session:
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        stmt = update(Researcher).where(col(Researcher.id) == rid)
        session.execute(stmt.values(accredited_until=yesterday))
    [reason] = _ask(replica, world, contract)
    assert reason.startswith("researcher claire is accredited from")


def test_an_uncommitted_change_is_seen_only_by_its_transaction(
    hub_ctx: HubContext, replica: HubContext, client: TestClient, world: World
) -> None:
    contract = world.finalized()
    rid = claire_id(client, world)
    with Session(hub_ctx.engine) as session:
        stmt = update(Researcher).where(col(Researcher.id) == rid)
        session.execute(stmt.values(revoked_at=datetime.now(UTC)))
        assert not _peek(hub_ctx, session, world, contract)
        if hub_ctx.engine.dialect.name == "postgresql":  # SQLite: the writer holds the file
            assert _ask(replica, world, contract) == []
        session.rollback()
    assert _ask(hub_ctx, world, contract) == []
    assert _ask(replica, world, contract) == []


def test_only_the_changed_facts_trigger_a_republication(
    hub_ctx: HubContext, replica: HubContext, world: World
) -> None:
    contract = world.finalized()
    sync = sync_for(replica.engine)
    assert sync is not None
    assert _ask(replica, world, contract) == []
    published = sync.published
    assert _ask(replica, world, contract) == []  # audit events only: same facts
    assert sync.published == published is not None


def test_a_database_without_the_version_table_refuses(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    sync = PolicyDataSync(engine, InProcessPolicyEngine(PolicyBundle.load()), POLICY_DOCUMENTS)
    with Session(engine) as session:
        outcome: PolicyDecision = sync.decide(session, "edh/audit/read", {})
    engine.dispose()
    assert (outcome.allow, outcome.reasons, outcome.outage) == (False, (STALE_DATA,), True)
    assert sync.is_stale
