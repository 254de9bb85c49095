"""What a project may query: its ``ProjectScope``, built from its FINALIZED contracts.

Contracts come as the policy data documents of interface 3 (``data.edh.contracts``) from a
``ContractSource``. ``scope_for`` keeps the contracts of the project that are FINALIZED and
inside their validity window, then lists their Parquet files in the lake itself: the hub
builds every path, so none contains ``..`` or leaves the lake.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from contracts.model import DEFAULT_EPSILON_BUDGET, DEFAULT_EPSILON_PER_QUERY, ReleaseMode
from hub.errors import Forbidden, ServiceUnavailable

DEFAULT_K = 10
LAKE_COLUMNS = (
    "statement_id",
    "actor_pseudonym",
    "verb_id",
    "object_id",
    "object_type",
    "timestamp",
    "stored",
    "result_score_scaled",
    "result_score_raw",
    "result_success",
    "result_completion",
    "result_duration_s",
    "context_registration",
    "context_platform",
    "school_id",
    "class_id",
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class ContractSource(Protocol):
    """Port: the contract documents (interface 3 shape), fresh at every call."""

    def contracts(self, session: Any) -> Mapping[str, Mapping[str, Any]]:
        """``{contract_id: document}``; read-only, idempotent."""
        ...


class StaticContracts:
    """Adapter over fixed documents (tests, the demo, a hub without the contracts area)."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = dict(documents)

    def contracts(self, session: Any) -> Mapping[str, Mapping[str, Any]]:
        return self._documents


class RegistryContracts:
    """Adapter over the contracts area (``hub.contracts.public``), when installed."""

    def contracts(self, session: Any) -> Mapping[str, Mapping[str, Any]]:
        try:
            from hub.contracts import public  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ServiceUnavailable("the contracts service is not available") from exc
        docs: Mapping[str, Mapping[str, Any]] = public.contract_documents(session)
        return docs


@dataclass(frozen=True)
class ContractPart:
    """One contract's share of the scope: its allowed lake columns and its files."""

    contract_id: str
    dataset_ids: tuple[str, ...]
    columns: frozenset[str]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ProjectScope:
    """Everything the sandbox needs to build a project's views and control its output.

    The disclosure parameters (k, row level, rounding, release path, privacy budget) are
    replaced by the policy's obligations once the query is allowed."""

    project_id: str
    parts: tuple[ContractPart, ...]
    min_cell_size: int
    row_level: bool
    rounding_base: int | None
    pseudonym_key: str
    release_mode: ReleaseMode = ReleaseMode.DIFFERENTIAL_PRIVACY
    epsilon_per_query: float = DEFAULT_EPSILON_PER_QUERY
    epsilon_max_per_query: float = DEFAULT_EPSILON_PER_QUERY
    epsilon_budget: float = DEFAULT_EPSILON_BUDGET

    @property
    def contract_ids(self) -> tuple[str, ...]:
        return tuple(p.contract_id for p in self.parts)

    @property
    def columns(self) -> frozenset[str]:
        return frozenset().union(*(p.columns for p in self.parts))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for p in self.parts for path in p.paths)

    @property
    def contracts_read(self) -> frozenset[str]:
        """The contracts whose data a query of this scope reads: those with files in it.

        Each contract pseudonymises under its own key and ``statements`` unions every
        part, so a person under ``c`` of them is ``c`` pupils to a query (nothing in the
        SQL can tell they are one); a contract with no file yet adds no pupil id. While
        no contract has a file, all of them count (there is nothing to release anyway).
        Fails closed: a scope without parts raises ``Forbidden``."""
        with_data = frozenset(p.contract_id for p in self.parts if p.paths)
        contracts = with_data or frozenset(p.contract_id for p in self.parts)
        if not contracts:
            raise Forbidden(
                "the scope names no contract: how many pseudonyms a person has is unknown",
                reasons=["no-contract-in-scope"],
            )
        return contracts

    @property
    def threshold(self) -> Threshold:
        """The minimum cell size of a release from this scope."""
        return Threshold(self.min_cell_size, self.contracts_read)

    @property
    def pseudonyms_per_person(self) -> int:
        """``c``: the most ``pupil_id`` values one person can have in this scope's views.
        Every per-pupil bound (cells per pupil, the minimum cell size) is multiplied by it."""
        return self.threshold.pseudonyms

    @property
    def min_pupil_ids(self) -> int:
        """The fewest ``pupil_id`` values a released cell rests on (``Threshold``)."""
        return self.threshold.pupil_ids


