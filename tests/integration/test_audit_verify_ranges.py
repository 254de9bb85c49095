"""Verification split into ranges checked by worker processes (``hub.audit.scan``, on
PostgreSQL): an untouched log passes with the same report as one process gives, and any
tampering, also one only the joins between ranges can see, leaves the fast pass and gets
the same report."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.audit import scan
from hub.audit.ranges import PG_RAW_TS, RAW_ROWS, check_batches, hashed_ts, pg_batches, prefetched
from hub.audit.scan import CleanScan, plan_ranges, scan_clean
from hub.audit.verify import verify_chain
from hub.cli import main
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.checkpoints import frontier_of
from hub.trail.hashing import pg_hashed_columns, utc_text
from hub.trail.models import GENESIS_HASH
from hub.trail.stream import EVENTS
from hub.trail.writer import chain_head, compute_hash
from tests.integration.test_audit_verify_fast import TAMPERING
from tests.support.audit_bulk import copy_into_postgres
from tests.support.audit_fixtures import T0, fast_pass, row, seed, seed_signed, sql
from tests.support.factories import make_context

N = 40
BULK = 60_000  # events: megabytes of rows PostgreSQL is still sending when a range stops
JOBS = 3  # ranges (0, 13], (13, 26], (26, ...): checkpoints at 16 and 23 inside the second


@pytest.fixture
def pg_ctx(
    pg_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HubContext]:
    """A PostgreSQL hub whose verification splits even a small log into ranges."""
    from tests.support import pg

    monkeypatch.setattr(scan, "MIN_JOB_EVENTS", 1)
    with pg.fresh_database(pg_template) as name:
        ctx = make_context(pg.sqlalchemy_url(name), tmp_path)
        seed_signed(ctx, N, (16, 23, N - 3))
        yield ctx
        ctx.engine.dispose()


def test_ranges_cover_the_log_once_the_last_open_ended() -> None:
    assert plan_ranges(0, 1_000_000, 2) == [(0, 500_000), (500_000, None)]
    assert plan_ranges(10, 150_000, 4) == [(10, None)]  # under 2 x 100,000 events: one
    assert plan_ranges(0, 40, 1) == [(0, None)]


def _report(ctx: HubContext, jobs: int) -> dict[str, object]:
    with session_scope(ctx.engine) as session:
        return verify_chain(session, jobs=jobs).as_dict()


def test_untouched_log_passes_in_ranges_with_the_same_report(
    pg_ctx: HubContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.audit")
    assert plan_ranges(0, N, JOBS) == [(0, 13), (13, 26), (26, None)]
    assert fast_pass(pg_ctx, JOBS)
    report = _report(pg_ctx, JOBS)
    assert report == _report(pg_ctx, 1)
    assert report["ok"] and report["events"] == N and report["checkpoints_checked"] == 3
    assert "verification worker" not in caplog.text  # the workers checked their ranges


def test_ranges_of_workers_that_cannot_start_are_checked_here(
    pg_ctx: HubContext, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.audit")
    monkeypatch.setattr(sys, "executable", str(pg_ctx.settings.data_dir / "no-python"))
    assert fast_pass(pg_ctx, JOBS)
    assert caplog.text.count("audit verification worker did not start") == JOBS - 1
    sql(pg_ctx, "DELETE FROM audit_event WHERE seq = 30")
    assert not fast_pass(pg_ctx, JOBS)


def _relink_from(ctx: HubContext, seq: int) -> None:
    """Cut the chain before ``seq``: every event from it on rewritten with correct hashes
    over a previous hash the event before does not have (each range stays consistent)."""
    prev = "ab" * 32
    for s in range(seq, N + 1):
        values = {**row(ctx, s), "prev_hash": prev}
        values["hash"] = prev = compute_hash(SimpleNamespace(**values))  # type: ignore[arg-type]
        with ctx.engine.begin() as conn:
            conn.execute(EVENTS.update().where(EVENTS.c.seq == s).values(**values))
    sql(ctx, "UPDATE audit_head SET hash = :h WHERE id = 1", h=prev)


def _swap_across(ctx: HubContext) -> None:
    sql(ctx, "UPDATE audit_event SET seq = -1 WHERE seq = 13")
    sql(ctx, "UPDATE audit_event SET seq = 13 WHERE seq = 14")
    sql(ctx, "UPDATE audit_event SET seq = 14 WHERE seq = -1")


AT_THE_JOINS: dict[str, Callable[[HubContext], None]] = {
    "relinked-after-a-join": lambda c: _relink_from(c, 27),  # after every checkpoint
    "first-of-a-range-deleted": lambda c: sql(c, "DELETE FROM audit_event WHERE seq = 27"),
    "last-of-a-range-deleted": lambda c: sql(c, "DELETE FROM audit_event WHERE seq = 26"),
    "swapped-across-a-join": _swap_across,
    "renumbered-across-a-join": lambda c: sql(
        c, "UPDATE audit_event SET seq = seq + 100 WHERE seq > 26"
    ),
}


@pytest.mark.parametrize("name", sorted({**TAMPERING, **AT_THE_JOINS}))
def test_tampering_leaves_the_ranges_with_the_same_report(pg_ctx: HubContext, name: str) -> None:
    {**TAMPERING, **AT_THE_JOINS}[name](pg_ctx)
    assert not fast_pass(pg_ctx, JOBS)
    report = _report(pg_ctx, JOBS)
    assert not report["ok"]
    assert report == _report(pg_ctx, 1)


def test_a_cut_only_a_join_sees_leaves_thefast_pass(pg_ctx: HubContext) -> None:
    """With no checkpoint to reproduce, only the link checked at a join sees the cut."""
    _relink_from(pg_ctx, 27)
    with session_scope(pg_ctx.engine) as session:
        raw = session.connection().connection.driver_connection
        alone = check_batches(pg_batches(raw, 26, None), 26, [], RAW_ROWS)
        assert alone.ok and alone.count == N - 26  # the last range holds on its own
        head_seq, _ = chain_head(session)
        for jobs in (JOBS, 1):
            state = CleanScan(1, GENESIS_HASH, frontier_of(None))
            assert not scan_clean(session, state, [], head_seq, jobs)


def test_a_stream_stopped_early_leaves_the_transaction_to_the_walk(
    pg_template: str, tmp_path: Path
) -> None:
    """A range stopped at a tampered event with many rows still to come cancels its
    stream, which rolls back its savepoint only: the classifying walk then runs in the
    same transaction and names the event."""
    from tests.support import pg

    with pg.fresh_database(pg_template) as name:
        ctx = make_context(pg.sqlalchemy_url(name), tmp_path)
        copy_into_postgres(ctx.engine, BULK)
        sql(ctx, "UPDATE audit_event SET actor_sub = 'x' WHERE seq = 100")
        with session_scope(ctx.engine) as session:
            raw = session.connection().connection.driver_connection
            batches = prefetched(pg_batches(raw, 0, None))
            stopped = check_batches(batches, 0, [], RAW_ROWS)
            assert not stopped.ok and stopped.count == 0  # the first batch is off
            report = verify_chain(session)  # the fast pass stops there too, then the walk
        ctx.engine.dispose()
    assert report.events == BULK
    assert [(p["seq"], p["kind"]) for p in report.problems] == [(100, "modified")]


def test_cli_jobs_change_nothing_but_the_processes(
    pg_ctx: HubContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDH_DATABASE__URL", pg_ctx.settings.database_url())
    monkeypatch.setenv("EDH_DATA_DIR", str(pg_ctx.settings.data_dir))
    monkeypatch.setenv("EDH_DEV_MODE", "true")

    def verify(jobs: str) -> tuple[int, dict[str, object]]:
        capsys.readouterr()
        code = main(["audit", "verify", "--json", "--jobs", jobs])
        return code, json.loads(capsys.readouterr().out)

    clean = verify("1")
    assert clean[0] == 0 and verify("3") == clean
    sql(pg_ctx, "DELETE FROM audit_event WHERE seq = 20")
    # a failed run appends its alert's event: only the problems up to N compare
    found = {jobs: verify(jobs) for jobs in ("1", "3")}
    problems = {
        jobs: [p for p in report["problems"] if p["seq"] <= N]  # type: ignore[attr-defined,index]
        for jobs, (_code, report) in found.items()
    }
    assert found["1"][0] == found["3"][0] == 1
    assert problems["1"] == problems["3"] and problems["1"][0]["kind"] == "deleted"


def test_raw_timestamps_complete_into_the_hashed_text(pg_ctx: HubContext) -> None:
    """PostgreSQL's text of a UTC time, its fraction trimmed, completes into ``to_char``'s
    hashed text (``utc_text``'s) for any microseconds and any year the hub writes."""
    stamps = [T0.replace(microsecond=us) for us in (0, 1, 10, 100_000, 120_000, 123_456)]
    stamps += [
        datetime(99, 1, 2, 3, 4, 5, 500_000, UTC),
        datetime(9999, 12, 31, 23, 59, 59, 9, UTC),
    ]
    query = f"SELECT {PG_RAW_TS}, {pg_hashed_columns(['ts'])} FROM unnest(%s::timestamptz[]) ts"
    with session_scope(pg_ctx.engine) as session:
        raw: Any = session.connection().connection.driver_connection
        raw.execute("SET DateStyle TO 'ISO'")
        read = raw.execute(query, (stamps,)).fetchall()
    assert [hashed_ts(text.encode()).decode() for text, _ in read] == [h for _, h in read]
    assert [h for _, h in read] == [utc_text(ts) for ts in stamps]


def test_times_of_any_fraction_pass_whatever_the_session_date_style(
    pg_template: str, tmp_path: Path
) -> None:
    from tests.support import pg

    with pg.fresh_database(pg_template) as name:
        ctx = make_context(pg.sqlalchemy_url(name), tmp_path)
        seed(ctx, 24, T0.replace(microsecond=7), timedelta(microseconds=62_497))
        with session_scope(ctx.engine) as session:
            raw: Any = session.connection().connection.driver_connection
            raw.execute("SET DateStyle TO 'SQL, DMY'")
            result = check_batches(pg_batches(raw, 0, None), 0, [], RAW_ROWS)
            assert raw.info.parameter_status("DateStyle") == "SQL, DMY"  # set back
        ctx.engine.dispose()
    assert result.ok and result.count == 24
