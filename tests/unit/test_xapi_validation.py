"""Strict statement validation: the schema plus the rules it cannot express."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from connector.errors import InvalidStatement
from connector.xapi import validation
from connector.xapi.validation import validate_statement, validate_statements

AGENT = {"objectType": "Agent", "mbox": "mailto:pupil@example.org", "name": "Élève"}


def base(**extra: Any) -> dict[str, Any]:
    return {
        "actor": copy.deepcopy(AGENT),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"fr-FR": "a fini"}},
        "object": {"id": "http://example.org/activity", "objectType": "Activity"},
        **extra,
    }


VALID = {
    "minimal": base(),
    "RFC 3339 timestamp": base(timestamp="2008-09-15 15:53:00.601+00:00"),
    "ISO 8601 basic timestamp": base(timestamp="20080915T155300.601+0000"),
    "language tags": base(
        verb={
            "id": "http://e.org/v",
            "display": {
                "de": "a",
                "zh-Hant": "b",
                "sr-Latn-RS": "c",
                "es-419": "d",
                "i-klingon": "e",
            },
        },
        context={"language": "cmn"},
    ),
    "account actor": base(actor={"account": {"homePage": "http://ent.example", "name": "42"}}),
    "identified group": base(
        actor={"objectType": "Group", "openid": "http://g.example/", "member": [AGENT]}
    ),
    "anonymous group": base(actor={"objectType": "Group", "member": [AGENT]}),
    "agent object": base(object={"objectType": "Agent", "mbox_sha1sum": "a" * 40}),
    "statement ref": base(
        object={"objectType": "StatementRef", "id": "9e13cefd-53d3-4eac-b5ed-2cf6693903bb"}
    ),
    "sub statement": base(
        object={
            "objectType": "SubStatement",
            "actor": AGENT,
            "verb": {"id": "http://example.org/verbs/plans"},
            "object": {"id": "http://example.org/activity"},
        }
    ),
    "full": base(
        id="9e13cefd-53d3-4eac-b5ed-2cf6693903bb",
        timestamp="2026-11-23T10:00:00.123456789Z",
        result={
            "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
            "success": True,
            "completion": True,
            "duration": "PT1H0M0.5S",
            "response": "x",
            "extensions": {"http://example.org/ext": {"a": 1}},
        },
        context={
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": AGENT,
            "contextActivities": {
                "parent": {"id": "http://example.org/course"},
                "grouping": [{"id": "http://e.org/g"}],
            },
            "platform": "ENT",
            "revision": "2",
            "language": "fr-FR",
        },
        attachments=[
            {
                "usageType": "http://example.org/usage",
                "display": {"fr": "pièce"},
                "contentType": "text/plain",
                "length": 3,
                "sha2": "a" * 64,
                "fileUrl": "http://example.org/file",
            }
        ],
    ),
    "choice interaction": base(
        object={
            "id": "http://example.org/q1",
            "definition": {
                "interactionType": "choice",
                "choices": [{"id": "a"}],
                "correctResponsesPattern": ["a"],
            },
        }
    ),
}

INVALID = {
    "no actor": (
        {"verb": {"id": "http://e.org/v"}, "object": {"id": "http://e.org/a"}},
        "statement: ",
    ),
    "mbox without mailto": (base(actor={"mbox": "pupil@example.org"}), "statement.actor.mbox"),
    "two IFIs": (
        base(actor={"mbox": "mailto:a@b.c", "openid": "http://x.org/"}),
        "exactly one inverse",
    ),
    "no IFI": (base(actor={"name": "x"}), "statement.actor"),
    "verb id not an IRI": (base(verb={"id": "completed"}), "statement.verb.id"),
    "repeated language extension": (
        base(verb={"id": "http://e.org/v", "display": {"zh-z-aaa-z-bbb-c-ccc": "x"}}),
        "statement.verb.display",
    ),
    "bad context language": (base(context={"language": "en_US"}), "statement.context.language"),
    "bad language tag": (
        base(verb={"id": "http://e.org/v", "display": {"fr FR": "x"}}),
        "statement.verb.display",
    ),
    "unknown property": (base(colour="blue"), "statement"),
    "bad uuid": (base(id="not-a-uuid"), "statement.id"),
    "bad object type": (
        base(object={"objectType": "Thing", "id": "http://e.org/a"}),
        "statement.object.objectType",
    ),
    "scaled above 1": (base(result={"score": {"scaled": 1.5}}), "statement.result.score.scaled"),
    "raw above max": (
        base(result={"score": {"raw": 11, "min": 0, "max": 10}}),
        "statement.result.score.raw",
    ),
    "min not below max": (
        base(result={"score": {"min": 3, "max": 3}}),
        "statement.result.score.min",
    ),
    "bad duration": (base(result={"duration": "1 hour"}), "statement.result.duration"),
    "bad timestamp": (base(timestamp="2026-13-01T00:00:00Z"), "statement.timestamp"),
    "negative zero offset": (base(timestamp="2026-01-01T00:00:00-00:00"), "statement.timestamp"),
    "negative zero short offset": (
        base(timestamp="2008-09-15T15:53:00.601-00"),
        "statement.timestamp",
    ),
    "negative zero basic offset": (base(timestamp="2008-09-15T15:53:00.601-0000"), "timestamp"),
    "slashed date": (base(timestamp="01/011/2015"), "statement.timestamp"),
    "platform on agent object": (
        base(object={"objectType": "Agent", "mbox": "mailto:a@b.c"}, context={"platform": "x"}),
        "statement.context.platform",
    ),
    "voided verb without ref": (
        base(verb={"id": "http://adlnet.gov/expapi/verbs/voided"}),
        "statement.object",
    ),
    "nested sub statement": (
        base(
            object={
                "objectType": "SubStatement",
                "actor": AGENT,
                "verb": {"id": "http://e.org/v"},
                "object": {
                    "objectType": "SubStatement",
                    "actor": AGENT,
                    "verb": {"id": "http://e.org/v"},
                    "object": {"id": "http://e.org/a"},
                },
            }
        ),
        "statement.object.object.objectType",
    ),
    "sub statement with id": (
        base(
            object={
                "objectType": "SubStatement",
                "id": "9e13cefd-53d3-4eac-b5ed-2cf6693903bb",
                "actor": AGENT,
                "verb": {"id": "http://e.org/v"},
                "object": {"id": "http://e.org/a"},
            }
        ),
        "statement.object",
    ),
    "components of the wrong interaction": (
        base(
            object={
                "id": "http://e.org/q",
                "definition": {"interactionType": "true-false", "choices": [{"id": "a"}]},
            }
        ),
        "statement.object.definition.choices",
    ),
    "extension key not an IRI": (
        base(result={"extensions": {"speed": 1}}),
        "statement.result.extensions",
    ),
    "attachment without sha2": (
        base(
            attachments=[
                {
                    "usageType": "http://e.org/u",
                    "display": {"en": "a"},
                    "contentType": "text/plain",
                    "length": 1,
                }
            ]
        ),
        "statement.attachments[0]",
    ),
    "not an object": ([1], "statement: a statement must be a JSON object"),
}


@pytest.mark.parametrize("name", VALID)
def test_valid_statements_are_accepted(name: str) -> None:
    validate_statement(VALID[name], "2.0.0")
    validate_statement(VALID[name], "1.0.3")


@pytest.mark.parametrize("name", INVALID)
def test_invalid_statements_name_the_field(name: str) -> None:
    statement, field = INVALID[name]
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(statement, "2.0.0")
    assert field in caught.value.detail


def test_context_agents_are_2_0_only() -> None:
    statement = base(context={"contextAgents": [{"objectType": "contextAgent", "agent": AGENT}]})
    validate_statement(statement, "2.0.0")
    with pytest.raises(InvalidStatement, match="contextAgents"):
        validate_statement(statement, "1.0.3")


def test_statement_version_must_match_the_api_version() -> None:
    validate_statement(base(version="1.0.0"), "2.0.0")
    with pytest.raises(InvalidStatement, match=r"statement\.version"):
        validate_statement(base(version="2.0.0"), "1.0.3")


def test_batch_errors_name_the_statement_index() -> None:
    with pytest.raises(InvalidStatement, match=r"statement\[1\]\.actor"):
        validate_statements([base(), base(actor={})], "2.0.0")


def test_every_statement_of_the_shared_sample_is_valid(
    sample_statements: list[dict[str, Any]],
) -> None:
    assert len(sample_statements) == 22_000
    validate_statements(sample_statements, "1.0.3")
    validate_statements(sample_statements, "2.0.0")


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (base(actor={"mbox": "x"}), 'statement.actor.mbox: "x" is not a mailto: IRI'),
        (
            base(verb={"id": "http://e.org/v", "display": {"en US": "x"}}),
            'statement.verb.display: key "en US" is not an RFC 5646 language tag',
        ),
        (base(timestamp="hier"), 'statement.timestamp: "hier" is not an ISO 8601 timestamp'),
    ],
)
def test_messages_say_what_a_format_means(statement: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(statement, "1.0.3")
    assert caught.value.detail.startswith(message)


def _language_tags() -> list[str]:
    """Tags near the fast path's edge (plain language-region tags) and far from it, and
    random strings over the tags' alphabet: valid and invalid alike."""
    edges = [
        "en", "EN", "fr-FR", "fr-fr", "es-419", "zh-Hant", "zh-Hant-TW", "de-CH-1901",
        "en-a-bbb-a-ccc", "en-a-bbb-b-ccc", "en-a-bbb-x-a-ccc", "x-whatever", "i-klingon",
        "en-GB-oed", "en-", "-en", "e", "engl-US", "abcdefghi", "en-US-", "en--US", "en US",
        "fra-419", "en-1234", "en-12", "en-U", "qaa-Qaaa-QM-x-southern", "sgn-BE-FR", "",
        "en-US\n", "é", "en-us-x-a-b",
    ]  # fmt: skip
    rng = random.Random(20)
    alphabet = "aAbexXiz0149-"
    randoms = ["".join(rng.choices(alphabet, k=rng.randint(1, 14))) for _ in range(3000)]
    return edges + randoms


def test_the_batch_check_of_language_tags_agrees_with_the_schema() -> None:
    """Oracle: the schema's own validator, one statement at a time. The batch check tries
    a plain tag first, then the full RFC 5646 pattern; it must accept exactly the same."""
    tags = _language_tags()
    statements = [base(verb={"id": "http://example.org/v", "display": {tag: "x"}}) for tag in tags]
    single = [validation._validator().is_valid(s) for s in statements]
    batch = [validation._batch_validator().is_valid([s]) for s in statements]
    assert batch == single
    assert 30 < sum(single) < len(tags) - 30  # both kinds were tried
