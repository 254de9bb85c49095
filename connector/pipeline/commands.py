"""Connector commands of the pipeline: ``init``, ``push FILE``, ``ship``, ``simulate``."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.config import ConnectorSettings
from connector.pipeline.client import HubClient, HubRefused
from connector.pipeline.lake import use_system_allocator
from connector.pipeline.pages import release_mapped_files
from connector.pipeline.register import agent_of
from connector.pipeline.retention import SPOOL_SOURCE, purge_spool
from connector.pipeline.runner import PushReport, Target, push
from connector.pipeline.sources import file_digest, open_source, read_statements
from connector.pipeline.state import PipelineState

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"


def key_path(settings: ConnectorSettings) -> Path:
    """Where the connector's private key lives."""
    return settings.hub.key_file or settings.data_dir / "keys" / "connector-ed25519.pem"


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_key(path: Path) -> Ed25519PrivateKey:
    """The connector's private key; ``ValueError`` if missing or not Ed25519."""
    if not path.exists():
        raise ValueError(f"clé absente : {path} (lancez `edh-connector init`)")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} n'est pas une clé Ed25519")
    return key


def _init(args: argparse.Namespace) -> int:
    path = key_path(ConnectorSettings())
    if path.exists() and not args.force:
        print(f"Clé existante conservée : {path}", file=sys.stderr)
    else:
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        print(f"Nouvelle paire de clés Ed25519 : {path}", file=sys.stderr)
    print("Clé publique à enregistrer auprès du hub (POST /api/v1/connectors) :", file=sys.stderr)
    print(public_pem(load_key(path)), end="")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr (statements done / total when known)."""

    def __init__(self, total: int | None, stream: IO[str] = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream

    def __call__(self, count: int) -> None:
        self.done += count
        if self.total:
            filled = int(30 * min(1.0, self.done / self.total))
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} déclarations")
        else:
            self.stream.write(f"\r{self.done} déclarations")
        self.stream.flush()


def _count_lines(path: Path) -> int | None:
    """Lines of a JSON Lines file (None for a JSON array: its size is unknown up front)."""
    with open_source(path) as fh:
        first = fh.readline()
        if first.lstrip().startswith(b"["):
            return None
        return int(bool(first.strip())) + sum(1 for line in fh if line.strip())


def hub_client(args: argparse.Namespace, settings: ConnectorSettings) -> HubClient:
    """The hub client of a command (``--hub``, ``--connector-id``, else the settings);
    ``ValueError`` without the connector's key."""
    link = settings.hub
    return HubClient(
        args.hub or link.url, args.connector_id or link.connector_id, load_key(key_path(settings))
    )


def _shipper(args: argparse.Namespace) -> tuple[ConnectorSettings, HubClient, Target]:
    settings = ConnectorSettings()
    link = settings.hub
    client = hub_client(args, settings)
    terms = client.terms(args.contract or link.contract_id)
    dataset = (
        args.dataset or link.dataset_id or (terms.datasets[0] if len(terms.datasets) == 1 else "")
    )
    if not dataset:
        raise ValueError(f"précisez --dataset parmi : {', '.join(terms.datasets)}")
    return settings, client, Target(terms, dataset)


def _report(report: PushReport) -> int:
    print(
        f"\n{report.accepted} déclarations acceptées, {len(report.rejected)} rejetées ; "
        f"{report.batches_registered} lots enregistrés, "
        f"{report.batches_already_registered} déjà enregistrés ; "
        f"{report.dropped_erased} écartées (élèves effacés), "
        f"{report.dropped_expired} écartées (au-delà de la durée de conservation)",
        file=sys.stderr,
    )
    for rejection in report.rejected[:20]:
        print(f"  rejet position {rejection.cursor} : {rejection.reason}", file=sys.stderr)
    return 1 if report.rejected else 0


def _run_push(
    args: argparse.Namespace,
    source: str,
    items_from: Any,
    total: int | None,
    forget: Callable[[set[str]], None] | None = None,
) -> int:
    """Push ``items_from(cursor)`` to the contract; ``forget`` then receives the
    identifiers the run recognised as erased."""
    use_system_allocator()
    try:
        settings, client, target = _shipper(args)
    except ValueError as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 2
    except (HubRefused, httpx.HTTPError) as exc:
        print(f"edh-connector: {exc}", file=sys.stderr)
        return 3
    release_mapped_files()
    try:
        state = PipelineState.load(settings.state_path)
        report = push(
            items_from(state.cursors.get(source, 0)),
            source=source,
            client=client,
            key=load_key(key_path(settings)),
            target=target,
            state=state,
            batch_size=args.batch_size or settings.hub.batch_size,
            progress=ProgressBar(total),
        )
    except (HubRefused, httpx.HTTPError) as exc:
        print(f"\nedh-connector: {exc}", file=sys.stderr)
        return 3
    finally:
        client.close()
        if forget is not None:  # even after a failed run: never to be shipped
            forget(target.terms.erased.seen)
    return _report(report)