@dataclass(frozen=True)
class Threshold:
    """The minimum cell size: ``k`` persons, each up to one pupil id per contract whose
    data the query reads (``contracts``)."""

    k: int
    contracts: frozenset[str]

    @property
    def pseudonyms(self) -> int:
        """``c``: how many pupil ids one person can have."""
        return len(self.contracts)

    @property
    def pupil_ids(self) -> int:
        """``k * c``: the fewest distinct pupil ids of a released cell (a cell of ``n``
        pupil ids may hold only ``ceil(n / c)`` persons)."""
        return self.k * self.pseudonyms


def in_force(doc: Mapping[str, Any], on: date) -> bool:
    """FINALIZED and ``valid_from <= on <= valid_until``."""
    if doc.get("state") != "FINALIZED":
        return False
    start = date.fromisoformat(str(doc.get("valid_from", "9999-12-31")))
    end = date.fromisoformat(str(doc.get("valid_until", "0001-01-01")))
    return start <= on <= end


class LakeListing(Protocol):
    """A lake that is not a local directory (e.g. ``s3lake.S3Lake``): lists a contract's
    Parquet files as the exact paths the worker may read."""

    def files(
        self,
        provider: str,
        contract: str,
        datasets: tuple[str, ...],
        registered: frozenset[str] | None,
    ) -> tuple[str, ...]: ...


Lake = Path | LakeListing

Registered = Callable[[str], frozenset[str] | None]
"""Object keys (``lake/...``) of a contract's registered batches; None: no registry filter."""


def scope_for(
    project_id: str,
    documents: Mapping[str, Mapping[str, Any]],
    lake: Lake,
    secret: bytes,
    on: date,
    registered: Registered = lambda _: None,
) -> ProjectScope:
    """The project's scope; raise ``Forbidden`` when no contract of it is in force.

    Only files of batches that ``registered`` lists are served (quarantined or unfinished
    batches never are)."""
    docs = [d for d in documents.values() if d.get("project_id") == project_id]
    live = sorted((d for d in docs if in_force(d, on)), key=lambda d: str(d["id"]))
    if not live:
        raise Forbidden(
            "no FINALIZED contract in force gives this project access to data",
            reasons=["no-contract-in-force"],
        )
    parts = tuple(_part(d, lake, registered(str(d["id"]))) for d in live)
    bases = [int(d["rounding_base"]) for d in live if d.get("rounding_base")]
    return ProjectScope(
        project_id=project_id,
        parts=parts,
        min_cell_size=max([DEFAULT_K, *(int(d.get("min_cell_size") or 0) for d in live)]),
        row_level=all(bool(d.get("row_level")) for d in live),
        rounding_base=max(bases) if bases else None,
        pseudonym_key=project_key(secret, project_id),
    )


def project_key(secret: bytes, project_id: str) -> str:
    """The project's pseudonym key: HMAC-SHA256(sandbox secret, project id), hex."""
    return hmac.new(secret, f"edh-sandbox:{project_id}".encode(), hashlib.sha256).hexdigest()


def _part(doc: Mapping[str, Any], lake: Lake, registered: frozenset[str] | None) -> ContractPart:
    allowed = {str(f) for f in doc.get("allowed_fields") or []}
    datasets = tuple(str(d) for d in doc.get("datasets") or [])
    provider, contract = str(doc["provider_id"]), str(doc["id"])
    if isinstance(lake, Path):
        paths = lake_files(lake, provider, contract, datasets, registered)
    else:
        paths = lake.files(provider, contract, datasets, registered)
    return ContractPart(
        contract_id=str(doc["id"]),
        dataset_ids=datasets,
        columns=frozenset(allowed & set(LAKE_COLUMNS)),
        paths=paths,
    )


def lake_files(
    lake: Path,
    provider: str,
    contract: str,
    datasets: tuple[str, ...],
    registered: frozenset[str] | None = None,
) -> tuple[str, ...]:
    """Parquet files under ``lake/<provider>/<contract>/<dataset>/date=*/``, checked.

    Every id must be a plain name, and every file a regular file (not a symlink) whose
    resolved path stays inside the lake and, when ``registered`` is given, whose key
    ``lake/<relative path>`` is in it; anything else is skipped.
    """
    root = lake.resolve()
    found: list[str] = []
    for dataset in datasets:
        if not plain_ids(provider, contract, dataset):
            continue
        base = root / provider / contract / dataset
        for path in sorted(base.glob("date=*/*.parquet")):
            key = "lake/" + path.relative_to(root).as_posix()
            if _inside(path, root) and (registered is None or key in registered):
                found.append(str(path))
    return tuple(found)


def plain_ids(*ids: str) -> bool:
    """True when every id is a plain name usable as a lake path segment (no ``..``)."""
    return all(_SAFE_ID.match(x) and ".." not in x for x in ids)


def _inside(path: Path, root: Path) -> bool:
    if path.is_symlink() or not path.is_file() or ".." in path.parts:
        return False
    return path.resolve().is_relative_to(root) and "'" not in str(path)
