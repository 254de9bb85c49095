"""JSON-LD compaction of incoming DSP messages to the 2025-1 context's terms.

Peers may send keys and ``@type`` values as terms (``providerPid``), as compact IRIs
(``dspace:providerPid``, ``odrl:permission``) or as full IRIs; ``compact`` rewrites them
to the terms the protocol's schemas name. A document must declare the 2025-1 context
(``@context`` a string or a list containing it); other context entries are kept but not
interpreted (no remote context is ever fetched).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from contracts.dsp.schema import SCHEMA_DIR, InvalidMessage
from contracts.dsp.vocab import CONTEXT_URL

_CONTEXT_FILES = ("context/dspace.jsonld", "context/odrl.jsonld")


def _collect(definitions: dict[str, Any], prefixes: dict[str, str], out: dict[str, str]) -> None:
    for term, value in definitions.items():
        if term.startswith("@"):
            continue
        iri = value if isinstance(value, str) else (value or {}).get("@id")
        if not isinstance(iri, str):
            continue
        prefix, sep, local = iri.partition(":")
        full = prefixes[prefix] + local if sep and prefix in prefixes else iri
        if full.startswith("@") or full.endswith(("/", "#")):
            continue
        out.setdefault(full, term)
        nested = value.get("@context") if isinstance(value, dict) else None
        if isinstance(nested, dict):
            _collect(nested, prefixes, out)


@functools.cache
def terms() -> dict[str, str]:
    """Full IRI → term, for every term the dspace and odrl contexts define."""
    out: dict[str, str] = {}
    for name in _CONTEXT_FILES:
        context = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))["@context"]
        prefixes = {k: v for k, v in context.items() if isinstance(v, str) and v[-1] in "/#"}
        _collect(context, prefixes, out)
    return out


@functools.cache
def _prefixes() -> dict[str, str]:
    return {"dspace": "https://w3id.org/dspace/2025/1/", "odrl": "http://www.w3.org/ns/odrl/2/"}


def _term(name: str) -> str:
    prefix, sep, local = name.partition(":")
    if sep and prefix in _prefixes():
        name = _prefixes()[prefix] + local
    return terms().get(name, name)


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context" or (key.startswith("@") and key != "@type"):
            out[key] = value
        elif key == "@type" and isinstance(value, str):
            out[key] = _term(value)
        else:
            out[_term(key)] = _compact(value)
    return out


def has_dsp_context(document: dict[str, Any]) -> bool:
    """True when ``document`` declares the 2025-1 context."""
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    return CONTEXT_URL in entries


def compact(document: Any) -> dict[str, Any]:
    """``document`` with its keys and types compacted to the context's terms and its
    ``@context`` normalised to a list; raises ``InvalidMessage`` when it is not an object
    declaring the 2025-1 context."""
    if not isinstance(document, dict):
        raise InvalidMessage("a DSP message must be a JSON object")
    if not has_dsp_context(document):
        raise InvalidMessage(f"the message must declare the context {CONTEXT_URL}")
    out: dict[str, Any] = _compact(document)
    context = out["@context"]
    out["@context"] = context if isinstance(context, list) else [context]
    return out
