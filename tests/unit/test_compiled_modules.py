"""The mypyc build of the pipeline's hot modules (``scripts/compiled.py``): what runs is
what the sources say, compiled or not."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.compiled import load

BUILD = load()


def test_compiled_modules_match_their_sources() -> None:
    """Every extension present was built from the current source (else the tests would
    exercise old code), and when built, the pipeline imports the extensions."""
    assert BUILD.problems() == []
    for source in BUILD.MODULES:
        name = source.removesuffix(".py").replace("/", ".")
        extension = BUILD.extension_of(source)
        loaded = Path(importlib.import_module(name).__file__ or "")
        assert loaded == (extension if extension.exists() else BUILD.ROOT / source)


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build script repointed at a copy of the sources with recorded extensions."""
    for source in BUILD.MODULES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUILD.ROOT / source, tmp_path / source)
    monkeypatch.setattr(BUILD, "ROOT", tmp_path)
    monkeypatch.setattr(BUILD, "STAMP", tmp_path / "stamp.json")
    made = [BUILD.extension_of(s) for s in BUILD.MODULES]
    made.append(tmp_path / f"{BUILD.GROUP}__mypyc{BUILD._SUFFIX}")
    for path in made:
        path.write_bytes(b"compiled " + path.name.encode())
    extensions = {str(p.relative_to(tmp_path)): BUILD._sha256(p) for p in made}
    BUILD.STAMP.write_text(json.dumps({**BUILD.expected(), "extensions": extensions}))
    return tmp_path


def test_a_source_edited_after_the_build_is_reported(fake_build: Path) -> None:
    assert BUILD.problems() == []
    source = fake_build / "connector/pipeline/lake.py"
    source.write_text(source.read_text() + "\n# edited\n")
    assert BUILD.problems() == ["connector/pipeline/lake.py changed since it was compiled"]


def test_an_extension_not_from_the_build_is_reported(fake_build: Path) -> None:
    BUILD.extension_of("contracts/minimisation.py").write_bytes(b"another build")
    assert len(BUILD.problems()) == 1 and "minimisation" in BUILD.problems()[0]
    BUILD.STAMP.unlink()
    assert "without a build record" in BUILD.problems()[0]


def test_the_sources_run_as_pure_python_without_the_build(tmp_path: Path) -> None:
    """A copy of the packages without extensions imports and runs the pipeline."""
    for package in ("connector", "contracts"):
        shutil.copytree(BUILD.ROOT / package, tmp_path / package, ignore=_extensions)
    code = (
        "from connector.pipeline.batch import Transformer, build_batches\n"
        "from connector.pipeline import lake\n"
        "from connector.pipeline.pseudonymise import Pseudonymiser\n"
        "from connector.pipeline.simulate import SimulationSpec, simulate\n"
        "from contracts.minimisation import FieldFilter\n"
        "assert lake.__file__.endswith('lake.py'), lake.__file__\n"
        "t = Transformer(Pseudonymiser(b'k' * 32), FieldFilter(['school_id']))\n"
        "items = enumerate(simulate(SimulationSpec(pupils=5, weeks=1), 100), start=1)\n"
        "print(sum(b.row_count for b in build_batches(items, t, 40)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "100"


def _extensions(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n.endswith(".so") or n == "__pycache__"}
