"""The end of ``edh-demo``: the demo researcher runs one query and reads its report."""

from __future__ import annotations

import time
from typing import Any

from hub.auth import Principal, Role
from hub.context import HubContext
from hub.db import session_scope
from hub.errors import HubError
from hub.sandbox.public import ACTIVE, JobRecord, get_job, runtime_for, submit
from hub.web.labels import reason
from hub.web.research import STATUS_LABELS

DEMO_SQL = (  # the shape released under differential privacy: per pupil, then per school
    "WITH p AS (SELECT pupil_id, any_value(school_id) AS school_id, count(*) AS n_statements "
    "FROM statements GROUP BY pupil_id) SELECT school_id, count(*) AS eleves, "
    "avg(least(greatest(n_statements, 0), 100)) AS traces_par_eleve "
    "FROM p GROUP BY school_id ORDER BY school_id"
)


def run_demo_query(ctx: HubContext, project_id: str, researcher_sub: str) -> JobRecord:
    """Submit ``DEMO_SQL`` as ``researcher_sub`` and wait (at most a minute) for the job."""
    principal = Principal(sub=researcher_sub, roles=frozenset({str(Role.RESEARCHER)}))
    with session_scope(ctx.engine) as session:
        # No declared purpose: the project's own, which its contract took up, applies.
        job = submit(runtime_for(ctx), session, principal, project_id, DEMO_SQL, None)
    deadline = time.monotonic() + 60
    while True:
        with session_scope(ctx.engine) as session:
            current = get_job(session, principal, job.id)
            if current.status not in ACTIVE or time.monotonic() > deadline:
                return current
        time.sleep(0.1)


def print_demo_query(ctx: HubContext, project_id: str, researcher_sub: str) -> None:
    """Run the demo query and print its released result and disclosure summary (French)."""
    print("  requête chercheur :", DEMO_SQL)
    try:
        job = run_demo_query(ctx, project_id, researcher_sub)
    except HubError as exc:
        print(f"  requête refusée   : {reason(exc.detail)}")
        return
    print(f"  état              : {STATUS_LABELS.get(job.status, job.status)} (requête {job.id})")
    if job.result is not None and job.report is not None:
        print("  résultat          :", ", ".join(job.result["columns"]))
        for row in job.result["rows"]:
            print(
                "                     ", " | ".join("masqué" if v is None else str(v) for v in row)
            )
        print("  diffusion         :", _release_fr(job.report))
    else:
        print("  motifs            :", "; ".join(reason(r) for r in job.reasons))


def _release_fr(report: dict[str, Any]) -> str:
    """How the result was released, in French (differential privacy, or exact after the
    airlock)."""
    if report.get("release_mode") == "differential_privacy":
        left = report["budget"]["epsilon_remaining"]
        return f"bruit calibré (ε = {report['epsilon']:.2f} dépensé, budget restant {left:.2f})"
    summary = report["summary"]
    return (
        f"résultat exact approuvé par deux contrôleurs des sorties, k = {report['k']}, "
        f"{summary['rows_released']} ligne(s) communiquée(s), "
        f"{summary['rows_dropped']} écartée(s) sous le seuil"
    )
