"""Minimisation reaches every copy of a field: for each lake field and a contract that does
not allow it, nothing of it remains in any column nor in ``statement_json`` (the oracle:
the field's values in the unminimised run); and the hub quarantines a batch that carries
a field its contract does not allow, as a column or inside the JSON."""

from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import replace
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.pipeline.batch import BuiltFile, Transformer, build_batches
from connector.pipeline.client import HubRefused
from connector.pipeline.lake import COLUMNS
from connector.pipeline.pseudonymise import Pseudonymiser
from connector.pipeline.simulate import SimulationSpec, simulate
from contracts.batch_manifest import sign_manifest
from contracts.minimisation import CLASS_TYPE, ESSENTIAL_COLUMNS, SCHOOL_TYPE, FieldFilter
from tests.support.ingest_batches import Shipment, presigned, recent_day
from tests.support.ingest_fixtures import IngestSetup, finalize_contract

KEY = b"k" * 32
LAKE_FIELDS = [c for c in COLUMNS if c != "statement_json"]
OPTIONAL = [c for c in LAKE_FIELDS if c not in ESSENTIAL_COLUMNS]
FULL: dict[str, Any] = {
    "id": "12345678-1234-4234-8234-123456789abc",
    "actor": {"objectType": "Agent", "mbox": "mailto:lea.martin@ecole.fr", "name": "Léa"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {
        "objectType": "Activity",
        "id": "https://ent.fr/exercices/1",
        "definition": {"type": "https://ent.fr/types/exercice-unique"},
    },
    "result": {
        "score": {"scaled": 0.7345, "raw": 7.345},
        "success": True,
        "completion": True,
        "duration": "PT1M3.25S",
    },
    "context": {
        "registration": "11111111-2222-4333-8444-555555555555",
        "platform": "ENT unique de test",
        "contextActivities": {
            "grouping": [
                {"id": "https://ent.fr/ecole/unique", "definition": {"type": SCHOOL_TYPE}},
                {"id": "https://ent.fr/classe/unique-6b", "definition": {"type": CLASS_TYPE}},
            ]
        },
    },
    "timestamp": f"{recent_day()}T08:15:00+00:00",
}
# Where each optional field sits in a statement (written here, apart from the code).
SOURCE: dict[str, tuple[str, ...]] = {
    "object_type": ("object", "definition", "type"),
    "result_score_scaled": ("result", "score", "scaled"),
    "result_score_raw": ("result", "score", "raw"),
    "result_success": ("result", "success"),
    "result_completion": ("result", "completion"),
    "result_duration_s": ("result", "duration"),
    "context_registration": ("context", "registration"),
    "context_platform": ("context", "platform"),
}
GROUPING_TYPE = {"school_id": SCHOOL_TYPE, "class_id": CLASS_TYPE}
# Always kept whatever the contract: a value equal to a refused field's there is no leak.
ESSENTIAL_PATHS = (("id",), ("actor",), ("verb", "id"), ("object", "id"), ("timestamp",))


def source_statements() -> list[dict[str, Any]]:
    simulated = simulate(SimulationSpec(pupils=60, weeks=2), limit=3000)
    return [FULL, *itertools.islice(simulated, 3000)]


def lake_rows(allowed: list[str]) -> list[dict[str, Any]]:
    transform = Transformer(Pseudonymiser(KEY), FieldFilter(allowed))
    items = enumerate(source_statements(), start=1)
    rows = []
    for batch in build_batches(items, transform, 10_000):
        for built in batch.files:
            rows += pq.read_table(io.BytesIO(built.data)).to_pylist()
    return rows


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def without_essentials(statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(statement))
    for path in ESSENTIAL_PATHS:
        node = out
        for part in path[:-1]:
            node = node.get(part, {})
        node.pop(path[-1], None)
    return out


def holds(statement: dict[str, Any], field: str) -> bool:
    """True when ``statement`` still carries ``field`` at its place."""
    if field in GROUPING_TYPE:
        grouping = statement.get("context", {}).get("contextActivities", {}).get("grouping", [])
        return any(a.get("definition", {}).get("type") == GROUPING_TYPE[field] for a in grouping)
    node: Any = statement
    for part in SOURCE[field]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.fixture(scope="module")
def everything() -> list[dict[str, Any]]:
    return lake_rows(LAKE_FIELDS)


@pytest.mark.parametrize("field", OPTIONAL)
def test_a_refused_field_leaves_no_trace_in_any_column_or_json(
    field: str, everything: list[dict[str, Any]]
) -> None:
    secrets = {r[field] for r in everything if r[field] is not None}
    assert secrets, f"the source data must hold {field}"
    assert any(holds(orjson.loads(r["statement_json"]), field) for r in everything)
    rows = lake_rows([f for f in LAKE_FIELDS if f != field])
    assert len(rows) == len(everything)
    assert all(r[field] is None for r in rows)
    assert not any(holds(orjson.loads(r["statement_json"]), field) for r in rows)
    if isinstance(next(iter(secrets)), str):  # no copy of a value anywhere else either
        others = [c for c in OPTIONAL if c != field]
        assert not any(r[c] in secrets for r in rows for c in others)
        stripped = (without_essentials(orjson.loads(r["statement_json"])) for r in rows)
        assert not any(leaf in secrets for st in stripped for leaf in leaves(st))


def contract_without(setup: IngestSetup, field: str) -> IngestSetup:
    allowed = [f for f in LAKE_FIELDS if f != field]
    setup.contract_id = finalize_contract(setup.world, [setup.connector_id], allowed_fields=allowed)
    return setup


def shipment(setup: IngestSetup, files: list[BuiltFile]) -> Shipment:
    """A batch of ``files`` for the setup's contract, presigned as sequence 7."""
    ship = presigned(setup, count=1)
    ship.batch = replace(ship.batch, files=files, row_count=sum(f.rows for f in files))
    request = {
        "contract_id": setup.contract_id,
        "dataset_id": setup.dataset_id,
        "sequence": 7,
        "files": [
            {"date": f.date, "index": f.index, "sha256": f.sha256, "bytes": len(f.data)}
            for f in files
        ],
    }
    ship.sequence, ship.grant = 7, ship.client.presign(request)
    return ship


def cheating_files() -> list[BuiltFile]:
    """Files minimised as if every field were allowed."""
    items = enumerate([FULL, *source_statements()[1:40]], start=1)
    transform = Transformer(Pseudonymiser(KEY), FieldFilter(LAKE_FIELDS))
    return next(build_batches(items, transform, 1000)).files


def with_column(built: BuiltFile, column: str, values: pa.Array) -> BuiltFile:
    """``built`` with ``column``'s values replaced (a file the connector never writes)."""
    table = pq.read_table(io.BytesIO(built.data))
    table = table.set_column(table.schema.get_field_index(column), column, values)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    return replace(built, data=data, sha256=hashlib.sha256(data).hexdigest())


def with_null_column(built: BuiltFile, column: str) -> BuiltFile:
    rows = pq.read_metadata(io.BytesIO(built.data)).num_rows
    return with_column(built, column, pa.nulls(rows, pa.string()))


def with_list_typed_school(built: BuiltFile) -> BuiltFile:
    """``built`` whose first statement's school activity has a list for its type."""
    texts = pq.read_table(io.BytesIO(built.data)).column("statement_json").to_pylist()
    first = orjson.loads(texts[0])
    activities = first.setdefault("context", {}).setdefault("contextActivities", {})
    activities.setdefault("grouping", []).append(
        {"id": "https://ent.fr/ecole/x", "definition": {"type": [SCHOOL_TYPE]}}
    )
    texts[0] = orjson.dumps(first).decode()
    return with_column(built, "statement_json", pa.array(texts, pa.string()))


def refusal(setup: IngestSetup, ship: Shipment) -> list[str]:
    ship.upload_all()
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
        )
    assert refused.value.status == 400
    assert setup.ctx.store is not None
    keys = {u["key"] for u in ship.grant["uploads"]}
    assert keys.isdisjoint(setup.ctx.store.list("lake/"))
    return list(refused.value.body["reasons"])


