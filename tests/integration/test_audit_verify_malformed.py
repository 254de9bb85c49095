"""A tamperer who writes a value of the wrong type into an audit row (a hash that is not
hex, a blob, a number, text that is not JSON) gets the same answer as any other rewrite:
the event is named ``modified``, by the fast pass's hand-over and by the walk, never a
crash that leaves the DPO without a report. Where the database's column types refuse the value
(PostgreSQL), the tampering cannot happen at all."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from hub.audit.verify import verify_chain
from hub.context import HubContext
from hub.db import session_scope
from tests.support.audit_fixtures import fast_pass, seed_signed, sql

TAMPERED = 5
CASES = {
    "hash not hex": "UPDATE audit_event SET hash = 'not-hex' WHERE seq = 5",
    "hash of 64 characters, not hex": f"UPDATE audit_event SET hash = '{'z' * 64}' WHERE seq = 5",
    "hash as a blob": "UPDATE audit_event SET hash = X'00ff' WHERE seq = 5",
    "hash as a number": "UPDATE audit_event SET hash = 12 WHERE seq = 5",
    "event id as a blob": "UPDATE audit_event SET event_id = X'00ff' WHERE seq = 5",
    "previous hash as a number": "UPDATE audit_event SET prev_hash = 12 WHERE seq = 5",
    "details not JSON": "UPDATE audit_event SET details = 'not json' WHERE seq = 5",
    "details as a number": "UPDATE audit_event SET details = 5 WHERE seq = 5",
    "reasons not JSON": "UPDATE audit_event SET reasons = '[' WHERE seq = 5",
    "actor as a number": "UPDATE audit_event SET actor_sub = 12 WHERE seq = 5",
    "timestamp as a number": "UPDATE audit_event SET ts = 7 WHERE seq = 5",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_value_of_the_wrong_type_is_reported_modified(hub_ctx: HubContext, case: str) -> None:
    seed_signed(hub_ctx, 12, (8,))
    try:
        sql(hub_ctx, CASES[case])
    except DBAPIError:
        assert hub_ctx.engine.dialect.name == "postgresql", "only PostgreSQL's types refuse it"
        return
    assert not fast_pass(hub_ctx)
    with session_scope(hub_ctx.engine) as session:
        report = verify_chain(session)
    assert not report.ok
    assert {"seq": TAMPERED, "kind": "modified"}.items() <= report.problems[0].items()
