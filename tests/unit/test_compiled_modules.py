"""The mypyc build of the pipeline's hot modules (``scripts/compiled.py``): what runs is
what the sources say, compiled or not."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.compiled import load

BUILD = load()


def test_compiled_modules_match_their_sources() -> None:
    """Every extension present was built from the current source (else the tests would
    exercise old code), and when built, the pipeline imports the extensions."""
    assert BUILD.problems() == []
    for source in BUILD.MODULES:
        extension = BUILD.extension_of(source)
        spec = importlib.import_module(BUILD.module_of(source)).__spec__
        loaded = Path(spec.origin if spec and spec.origin else "")
        # By name: mypyc gives a module its group's directory joined with its own path.
        assert loaded.name == (extension if extension.exists() else BUILD.ROOT / source).name


def test_wheels_compile_with_the_pinned_mypy_and_the_dependencies_types() -> None:
    """setup.py's build requirements: the constraints' mypy, and the dependencies whose
    types the compiled modules see, as the project depends on them (the same C as the
    checkout's build, tests/integration/test_installed_wheel.py)."""
    project = tomllib.loads((BUILD.ROOT / "pyproject.toml").read_text())
    requires = project["build-system"]["requires"]
    constraints = (BUILD.ROOT / "requirements" / "constraints.txt").read_text().split()
    [mypy] = [r for r in requires if r.startswith("mypy")]
    assert mypy in constraints
    typed = [r for r in requires if not r.startswith(("setuptools", "wheel", "mypy"))]
    assert typed and set(typed) <= set(project["project"]["dependencies"])


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build script repointed at a copy of the sources with recorded extensions."""
    for source in BUILD.MODULES:
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BUILD.ROOT / source, tmp_path / source)
    monkeypatch.setattr(BUILD, "ROOT", tmp_path)
    monkeypatch.setattr(BUILD, "STAMP", tmp_path / "stamp.json")
    made = [*map(BUILD.extension_of, BUILD.MODULES), *BUILD.libraries()]
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


def test_the_sources_give_the_pinned_output_as_pure_python(tmp_path: Path) -> None:
    """Without the build (a copy of the packages without extensions, as an installed
    wheel runs), the pipeline gives the pinned lake output too: compiled and pure Python
    behave alike (``test_pipeline_output_unchanged`` checks whichever is built)."""
    for package in ("connector", "contracts"):
        shutil.copytree(BUILD.ROOT / package, tmp_path / package, ignore=_extensions)
    code = (
        "import orjson\n"
        "from connector.pipeline import lake\n"
        "from tests.unit.test_pipeline_output_unchanged import DIGESTS, outputs\n"
        "assert lake.__file__.endswith('lake.py'), lake.__file__\n"
        "found = orjson.loads(orjson.dumps(outputs()))\n"
        "print(found == orjson.loads(DIGESTS.read_bytes()))\n"
    )
    path = f"{tmp_path}{os.pathsep}{BUILD.ROOT}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "True"


def _extensions(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n.endswith(".so") or n == "__pycache__"}


@pytest.mark.skipif(not BUILD.artifacts(), reason="no compiled build (no C compiler)")
def test_a_checkout_runs_the_sources_of_compiled_modules_older_than_them(tmp_path: Path) -> None:
    """Outside pytest too (``edh-connector`` in a checkout): once a compiled module's source
    changed, every recorded module runs from its source, with a warning."""
    for package in ("connector", "contracts"):
        shutil.copytree(BUILD.ROOT / package, tmp_path / package, ignore=_caches)
    (tmp_path / ".venv").mkdir()
    shutil.copy(BUILD.STAMP, tmp_path / ".venv" / BUILD.STAMP.name)
    code = (
        f"import connector, importlib\nfor name in {list(map(BUILD.module_of, BUILD.MODULES))!r}:\n"
    )
    code += "    print(importlib.import_module(name).__file__)\n"

    def loaded() -> tuple[list[str], str]:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            check=True,
        )
        return [Path(f).name for f in done.stdout.split()], done.stderr

    files, warned = loaded()
    assert files == [BUILD.extension_of(s).name for s in BUILD.MODULES] and not warned
    edited = tmp_path / "contracts" / "pseudonym.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    files, warned = loaded()
    assert files == [Path(s).name for s in BUILD.MODULES]
    assert "RuntimeWarning" in warned and "contracts/pseudonym.py" in warned


def _caches(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__"}
