"""Start the production topology of ``infra/compose.yaml`` as native loopback processes.

PostgreSQL (the harness's own cluster, ``postgres.py``), a moto S3 server that survives a
kill (``s3.py``) with the buckets of ``infra/minio/init.sh`` (versioned ``edh-lake``,
object-locked ``edh-audit``; moto does not enforce the IAM policies), a Tansu broker,
``edh policy serve-opa-api``, three ``edh serve`` behind nginx rendered from
``infra/proxy/nginx.conf``, and connectors (``edh-connector run``) bound to FINALIZED
contracts released under differential privacy (``QUERY_TERMS``), over the project the
researchers query.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from kafka.admin import KafkaAdminClient, NewTopic
from pydantic import SecretStr

from hub.settings.bus import BusSettings
from hub.settings.storage import StorageSettings
from tests.cluster.nginx import render_nginx, self_signed
from tests.cluster.postgres import OWNER, create_database, init_cluster, server_argv
from tests.cluster.procs import Service
from tests.support.browser import free_port
from tests.support.factories import make_context
from tests.support.ingest_cli import connector_env
from tests.support.ingest_fixtures import (
    LAKE_FIELDS,
    TANSU,
    IngestSetup,
    finalize_contract,
    prepare,
)

REPO = Path(__file__).resolve().parents[2]
HUB = [sys.executable, "-m", "hub"]
CONNECTOR = [sys.executable, "-m", "connector.cli"]
LAKE_BUCKET = "edh-lake"
AUDIT_BUCKET = "edh-audit"
BROKER_BUCKET = "tansu"
# Every contract over the researchers' project: a budget that runs out within a short run,
# so releases race for its last ε on three hubs.
QUERY_TERMS = {
    "release_mode": "differential_privacy",
    "epsilon_per_query": 0.5,
    "epsilon_budget": 10.0,
}
# Jobs of a killed hub are taken over within seconds (the same on every hub).
SANDBOX_ENV = {
    "EDH_SANDBOX__HEARTBEAT_S": "2",
    "EDH_SANDBOX__LEASE_S": "8",
    "EDH_SANDBOX__THREADS": "1",
}


@dataclass
class Cluster:
    """Every service by name, the hub and connector settings, and the prepared contract."""

    run_dir: Path
    services: dict[str, Service] = field(default_factory=dict)
    hub_env: dict[str, str] = field(default_factory=dict)
    connector_envs: dict[str, dict[str, str]] = field(default_factory=dict)
    setup: IngestSetup | None = None
    proxy_url: str = ""
    ca_file: Path | None = None

    def add(
        self, name: str, argv: list[str], env: dict[str, str], port: int, **how: Any
    ) -> Service:
        """Start ``argv`` as service ``name`` (``how``: ``Service``'s other fields)."""
        service = Service(name, argv, env, port, self.run_dir / "logs" / f"{name}.log", **how)
        self.services[name] = service
        service.start()
        return service

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.setup is not None:
            self.setup.ctx.engine.dispose()


def _buckets(endpoint: str) -> None:
    """The layout of ``infra/minio/init.sh``: versioned lake, object-locked audit bucket."""
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=LAKE_BUCKET)
    s3.put_bucket_versioning(Bucket=LAKE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=AUDIT_BUCKET, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=BROKER_BUCKET)


def _topics(bootstrap: str) -> None:
    """The topics ``infra/kafka/init-topics.sh`` creates, with its default partitions."""
    script = (REPO / "infra" / "kafka" / "init-topics.sh").read_text()
    names = re.search(r"for topic in ([^;]+);", script)
    partitions = re.search(r"EDH_TOPIC_PARTITIONS:-(\d+)", script)
    if names is None or partitions is None:
        raise RuntimeError("infra/kafka/init-topics.sh changed shape")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [NewTopic(t, int(partitions.group(1)), 1) for t in names.group(1).split()]
        )
    finally:
        admin.close()


def _storage(endpoint: str) -> StorageSettings:
    return StorageSettings(
        kind="s3",
        endpoint=endpoint,
        access_key="testing",
        secret_key=SecretStr("testing"),
        bucket=LAKE_BUCKET,
    )


def _start_backends(cluster: Cluster) -> tuple[str, str, str]:
    """S3, broker, OPA API: returns their ``host:port`` / URLs."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cluster.run_dir)}
    s3_port = free_port()
    journal = str(cluster.run_dir / "s3-journal.jsonl")
    moto = [sys.executable, "-m", "tests.cluster.s3", "--port", str(s3_port), "--journal", journal]
    cluster.add("s3", moto, env, s3_port, start_timeout=600)  # its replay grows with the run
    _buckets(f"127.0.0.1:{s3_port}")
    kafka_port = free_port()
    url = f"tcp://127.0.0.1:{kafka_port}"
    broker = [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url]
    # The broker keeps its log on the S3 server: a killed broker comes back with its topics.
    durable = {
        **env,
        "AWS_ENDPOINT": f"http://127.0.0.1:{s3_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    storage = f"s3://{BROKER_BUCKET}/"
    cluster.add("broker", [*broker, "--storage-engine", storage], durable, kafka_port)
    _topics(f"127.0.0.1:{kafka_port}")
    opa_port = free_port()
    opa = [*HUB, "policy", "serve-opa-api", "--port", str(opa_port)]
    cluster.add("opa", opa, {**env, "EDH_DEV_MODE": "true"}, opa_port)
    return f"127.0.0.1:{s3_port}", f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{opa_port}"


def _start_postgres(cluster: Cluster) -> str:
    """The cluster's own PostgreSQL and a fresh database on it: its SQLAlchemy URL."""
    cluster.run_dir.chmod(0o755)  # the server runs as its own user, under the run directory
    data, port = cluster.run_dir / "pg", free_port()
    init_cluster(data)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    cluster.add("postgres", server_argv(data, port), env, port, user=OWNER, leader_only=True)
    return create_database(port, "edh")


