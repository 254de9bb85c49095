"""Minimisation: keep only the statement fields the contract allows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Fields the lake layout needs in every row (interface 2); always kept.
ESSENTIAL_FIELDS = (
    "id",
    "actor",
    "verb.id",
    "object.id",
    "object.objectType",
    "timestamp",
    "stored",
    "version",
)

# Lake columns (interface 2) and the statement paths that feed them: contracts allow
# columns by name; a dotted name is taken as a statement path as it is.
COLUMN_PATHS: dict[str, tuple[str, ...]] = {
    "statement_id": ("id",),
    "actor_pseudonym": ("actor",),
    "verb_id": ("verb.id",),
    "object_id": ("object.id",),
    "object_type": ("object.definition.type",),
    "timestamp": ("timestamp",),
    "stored": ("stored",),
    "result_score_scaled": ("result.score.scaled",),
    "result_score_raw": ("result.score.raw",),
    "result_success": ("result.success",),
    "result_completion": ("result.completion",),
    "result_duration_s": ("result.duration",),
    "context_registration": ("context.registration",),
    "context_platform": ("context.platform",),
    "school_id": ("context.contextActivities.grouping",),
    "class_id": ("context.contextActivities.grouping",),
}

Tree = dict[str, Any]  # path part -> True (keep the whole subtree) or a nested Tree


def _tree(paths: Iterable[str]) -> Tree:
    tree: Tree = {}
    for path in paths:
        node = tree
        parts = [p for p in path.strip().split(".") if p]
        for i, part in enumerate(parts):
            if node.get(part) is True:
                break
            if i == len(parts) - 1:
                node[part] = True
            else:
                node = node.setdefault(part, {})
    return tree


def _apply(value: Any, tree: Tree) -> Any:
    if isinstance(value, list):
        kept = [_apply(v, tree) for v in value]
        return [v for v in kept if v is not None]
    if not isinstance(value, dict):
        return None
    out = {}
    for key, item in value.items():
        sub = tree.get(key)
        if sub is True:
            out[key] = item
        elif sub is not None:
            kept = _apply(item, sub)
            if kept:
                out[key] = kept
    return out or None


class FieldFilter:
    """Drops every field whose dotted path is not allowed.

    ``allowed`` holds lake column names (``result_score_scaled``, ``school_id``, see
    :data:`COLUMN_PATHS`) or statement paths (``context.extensions``); allowing a path keeps
    its whole subtree; lists are filtered element by element.
    :data:`ESSENTIAL_FIELDS` are always kept.
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        paths = [p for name in allowed for p in COLUMN_PATHS.get(name, (name,))]
        self.allowed = sorted({*paths, *ESSENTIAL_FIELDS})
        self._tree = _tree(self.allowed)

    def apply(self, statement: dict[str, Any]) -> dict[str, Any]:
        """A new statement holding only the allowed fields (the input is not modified)."""
        kept = _apply(statement, self._tree)
        return kept if isinstance(kept, dict) else {}
