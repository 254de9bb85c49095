"""Erasure in the airlock's cell ledger (``sandbox_output_hold.cells``).

A project sees a pupil as ``pupil_id = xor(hash(contract pseudonym), hash(project key))``
(DuckDB's 64-bit ``hash``, ``hub.sandbox.views``). For each project of a contract the
register covers, the erased pupils' ids are computed the same way and leave the bottom-m
sketches of the cells of the project's exact results, held or released (the cells'
counts stay: they are what was published or reviewed). Releases under differential
privacy keep no pupil sketch. Stored results never hold a pupil id (the sandbox refuses to release
``pupil_id``), so there is nothing in them to find a pupil by.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import duckdb
from sqlmodel import Session, select

from hub.contracts.public import projects_of_contracts
from hub.sandbox.airlock.models import OutputHold
from hub.sandbox.scope import project_key

CellChange = Callable[[dict[str, Any]], dict[str, Any]]


def pupil_ids(secret: bytes, project_id: str, pseudonyms: set[str]) -> set[int]:
    """The project's ids of these contract pseudonyms (as the sandbox's views compute them)."""
    key = project_key(secret, project_id)
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT xor(hash(p), hash($key)) FROM unnest($ps::VARCHAR[]) t(p)",
            {"key": key, "ps": sorted(pseudonyms)},
        ).fetchall()
    return {int(r[0]) for r in rows}


def _by_project(session: Session, wanted: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    projects: dict[str, set[str]] = {}
    for contract_id, project_id in projects_of_contracts(session, set(wanted)).items():
        projects.setdefault(project_id, set()).update(wanted[contract_id])
    return projects


def erase_from_ledger(session: Session, secret: bytes, wanted: dict[str, dict[str, str]]) -> int:
    """Remove the pupils of ``wanted`` (contract → pseudonym → request) from the sketches
    of the cells of the exact results held or released to the contracts' projects; the
    cells changed."""
    changed = 0
    for project_id, pseudonyms in _by_project(session, wanted).items():
        texts = {str(i) for i in pupil_ids(secret, project_id, pseudonyms)}
        changed += _change_cells(session, project_id, functools.partial(_without, texts=texts))
    return changed


def _change_cells(session: Session, project_id: str, change: CellChange) -> int:
    """Apply ``change`` to every cell of the project's held or released exact results
    (it returns the cell itself when it leaves it alone); the cells changed."""
    changed = 0
    holds = session.exec(select(OutputHold).where(OutputHold.project_id == project_id))
    for hold in holds.all():
        cells = [change(cell) for cell in hold.cells]
        touched = sum(a is not b for a, b in zip(cells, hold.cells, strict=True))
        if touched:
            hold.cells, changed = cells, changed + touched
            session.add(hold)
    return changed


def _without(cell: dict[str, Any], texts: set[str]) -> dict[str, Any]:
    """``cell`` itself when none of ``texts`` is in its sketch, else a copy without them."""
    if not texts.intersection(str(x) for x in cell["sketch"]):
        return cell
    return {**cell, "sketch": [x for x in cell["sketch"] if str(x) not in texts]}


def _ids_in_order(secret: bytes, project_id: str, pseudonyms: list[str]) -> list[int]:
    """The project's ids of ``pseudonyms``, in their order."""
    key = project_key(secret, project_id)
    with duckdb.connect() as con:
        row = con.execute(
            "SELECT list_transform($ps::VARCHAR[], p -> xor(hash(p), hash($key)))",
            {"key": key, "ps": pseudonyms},
        ).fetchone()
    assert row is not None
    return [int(x) for x in row[0]]


def remap_ledger(session: Session, secret: bytes, project_id: str, mapping: dict[str, str]) -> int:
    """After a re-pseudonymisation (``mapping``: old pseudonym → new), replace the old
    ids of the project's cell sketches by the new ones (a sketch then holds the same
    pupils, sorted, no longer necessarily the smallest ids); the cells changed."""
    olds = sorted(mapping)
    before = _ids_in_order(secret, project_id, olds)
    after = _ids_in_order(secret, project_id, [mapping[o] for o in olds])
    ids = {str(a): b for a, b in zip(before, after, strict=True)}
    return _change_cells(session, project_id, functools.partial(_remapped, ids=ids))


def _remapped(cell: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    """``cell`` itself when none of its sketch is in ``ids``, else a copy mapped."""
    if not ids.keys() & {str(x) for x in cell["sketch"]}:
        return cell
    values = sorted(ids.get(str(x), int(x)) for x in cell["sketch"])
    return {**cell, "sketch": [str(v) for v in values]}
