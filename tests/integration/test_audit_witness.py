"""Signed ranges cannot shrink: tampering by someone with database write access (SQLite and
PostgreSQL), caught by the checkpoints beyond the head, by the write-once witness store
and by an external witness, and named at the first bad event."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.audit.anchor import hub_verifier
from hub.audit.note import COSIGNATURE_V1, Verifier, parse_vkey, split_note, verified_by
from hub.audit.publish import DirectoryStore, StoreRefused, published_sizes
from hub.audit.witness import Witness, make_server
from hub.context import HubContext
from hub.keys import load_or_create_key
from hub.trail.checkpoints import load_signer
from hub.trail.hashing import compute_hash
from hub.trail.stream import EVENTS
from tests.support.audit_fixtures import forge, kinds, row, seed, sql, verify_json

Edh = Callable[..., tuple[int, str]]


def _log(hub_ctx: HubContext, edh: Edh, sizes: tuple[int, ...] = (12, 20)) -> None:
    """Events checkpointed (and published) at each of ``sizes``."""
    done = 0
    for size in sizes:
        seed(hub_ctx, size - done)
        assert edh("audit", "checkpoint")[0] == 0
        done = size


def _move_head(hub_ctx: HubContext, seq: int) -> None:
    sql(hub_ctx, "UPDATE audit_head SET seq = :s, hash = :h", s=seq, h=row(hub_ctx, seq)["hash"])


def _truncate(hub_ctx: HubContext, keep: int) -> None:
    """Delete every event after ``keep`` and move the head back (a stopped hub)."""
    sql(hub_ctx, "DELETE FROM audit_event WHERE seq > :k", k=keep)
    _move_head(hub_ctx, keep)


def _rewrite_from(hub_ctx: HubContext, seq: int, **changes: Any) -> None:
    """Rewrite event ``seq`` and recompute every later hash and link, and the head."""
    prev = row(hub_ctx, seq - 1)["hash"] if seq > 1 else "0" * 64
    with hub_ctx.engine.connect() as conn:
        query = EVENTS.select().where(EVENTS.c.seq >= seq).order_by(EVENTS.c.seq)
        rows = [dict(r._mapping) for r in conn.execute(query)]
    with hub_ctx.engine.begin() as conn:
        for values in rows:
            values["prev_hash"] = prev
            if values["seq"] == seq:
                values.update(changes)
            values["hash"] = prev = compute_hash(SimpleNamespace(**values))  # type: ignore[arg-type]
            conn.execute(EVENTS.update().where(EVENTS.c.seq == values["seq"]).values(**values))
        conn.exec_driver_sql(f"UPDATE audit_head SET hash = '{prev}'")


def _witness_dir(hub_ctx: HubContext) -> Path:
    return hub_ctx.settings.data_dir / "audit-witness"


def test_truncation_into_the_signed_range_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    _truncate(hub_ctx, 15)
    report = verify_json(edh)
    assert kinds(report)[0] == (16, "truncated"), report
    assert "16..20" in report["problems"][0]["detail"]


def test_truncation_fails_the_command_with_its_range(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    _truncate(hub_ctx, 15)
    code, out = edh("audit", "verify")
    assert code == 1 and "seq 16: truncated (events 16..20 are signed by" in out


def test_last_events_deleted_and_head_moved_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh, (60,))
    _truncate(hub_ctx, 10)
    assert kinds(verify_json(edh))[0] == (11, "truncated")


def test_truncation_with_the_checkpoints_deleted_is_caught_by_the_witness_store(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    _truncate(hub_ctx, 15)
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    report = verify_json(edh)
    assert kinds(report) == [(16, "truncated")], report
    assert report["problems"][0]["checkpoint"] == {"id": None, "tree_size": 20, "published": True}
    assert "since the published checkpoint of size 20" in edh("audit", "verify")[1]


def test_truncation_is_caught_against_a_copied_witness_directory(
    hub_ctx: HubContext, edh: Edh, tmp_path: Path
) -> None:
    _log(hub_ctx, edh)
    copy = DirectoryStore(tmp_path / "dpo-copy")
    source = DirectoryStore(_witness_dir(hub_ctx))
    for name in source.names("checkpoint/"):
        copy.write_once(name, source.read(name))
    _truncate(hub_ctx, 15)
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    os.chmod(_witness_dir(hub_ctx), 0o700)
    for name in source.names("checkpoint/"):  # the hub's own store lost too (worst case)
        (_witness_dir(hub_ctx) / name).unlink()
    assert verify_json(edh)["ok"] is True  # nothing left to compare with
    _code, out = edh("audit", "verify", "--json", "--witness", str(tmp_path / "dpo-copy"))
    assert kinds(json.loads(out)) == [(16, "truncated")]


def test_rewrite_with_recomputed_hashes_names_the_first_rewritten_event(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    _rewrite_from(hub_ctx, 7, action="contract.read")
    report = verify_json(edh)
    assert kinds(report)[0] == (7, "rewritten"), report
    assert "checkpoint" in report["problems"][0]["detail"]


def test_rewrite_in_a_later_range_is_named_exactly(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh, (12, 20, 31))
    _rewrite_from(hub_ctx, 26, actor_sub="someone-else")
    assert kinds(verify_json(edh))[0] == (26, "rewritten")


def test_rewrite_without_published_leaves_is_bisected_by_the_signed_peaks(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh, (12, 20, 32))
    os.chmod(_witness_dir(hub_ctx), 0o700)
    (_witness_dir(hub_ctx) / "leaves").rename(_witness_dir(hub_ctx) / "gone")
    _rewrite_from(hub_ctx, 22, details={"rows": 0})
    report = verify_json(edh)
    seq, kind = kinds(report)[0]
    # peaks of 32 = [0, 32): bisect from the last reproduced checkpoint (20)
    assert kind == "rewritten" and seq == 21
    assert "21..32" in report["problems"][0]["detail"]


def test_rewrite_with_the_checkpoints_deleted_is_named_by_the_published_leaves(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    _rewrite_from(hub_ctx, 4, decision="deny")
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    assert kinds(verify_json(edh))[0] == (4, "rewritten")


def test_rewrite_is_named_exactly_by_a_copied_store_when_the_hubs_is_wiped(
    hub_ctx: HubContext, edh: Edh, tmp_path: Path
) -> None:
    _log(hub_ctx, edh)
    source = DirectoryStore(_witness_dir(hub_ctx))
    copy = DirectoryStore(tmp_path / "dpo-copy")
    for name in [*source.names("checkpoint/"), *source.names("leaves/")]:
        copy.write_once(name, source.read(name))
    _rewrite_from(hub_ctx, 4, decision="deny")
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    os.chmod(_witness_dir(hub_ctx), 0o700)
    for path in sorted(_witness_dir(hub_ctx).rglob("*"), reverse=True):  # the worst case
        path.rmdir() if path.is_dir() else path.unlink()
    _code, out = edh("audit", "verify", "--json", "--witness", str(tmp_path / "dpo-copy"))
    assert kinds(json.loads(out))[0] == (4, "rewritten")


def test_truncated_then_forged_tail_is_named_at_the_first_forged_event(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    _truncate(hub_ctx, 15)
    for seq in range(16, 24):  # correctly chained forged events, head moved on
        forge(hub_ctx, seq, row(hub_ctx, seq - 1)["hash"])
    _move_head(hub_ctx, 23)
    sql(hub_ctx, "DELETE FROM audit_checkpoint WHERE tree_size = 20")
    assert kinds(verify_json(edh))[0] == (16, "rewritten")


def test_signed_tail_truncated_and_partly_refilled_is_named_at_the_first_forged_event(
    hub_ctx: HubContext, edh: Edh
) -> None:
    """The refill stops short of the signed checkpoint, which stays in the database."""
    _log(hub_ctx, edh)
    _truncate(hub_ctx, 13)
    for seq in (14, 15, 16):
        forge(hub_ctx, seq, row(hub_ctx, seq - 1)["hash"])
    _move_head(hub_ctx, 16)
    report = verify_json(edh)
    assert kinds(report) == [(14, "rewritten"), (17, "truncated")], report
    assert "size 20 signed at this place" in report["problems"][0]["detail"]


def test_forged_append_after_the_head_is_named(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    forge(hub_ctx, 21, row(hub_ctx, 20)["hash"])
    forge(hub_ctx, 22, row(hub_ctx, 21)["hash"])
    assert kinds(verify_json(edh)) == [(21, "forged-append"), (22, "forged-append")]


def test_forged_rows_after_the_head_are_named_at_every_verification(
    hub_ctx: HubContext, edh: Edh
) -> None:
    """Forged rows squat the seq the hub appends next (its own alert of the first run
    cannot be chained): every later verification still runs and names them."""
    _log(hub_ctx, edh)
    forge(hub_ctx, 21, row(hub_ctx, 20)["hash"])
    for _run in range(3):
        code, out = edh("audit", "verify", "--json")
        assert code == 1, out
        assert kinds(json.loads(out))[0] == (21, "forged-append")


def test_published_store_is_write_once(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    store = DirectoryStore(_witness_dir(hub_ctx))
    assert published_sizes(store) == [12, 20]
    name = "checkpoint/" + f"{20:020d}"
    with pytest.raises(StoreRefused):
        store.write_once(name, b"forged\n")
    store.write_once(name, store.read(name))  # the same bytes again: a no-op
    assert not os.access(_witness_dir(hub_ctx) / name, os.W_OK) or os.geteuid() == 0
    assert (_witness_dir(hub_ctx) / name).stat().st_mode & 0o222 == 0


def test_published_checkpoint_is_a_c2sp_note_signed_by_the_hub(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    note = (_witness_dir(hub_ctx) / "checkpoint" / f"{20:020d}").read_text(encoding="utf-8")
    body, lines = split_note(note)
    origin, size, root = body.splitlines()
    assert (origin, size) == ("edh.local/audit", "20")
    with hub_ctx.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT root_hash FROM audit_checkpoint WHERE tree_size = 20")
        assert base64.b64decode(root).hex() == stored.scalar_one()
    key = load_signer(hub_ctx.settings).key
    code, vkey = edh("audit", "vkey")
    assert code == 0 and parse_vkey(vkey) == hub_verifier(hub_ctx.settings.audit, key)
    assert verified_by(body, lines[0], parse_vkey(vkey))
    assert not verified_by(body.replace("\n20\n", "\n21\n"), lines[0], parse_vkey(vkey))


def test_forged_published_checkpoint_is_reported(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    folder = _witness_dir(hub_ctx) / "checkpoint"
    os.chmod(folder, 0o700)
    forged = (folder / f"{20:020d}").read_text(encoding="utf-8").replace("\n20\n", "\n25\n")
    (folder / f"{25:020d}").write_text(forged, encoding="utf-8")
    report = verify_json(edh)
    assert (0, "bad-signature") in kinds(report)
    assert "size 25" in report["problems"][0]["detail"]


@pytest.fixture
def witness_url(hub_ctx: HubContext, tmp_path: Path) -> Iterator[tuple[str, Witness]]:
    """A witness server on loopback trusting the test hub's key."""
    hub_key = load_signer(hub_ctx.settings).key
    witness = Witness(
        "dpo.example/w1",
        load_or_create_key(tmp_path / "witness.pem", allow_create=True),
        tmp_path / "witness-state.json",
        [hub_verifier(hub_ctx.settings.audit, hub_key)],
    )
    server = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", witness
    server.shutdown()
    server.server_close()


