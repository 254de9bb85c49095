"""Differencing finding: would a held cell and another result's cell differ by few pupils?

Each cell of an exact result (``hub.sandbox.airlock``) keeps its pupil count ``n`` and a
bottom-m sketch (the m smallest pupil hashes). Two cells whose pupil sets differ by fewer
than k pupils let a researcher subtract one from the other and learn about those few
pupils. Sets of at most m pupils
are compared exactly; larger ones by the Jaccard estimate of their sketches.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.sandbox.rewrite import SKETCH_SIZE


def symmetric_difference(
    n_a: int, sketch_a: Sequence[int], n_b: int, sketch_b: Sequence[int]
) -> float:
    """Exact (small sets) or estimated number of pupils in one cell but not the other."""
    a, b = set(sketch_a), set(sketch_b)
    if n_a <= SKETCH_SIZE and n_b <= SKETCH_SIZE:
        return float(len(a ^ b))
    union = sorted(a | b)[:SKETCH_SIZE]
    if not union:
        return 0.0
    jaccard = len(a.intersection(b, union)) / len(union)
    union_size = (n_a + n_b) / (1 + jaccard)
    return max((1 - jaccard) * union_size, float(abs(n_a - n_b)))
