"""No two top-level parts of ``hub/`` import each other (docs/architecture.md).

``lint-imports`` (the ``hub-layers`` contract) orders the layers and the areas; packages
that share a layer line with ``:`` (``web : system``, ``context : deps``, ...) may still
import each other, one way. This test closes that gap: across every part of ``hub/``, an
import from A to B and one from B to A, anywhere in their modules (inside functions too,
which grimp reads like any other import), fail the suite with the modules that make them.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

Edges = dict[tuple[str, str], list[tuple[str, str]]]


def part_edges(graph: grimp.ImportGraph, package: str) -> Edges:
    """``(part A, part B) → [(importer, imported)]`` for every import between two
    different top-level parts of ``package``."""
    edges: Edges = {}
    prefix = package + "."
    for importer in graph.modules:
        if not importer.startswith(prefix):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if not imported.startswith(prefix):
                continue
            a, b = importer.split(".")[1], imported.split(".")[1]
            if a != b:
                edges.setdefault((a, b), []).append((importer, imported))
    return edges


def throwaway_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> Edges:
    """``part_edges`` of a package ``pkg`` written under ``tmp_path`` from ``files``
    (path inside the package → source), importable for the rest of the test."""
    for name, text in files.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return part_edges(grimp.build_graph("pkg", cache_dir=None), "pkg")


def two_way_pairs(edges: Edges) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each pair of parts importing each other (``a < b``), with the imports both ways."""
    return {
        (a, b): sorted(edges[(a, b)] + edges[(b, a)]) for a, b in edges if a < b and (b, a) in edges
    }


def test_a_pair_importing_each_other_is_found_even_inside_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "__init__.py": "",
        "kernel/__init__.py": "",
        "kernel/db.py": "",
        "low/__init__.py": "",
        "low/service.py": "from pkg.kernel import db\n\n\ndef late():\n"
        "    from pkg.high import api\n",
        "high/__init__.py": "",
        "high/api.py": "from pkg.low import service\n",
    }
    edges = throwaway_edges(tmp_path, monkeypatch, files)
    assert set(edges) == {("low", "kernel"), ("low", "high"), ("high", "low")}
    assert two_way_pairs(edges) == {
        ("high", "low"): [("pkg.high.api", "pkg.low.service"), ("pkg.low.service", "pkg.high.api")]
    }


def test_no_two_parts_of_the_hub_import_each_other() -> None:
    graph = grimp.build_graph("hub", cache_dir=None)
    edges = part_edges(graph, "hub")
    assert len(edges) > 100  # the graph was read (about 210 edges between parts)
    assert two_way_pairs(edges) == {}
