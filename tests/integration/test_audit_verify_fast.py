"""The fast verification pass (``hub.audit.scan``) accepts exactly the untouched chains:
every kind of tampering makes it hand over to the classifying walk."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.audit.scan import CleanScan, scan_clean
from hub.audit.verify import verify_chain
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.checkpoints import create_checkpoint, frontier_of, list_checkpoints, load_signer
from hub.trail.models import GENESIS_HASH
from hub.trail.writer import chain_head
from tests.support.audit_fixtures import forge, rehash, row, seed, sql

N = 40


def _log(ctx: HubContext) -> None:
    """``N`` events with signed checkpoints over the first 16, 23 and ``N - 3``."""
    seed(ctx, N - 3)
    signer = load_signer(ctx.settings)
    for size in (16, 23, N - 3):
        with session_scope(ctx.engine) as session:
            create_checkpoint(session, signer, size=size)
    seed(ctx, 3)


def _fast_pass(ctx: HubContext) -> bool:
    with session_scope(ctx.engine) as session:
        state = CleanScan(1, GENESIS_HASH, frontier_of(None))
        head_seq, _ = chain_head(session)
        return scan_clean(session, state, list_checkpoints(session), head_seq)


def test_untouched_log_passes_fast_with_the_full_report(hub_ctx: HubContext) -> None:
    _log(hub_ctx)
    assert _fast_pass(hub_ctx)
    with session_scope(hub_ctx.engine) as session:
        report = verify_chain(session)
        head_seq, head_hash = chain_head(session)
    assert report.as_dict() == {
        "ok": True,
        "events": N,
        "head_hash": head_hash,
        "purged_up_to": 0,
        "checkpoints_checked": 3,
        "problems": [],
    }
    assert head_seq == N


def _swap(ctx: HubContext) -> None:
    sql(ctx, "UPDATE audit_event SET seq = -1 WHERE seq = 10")
    sql(ctx, "UPDATE audit_event SET seq = 10 WHERE seq = 11")
    sql(ctx, "UPDATE audit_event SET seq = 11 WHERE seq = -1")


TAMPERING: dict[str, Callable[[HubContext], None]] = {
    "edit": lambda c: sql(c, "UPDATE audit_event SET actor_sub = 'x' WHERE seq = 30"),
    "edit-json": lambda c: sql(
        c, "UPDATE audit_event SET details = '{\"rows\": 7.5}' WHERE seq = 2"
    ),
    "delete": lambda c: sql(c, "DELETE FROM audit_event WHERE seq = 20"),
    "delete-tail": lambda c: sql(c, f"DELETE FROM audit_event WHERE seq = {N}"),
    "rehash": lambda c: rehash(c, 17, action="contract.read"),
    "insert-after-head": lambda c: forge(c, N + 1, row(c, N)["hash"]),
    "swap": _swap,
    "checkpoint-root": lambda c: sql(
        c, "UPDATE audit_checkpoint SET root_hash = :h WHERE tree_size = 23", h="ab" * 32
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_any_tampering_leaves_the_fast_pass(hub_ctx: HubContext, name: str) -> None:
    _log(hub_ctx)
    TAMPERING[name](hub_ctx)
    assert not _fast_pass(hub_ctx)
    with session_scope(hub_ctx.engine) as session:
        assert not verify_chain(session).ok
