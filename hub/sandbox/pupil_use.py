"""The record of use, written at release: which pupils' rows a released result drew on.

:func:`record_use` records, per contract of the job's scope, a keyed digest
(``hub.pseudonym.public.use_digest``) of every pupil whose rows were in that scope, with
the job, project and time (``hub.pseudonym.public.record_uses``). It holds no identifier
or pseudonym, and is what the DPO's per-pupil report (``hub.audit.pupil``) lists as the
pupil's releases.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlmodel import Session

from hub.context import HubContext
from hub.pseudonym.public import record_uses, use_key
from hub.sandbox.scope import ProjectScope
from hub.storage.port import ObjectStore


def record_use(ctx: HubContext, session: Session, job_id: str, scope: ProjectScope) -> int:
    """At release: record the use digest of every pupil in the scope of ``job_id``, per
    contract (the release calls this in its transaction); the digests recorded."""
    key, count = use_key(ctx.settings), 0
    for part in scope.parts:
        seen: set[str] = set()
        for path in part.paths:
            seen.update(_pseudonyms_in(ctx.store, path))
        record_uses(session, key, job_id, part.contract_id, scope.project_id, seen)
        count += len(seen)
    return count


def _pseudonyms_in(store: ObjectStore | None, path: str) -> set[str]:
    """The pseudonyms of one scope file: a local path, or ``s3://<bucket>/<key>``."""
    if path.startswith("s3://"):
        if store is None:
            return set()
        source: Any = io.BytesIO(store.get(path.split("/", 3)[3]))
    else:
        source = path
    table = pq.read_table(source, columns=["actor_pseudonym"])
    return {str(v) for v in pc.unique(table.column(0)).to_pylist() if v is not None}
