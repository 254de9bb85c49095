"""The connector pipeline's stages on their own: validate, pseudonymise, minimise, Parquet."""

from __future__ import annotations

import copy
import gzip
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.pipeline import sources
from connector.pipeline.batch import Transformer, build_batches
from connector.pipeline.lake import duration_seconds
from connector.pipeline.manifest import build_manifest
from connector.pipeline.pseudonymise import Pseudonymiser
from connector.pipeline.sources import read_statements
from connector.pipeline.validate import InvalidStatement, validate_times
from contracts.batch_manifest import ManifestError, sign_manifest, verify_manifest
from contracts.minimisation import CLASS_TYPE, SCHOOL_TYPE, FieldFilter
from contracts.pseudonym import PSEUDONYM_HOME_PAGE

KEY = b"k" * 32
SCHEMA = Path(__file__).parents[2] / "schemas" / "batch-manifest.schema.json"


def statement(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "12345678-1234-4234-8234-123456789abc",
        "actor": {"name": "Léa Martin", "mbox": "mailto:lea.martin@ecole.fr"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"fr": "fini"}},
        "object": {"id": "https://ent.fr/ex/1", "definition": {"type": "https://t/exercise"}},
        "result": {
            "score": {"scaled": 0.75, "raw": 3},
            "success": True,
            "duration": "PT1M30S",
            "extensions": {"https://ent.fr/ip": "10.0.0.1"},
        },
        "context": {
            "instructor": {"name": "M. Prof", "account": {"homePage": "https://ent", "name": "p1"}},
            "platform": "ENT",
            "contextActivities": {
                "grouping": [
                    {"id": "https://ent.fr/ecole/7", "definition": {"type": SCHOOL_TYPE}},
                    {"id": "https://ent.fr/classe/7b", "definition": {"type": CLASS_TYPE}},
                ]
            },
        },
        "authority": {"mbox": "mailto:lrs@ent.fr"},
        "timestamp": "2026-03-02T08:15:00+01:00",
    }
    base.update(overrides)
    return base


def grouped(activity: Any) -> dict[str, Any]:
    """A statement whose context's grouping holds ``activity`` only."""
    return statement(context={"contextActivities": {"grouping": [activity]}})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "must be a JSON object"),
        (statement(id="nope"), "id must be a UUID"),
        (statement(actor={"mbox": "mailto:a@b", "openid": "x"}), "exactly one identifier"),
        (statement(actor={"objectType": "Group"}), "anonymous group needs members"),
        (statement(verb={"display": {}}), "verb.id must be an IRI"),
        (statement(object={"definition": {}}), "object.id must be an IRI"),
        (statement(timestamp="2026-03-02T08:15:00"), "must carry a time zone"),
        (statement(timestamp="hier"), "not an ISO 8601 timestamp"),
        (statement(result="x"), "result must be an object"),
        (statement(result={"score": 1}), "result.score must be an object"),
        (statement(context=["c"]), "context must be an object"),
        (statement(context={"contextActivities": "g"}), "contextActivities must be an object"),
        (statement(context={"contextActivities": {"grouping": ["x"]}}), "must hold activities"),
        (statement(object={"id": "https://e/1", "definition": "d"}), "definition must be an"),
        (statement(object={"id": "https://e/1", "definition": {"type": ["t"]}}), "type must be"),
        (grouped({"id": ["https://e/s"]}), "must hold activities"),
        (grouped({"id": "https://e/s", "definition": {"type": [SCHOOL_TYPE]}}), "must hold"),
        (grouped({"id": "https://e/s", "definition": {"type": {"a": 1}}}), "must hold"),
    ],
)
def test_validate_refuses_with_the_reason(bad: Any, message: str) -> None:
    with pytest.raises(InvalidStatement, match=message):
        validate_times(bad)


@pytest.mark.parametrize(
    "allowed", [[], ["result", "context", "object"], ["school_id", "class_id", "object_type"]]
)
def test_malformed_members_are_rejected_never_crash_the_batch(allowed: list[str]) -> None:
    """Under any contract, a statement whose result, context or definition is not an
    object, or whose activities' types are not IRIs (the grouping's types are looked up
    to fill the school and class columns), is a rejection with its reason; the good
    statements beside it still ship."""
    items = [
        (1, statement(result="x")),
        (2, statement(context={"contextActivities": {"grouping": [{"definition": 7}]}})),
        (3, grouped({"id": "https://e/s", "definition": {"type": [SCHOOL_TYPE]}})),
        (4, grouped({"id": "https://e/s", "definition": {"type": {"a": 1}}})),
        (5, statement(object={"id": "https://e/1", "definition": {"type": 7}})),
        (6, statement(id="12345678-1234-4234-8234-123456789abd")),
    ]
    batch = next(build_batches(items, Transformer(Pseudonymiser(KEY), FieldFilter(allowed)), 10))
    assert batch.row_count == 1 and [r.cursor for r in batch.rejected] == [1, 2, 3, 4, 5]


def test_pseudonymise_removes_every_clear_identifier() -> None:
    original = statement(
        context={
            **statement()["context"],
            "team": {"objectType": "Group", "member": [{"mbox": "mailto:x@y.fr", "name": "X"}]},
        }
    )
    before = copy.deepcopy(original)
    out = Pseudonymiser(KEY).statement(original)
    assert original == before
    text = json.dumps(out)
    for clear in ("lea.martin", "Léa", "M. Prof", "p1", "lrs@ent.fr", "x@y.fr", '"X"'):
        assert clear not in text
    assert out["actor"]["account"]["homePage"] == PSEUDONYM_HOME_PAGE
    assert len(out["actor"]["account"]["name"]) == 64
    assert "authority" not in out


