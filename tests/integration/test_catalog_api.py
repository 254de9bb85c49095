"""Catalog: providers describe datasets, DCAT-AP JSON-LD, search, ingestion statistics,
and a contract request started from a dataset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from hub.catalog.service import record_batch_stats
from hub.context import HubContext
from hub.errors import NotFound, ValidationFailed
from tests.support.contracts_fixtures import World, dataset_body


def test_catalog_is_dcat_ap_json_ld(world: World) -> None:
    resp = world.client.get("/api/v1/catalog", headers=world.auth("researcher"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/ld+json"
    catalog = resp.json()
    assert catalog["@type"] == "dcat:Catalog"
    assert catalog["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    (dataset,) = catalog["dcat:dataset"]
    assert dataset["@type"] == "dcat:Dataset" and dataset["dct:identifier"] == world.dataset_id
    assert dataset["dct:conformsTo"] == {"@id": "https://w3id.org/xapi/video"}
    assert dataset["dct:accrualPeriodicity"]["@id"].endswith("/frequency/DAILY")
    assert "actor_pseudonym" in dataset["edh:field"]
    assert dataset["dct:publisher"]["foaf:name"] == "provider"
    assert dataset["edh:statementCount"] == 0 and "dct:temporal" not in dataset


def test_search_by_text_and_provider(world: World) -> None:
    body = dataset_body(
        world.provider_id,
        title="Quiz de mathématiques",
        keywords=["quiz"],
        coverage="Collèges, académie de Créteil",
        verbs=["http://adlnet.gov/expapi/verbs/answered"],
    )
    world.post("/catalog/datasets", world.as_provider(), body)

    def search(q: str) -> list[str]:
        resp = world.client.get("/api/v1/catalog", params={"q": q}, headers=world.auth("dpo"))
        return [d["dct:title"]["@value"] for d in resp.json()["dcat:dataset"]]

    assert search("créteil") == ["Quiz de mathématiques"]
    assert search("QUIZ") == ["Quiz de mathématiques"]
    assert search("CRÉTEIL") == search("creteil") == ["Quiz de mathématiques"]
    assert search("paused") == ["Vidéos pédagogiques FUN-MOOC"]
    assert search("introuvable") == []
    other = world.client.get(
        "/api/v1/catalog", params={"provider_id": "nobody"}, headers=world.auth("dpo")
    )
    assert other.json()["dcat:dataset"] == []


def test_ingestion_statistics_show_in_the_catalog(world: World, hub_ctx: HubContext) -> None:
    t0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
    with Session(hub_ctx.engine) as session:
        record_batch_stats(session, world.dataset_id, 1000, t0, t0 + timedelta(hours=2))
        record_batch_stats(session, world.dataset_id, 500, t0 - timedelta(days=1), t0)
        session.commit()
    node = world.client.get(
        f"/api/v1/catalog/datasets/{world.dataset_id}", headers=world.auth("researcher")
    ).json()
    assert node["edh:statementCount"] == 1500 and node["edh:batchCount"] == 2
    assert node["dct:temporal"]["dcat:startDate"]["@value"].startswith("2026-08-31T08:00:00")
    assert node["dct:temporal"]["dcat:endDate"]["@value"].startswith("2026-09-01T10:00:00")


def test_batch_stats_refuse_bad_input(world: World, hub_ctx: HubContext) -> None:
    now = datetime.now(UTC)
    with Session(hub_ctx.engine) as session:
        with pytest.raises(NotFound):
            record_batch_stats(session, "unknown", 1, now, now)
        with pytest.raises(ValidationFailed):
            record_batch_stats(session, world.dataset_id, 1, now, now - timedelta(seconds=1))
        with pytest.raises(ValidationFailed):
            record_batch_stats(session, world.dataset_id, -1, now, now)


def test_researcher_starts_a_contract_request_from_a_dataset(world: World) -> None:
    terms = world.terms()
    for key in ("provider_id", "datasets"):
        terms.pop(key)
    url = f"/api/v1/catalog/datasets/{world.dataset_id}/contract-requests"
    contract = world.post(url.removeprefix("/api/v1"), world.as_lab(), terms)
    assert contract["state"] == "REQUESTED"
    assert contract["provider_id"] == world.provider_id
    assert contract["terms"]["datasets"] == [world.dataset_id]
    resp = world.client.post(url, json={**terms, "provider_id": "x"}, headers=world.as_lab())
    assert resp.status_code == 400 and "provider_id" in resp.text


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"verbs": ["played"]}, "verbs"),
        ({"fields": ["Bad Name"]}, "fields"),
        ({"update_frequency": "HOURLY"}, "update_frequency"),
        ({"extra": True}, "extra"),
        ({"fields": ["verb_id", "verb_id"]}, "duplicates"),
    ],
)
def test_bad_dataset_descriptions_are_refused(
    world: World, overrides: dict[str, object], fragment: str
) -> None:
    resp = world.client.post(
        "/api/v1/catalog/datasets",
        json=dataset_body(world.provider_id, **overrides),
        headers=world.as_provider(),
    )
    assert resp.status_code == 400 and resp.headers["content-type"] == "application/problem+json"
    assert fragment in resp.text


def test_providers_describe_only_their_own_datasets(world: World) -> None:
    other = world.auth("provider", sub="x", org="another")
    resp = world.client.post(
        "/api/v1/catalog/datasets", json=dataset_body(world.provider_id), headers=other
    )
    assert resp.status_code == 403
    assert world.client.get("/api/v1/catalog", headers=world.auth("connector")).status_code == 403
    resp = world.client.post(
        "/api/v1/catalog/datasets", json=dataset_body(world.lab_id), headers=world.as_operator()
    )
    assert resp.status_code == 400 and "not a provider" in resp.text