def test_witness_cosigns_and_verify_checks_against_it(
    hub_ctx: HubContext,
    edh: Edh,
    witness_url: tuple[str, Witness],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, witness = witness_url
    config = [{"url": url, "vkey": witness.verifier.vkey}]
    monkeypatch.setenv("EDH_AUDIT__WITNESSES", json.dumps(config))
    _log(hub_ctx, edh, (12, 20))
    note = (_witness_dir(hub_ctx) / "checkpoint" / f"{20:020d}").read_text(encoding="utf-8")
    body, lines = split_note(note)
    assert len(lines) == 2 and verified_by(body, lines[1], witness.verifier)
    assert json.loads(witness.state_file.read_text())["edh.local/audit"]["size"] == 20

    _truncate(hub_ctx, 15)
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    os.chmod(_witness_dir(hub_ctx), 0o700)
    for name in DirectoryStore(_witness_dir(hub_ctx)).names("checkpoint/"):
        (_witness_dir(hub_ctx) / name).unlink()
    _code, out = edh("audit", "verify", "--json", "--witness", url)
    report = json.loads(out)
    assert kinds(report) == [(16, "truncated")], report


def test_hub_refuses_to_publish_a_log_that_no_longer_extends_its_last_checkpoint(
    hub_ctx: HubContext,
    edh: Edh,
    witness_url: tuple[str, Witness],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, witness = witness_url
    monkeypatch.setenv(
        "EDH_AUDIT__WITNESSES", json.dumps([{"url": url, "vkey": witness.verifier.vkey}])
    )
    _log(hub_ctx, edh, (12, 20))
    _truncate(hub_ctx, 15)
    sql(hub_ctx, "DELETE FROM audit_checkpoint")
    seed(hub_ctx, 10)  # 25 events, 16..20 different from the published ones
    assert edh("audit", "checkpoint")[0] == 1
    assert published_sizes(DirectoryStore(_witness_dir(hub_ctx))) == [12, 20]
    assert json.loads(witness.state_file.read_text())["edh.local/audit"]["size"] == 20


def test_witness_protocol_answers(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hub.audit.note import Checkpoint, join_note, sign_line
    from hub.audit.witness import request_body
    from hub.trail.merkle import Frontier, NodeSource

    log_key = Ed25519PrivateKey.generate()
    log = Verifier("log.example/a", log_key.public_key())
    witness = Witness("w.example/1", Ed25519PrivateKey.generate(), tmp_path / "s.json", [log])
    leaves = [bytes([i]) * 32 for i in range(10)]
    tree = NodeSource(Frontier(), leaves)

    def note(size: int, name: str = log.name, key: Ed25519PrivateKey = log_key) -> str:
        cp = Checkpoint(name, size, tree.mth(0, size))
        return join_note(cp.body, [sign_line(cp.body, name, key)])

    def add(old: int, size: int, proof: list[bytes] | None = None, **kw: Any) -> tuple[int, str]:
        if proof is None:
            proof = tree.consistency_proof(old, size) if 0 < old < size else []
        answer = witness.add_checkpoint(request_body(old, proof, note(size, **kw)))
        return answer.status, answer.body.decode()

    assert add(0, 4)[0] == 200
    status, body = add(0, 6)
    assert status == 409 and body == "4\n"
    assert add(4, 3)[0] == 400
    assert add(4, 7, proof=[b"\x00" * 32])[0] == 422
    assert add(0, 4, name="other.example/x")[0] == 404
    assert add(4, 7, key=Ed25519PrivateKey.generate())[0] == 403
    assert witness.add_checkpoint(b"nonsense").status == 400
    status, line = add(4, 7)
    assert status == 200
    cp = Checkpoint(log.name, 7, tree.mth(0, 7))
    assert verified_by(cp.body, line.strip(), witness.verifier)
    assert witness.verifier.kind == COSIGNATURE_V1
    assert add(7, 5)[0] == 400  # smaller than the last cosigned tree
    assert json.loads(witness.state_file.read_text())[log.name]["size"] == 7


def test_object_store_witness_store_is_write_once(s3_endpoint: str) -> None:
    from hub.audit.publish import ObjectPrefixStore
    from hub.storage.s3 import S3Store
    from tests.support.ingest_fixtures import s3_settings

    s3 = S3Store(s3_settings(s3_endpoint))
    s3.ensure_bucket()
    store = ObjectPrefixStore(s3, "audit-witness")
    store.write_once("checkpoint/" + f"{3:020d}", b"note\n")
    store.write_once("checkpoint/" + f"{3:020d}", b"note\n")
    with pytest.raises(StoreRefused):
        store.write_once("checkpoint/" + f"{3:020d}", b"other\n")
    assert published_sizes(store) == [3]
    assert s3.get("audit-witness/checkpoint/" + f"{3:020d}") == b"note\n"


def test_forged_append_with_the_head_moved_is_caught_by_the_seals(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    seed(hub_ctx, 3)  # 21..23, after the last checkpoint
    forge(hub_ctx, 24, row(hub_ctx, 23)["hash"])
    forge(hub_ctx, 25, row(hub_ctx, 24)["hash"])
    _move_head(hub_ctx, 25)
    report = verify_json(edh)
    assert kinds(report) == [(24, "forged-append")], report
    assert "seal" in report["problems"][0]["detail"]


def test_tail_rewrite_with_recomputed_hashes_is_caught_by_the_seals(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    seed(hub_ctx, 5)  # 21..25, after the last checkpoint
    _rewrite_from(hub_ctx, 22, actor_sub="someone-else")
    assert kinds(verify_json(edh)) == [(22, "rewritten")]


def test_unsealed_tail_event_is_forged(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    seed(hub_ctx, 2)
    with hub_ctx.engine.connect() as conn:
        seals = conn.exec_driver_sql("SELECT seal FROM audit_event ORDER BY seq").scalars().all()
    assert all(s and len(s) == 64 for s in seals) and len(set(seals)) == len(seals)
    sql(hub_ctx, "UPDATE audit_event SET seal = NULL WHERE seq = 22")
    assert kinds(verify_json(edh)) == [(22, "forged-append")]


def test_hub_refuses_to_sign_over_a_forged_append(hub_ctx: HubContext, edh: Edh) -> None:
    _log(hub_ctx, edh)
    forge(hub_ctx, 21, row(hub_ctx, 20)["hash"])
    _move_head(hub_ctx, 21)
    seed(hub_ctx, 2)  # genuine events chained after the forged one
    assert edh("audit", "checkpoint")[0] == 2
    assert published_sizes(DirectoryStore(_witness_dir(hub_ctx))) == [12, 20]
    assert kinds(verify_json(edh))[0] == (21, "forged-append")


def test_unreachable_witness_fails_the_verification_clearly(hub_ctx: HubContext, edh: Edh) -> None:
    from tests.support.ingest_fixtures import free_port

    _log(hub_ctx, edh, (3,))
    code, _out = edh("audit", "verify", "--witness", f"http://127.0.0.1:{free_port()}")
    assert code == 2


def test_without_the_audit_key_nothing_is_appended_unsealed(db_url: str, tmp_path: Path) -> None:
    from hub.db import session_scope
    from hub.trail.chain import AuditUnavailable, chain_head
    from hub.trail.seal import use_audit_key
    from hub.trail.writer import record_now
    from tests.support.audit_fixtures import draft
    from tests.support.factories import make_context

    broken = tmp_path / "not-a-key.pem"
    broken.write_text("not a PEM key", encoding="utf-8")
    ctx = make_context(db_url, tmp_path)  # a hub starts only with a readable key (tested
    good = ctx.settings.audit.key_file  # in test_startup_and_health); the file then breaks
    ctx.settings.audit.key_file = broken
    use_audit_key(ctx.engine, ctx.settings)
    try:
        seed(ctx, 2)  # committed with their changes, left pending
        with pytest.raises(AuditUnavailable):
            record_now(ctx.engine, draft(3))  # the access it records is refused
        ctx.settings.audit.key_file = good  # the operator fixes the key
        record_now(ctx.engine, draft(4))
        with session_scope(ctx.engine) as session:
            assert chain_head(session)[0] == 3
        with ctx.engine.connect() as conn:
            seals = conn.exec_driver_sql("SELECT seal FROM audit_event").scalars().all()
        assert len(seals) == 3 and all(seals)
    finally:
        ctx.engine.dispose()


def test_events_from_before_seals_need_none_and_the_boundary_cannot_move(
    hub_ctx: HubContext, edh: Edh
) -> None:
    seed(hub_ctx, 4)
    sql(hub_ctx, "UPDATE audit_event SET seal = NULL")  # as appended before revision 0035
    sql(hub_ctx, "UPDATE audit_head SET sealed_from = 5")  # what the migration records
    seed(hub_ctx, 3)  # 5..7 sealed
    assert verify_json(edh)["ok"] is True
    assert edh("audit", "checkpoint")[0] == 0
    seed(hub_ctx, 2)  # 8, 9
    forge(hub_ctx, 10, row(hub_ctx, 9)["hash"])
    _move_head(hub_ctx, 10)
    sql(hub_ctx, "UPDATE audit_head SET sealed_from = 11")  # hide the forged event
    assert kinds(verify_json(edh)) == [(10, "forged-append")]


def test_a_forged_checkpoint_row_neither_hides_forged_events_nor_gets_signed(
    hub_ctx: HubContext, edh: Edh
) -> None:
    _log(hub_ctx, edh)
    forge(hub_ctx, 21, row(hub_ctx, 20)["hash"])
    _move_head(hub_ctx, 21)
    sql(
        hub_ctx,
        "INSERT INTO audit_checkpoint (tree_size, root_hash, head_hash, signed_at, key_id,"
        " signature, peaks) SELECT 21, root_hash, head_hash, signed_at, key_id, signature,"
        " peaks FROM audit_checkpoint WHERE tree_size = 20",
    )
    assert edh("audit", "checkpoint")[0] == 2  # refused: not the hub's checkpoint
    assert published_sizes(DirectoryStore(_witness_dir(hub_ctx))) == [12, 20]
    found = kinds(verify_json(edh))
    assert (0, "bad-signature") in found and (21, "forged-append") in found
