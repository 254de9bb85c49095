"""DCAT-AP 3 JSON-LD rendering of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.catalog.models import Dataset

FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "edh": "https://w3id.org/xapi/edh/terms#",
}


def _when(ts: datetime | None) -> dict[str, str] | None:
    return {"@value": ts.isoformat(), "@type": "xsd:dateTime"} if ts else None


def dataset_node(dataset: Dataset, base_url: str, publisher: str | None = None) -> dict[str, Any]:
    """One ``dcat:Dataset``; EDH-specific facts (verbs, fields, statistics) under ``edh:``;
    ``publisher`` is the provider's name."""
    node: dict[str, Any] = {
        "@id": f"{base_url}/api/v1/catalog/datasets/{dataset.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.id,
        "dct:title": {"@value": dataset.title, "@language": "fr"},
        "dct:description": {"@value": dataset.description, "@language": "fr"},
        "dct:publisher": {
            "@id": f"urn:edh:organisation:{dataset.provider_id}",
            "@type": "foaf:Agent",
            "foaf:name": publisher or dataset.provider_id,
        },
        "dct:conformsTo": {"@id": dataset.xapi_profile},
        "dct:spatial": {"@type": "dct:Location", "dct:description": dataset.coverage},
        "dct:accrualPeriodicity": {"@id": FREQUENCY_BASE + dataset.update_frequency},
        "dcat:keyword": list(dataset.keywords),
        "dct:issued": _when(dataset.created_at),
        "dct:modified": _when(dataset.updated_at),
        "edh:verb": [{"@id": v} for v in dataset.verbs],
        "edh:field": list(dataset.fields),
        "edh:statementCount": dataset.statement_count,
        "edh:batchCount": dataset.batch_count,
    }
    if dataset.first_statement_at and dataset.last_statement_at:
        node["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _when(dataset.first_statement_at),
            "dcat:endDate": _when(dataset.last_statement_at),
        }
    return {k: v for k, v in node.items() if v is not None}


def catalog_document(
    datasets: list[Dataset], base_url: str, publishers: dict[str, str]
) -> dict[str, Any]:
    """The ``dcat:Catalog`` of the hub listing ``datasets`` (``publishers``: provider id →
    name)."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/v1/catalog",
        "@type": "dcat:Catalog",
        "dct:title": {
            "@value": "Catalogue de la plateforme des données scolaires",
            "@language": "fr",
        },
        "dct:publisher": {"@id": "urn:edh:hub"},
        "dcat:dataset": [
            dataset_node(d, base_url, publishers.get(d.provider_id)) for d in datasets
        ],
    }
