"""The connector pipeline's hot modules, compiled to C extensions with mypyc.

``python scripts/compiled.py build`` (run by ``scripts/bootstrap.sh``) compiles
:data:`MODULES` in place when one of their sources, mypy or Python changed since the last
build, and records what it built in :data:`STAMP`; ``python scripts/compiled.py check``
exits non-zero when a compiled module no longer matches its source. An extension module
shadows the ``.py`` beside it, so a stale one would run old code: ``tests/conftest.py``
refuses to start a test session then, and ``tests/unit/test_compiled_modules.py`` fails.
Without a build (no compiler, or ``EDH_NO_COMPILE=1``) the pure-Python sources run
unchanged; the pipeline is 1.3-1.5x faster compiled (docs/scale-plan.md).

``setup.py`` builds the same extensions (:func:`extensions`) into wheels, out of place;
an editable install leaves the checkout to this script.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {
    "connector.pipeline.hot": (
        "connector/pipeline/validate.py",
        "connector/pipeline/pseudonymise.py",
        "connector/pipeline/lake.py",
        "connector/pipeline/batch.py",
    ),
    "contracts.hot": ("contracts/minimisation.py", "contracts/pseudonym.py"),
}
"""Sources compiled, by shared library: mypyc builds one per group inside its package
(``connector/pipeline/hot__mypyc*.so``), found wherever the package is, and contracts'
stays apart from the connector's (the hub imports contracts, never the connector)."""
MODULES = tuple(source for sources in GROUPS.values() for source in sources)
"""Every source compiled; every other module stays pure Python."""
WORK = ROOT / ".venv" / "mypyc-build"
"""Where mypyc writes its C sources and objects (inside the venv: rebuilt with it)."""
CACHE = WORK / "mypy-cache"
"""mypyc's cache, valid only with every extension it vouches for in ``WORK / "lib"``."""
STAMP = ROOT / ".venv" / "compiled-modules.json"
"""What the last build compiled: each source's and extension's sha256, the toolchain."""
_SUFFIX: str = sysconfig.get_config_var("EXT_SUFFIX")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extension_of(source: str, root: Path | None = None) -> Path:
    """The compiled module that shadows ``source`` once built (in ``root``: the checkout
    unless given, e.g. a wheel's build directory)."""
    return (root or ROOT) / (source.removesuffix(".py") + _SUFFIX)


def libraries(root: Path | None = None) -> list[Path]:
    """The shared libraries of a build (one per group of :data:`GROUPS`)."""
    return [(root or ROOT) / (group.replace(".", "/") + "__mypyc" + _SUFFIX) for group in GROUPS]


def outputs(root: Path | None = None) -> list[Path]:
    """Every file a build makes (modules and shared libraries), present or not."""
    return [*(extension_of(source, root) for source in MODULES), *libraries(root)]


def module_of(source: str) -> str:
    """The name of the module ``source`` holds."""
    return source.removesuffix(".py").replace("/", ".")


def names() -> list[str]:
    """The extension modules of a build, in the order of :func:`outputs`."""
    return [*map(module_of, MODULES), *(group + "__mypyc" for group in GROUPS)]


def artifacts() -> list[Path]:
    """Every compiled file of the build present now (modules and shared libraries)."""
    return [p for p in outputs() if p.exists()]


def extensions(work: Path, cache: Path) -> list[Any]:
    """mypyc's setuptools extensions of :data:`GROUPS`, for the sources below the current
    directory: mypyc type-checks them with the project's mypy configuration and writes
    their C sources in ``work``. ``cache`` is mypy's cache: mypyc generates no C for a
    group it finds unchanged there (the extensions built before are expected in place),
    so it goes with the build's outputs or is new. Exits (``SystemExit``) on a type error;
    imports mypy, so only where it is installed."""
    from mypyc.build import mypycify

    groups = [(list(sources), group) for group, sources in GROUPS.items()]
    paths = ["--cache-dir", str(cache), *MODULES]
    return mypycify(paths, opt_level="3", separate=groups, target_dir=str(work))


def _toolchain() -> dict[str, str]:
    return {"python": sys.version, "mypy": version("mypy"), "script": _sha256(Path(__file__))}


def _sources() -> dict[str, str]:
    return {m: _sha256(ROOT / m) for m in MODULES}


def expected() -> dict[str, object]:
    """The stamp a build of the current sources with the current toolchain writes (but
    the extensions' digests, known only after the build)."""
    return {"toolchain": _toolchain(), "sources": _sources()}


def problems() -> list[str]:
    """Why the compiled modules present do not match their sources (empty: they match, or
    none is present)."""
    present = artifacts()
    if not present:
        return []
    if not STAMP.exists():
        return [f"compiled modules without a build record: {[p.name for p in present]}"]
    stamp = json.loads(STAMP.read_text())
    found = [
        f"{m} changed since it was compiled"
        for m, digest in _sources().items()
        if stamp["sources"].get(m) != digest
    ]
    if stamp["toolchain"] != _toolchain():
        found.append("Python, mypy or scripts/compiled.py changed since the build")
    built = stamp["extensions"]
    found += [
        f"{p.name} is not the file the build produced"
        for p in present
        if built.get(str(p.relative_to(ROOT))) != _sha256(p)
    ]
    return found


def remove() -> None:
    """Delete every compiled file: the pure-Python sources run again."""
    for path in artifacts():
        path.unlink()
    STAMP.unlink(missing_ok=True)


def build() -> None:
    """Compile :data:`MODULES` unless the present build matches; on failure, leave the
    pure-Python sources (a warning, not an error: the build is only faster)."""
    if os.environ.get("EDH_NO_COMPILE") == "1":
        remove()
        return
    if artifacts() and not problems():
        return
    remove()
    WORK.mkdir(parents=True, exist_ok=True)
    if not all(p.exists() for p in outputs(WORK / "lib")):  # e.g. a failed build
        shutil.rmtree(CACHE, ignore_errors=True)
    command = [sys.executable, __file__, "build_ext", "--inplace"]
    command += ["-t", str(WORK / "tmp"), "-b", str(WORK / "lib")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True)  # noqa: S603 (fixed)
    made = artifacts()
    if done.returncode != 0 or len(made) != len(MODULES) + len(GROUPS):
        remove()
        sys.stderr.write(done.stderr.decode()[-2000:])
        print("warning: mypyc build failed; the pipeline runs as pure Python", file=sys.stderr)
        return
    stamp = {**expected(), "extensions": {str(p.relative_to(ROOT)): _sha256(p) for p in made}}
    STAMP.write_text(json.dumps(stamp, indent=2))


def main() -> int:
    command = sys.argv[1] if len(sys.argv) >= 2 else ""
    if command == "build":
        build()
        return 0
    if command == "check":
        for problem in problems():
            print(problem, file=sys.stderr)
        return 1 if problems() else 0
    if command == "build_ext":  # build()'s subprocess: setuptools in the checkout
        from setuptools import setup

        modules = extensions(WORK, CACHE)
        setup(name="edh-hot-modules", ext_modules=modules, script_args=sys.argv[1:])
        return 0
    print("usage: compiled.py build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
