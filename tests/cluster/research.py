"""The researchers' side: a query submitted every few seconds through the proxy on the
project whose contracts cover the ingested data, and the end-of-run oracle of query jobs
and of the privacy budget (read from the database, the source of truth)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, union_all
from sqlmodel import Session, col, select

from contracts.problems import PROBLEM_TYPE_PREFIX
from hub.sandbox.dp.budget import EPSILON_SLACK
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.models import ACTIVE, QueryJob
from hub.trail.models import AuditEvent, AuditPending
from tests.cluster.topology import QUERY_TERMS, Cluster

# Allowed under differential privacy: pupils and statements by school and by verb.
QUERIES = (
    "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY school_id",
    "SELECT verb_id, count(*) AS n FROM statements GROUP BY verb_id",
)
RELEASE = "sandbox.query.release"
NOT_FINISHED = (*ACTIVE, "pending_review")


# What a query of ``QUERIES`` may be answered besides 202: no answer (0) or 502/503 while
# parts are down, the budget spent, or a refusal because a lake object no longer matches
# its registered digest (the S3 stand-in re-versions objects when it replays its journal).
EXPECTED_ANSWERS = frozenset(
    {
        "0",
        "202",
        "502",
        "503",
        "409 privacy-budget-spent",
        "400 query-refused: lake-object-altered",
    }
)


def answer_kind(status: int, body: bytes) -> str:
    """``"202"``; a client error with its problem's type and first reason, e.g.
    ``"400 query-refused: lake-object-altered"``; ``"0"`` for no answer."""
    if not 400 <= status < 500:
        return str(status)
    try:
        problem = json.loads(body)
        kind = f"{status} {str(problem['type']).removeprefix(PROBLEM_TYPE_PREFIX)}"
    except (ValueError, TypeError, KeyError):
        return f"{status} not problem+json"
    reasons = problem.get("reasons") or []
    return f"{kind}: {reasons[0]}" if kind.endswith("query-refused") and reasons else kind


def unexpected_answers(answers: Counter[str]) -> list[str]:
    """A violation for each kind of answer outside ``EXPECTED_ANSWERS``."""
    return [
        f"{n} query submissions answered {kind}"
        for kind, n in sorted(answers.items())
        if kind not in EXPECTED_ANSWERS
    ]


class Researcher(threading.Thread):
    """Submits one of ``QUERIES`` every ``interval`` seconds until stopped; ``answers``
    counts the answers it got by ``answer_kind``."""

    def __init__(self, cluster: Cluster, token: Callable[[], str], interval: float = 2.0):
        super().__init__(daemon=True)
        assert cluster.setup is not None and cluster.ca_file is not None
        project = cluster.setup.world.project_id
        self.url = f"{cluster.proxy_url}/api/v1/projects/{project}/queries"
        self.purpose = str(cluster.setup.world.terms()["purpose"])  # the contracts' purpose
        self.verify, self.token, self.interval = str(cluster.ca_file), token, interval
        self.answers: Counter[str] = Counter()
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(verify=self.verify, timeout=15) as client:
            for turn in range(1_000_000):
                if self.stopping.wait(self.interval):
                    return
                self._submit(client, QUERIES[turn % len(QUERIES)])

    def _submit(self, client: httpx.Client, sql: str) -> None:
        headers = {"Authorization": f"Bearer {self.token()}"}
        try:
            body = {"sql": sql, "purpose": self.purpose}
            answer = client.post(self.url, json=body, headers=headers)
            kind = answer_kind(answer.status_code, answer.content)
        except httpx.HTTPError:
            kind = answer_kind(0, b"")
        self.answers[kind] += 1


def researcher_token(cluster: Cluster) -> Callable[[], str]:
    """A fresh token of the project's researcher (``claire``) at every call."""
    setup = cluster.setup
    assert setup is not None
    lab = setup.world.lab_id
    return lambda: setup.ctx.issuer.mint("claire", ["researcher"], org=lab)


def _wait_finished(session_of: Callable[[], Session], project: str, timeout: float) -> int:
    """Wait (bounded) until no job of ``project`` is queued or running; how many still are."""
    deadline = time.monotonic() + timeout
    while True:
        with session_of() as session:
            active = session.exec(
                select(func.count())
                .select_from(QueryJob)
                .where(QueryJob.project_id == project, col(QueryJob.status).in_(ACTIVE))
            ).one()
        if active == 0 or time.monotonic() > deadline:
            return int(active)
        time.sleep(1)


