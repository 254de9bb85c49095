"""Areas talk to each other only through their published interface (docs/architecture.md).

Each area of ``hub/`` publishes one module, ``hub/<area>/public.py``: the service
functions, read-only record types, value types and errors other areas and the web pages
may use. Any other import from one area (or ``hub/web``) into another area — its models,
its service modules, its routers — fails this test with the modules that make it. The app
assembly (``hub/app.py``, ``hub/cli.py``, ``hub/models.py``) and the migrations may still
reach inside an area to mount its routers and collect its tables.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

import hub
from tests.unit.test_one_way_imports import Edges, part_edges, throwaway_edges

AREAS = frozenset(
    {
        "enforcement",
        "registry",
        "catalog",
        "contracts",
        "pseudonym",
        "ingest",
        "sandbox",
        "audit",
        "dataspace",
        "erasure",
    }
)
CALLERS = AREAS | {"web"}


def around_interfaces(edges: Edges, package: str, areas: frozenset[str]) -> list[str]:
    """Each import from a caller into another area that does not target its ``public``."""
    return sorted(
        f"{importer} -> {imported}"
        for (caller, area), pairs in edges.items()
        if caller in areas | {"web"} and area in areas
        for importer, imported in pairs
        if imported != f"{package}.{area}.public"
    )


def test_an_import_of_another_area_s_internals_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "__init__.py": "",
        "app.py": "from pkg.low import models\n",
        "low/__init__.py": "",
        "low/models.py": "",
        "low/public.py": "from pkg.low import models\n",
        "high/__init__.py": "",
        "high/fine.py": "from pkg.low import public\n",
        "high/sneaky.py": "def late():\n    from pkg.low.models import Row\n",
        "web/__init__.py": "",
        "web/page.py": "import pkg.low.models\n",
    }
    edges = throwaway_edges(tmp_path, monkeypatch, files)
    assert around_interfaces(edges, "pkg", frozenset({"low", "high"})) == [
        "pkg.high.sneaky -> pkg.low.models",
        "pkg.web.page -> pkg.low.models",
    ]


def test_areas_import_each_other_only_through_their_public_module() -> None:
    graph = grimp.build_graph("hub", cache_dir=None)
    edges = part_edges(graph, "hub")
    assert any(area in AREAS and caller in CALLERS for caller, area in edges)  # graph read
    assert around_interfaces(edges, "hub", AREAS) == []


PUBLISHED = sorted(p.parent.name for p in Path(hub.__file__).parent.glob("*/public.py"))


def test_every_area_others_call_publishes_an_interface() -> None:
    assert set(PUBLISHED) >= AREAS - {"dataspace", "erasure"}  # the top areas serve only the app
    assert set(PUBLISHED) <= AREAS


@pytest.mark.parametrize("area", PUBLISHED)
def test_each_published_interface_states_its_contract_and_its_names(area: str) -> None:
    public = __import__(f"hub.{area}.public", fromlist=["__all__"])
    assert (public.__doc__ or "").strip(), f"hub/{area}/public.py has no docstring"
    assert public.__all__, f"hub/{area}/public.py publishes nothing (__all__)"
    assert all(hasattr(public, name) for name in public.__all__)
