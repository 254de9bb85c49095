"""The wheel's compiled modules: pyproject.toml holds the project, this file only adds the
connector pipeline's hot modules (``scripts/compiled.py``'s groups, the one list) as mypyc
extensions.

``pip install .`` and ``pip wheel .`` compile them when mypy (a build requirement) and a
C compiler are there; when compiling fails the wheel is pure Python, as it was before (a
warning, never a failed install: the compiled modules are only faster). An editable
install (``pip install -e``, as ``scripts/bootstrap.sh`` runs) compiles nothing: a
checkout's modules are built in place by ``scripts/compiled.py build``, which records
what it built for the stale-build guards.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiled() -> ModuleType:
    script = Path(__file__).resolve().parent / "scripts" / "compiled.py"
    spec = importlib.util.spec_from_file_location("edh_compiled_build", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPILED = _compiled()


class BuildHotModules(build_ext):
    """Compiles the hot modules into the build directory, all or none."""

    def finalize_options(self) -> None:
        if self.editable_mode or self.inplace:
            self.distribution.ext_modules = []  # a checkout: scripts/compiled.py builds
        super().finalize_options()

    def run(self) -> None:
        if self.editable_mode or self.inplace:
            return
        try:
            # mypyc type-checks and generates C only now, not for each metadata query
            work = Path(self.build_temp) / "mypyc"
            with tempfile.TemporaryDirectory() as cache:  # all the C generated afresh
                extensions = COMPILED.extensions(work, Path(cache))
            if sorted(e.name for e in extensions if e.sources) != sorted(COMPILED.names()):
                raise RuntimeError(f"mypyc made {[e.name for e in extensions]}")
            for extension in extensions:
                vars(self.ext_map[extension.name]).update(vars(extension))
            super().run()
        except (Exception, SystemExit) as error:  # no mypy or compiler, a type error
            # a module without its group's shared library would not import
            for path in COMPILED.outputs(Path(self.build_lib)):
                path.unlink(missing_ok=True)
            self.extensions = []
            print(
                f"warning: mypyc build failed ({error!r}); the wheel is pure Python",
                file=sys.stderr,
            )


setup(
    # Named by scripts/compiled.py, built by mypyc (BuildHotModules.run); a platform wheel.
    ext_modules=[Extension(name, sources=[]) for name in COMPILED.names()],
    cmdclass={"build_ext": BuildHotModules},
)
