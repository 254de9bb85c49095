"""A range scan pauses the cyclic garbage collector while it runs, and leaves it as it
found it: on again after the scan, also one that failed, and still off when it was off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.audit.ranges import TEXT_ROWS, Row, check_batches


def _batches(seen: list[bool], fail: bool = False) -> Iterator[list[Row]]:
    seen.append(gc.isenabled())
    if fail:
        raise RuntimeError("the database went away")
    yield []  # an empty range


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()


def test_the_collector_is_off_during_the_scan_and_on_again_after() -> None:
    gc.enable()
    seen: list[bool] = []
    result = check_batches(_batches(seen), 0, [], TEXT_ROWS)
    assert result.ok and result.count == 0
    assert seen == [False] and gc.isenabled()


def test_a_failed_scan_turns_the_collector_on_again() -> None:
    gc.enable()
    seen: list[bool] = []
    with pytest.raises(RuntimeError):
        check_batches(_batches(seen, fail=True), 0, [], TEXT_ROWS)
    assert seen == [False] and gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    check_batches(_batches([]), 0, [], TEXT_ROWS)
    assert not gc.isenabled()