def test_pseudonyms_are_stable_per_key_and_differ_across_keys() -> None:
    agent = {"mbox": "mailto:Lea.Martin@ecole.fr "}
    one, two = Pseudonymiser(KEY), Pseudonymiser(b"z" * 32)
    assert one.agent(agent) == one.agent({"mbox": "mailto:lea.martin@ecole.fr"})
    assert one.agent(agent) != two.agent(agent)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Pseudonymiser(b"short")


def test_minimise_keeps_allowed_columns_and_essentials_only() -> None:
    kept = FieldFilter(["result_score_scaled", "school_id"]).apply(statement())
    assert kept["result"] == {"score": {"scaled": 0.75}}
    assert "platform" not in kept["context"] and "instructor" not in kept["context"]
    assert kept["context"]["contextActivities"]["grouping"][0]["id"] == "https://ent.fr/ecole/7"
    assert kept["verb"] == {"id": "http://adlnet.gov/expapi/verbs/completed"}
    assert "definition" not in kept["object"]


def test_lake_rows_carry_interface_2_columns() -> None:
    transform = Transformer(Pseudonymiser(KEY), FieldFilter(["result", "context", "object"]))
    batch = next(build_batches([(1, statement())], transform, 10))
    assert [f.date for f in batch.files] == ["2026-03-02"]
    row = pq.read_table(io.BytesIO(batch.files[0].data)).to_pylist()[0]
    assert row["result_score_scaled"] == 0.75 and row["result_score_raw"] == 3.0
    assert row["result_duration_s"] == 90.0 and row["result_success"] is True
    assert row["school_id"] == "https://ent.fr/ecole/7"
    assert row["class_id"] == "https://ent.fr/classe/7b"
    assert row["object_type"] == "https://t/exercise"
    assert row["timestamp"].isoformat() == "2026-03-02T07:15:00+00:00"
    assert "ecole.fr" not in row["statement_json"]


def test_batches_split_by_day_reject_bad_rows_and_are_deterministic() -> None:
    items = [
        (1, statement()),
        (2, statement(id="12345678-1234-4234-8234-123456789abd", timestamp="2026-03-03T09:00:00Z")),
        (3, {"actor": {}}),
    ]
    transform = Transformer(Pseudonymiser(KEY), FieldFilter([]))
    first = next(build_batches(items, transform, 10))
    again = next(build_batches(items, transform, 10))
    assert [f.date for f in first.files] == ["2026-03-02", "2026-03-03"]
    assert [f.sha256 for f in first.files] == [f.sha256 for f in again.files]
    assert first.row_count == 2 and first.end_cursor == 3
    assert first.rejected[0].cursor == 3 and "actor" in first.rejected[0].reason


def test_sources_read_json_arrays_gzip_lines_and_flag_bad_lines(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_text(json.dumps([statement(), statement()]))
    assert [p for p, _ in read_statements(array)] == [1, 2]
    lines = tmp_path / "b.jsonl.gz"
    lines.write_bytes(gzip.compress(b'{"a": 1}\n\nnot json\n{"b": 2}\n'))
    read = list(read_statements(lines, after=1))
    assert [p for p, _ in read] == [3, 4]
    with pytest.raises(InvalidStatement):
        validate_times(read[0][1])


def test_json_lines_split_across_read_blocks_keep_their_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines longer than a block, CRLF, blank and ``null`` lines, no final newline."""
    monkeypatch.setattr(sources, "_BLOCK", 5)
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": "a long value"}\r\n\n null \nnot json\n{"b": 1}')
    read = list(read_statements(path))
    assert [p for p, _ in read] == [1, 4, 5]
    assert read[0][1] == {"a": "a long value"} and read[2][1] == {"b": 1}
    assert not isinstance(read[1][1], dict)
    assert [p for p, _ in read_statements(path, after=4)] == [5]


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT1H2M3.5S", 3723.5), ("P1D", 86400.0), ("PT", None), ("soon", None)]
)
def test_duration_seconds(text: str, seconds: float | None) -> None:
    assert duration_seconds(text) == seconds


def test_manifest_matches_its_published_schema_and_verifies() -> None:
    schema = json.loads(
        (Path(__file__).parents[2] / "schemas/batch-manifest.schema.json").read_text()
    )
    transform = Transformer(Pseudonymiser(KEY), FieldFilter([]))
    batch = next(build_batches([(1, statement())], transform, 10))
    manifest = build_manifest(
        batch,
        contract_id="c1",
        connector_id="k1",
        dataset_id="d1",
        sequence=7,
        keys=["lake/p/c1/d1/date=2026-03-02/k1-000000000007-0.parquet"],
        key_version="v2",
    )
    jsonschema.validate(manifest, schema)
    key = Ed25519PrivateKey.generate()
    assert verify_manifest(sign_manifest(manifest, key), key.public_key()) == manifest
    with pytest.raises(ManifestError, match="signature invalid"):
        verify_manifest(sign_manifest(manifest, key), Ed25519PrivateKey.generate().public_key())
