"""Minimisation: keep only the statement fields a contract allows (shared by the
connector, which minimises, and the hub, which verifies every batch against it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, final

SCHOOL_TYPE: Final = "https://w3id.org/xapi/edh/activity-types/school"
CLASS_TYPE: Final = "https://w3id.org/xapi/edh/activity-types/class"
GROUPING = "context.contextActivities.grouping"

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
# Lake columns fed by essential fields: present whatever the contract allows.
ESSENTIAL_COLUMNS = (
    "statement_id",
    "actor_pseudonym",
    "verb_id",
    "object_id",
    "timestamp",
    "stored",
    "statement_json",
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
    "school_id": (GROUPING,),
    "class_id": (GROUPING,),
}
# Columns fed by one typed activity of the grouping: allowing the column keeps that
# activity only (its id and type), never the rest of the grouping.
GROUPING_COLUMNS = {"school_id": SCHOOL_TYPE, "class_id": CLASS_TYPE}

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


def _covered(tree: Tree, path: str) -> bool:
    node: Any = tree
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
        if node is True:
            return True
    return False


@final
class _Keep:
    """What a tree allows of a value: a dict loses its keys outside the tree (a nested key
    that keeps nothing is dropped; ``None`` when nothing is left); a list is filtered
    element by element; any other value keeps nothing (``None``).

    Built once per filter, one node per level of the tree, so a statement costs one pass
    over its keys and no look-up of the tree's shape; compiled (``scripts/compiled.py``),
    a node calls the next as a native method, not through Python's call protocol."""

    def __init__(self, tree: Tree) -> None:
        self.whole = frozenset(key for key, sub in tree.items() if sub is True)
        self.nested: dict[str, _Keep] = {
            key: _Keep(sub) for key, sub in tree.items() if sub is not True
        }

    def keep(self, value: Any) -> Any:
        """What the tree allows of ``value``: new dicts and lists holding the input's own
        values (the input is not modified)."""
        if isinstance(value, dict):
            whole, nested = self.whole, self.nested
            if not nested:
                return {key: item for key, item in value.items() if key in whole} or None
            out = {}
            for key, item in value.items():
                if key in whole:
                    out[key] = item
                else:
                    node = nested.get(key)
                    if node is not None:
                        kept = node.keep(item)
                        if kept:
                            out[key] = kept
            return out or None
        if isinstance(value, list):
            return [kept for kept in map(self.keep, value) if kept is not None]
        return None


def _typed_grouping(statement: dict[str, Any], types: frozenset[str]) -> list[dict[str, Any]]:
    """The grouping activities of the allowed types, reduced to their id and type."""
    context = statement.get("context")
    activities = context.get("contextActivities") if isinstance(context, dict) else None
    grouping = activities.get("grouping") if isinstance(activities, dict) else None
    if not isinstance(grouping, list):
        return []
    kept = []
    for activity in grouping:
        if isinstance(activity, dict):
            definition = activity.get("definition")
            kind = definition.get("type") if isinstance(definition, dict) else None
            if isinstance(kind, str) and kind in types and "id" in activity:
                kept.append({"id": activity["id"], "definition": {"type": kind}})
    return kept


class FieldFilter:
    """Drops every field whose dotted path is not allowed.

    ``allowed`` holds lake column names (``result_score_scaled``, ``school_id``, see
    :data:`COLUMN_PATHS`) or statement paths (``context.extensions``); allowing a path keeps
    its whole subtree; lists are filtered element by element. ``school_id``/``class_id``
    keep only the grouping activity of their type. :data:`ESSENTIAL_FIELDS` are always kept.
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        names = set(allowed)
        paths = [
            p for name in names - set(GROUPING_COLUMNS) for p in COLUMN_PATHS.get(name, (name,))
        ]
        self.allowed = sorted({*paths, *ESSENTIAL_FIELDS})
        self._tree = _tree(self.allowed)
        self._keep = _Keep(self._tree)
        self._types = frozenset(GROUPING_COLUMNS[n] for n in names & set(GROUPING_COLUMNS))
        self._typed_grouping = bool(self._types) and not _covered(self._tree, GROUPING)
        self._names = frozenset(names)

    def apply(self, statement: dict[str, Any]) -> dict[str, Any]:
        """A new statement holding only the allowed fields (the input is not modified)."""
        kept = self._keep.keep(statement)
        out = kept if isinstance(kept, dict) else {}
        if self._typed_grouping:
            grouping = _typed_grouping(statement, self._types)
            if grouping:
                # Both are new dicts of the walk (the grouping would be kept whole else).
                context: dict[str, Any] = out.setdefault("context", {})
                activities: dict[str, Any] = context.setdefault("contextActivities", {})
                activities["grouping"] = grouping
        return out

    def reaches(self, path: str) -> bool:
        """True when something under the dotted ``path`` may be kept."""
        node: Any = self._tree
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
            if node is True:
                return True
        return node is not None

    def may_fill(self, column: str) -> bool:
        """True when lake column ``column`` may hold values under this filter."""
        if column in ESSENTIAL_COLUMNS or column in self._names:
            return True
        paths = COLUMN_PATHS.get(column)
        return paths is not None and all(_covered(self._tree, p) for p in paths)
