"""Project scope: contracts in force, hub-built lake paths, limits from contracts."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from hub.errors import Forbidden
from hub.sandbox.differencing import symmetric_difference
from hub.sandbox.scope import Threshold, lake_files, project_key, scope_for
from tests.support.sandbox_fixtures import contract_doc, write_batch

TODAY = date.today()


def test_only_finalized_contracts_in_force_count(lake: Path) -> None:
    docs = {
        "a": contract_doc("a", "p", min_cell_size=25, rounding_base=5),
        "b": contract_doc("b", "p", state="AGREED"),
        "c": contract_doc("c", "p", valid_until=(TODAY - timedelta(days=1)).isoformat()),
        "d": contract_doc("d", "other", row_level=True),
        "e": contract_doc("e", "p", min_cell_size=3, allowed_fields=["verb_id", "school_id"]),
    }
    scope = scope_for("p", docs, lake, b"k", TODAY)
    assert scope.contract_ids == ("a", "e")
    assert scope.min_cell_size == 25 and scope.rounding_base == 5 and not scope.row_level
    with pytest.raises(Forbidden):
        scope_for("nobody", docs, lake, b"k", TODAY)
    low = scope_for("p", {"e": docs["e"]}, lake, b"k", TODAY)
    assert low.min_cell_size == 10  # a contract may only raise k
    assert low.columns == {"verb_id", "school_id"}


def test_a_person_has_one_pseudonym_per_contract_whose_data_is_read(lake: Path) -> None:
    """``c``: every contract of the scope with files adds a pseudonym per person (one
    without files yet adds none, unless none has any); the minimum cell size in pupil ids
    is ``k * c``; no parts, no number: refused."""
    docs = {
        "a": contract_doc("a", "p", min_cell_size=12),
        "renewal": contract_doc("renewal", "p"),
        "x": contract_doc("x", "other"),
    }
    write_batch(lake, "prov-1", "a", "videos", statements=10, pupils=5)
    fresh = scope_for("p", docs, lake, b"k", TODAY)
    assert (fresh.contract_ids, fresh.contracts_read) == (("a", "renewal"), frozenset({"a"}))
    assert (fresh.pseudonyms_per_person, fresh.min_pupil_ids) == (1, 12)
    write_batch(lake, "prov-1", "renewal", "videos", statements=10, pupils=5)
    both = scope_for("p", docs, lake, b"k", TODAY)
    assert (both.pseudonyms_per_person, both.min_pupil_ids) == (2, 24)
    assert both.threshold == Threshold(12, frozenset({"a", "renewal"}))
    empty = scope_for("other", docs, lake, b"k", TODAY)
    assert (empty.contracts_read, empty.min_pupil_ids) == (frozenset({"x"}), 10)
    with pytest.raises(Forbidden):
        _ = replace(both, parts=()).pseudonyms_per_person


def test_lake_paths_are_built_by_the_hub_and_stay_inside(lake: Path, tmp_path: Path) -> None:
    good = write_batch(lake, "prov", "c1", "ds", statements=10, pupils=5)
    outside = write_batch(tmp_path / "elsewhere", "prov", "c1", "ds", statements=10, pupils=5)
    link_dir = lake / "prov" / "c1" / "ds" / "date=2026-09-02"
    link_dir.mkdir()
    os.symlink(outside, link_dir / "evil.parquet")
    assert lake_files(lake, "prov", "c1", ("ds",)) == (str(good.resolve()),)
    for bad in ("..", "../prov", "a/../../b", "s3://b/x/../y", ""):
        assert lake_files(lake, bad, "c1", ("ds",)) == ()
        assert lake_files(lake, "prov", "c1", (bad,)) == ()
    (lake / "quarantine").mkdir()
    assert lake_files(lake, "quarantine", "c1", ("ds",)) == ()


def test_project_keys_differ_per_project() -> None:
    assert project_key(b"s", "p1") != project_key(b"s", "p2")
    assert project_key(b"s", "p1") == project_key(b"s", "p1")


def test_differencing_estimates() -> None:
    small_a, small_b = list(range(20)), list(range(1, 20))
    assert symmetric_difference(20, small_a, 19, small_b) == 1
    assert symmetric_difference(20, small_a, 20, small_a) == 0  # the very same pupils
    big = list(range(64))
    assert symmetric_difference(999, big, 1000, big) < 10
    disjoint = list(range(1000, 1064))
    assert symmetric_difference(1000, disjoint, 1001, big) >= 10
    assert symmetric_difference(500, big, 1000, big) >= 10
