"""``python -m tests.cluster [--kills N] [--seconds S] [--seed X]`` (``scripts/cluster.sh``):
start the topology, load it, break it, drain it, check it; exit 1 on any violation."""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.chaos import Chaos
from tests.cluster.checks import (
    Verdict,
    check_alerts,
    check_audit,
    check_batches,
    check_events,
    check_health,
    check_lake,
)
from tests.cluster.load import Emitter, Shipper, drain
from tests.cluster.research import (
    Researcher,
    check_queries,
    researcher_token,
    unexpected_answers,
)
from tests.cluster.topology import Cluster, start_cluster


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cluster.sh", description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="processes killed (-9)")
    parser.add_argument("--seconds", type=float, default=90, help="duration of the chaos")
    parser.add_argument("--seed", type=int, default=None, help="random seed (reproducible)")
    parser.add_argument(
        "--overlap", type=float, default=0.2, help="share of kills that take two processes down"
    )
    parser.add_argument("--connectors", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs)")
    return parser.parse_args(argv)


@dataclass
class Load:
    """The threads that load the topology: vendors' emitters, shippers, researchers."""

    emitters: list[Emitter] = field(default_factory=list)
    shippers: list[Shipper] = field(default_factory=list)
    researchers: list[Researcher] = field(default_factory=list)

    def threads(self) -> list[Emitter | Shipper | Researcher]:
        return [*self.emitters, *self.shippers, *self.researchers]


def _load(cluster: Cluster, seed: int) -> Load:
    load = Load()
    for i, (name, env) in enumerate(cluster.connector_envs.items()):
        port = cluster.services[name].port
        load.emitters.append(Emitter(f"http://127.0.0.1:{port}", seed + i))
        load.shippers.append(Shipper(name, env, cluster.run_dir / "logs"))
    token = researcher_token(cluster)
    load.researchers = [Researcher(cluster, token) for _ in range(2)]
    for thread in load.threads():
        thread.start()
    return load


def _settle(cluster: Cluster, load: Load) -> list[str]:
    """Stop the load, bring every service back, ship every spool; names of undrained ones."""
    threads = load.threads()
    for thread in threads:
        thread.stopping.set()
    for thread in threads:
        thread.join(timeout=180)
    for service in cluster.services.values():
        service.resume()
        if service.proc is None or service.proc.poll() is not None:
            service.start()
    return [s.name for s in load.shippers if not drain(s)]


def _verdict(cluster: Cluster, load: Load, undrained: list[str]) -> Verdict:
    assert cluster.setup is not None
    cluster.setup.ctx.engine.dispose()  # its pooled sessions died with a killed PostgreSQL
    verdict = Verdict()
    verdict.violations += [f"{name} could not ship its spool" for name in undrained]
    check_health(cluster, verdict)
    acknowledged = set().union(*(e.acknowledged for e in load.emitters))
    check_lake(cluster, acknowledged, verdict)
    batches = check_batches(cluster, verdict)
    check_events(cluster.hub_env["EDH_BUS__BOOTSTRAP_SERVERS"], batches, verdict)
    verdict.queries, problems = check_queries(cluster, researcher_token(cluster))
    verdict.violations += problems
    answers = sum((r.answers for r in load.researchers), Counter[str]())
    verdict.violations += unexpected_answers(answers)
    print(f"cluster: query submissions answered {dict(sorted(answers.items()))}")
    changed = check_alerts(cluster, verdict)
    print(f"cluster: {changed} lake-integrity alerts for objects re-versioned by an S3 restart")
    check_audit(cluster, verdict)
    return verdict


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so every started process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    run_dir = Path(tempfile.mkdtemp(prefix="edh-cluster-"))
    started = time.monotonic()
    cluster = start_cluster(run_dir, connectors=args.connectors)
    try:
        load = _load(cluster, seed)
        time.sleep(3)
        chaos = Chaos(cluster.services, load.shippers, random.Random(seed))
        phases = {"start": time.monotonic() - started}
        report = chaos.run(args.kills, args.seconds, overlap_share=args.overlap)
        phases["chaos"] = time.monotonic() - started - sum(phases.values())
        undrained = _settle(cluster, load)
        phases["drain"] = time.monotonic() - started - sum(phases.values())
        verdict = _verdict(cluster, load, undrained)
        phases["checks"] = time.monotonic() - started - sum(phases.values())
    finally:
        cluster.stop()
    verdict.violations += [f"{name} did not restart" for name in report.not_restarted]
    elapsed = time.monotonic() - started
    print(f"cluster: seed {seed}; actions {dict(sorted(report.actions.items()))}")
    print("cluster: phases " + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()))
    for violation in verdict.violations:
        print(f"cluster: VIOLATION {violation}")
    print(
        f"cluster: {report.kills} kills over {elapsed:.0f} s: "
        f"acknowledged {verdict.acknowledged}, in lake {verdict.in_lake}, lost {verdict.lost}, "
        f"duplicated {verdict.duplicated}; batches {verdict.batches}; "
        f"queries {verdict.queries}; audit {'OK' if verdict.audit_ok else 'FAILED'}"
    )
    if args.keep or not verdict.ok:
        print(f"cluster: logs kept in {run_dir}", file=sys.stderr)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
