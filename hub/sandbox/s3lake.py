"""Reading the lake from the S3 object store: exact object URLs, and the worker's secret.

When the hub's object store is the S3 adapter, the views read ``s3://<bucket>/lake/...``
objects through DuckDB's ``httpfs`` extension, loaded from the file the
``duckdb-extension-httpfs`` package ships (never downloaded). The worker creates one
in-memory secret scoped to the bucket's ``lake/`` prefix *before* it allows exactly the
hub-listed objects and locks the configuration; researcher SQL can neither create, list
nor drop secrets (``sqlcheck`` accepts one SELECT without catalog or table functions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb_extension_httpfs

from hub.sandbox.scope import plain_ids
from hub.settings.storage import StorageSettings

_OBJECT = re.compile(r"^date=[0-9A-Za-z_-]{1,32}/[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.parquet$")


def httpfs_extension() -> str:
    """Path of the httpfs extension file of the installed package (for ``LOAD``)."""
    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    found = sorted(root.glob("*/httpfs.duckdb_extension"))
    if not found:
        raise RuntimeError("the duckdb-extension-httpfs package ships no extension file")
    return str(found[-1])


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class S3Access:
    """What the worker needs to read the lake bucket (sent to the child, never logged)."""

    endpoint: str
    key_id: str
    secret: str
    region: str
    use_ssl: bool
    bucket: str

    @classmethod
    def of(cls, cfg: StorageSettings) -> S3Access:
        return cls(
            endpoint=cfg.endpoint,
            key_id=cfg.access_key,
            secret=cfg.secret_key.get_secret_value(),
            region=cfg.region,
            use_ssl=cfg.secure,
            bucket=cfg.bucket,
        )

    def setup(self) -> tuple[str, ...]:
        """Statements run before ``allowed_paths`` and the lock: load httpfs, create the
        temporary secret scoped to ``s3://<bucket>/lake/``."""
        options = ", ".join(
            [
                "TYPE s3",
                f"KEY_ID {_literal(self.key_id)}",
                f"SECRET {_literal(self.secret)}",
                f"ENDPOINT {_literal(self.endpoint)}",
                f"REGION {_literal(self.region)}",
                "URL_STYLE 'path'",
                f"USE_SSL {'true' if self.use_ssl else 'false'}",
                f"SCOPE {_literal(f's3://{self.bucket}/lake/')}",
            ]
        )
        return (
            f"LOAD {_literal(httpfs_extension())}",
            f"CREATE TEMPORARY SECRET edh_lake ({options})",
        )


class KeyLister(Protocol):
    """The part of the object store port that lists keys and reads (to verify) objects."""

    def list(self, prefix: str) -> Iterator[str]: ...

    def fingerprint(self, key: str) -> str | None: ...

    def chunks(self, key: str) -> Iterator[bytes]: ...


class S3Lake:
    """The lake in a bucket: lists a contract's Parquet objects as exact ``s3://`` URLs."""

    def __init__(self, store: KeyLister, bucket: str) -> None:
        self.store = store
        self.bucket = bucket

    def files(
        self,
        provider: str,
        contract: str,
        datasets: tuple[str, ...],
        registered: frozenset[str] | None,
    ) -> tuple[str, ...]:
        """``s3://<bucket>/lake/<provider>/<contract>/<dataset>/date=*/*.parquet`` objects;
        ids must be plain names, object names plain (no ``..``, quote or extra folder),
        and, when ``registered`` is given, their key in it."""
        found: list[str] = []
        for dataset in datasets:
            if not plain_ids(provider, contract, dataset):
                continue
            prefix = f"lake/{provider}/{contract}/{dataset}/"
            for key in self.store.list(prefix):
                rest = key[len(prefix) :]
                if not key.startswith(prefix) or ".." in key or not _OBJECT.match(rest):
                    continue
                if registered is None or key in registered:
                    found.append(f"s3://{self.bucket}/{key}")
        return tuple(found)