def _release_events(session: Session, job_ids: set[str]) -> Counter[str]:
    """How many release events the audit trail (sealed or pending) holds for each job."""
    rows = union_all(
        *(
            select(table.resource_id).where(table.action == RELEASE)  # type: ignore[attr-defined]
            for table in (AuditEvent, AuditPending)
        )
    )
    return Counter(r[0] for r in session.execute(rows) if r[0] in job_ids)


def _cost(job: QueryJob) -> float:
    """The ε the job's report says it cost (0 when it states none)."""
    return float((job.report or {}).get("epsilon", 0.0))


def query_violations(session: Session, project: str, budget: float) -> tuple[int, list[str]]:
    """The project's jobs, counted, and what is wrong with them and with its ledger: a job
    not finished, released twice or without its debit, a debit without a release or a
    charged failure, a spend that is not the sum of the ε its released and failed runs
    report, or more than ``budget``."""
    jobs = list(session.exec(select(QueryJob).where(QueryJob.project_id == project)).all())
    released = {j.id for j in jobs if j.status == "succeeded"}
    # a differentially private run that failed is charged too (its failure is a bit about
    # the data): its report states the ε it cost
    charged = released | {j.id for j in jobs if j.status == "failed" and _cost(j) > 0}
    ledger = list(session.exec(select(BudgetSpend).where(BudgetSpend.project_id == project)))
    debited = Counter(row.job_id for row in ledger)
    events = _release_events(session, {j.id for j in jobs})
    problems = [f"job {j.id} is still {j.status}" for j in jobs if j.status in NOT_FINISHED]
    problems += [f"job {j} released {n} times" for j, n in events.items() if n > 1]
    problems += [f"job {j} debited {n} times" for j, n in debited.items() if n > 1]
    problems += [f"job {j} released without its debit" for j in released - set(debited)]
    failed_charged = charged - released
    problems += [f"job {j} debited, neither released nor failed" for j in set(debited) - charged]
    problems += [f"failed job {j} charged without its debit" for j in failed_charged - set(debited)]
    problems += [f"job {j} released without its audit event" for j in released - set(events)]
    released_epsilon = sum(_cost(j) for j in jobs if j.id in charged)
    spent = sum(row.epsilon for row in ledger)
    if abs(spent - released_epsilon) > EPSILON_SLACK * max(1, len(ledger)):
        problems.append(f"the ledger spent {spent} ε, the released reports {released_epsilon}")
    if spent > budget + EPSILON_SLACK * max(1, len(ledger)):
        problems.append(f"the ledger spent {spent} ε of a budget of {budget}")
    return len(jobs), problems


def api_budget(cluster: Cluster, token: Callable[[], str], attempts: int = 10) -> dict[str, Any]:
    """The project's budget as the API serves it through the proxy (``{}`` if it does not)."""
    assert cluster.setup is not None and cluster.ca_file is not None
    url = f"{cluster.proxy_url}/api/v1/projects/{cluster.setup.world.project_id}/budget"
    for _ in range(attempts):
        try:
            answer = httpx.get(
                url, headers={"Authorization": f"Bearer {token()}"}, verify=str(cluster.ca_file)
            )
            if answer.status_code == 200:
                return dict(answer.json())
        except httpx.HTTPError:
            pass
        time.sleep(1)
    return {}


def check_queries(
    cluster: Cluster, token: Callable[[], str], timeout: float = 120
) -> tuple[int, list[str]]:
    """Every query job finished and the budget consistent (``query_violations``), and the
    budget the API serves equal to the ledger's."""
    setup = cluster.setup
    assert setup is not None
    project = setup.world.project_id

    def session_of() -> Session:
        return Session(setup.ctx.engine)

    _wait_finished(session_of, project, timeout)
    budget = float(QUERY_TERMS["epsilon_budget"])
    with session_of() as session:
        count, problems = query_violations(session, project, budget)
        ledger = session.exec(select(BudgetSpend).where(BudgetSpend.project_id == project))
        spent = round(sum(row.epsilon for row in ledger), 4)
    served = api_budget(cluster, token).get("epsilon_spent")
    if served != spent:
        problems.append(f"the API serves {served} ε spent, the ledger holds {spent}")
    return count, problems
