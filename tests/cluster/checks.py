"""The end-of-run oracle: every promise checked against its source of truth (the lake
objects, the batch registry, the audit chain, the broker, each hub's ``/health``)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlmodel import Session, select

from hub.ingest.complete import REGISTERED_TOPIC, batch_event
from hub.ingest.integrity import RULE as LAKE_RULE
from hub.ingest.models import IngestBatch
from hub.trail.models import AuditAlert
from tests.cluster.topology import HUB, Cluster
from tests.support.ingest_cli import lake_statement_ids, registered
from tests.support.topics import read_topic


@dataclass
class Verdict:
    """Counts and violations of one run (``ok`` when there is none)."""

    acknowledged: int = 0
    in_lake: int = 0
    lost: int = 0
    duplicated: int = 0
    batches: int = 0
    redelivered: int = 0
    queries: int = 0
    audit_ok: bool = False
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_lake(cluster: Cluster, acknowledged: set[str], verdict: Verdict) -> None:
    """Every acknowledged statement in the lake exactly once (by statement id)."""
    assert cluster.setup is not None
    counts = Counter(lake_statement_ids(cluster.setup))
    verdict.acknowledged = len(acknowledged)
    verdict.in_lake = sum(1 for i in acknowledged if i in counts)
    verdict.lost = verdict.acknowledged - verdict.in_lake
    verdict.duplicated = sum(n - 1 for n in counts.values() if n > 1)
    if verdict.lost:
        verdict.violations.append(f"{verdict.lost} acknowledged statements not in the lake")
    if verdict.duplicated:
        verdict.violations.append(f"{verdict.duplicated} statements duplicated in the lake")


def check_batches(cluster: Cluster, verdict: Verdict) -> list[IngestBatch]:
    """Every registered batch's objects have their registered SHA-256; returns the batches."""
    assert cluster.setup is not None and cluster.setup.ctx.store is not None
    store = cluster.setup.ctx.store
    batches = registered(cluster.setup)
    verdict.batches = len(batches)
    for batch in batches:
        for f in batch.files:
            if hashlib.sha256(store.get(str(f["key"]))).hexdigest() != f["sha256"]:
                verdict.violations.append(f"batch {batch.id}: an object differs from its digest")
    return batches


def check_audit(cluster: Cluster, verdict: Verdict) -> None:
    """``edh audit verify``: the chain and every checkpoint reproduce."""
    out = subprocess.run(
        [*HUB, "audit", "verify", "--json"],
        env=cluster.hub_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    verdict.audit_ok = out.returncode == 0 and bool(json.loads(out.stdout or "{}").get("ok"))
    if not verdict.audit_ok:
        verdict.violations.append("the audit chain or a checkpoint does not verify")


def check_events(bootstrap: str, batches: list[IngestBatch], verdict: Verdict) -> None:
    """Every registered batch announced at least once on ``batch.registered``, and a
    consumer that deduplicates by event id sees the registry exactly: redelivered copies
    are identical, and no event announces a batch the registry does not hold as sent."""
    events = read_topic(bootstrap, REGISTERED_TOPIC)
    if events is None:
        verdict.violations.append(f"{REGISTERED_TOPIC} could not be read to its end")
        return
    deduplicated: dict[str, dict[str, object]] = {}
    for event in events:
        if deduplicated.setdefault(event["id"], event) != event:
            verdict.violations.append(f"event {event['id']} redelivered with other content")
    verdict.redelivered = len(events) - len(deduplicated)
    expected = {b.id: batch_event(b) for b in batches}
    missing = expected.keys() - deduplicated.keys()
    if missing:
        verdict.violations.append(f"{len(missing)} registered batches never announced")
    unknown = deduplicated.keys() - expected.keys()
    if unknown:
        verdict.violations.append(f"{len(unknown)} announced batches are not registered")
    differ = [i for i in expected.keys() & deduplicated.keys() if expected[i] != deduplicated[i]]
    if differ:
        verdict.violations.append(f"{len(differ)} announcements differ from their batch")


def check_health(cluster: Cluster, verdict: Verdict, timeout: float = 60) -> None:
    """Every hub answers ``/health`` with 200 (bounded wait: dependencies are back)."""
    for name, service in cluster.services.items():
        if not name.startswith("hub-"):
            continue
        deadline, healthy = time.monotonic() + timeout, False
        while not healthy and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{service.port}/health"
                healthy = httpx.get(url, timeout=5).status_code == 200
            except httpx.HTTPError:
                pass
            if not healthy:
                time.sleep(1)
        if not healthy:
            verdict.violations.append(f"{name} stayed unhealthy")


def check_alerts(cluster: Cluster, verdict: Verdict) -> int:
    """No ``lake-integrity`` alert for a missing object: nothing deletes lake objects in a
    run, so any is false. Returns how many alerts were for a changed object: the S3
    stand-in's journal replay gives every object a new version id and date (MinIO keeps
    them), so a read across its restart sees a change and is failed, as it should be."""
    assert cluster.setup is not None
    with Session(cluster.setup.ctx.engine) as session:
        alerts = list(session.exec(select(AuditAlert).where(AuditAlert.rule == LAKE_RULE)))
    missing = [a for a in alerts if _alerted_absent(a)]
    if missing:
        verdict.violations.append(f"{len(missing)} lake-integrity alerts for present objects")
    return len(alerts) - len(missing)


def _alerted_absent(alert: AuditAlert) -> bool:
    """Whether ``alert`` was raised for an absent object (its key is the SHA-256 of
    ``object key|state``, the state ``absent`` for a missing one)."""
    found = re.search(r"lac (\S+) ", alert.message)
    key = found.group(1) if found else ""
    return hashlib.sha256(f"{key}|absent".encode()).hexdigest() == alert.key
