"""The sandbox area's published interface: the only module of ``hub.sandbox`` that other
areas and ``hub/web`` import.

The sandbox owns the researchers' query jobs, the DuckDB worker, disclosure control, the
airlock (held exact results, the output checkers' reviews, its cell ledger), the
differential privacy budget and releases, and the record of use written at release.
It publishes:

- the query jobs of a researcher (``submit``, ``preview``, ``get_job``, ``list_jobs``,
  ``cancel``, ``privacy_budget``, the ``ACTIVE`` statuses) and the job as the API answers
  it (``JobOut``, ``job_out``); a job is handed out as a :class:`JobRecord`, read-only for
  callers (only the sandbox changes a job);
- the sandbox runtime of a hub context (``runtime_for``) and a result as CSV (``to_csv``);
- the airlock for output checkers: ``held_results`` (awaiting review), ``read_held``,
  ``review_held`` with its ``ReviewAction``, and ``HOLD_PENDING``; a held result is
  handed out as a :class:`HeldRecord` (its hold, job and reviews);
- what erasure, re-pseudonymisation and retention change in the sandbox:
  ``erase_from_ledger``, ``remap_ledger`` (the airlock's cell ledger) and
  ``purge_results`` (results and ledgers past their contracts' retention).

Every record it hands out is read-only for callers: only the sandbox changes them.
"""

from hub.sandbox.airlock.ledger import erase_from_ledger, remap_ledger
from hub.sandbox.airlock.models import PENDING as HOLD_PENDING
from hub.sandbox.airlock.service import Action as ReviewAction
from hub.sandbox.airlock.service import pending as held_results
from hub.sandbox.airlock.service import read as read_held
from hub.sandbox.airlock.service import review as review_held
from hub.sandbox.jobs import cancel, get_job, list_jobs, preview, privacy_budget, submit
from hub.sandbox.models import ACTIVE
from hub.sandbox.output import to_csv
from hub.sandbox.records import HeldRecord, JobRecord
from hub.sandbox.retention import purge_results
from hub.sandbox.runtime import runtime_for
from hub.sandbox.schemas import JobOut, job_out

__all__ = [
    "ACTIVE",
    "HOLD_PENDING",
    "HeldRecord",
    "JobOut",
    "JobRecord",
    "ReviewAction",
    "cancel",
    "erase_from_ledger",
    "get_job",
    "held_results",
    "job_out",
    "list_jobs",
    "preview",
    "privacy_budget",
    "purge_results",
    "read_held",
    "remap_ledger",
    "review_held",
    "runtime_for",
    "submit",
    "to_csv",
]
