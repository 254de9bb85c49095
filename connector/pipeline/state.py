"""The connector's durable pipeline state: next batch sequence number and source cursors.

Saved atomically (write, fsync, rename) before each batch is announced to the hub
(``begin``: its sequence number and the cursor it ends at) and after the hub registered
it (``advance``). A crash in between replays that batch with the same sequence number
and the same statements (``pending_end``: the spool may have grown since, and a wider
batch would skip what the registered one did not hold), which the hub recognises
(idempotent), so nothing is lost and nothing is registered twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PipelineState:
    """``next_sequence`` is per connector; ``cursors`` map a source id to its position."""

    path: Path
    next_sequence: int = 1
    cursors: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int | str] | None = None

    @classmethod
    def load(cls, path: Path) -> PipelineState:
        """The saved state at ``path`` (a fresh one if absent)."""
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        cursors = {k: int(v) for k, v in data["cursors"].items()}
        return cls(path, int(data["next_sequence"]), cursors, data.get("pending"))

    def begin(self, source: str, end_cursor: int) -> None:
        """Persist durably that batch ``next_sequence`` of ``source`` ends at ``end_cursor``
        (before it is announced)."""
        self.pending = {"source": source, "sequence": self.next_sequence, "end": end_cursor}
        self.save()

    def pending_end(self, source: str) -> int | None:
        """Where the batch a crashed run had begun for ``source`` ends (None if none)."""
        pending = self.pending
        if pending is None or pending["source"] != source:
            return None
        if pending["sequence"] != self.next_sequence:
            return None
        return int(pending["end"])

    def advance(self, source: str, cursor: int, used_sequence: bool) -> None:
        """Record a finished batch and persist durably."""
        self.cursors[source] = cursor
        if used_sequence:
            self.next_sequence += 1
        self.pending = None
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            state = {"next_sequence": self.next_sequence, "cursors": self.cursors}
            json.dump({**state, "pending": self.pending}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
