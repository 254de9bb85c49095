"""The session check that fails when a test opens a file outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.outside_paths import REPO, allowed_roots, fence, outside, repository_prefixes

ROOTS = allowed_roots()
CHECK = (ROOTS, fence(), repository_prefixes())
STRAY = "/edh-outside-check/sibling-data.jsonl"  # never exists: opening it still is an event
PROBE = f"""
def test_reads_a_sibling_folder():
    try:
        open({STRAY!r})
    except OSError:
        pass

def test_reads_inside():
    pass
"""
CHILD_PROBE = f"""
import os, subprocess, sys

def test_a_child_reads_a_sibling_folder():
    code = "try:\\n    open({STRAY!r})\\nexcept OSError:\\n    pass"
    subprocess.run([sys.executable, "-c", code], env=dict(os.environ), check=True)
"""


def test_repository_python_and_temp_files_are_allowed() -> None:
    assert not outside(str(REPO / "tests" / "data" / "xapi" / "README.md"), *CHECK)
    assert not outside(os.__file__, *CHECK)
    assert not outside("/etc/hosts", *CHECK)


def test_a_sibling_of_the_repository_is_outside() -> None:
    assert outside(STRAY, *CHECK)
    if fence() is not None:  # the repository is not directly in a temporary root
        assert outside(str(REPO) + "-copy/tests/conftest.py", *CHECK)  # a prefix is no parent
        assert outside(str(REPO.parent / "shared" / "data" / "x.jsonl.gz"), *CHECK)


def test_the_fence_holds_inside_a_temporary_directory() -> None:
    repo = ("/tmp/ci-1234/repo/",)
    roots = ("/tmp/", "/usr/")
    assert outside("/tmp/ci-1234/shared/data/x.jsonl.gz", roots, "/tmp/ci-1234/", repo)
    assert not outside("/tmp/ci-1234/repo/tests/data/x.jsonl.gz", roots, "/tmp/ci-1234/", repo)
    assert not outside("/tmp/pytest-of-root/pytest-0/t/x", roots, "/tmp/ci-1234/", repo)


def _session(tmp_path: Path, probe: str, workers: list[str]) -> subprocess.CompletedProcess[str]:
    """A test session of ``probe`` with the check on (its own, not this session's)."""
    (tmp_path / "test_probe.py").write_text(probe)
    options = ["-q", "-p", "no:cacheprovider", "-p", "tests.support.outside_reads", *workers]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *options, "test_probe.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_a_session_that_reads_outside_fails_and_names_the_file(
    tmp_path: Path, workers: list[str]
) -> None:
    run = _session(tmp_path, PROBE, workers)
    assert "2 passed" in run.stdout
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout
    assert "files opened outside the repository" in run.stdout
    assert STRAY in run.stdout


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_a_python_child_process_that_reads_outside_fails_the_session(
    tmp_path: Path, workers: list[str]
) -> None:
    run = _session(tmp_path, CHILD_PROBE, workers)
    assert "1 passed" in run.stdout
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout
    assert STRAY in run.stdout.split("files opened outside the repository")[-1]
