"""The sandbox's calls to the policy engine: ``edh/sandbox/query`` and ``edh/sandbox/release``.

Every contract of the project is decided on its own (``input.contract_id``), with the
tables (the contract's datasets the views read) and the lake fields behind the view
columns the query touches, as DuckDB's parse reports them. The obligations of all the
contracts combine into the strictest disclosure parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from contracts.model import DEFAULT_EPSILON_BUDGET, DEFAULT_EPSILON_PER_QUERY, ReleaseMode
from hub.auth import Principal
from hub.context import HubContext
from hub.enforcement.public import check
from hub.sandbox import sqlcheck, views
from hub.sandbox.scope import DEFAULT_K
from hub.trail.writer import Actor, Resource, Why

QUERY = "edh/sandbox/query"
RELEASE = "edh/sandbox/release"


@dataclass(frozen=True)
class Obligations:
    """The strictest disclosure parameters of the decisions of a project's contracts."""

    min_cell_size: int
    row_level: bool
    rounding_base: int | None
    release_mode: ReleaseMode
    epsilon_per_query: float  # what this query spends: the ε it asked for, else the default
    epsilon_max_per_query: float
    epsilon_budget: float


@dataclass(frozen=True)
class Request:
    """What a query asks, as the policy sees it (shared by query and release)."""

    project_id: str
    purpose: str | None
    tables: tuple[str, ...]
    columns: tuple[dict[str, str], ...]
    row_level: bool
    epsilon: float | None = None  # the ε the query asks to spend (None: the default)

    def input(self, contract: Mapping[str, Any]) -> dict[str, Any]:
        """The decision input for ``contract`` (subject and today are added by enforce)."""
        return {
            "project_id": self.project_id,
            "contract_id": str(contract["id"]),
            "purpose": self.purpose,
            "tables": [str(d) for d in contract.get("datasets") or []],
            "columns": list(self.columns),
            "row_level": self.row_level,
            "epsilon": self.epsilon,
        }


def lake_fields(
    checked: sqlcheck.CheckedQuery, view_set: views.ViewSet
) -> tuple[dict[str, str], ...]:
    """``[{table: view, column: lake field}]`` for every view column the query touches."""
    found: dict[tuple[str, str], None] = {}
    for table in checked.tables:
        for column in checked.columns:
            if column not in view_set.columns.get(table, ()):
                continue
            field = views.DERIVED.get(column, column)
            if field is not None:
                found[(table, field)] = None
    return tuple({"table": t, "column": c} for t, c in found)


def request(
    project_id: str,
    purpose: str | None,
    checked: sqlcheck.CheckedQuery,
    view_set: views.ViewSet,
    epsilon: float | None = None,
) -> Request:
    """The policy's view of a vetted query; row-level output is requested when the
    outermost SELECT does not aggregate; ``epsilon`` is the spend it asks for."""
    return Request(
        project_id=project_id,
        purpose=purpose,
        tables=checked.tables,
        columns=lake_fields(checked, view_set),
        row_level=not checked.aggregated,
        epsilon=epsilon,
    )


def query(
    ctx: HubContext,
    session: Session,
    principal: Principal,
    req: Request,
    contracts: Iterable[Mapping[str, Any]],
    job_id: str,
) -> Obligations:
    """Decide ``edh/sandbox/query`` for each contract; raise ``Forbidden`` (with the
    policy's reasons, audited) at the first refusal; return the combined obligations."""
    actor = Actor(principal.sub, "researcher", principal.org)
    obligations = [
        check(ctx, session, QUERY, req.input(c), actor, *_about(req, c, job_id)).obligations
        for c in contracts
    ]
    bases = [int(o["rounding_base"]) for o in obligations if o.get("rounding_base")]
    return Obligations(
        min_cell_size=max([DEFAULT_K, *(int(o.get("min_cell_size") or 0) for o in obligations)]),
        row_level=bool(obligations) and all(o.get("row_level") is True for o in obligations),
        rounding_base=max(bases) if bases else None,
        release_mode=_strictest_mode(obligations),
        epsilon_per_query=min(_floats(obligations, "epsilon_per_query", DEFAULT_EPSILON_PER_QUERY)),
        epsilon_max_per_query=min(
            _floats(obligations, "epsilon_max_per_query", DEFAULT_EPSILON_PER_QUERY)
        ),
        epsilon_budget=min(_floats(obligations, "epsilon_budget", DEFAULT_EPSILON_BUDGET)),
    )


def _strictest_mode(obligations: list[Mapping[str, Any]]) -> ReleaseMode:
    """Reviewed (exact, after two output checkers) as soon as one contract asks for it."""
    modes = {str(o.get("release_mode") or ReleaseMode.DIFFERENTIAL_PRIVACY) for o in obligations}
    if ReleaseMode.REVIEWED in modes:
        return ReleaseMode.REVIEWED
    return ReleaseMode.DIFFERENTIAL_PRIVACY


def _floats(obligations: list[Mapping[str, Any]], key: str, default: float) -> list[float]:
    """Each contract's ``key`` (the smallest wins), ``default`` when none states it."""
    return [float(o[key]) for o in obligations if o.get(key) is not None] or [default]


def release(
    ctx: HubContext,
    session: Session,
    owner: str,
    req: Request,
    contracts: Iterable[Mapping[str, Any]],
    job_id: str,
    min_cell_count: int,
) -> None:
    """Decide ``edh/sandbox/release`` for each contract before a result is released;
    raise ``Forbidden`` (audited, with the policy's reasons) at the first refusal.
    ``min_cell_count`` is the fewest pupils of a released cell."""
    actor = Actor(owner, "researcher")
    job = {
        "owner": owner,
        "row_level": req.row_level,
        "disclosure_checked": True,
        "min_cell_count": min_cell_count,
    }
    for c in contracts:
        body = {**req.input(c), "job": job}
        check(ctx, session, RELEASE, body, actor, *_about(req, c, job_id))


def _about(req: Request, contract: Mapping[str, Any], job_id: str) -> tuple[Resource, Why]:
    why = Why(contract_id=str(contract["id"]), project_id=req.project_id, purpose=req.purpose)
    return Resource("query_job", job_id), why