def _hub_env(cluster: Cluster, db_url: str, s3: str, kafka: str, opa: str) -> dict[str, str]:
    """The settings ``infra/compose.yaml`` gives the hubs, on loopback stand-ins."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cluster.run_dir),
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(cluster.run_dir / "hub"),
        "EDH_PUBLIC_URL": cluster.proxy_url,
        "EDH_DATABASE__URL": db_url,
        "EDH_DATABASE__POOL_SIZE": "20",
        "EDH_POLICY__ENGINE": "server",
        "EDH_POLICY__SERVER_URL": opa,
        "EDH_BUS__KIND": "kafka",
        "EDH_BUS__BOOTSTRAP_SERVERS": kafka,
        "EDH_STORAGE__KIND": "s3",
        "EDH_STORAGE__ENDPOINT": s3,
        "EDH_STORAGE__ACCESS_KEY": "testing",
        "EDH_STORAGE__SECRET_KEY": "testing",
        "EDH_STORAGE__BUCKET": LAKE_BUCKET,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        **SANDBOX_ENV,
    }


def _prepare_world(cluster: Cluster, db_url: str, s3: str, kafka: str) -> IngestSetup:
    """Migrate the database, then register parties, a dataset, connectors and a contract."""
    migrate = subprocess.run(
        [*HUB, "db", "upgrade"], env=cluster.hub_env, capture_output=True, check=False
    )
    if migrate.returncode != 0:
        raise RuntimeError("edh db upgrade failed")
    ctx = make_context(
        db_url,
        cluster.run_dir / "hub",
        public_url=cluster.proxy_url,
        storage=_storage(s3),
        bus=BusSettings(),
    )
    return prepare(ctx, **QUERY_TERMS)


def start_cluster(run_dir: Path, hubs: int = 3, connectors: int = 2) -> Cluster:
    """The whole topology, started and healthy (raises if a service does not start)."""
    cluster = Cluster(run_dir)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    proxy_port, objects_port = free_port(), free_port()
    cluster.proxy_url = f"https://127.0.0.1:{proxy_port}"
    try:
        db_url = _start_postgres(cluster)
        s3, kafka, opa = _start_backends(cluster)
        cluster.hub_env = _hub_env(cluster, db_url, s3, kafka, opa)
        cluster.setup = _prepare_world(cluster, db_url, s3, kafka)
        hub_ports = [free_port() for _ in range(hubs)]
        for i, port in enumerate(hub_ports):
            argv = [*HUB, "serve", "--port", str(port)]
            cluster.add(f"hub-{i + 1}", argv, cluster.hub_env, port)
        cert, key = self_signed(run_dir / "tls")
        cluster.ca_file = cert
        conf = render_nginx(
            REPO / "infra" / "proxy" / "nginx.conf",
            run_dir / "nginx",
            hub_ports=hub_ports,
            object_port=int(s3.rsplit(":", 1)[1]),
            listen=(proxy_port, objects_port),
            tls=(cert, key),
        )
        nginx = ["/usr/sbin/nginx", "-c", str(conf), "-p", str(run_dir / "nginx")]
        cluster.add("proxy", [*nginx, "-g", "daemon off;"], {"PATH": "/usr/bin:/bin"}, proxy_port)
        _start_connectors(cluster, connectors)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _bound_connector(setup: IngestSetup, first: bool) -> IngestSetup:
    """``setup`` itself, or a new connector with its own FINALIZED contract (a connector's
    batch sequence is per connector and contract)."""
    if first:
        return setup
    connector_id, key = setup.register_connector()
    terms = {"allowed_fields": LAKE_FIELDS, **QUERY_TERMS}
    contract_id = finalize_contract(setup.world, [connector_id], **terms)
    return dataclasses.replace(
        setup, connector_id=connector_id, connector_key=key, contract_id=contract_id
    )


def _start_connectors(cluster: Cluster, count: int) -> None:
    """``count`` connectors, each its own spool, all bound to the contract, via the proxy."""
    setup = cluster.setup
    assert setup is not None
    setup.url = cluster.proxy_url
    for i in range(count):
        name = f"connector-{i + 1}"
        env = connector_env(_bound_connector(setup, first=i == 0), cluster.run_dir / name)
        port = free_port()
        env.update(
            {
                "EDH_CONNECTOR_DEV_MODE": "true",
                "EDH_CONNECTOR_XAPI__PORT": str(port),
                "EDH_CONNECTOR_HUB__BATCH_SIZE": "400",
                "SSL_CERT_FILE": str(cluster.ca_file),
            }
        )
        cluster.connector_envs[name] = env
        cluster.add(name, [*CONNECTOR, "run"], env, port)