def test_hub_quarantines_a_batch_with_a_refused_column(ingest: IngestSetup) -> None:
    ship = shipment(contract_without(ingest, "class_id"), cheating_files())
    reasons = refusal(ingest, ship)
    assert any("fills column class_id" in r for r in reasons)
    assert any("statement_json fields the contract does not allow" in r for r in reasons)


def test_hub_quarantines_a_refused_field_hidden_in_the_json(ingest: IngestSetup) -> None:
    files = [with_null_column(f, "class_id") for f in cheating_files()]
    ship = shipment(contract_without(ingest, "class_id"), files)
    assert refusal(ingest, ship) == [
        f"{u['key']} has statement_json fields the contract does not allow"
        for u in ship.grant["uploads"]
    ]


def test_hub_refuses_a_grouping_type_that_is_not_text_never_fails(ingest: IngestSetup) -> None:
    """A hand-made file whose JSON gives a school activity a list for its type: the
    registration check refuses it with its reason (it once raised on the type look-up)."""
    setup = contract_without(ingest, "class_id")
    files = [with_list_typed_school(f) for f in presigned(setup, sequence=3).batch.files]
    ship = shipment(setup, files)
    assert refusal(setup, ship) == [
        f"{u['key']} has statement_json fields the contract does not allow"
        for u in ship.grant["uploads"]
    ]


def test_the_honest_connector_registers_under_the_same_contract(ingest: IngestSetup) -> None:
    setup = contract_without(ingest, "class_id")
    ship = presigned(setup, sequence=3)
    ship.upload_all()
    done = ship.client.complete(
        ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
    )
    assert done["status"] == "registered"
