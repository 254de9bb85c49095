"""The fast verification pass (``hub.audit.scan``) accepts exactly the untouched chains:
every kind of tampering makes it hand over to the classifying walk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from contracts.canonical import canonical_json, sha256_hex
from hub.audit.service import verify_log
from hub.audit.verify import verify_chain
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.stream import EVENTS
from hub.trail.writer import chain_head, event_body, record
from tests.support.audit_fixtures import (
    draft,
    fast_pass,
    forge,
    rehash,
    row,
    seed,
    seed_signed,
    sql,
)

N = 40


def _log(ctx: HubContext) -> None:
    """``N`` events with signed checkpoints over the first 16, 23 and ``N - 3``."""
    seed_signed(ctx, N, (16, 23, N - 3))


def test_untouched_log_passes_fast_with_the_full_report(hub_ctx: HubContext) -> None:
    _log(hub_ctx)
    assert fast_pass(hub_ctx)
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
    "edit-ts": lambda c: sql(
        c,
        "UPDATE audit_event SET ts = :t WHERE seq = 9",
        t=row(c, 9)["ts"] + timedelta(seconds=0.5),
    ),
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
def test_any_tampering_leaves_thefast_pass(hub_ctx: HubContext, name: str) -> None:
    _log(hub_ctx)
    TAMPERING[name](hub_ctx)
    assert not fast_pass(hub_ctx)
    with session_scope(hub_ctx.engine) as session:
        assert not verify_chain(session).ok


# Contents orjson does not encode as RFC 8785 does: a float it writes "1e21" (RFC 8785:
# "1e+21"), an integral float ("100.0" against "100") and keys ordered by code point
# (RFC 8785: by UTF-16 unit).
NOT_ORJSON_CANONICAL: dict[str, Any] = {
    "ratio": 1e21,
    "whole": 100.0,
    "\ue000": "private use",
    "\U0001f600": "astral",
}


def _orjson_bytes(values: dict[str, Any], seq: int | None = None) -> bytes:
    body = event_body(SimpleNamespace(**values), seq)  # type: ignore[arg-type]
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def test_events_orjson_does_not_canonicalise_pass_fast(hub_ctx: HubContext) -> None:
    seed(hub_ctx, 3)
    with session_scope(hub_ctx.engine) as session:
        record(session, replace(draft(4), details=NOT_ORJSON_CANONICAL))
    seed(hub_ctx, 2)
    stored = row(hub_ctx, 4)
    body = event_body(SimpleNamespace(**stored))  # type: ignore[arg-type]
    assert _orjson_bytes(stored) != canonical_json(body)  # the exact encoder is needed
    assert fast_pass(hub_ctx)
    with session_scope(hub_ctx.engine) as session:
        assert verify_chain(session).ok


def test_tail_rehashed_over_orjson_bytes_is_named_by_its_seal(hub_ctx: HubContext) -> None:
    """An attacker hashing a rewritten event as orjson encodes it (not as the hub does)
    gets past the fast pass only after the last checkpoint, where the seal names it."""
    _log(hub_ctx)
    values = {**row(hub_ctx, N), "details": {"rows": 100.0}}
    values["hash"] = sha256_hex(values["prev_hash"].encode("ascii") + _orjson_bytes(values))
    with hub_ctx.engine.begin() as conn:
        conn.execute(EVENTS.update().where(EVENTS.c.seq == N).values(**values))
    sql(hub_ctx, "UPDATE audit_head SET hash = :h WHERE id = 1", h=values["hash"])
    report = verify_log(hub_ctx.engine, hub_ctx.settings)
    assert [p["seq"] for p in report.problems] == [N]
    assert report.problems[0]["kind"] in ("rewritten", "modified")