def _push(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"edh-connector: fichier introuvable : {path}", file=sys.stderr)
        return 2
    source = f"file:{file_digest(path)}"
    return _run_push(args, source, lambda after: read_statements(path, after), _count_lines(path))


def spool_items(spool: Any, after: int, page: int = 5000) -> Iterator[tuple[int, Any]]:
    """Non-voided spooled statements after ``after``, with their spool sequence numbers."""
    while True:
        rows = spool.read_after(after, page)
        if not rows:
            return
        for row in rows:
            after = row.seq
            if not row.voided:
                yield row.seq, row.statement


def _ship(args: argparse.Namespace) -> int:
    from connector.spool import Spool

    settings = ConnectorSettings()
    spool = Spool(settings.spool_path)

    def forget(identifiers: set[str]) -> None:
        for identifier in sorted(identifiers):
            spool.forget_agent(agent_of(identifier))

    try:
        code = _run_push(args, SPOOL_SOURCE, lambda after: spool_items(spool, after), None, forget)
        purge_spool(settings, spool)
        return code
    finally:
        spool.close()


def _simulate(args: argparse.Namespace) -> int:
    from connector.pipeline.simulate import SimulationSpec, simulate  # not loaded by ``push``

    spec = SimulationSpec(
        pupils=args.pupils,
        weeks=args.weeks,
        seed=args.seed,
        start=date.fromisoformat(args.start) if args.start else None,
        dropout_share=args.dropout,
    )
    with contextlib.ExitStack() as stack:
        out: IO[bytes] = sys.stdout.buffer
        if args.out:
            opener: Any = gzip.open if args.out.endswith(".gz") else open
            out = stack.enter_context(opener(args.out, "wb"))
        for statement in simulate(spec, args.statements):
            out.write(orjson.dumps(statement) + b"\n")
    return 0


def hub_options(parser: argparse.ArgumentParser) -> None:
    """``--hub`` and ``--connector-id`` (read by :func:`hub_client`)."""
    parser.add_argument("--hub", help="URL du hub (défaut : EDH_CONNECTOR_HUB__URL)")
    parser.add_argument("--connector-id", help="identifiant du connecteur au hub")


def contract_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--contract", help="contrat (défaut : EDH_CONNECTOR_HUB__CONTRACT_ID)")


def _target_options(parser: argparse.ArgumentParser) -> None:
    hub_options(parser)
    contract_option(parser)
    parser.add_argument("--dataset", help="jeu de données du contrat")
    parser.add_argument("--batch-size", type=int, help="déclarations par lot")


def register(sub: Any) -> None:
    """Add ``init``, ``push``, ``ship`` and ``simulate`` to the ``edh-connector`` parser."""
    init = sub.add_parser("init", help="générer la paire de clés du connecteur")
    init.add_argument("--force", action="store_true", help="remplacer une clé existante")
    init.set_defaults(handler=_init)
    push_p = sub.add_parser("push", help="envoyer un fichier de déclarations xAPI au lac")
    push_p.add_argument("file", help="JSON Lines ou tableau JSON, gzip accepté")
    _target_options(push_p)
    push_p.set_defaults(handler=_push)
    ship = sub.add_parser("ship", help="envoyer au lac les déclarations du spool")
    _target_options(ship)
    ship.set_defaults(handler=_ship)
    sim = sub.add_parser("simulate", help="générer des traces scolaires simulées (JSON Lines)")
    sim.add_argument("--pupils", type=int, default=500, help="nombre d'élèves")
    sim.add_argument("--weeks", type=int, default=12, help="semaines de cours")
    sim.add_argument("--seed", type=int, default=42, help="graine (reproductible)")
    sim.add_argument(
        "--start", help="premier lundi (AAAA-MM-JJ) ; défaut : il y a --weeks semaines"
    )
    sim.add_argument("--dropout", type=float, default=0.15, help="part d'élèves décrocheurs")
    sim.add_argument("--statements", type=int, help="arrêter après N déclarations")
    sim.add_argument("--out", help="fichier de sortie (.gz compressé) ; défaut : stdout")
    sim.set_defaults(handler=_simulate)
