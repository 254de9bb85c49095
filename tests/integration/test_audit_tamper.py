"""Independent tamper tests: rows edited, deleted, inserted and reordered directly in SQL
(SQLite and PostgreSQL); ``edh audit verify`` must name each altered event."""

from __future__ import annotations

from collections.abc import Callable

from hub.context import HubContext
from tests.support.audit_fixtures import forge, kinds, rehash, row, seed, sql, verify_json

Edh = Callable[..., tuple[int, str]]
N = 20


def _sealed(hub_ctx: HubContext, edh: Edh) -> None:
    """20 events, a signed checkpoint over the first 12, then 8 more events."""
    seed(hub_ctx, 12)
    assert edh("audit", "checkpoint")[0] == 0
    seed(hub_ctx, N - 12)


def test_untouched_log_verifies(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    code, out = edh("audit", "verify")
    assert code == 0, out
    assert f"audit chain OK: {N} events, 1 signed checkpoints" in out


def test_edited_column_is_named_with_its_checkpoint(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_event SET actor_sub = 'someone-else' WHERE seq = 5")
    report = verify_json(edh)
    assert kinds(report) == [(5, "modified")]
    assert report["problems"][0]["checkpoint"]["tree_size"] == 12
    code, out = edh("audit", "verify")
    assert code == 1 and "seq 5: modified" in out and "since checkpoint" in out


def test_edit_after_last_checkpoint_is_named_without_checkpoint(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_event SET decision = 'deny' WHERE seq = 15")
    report = verify_json(edh)
    assert kinds(report) == [(15, "modified")]
    assert report["problems"][0]["checkpoint"] is None


def test_rewrite_with_recomputed_hash_breaks_link_and_checkpoint(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _sealed(hub_ctx, edh)
    rehash(hub_ctx, 7, action="contract.read")
    assert kinds(verify_json(edh)) == [(7, "modified"), (12, "checkpoint-mismatch")]


def test_last_event_rewritten_with_recomputed_hash_is_caught_by_the_head(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _sealed(hub_ctx, edh)
    rehash(hub_ctx, N, action="contract.read")
    assert kinds(verify_json(edh)) == [(N, "head-mismatch")]


def test_deleted_row_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "DELETE FROM audit_event WHERE seq IN (8, 9)")
    report = verify_json(edh)
    assert (8, "deleted") in kinds(report)
    assert "8..9" in report["problems"][0]["detail"]


def test_deleted_tail_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, f"DELETE FROM audit_event WHERE seq = {N}")
    assert kinds(verify_json(edh)) == [(N, "deleted")]


def test_forged_event_appended_after_head_is_a_forged_append(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    forge(hub_ctx, N + 1, row(hub_ctx, N)["hash"])
    assert kinds(verify_json(edh)) == [(N + 1, "forged-append")]


def test_forged_event_inserted_in_the_middle_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_event SET seq = seq + 1000 WHERE seq > 5")
    sql(hub_ctx, "UPDATE audit_event SET seq = seq - 999 WHERE seq > 1000")
    forge(hub_ctx, 6, row(hub_ctx, 5)["hash"])
    found = kinds(verify_json(edh))
    assert found[0] == (6, "inserted")
    assert (7, "renumbered") in found


def test_swapped_rows_are_reordered(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_event SET seq = -1 WHERE seq = 4")
    sql(hub_ctx, "UPDATE audit_event SET seq = 4 WHERE seq = 10")
    sql(hub_ctx, "UPDATE audit_event SET seq = 10 WHERE seq = -1")
    report = verify_json(edh)
    assert kinds(report)[:2] == [(4, "reordered"), (10, "reordered")]
    assert "written at seq 10" in report["problems"][0]["detail"]


def test_adjacent_swap_is_reordered(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_event SET seq = -1 WHERE seq = 16")
    sql(hub_ctx, "UPDATE audit_event SET seq = 16 WHERE seq = 17")
    sql(hub_ctx, "UPDATE audit_event SET seq = 17 WHERE seq = -1")
    assert kinds(verify_json(edh)) == [(16, "reordered"), (17, "reordered")]


def test_forged_checkpoint_signature_is_reported(hub_ctx: HubContext, edh: Edh) -> None:
    _sealed(hub_ctx, edh)
    sql(hub_ctx, "UPDATE audit_checkpoint SET signed_at = signed_at")
    sql(hub_ctx, "UPDATE audit_checkpoint SET tree_size = 11")
    found = kinds(verify_json(edh))
    assert (0, "bad-signature") in found
