"""RFC 6962 Merkle trees: roots against the RFC's recursive definition, proofs, tampering."""

from __future__ import annotations

import hashlib
import random

import pytest

from hub.trail.merkle import (
    EMPTY_ROOT,
    Frontier,
    NodeSource,
    ProofUnavailable,
    Span,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written directly from the definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(40)]


def test_hash_prefixes_follow_rfc_6962() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert leaf_hash(a) == hashlib.sha256(b"\x00" + a).digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_of([]) == EMPTY_ROOT


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 40])
def test_root_matches_the_recursive_definition(n: int) -> None:
    assert root_of(LEAVES[:n]) == mth(LEAVES[:n])


def test_every_inclusion_and_consistency_proof_verifies() -> None:
    source = NodeSource(Frontier(), LEAVES[:23])
    for size in range(1, 24):
        root = mth(LEAVES[:size])
        for i in range(size):
            path = source.inclusion_path(i, size)
            assert verify_inclusion(LEAVES[i], i, size, path, root)
            assert not verify_inclusion(LEAVES[i], (i + 1) % size, size, path, root) or size == 1
        for first in range(1, size + 1):
            proof = source.consistency_proof(first, size)
            assert verify_consistency(first, size, mth(LEAVES[:first]), root, proof)


def test_tampered_proofs_and_rewritten_history_fail() -> None:
    source = NodeSource(Frontier(), LEAVES[:20])
    path = source.inclusion_path(5, 20)
    root = mth(LEAVES[:20])
    assert not verify_inclusion(b"x" * 32, 5, 20, path, root)
    assert not verify_inclusion(LEAVES[5], 5, 20, [*path[:-1], b"y" * 32], root)
    proof = source.consistency_proof(7, 20)
    rewritten = mth([*LEAVES[:3], b"z" * 32, *LEAVES[4:20]])
    assert not verify_consistency(7, 20, mth(LEAVES[:7]), rewritten, proof)
    assert not verify_consistency(7, 20, mth(LEAVES[:7]), root, proof[:-1])


def test_proofs_after_a_purge_use_the_stored_peaks_only() -> None:
    for base_size in (1, 5, 8, 13):
        base = Frontier()
        for leaf in LEAVES[:base_size]:
            base.append(leaf)
        purged = NodeSource(base.copy(), LEAVES[base_size:33])
        full = NodeSource(Frontier(), LEAVES[:33])
        for size in range(base_size, 34):
            assert purged.consistency_proof(max(base_size, 1), size) == full.consistency_proof(
                max(base_size, 1), size
            )
            for i in range(base_size, size):
                assert purged.inclusion_path(i, size) == full.inclusion_path(i, size)
    with pytest.raises(ProofUnavailable):
        NodeSource(base, LEAVES[13:20]).inclusion_path(2, 20)


def test_frontier_is_incremental() -> None:
    frontier = Frontier()
    rng = random.Random(7)
    for i, leaf in enumerate(LEAVES, start=1):
        frontier.append(leaf)
        if rng.random() < 0.5:
            assert frontier.root() == mth(LEAVES[:i])
    assert len(frontier.peaks) == bin(len(LEAVES)).count("1")


def test_extend_grows_the_same_tree_as_append() -> None:
    rng = random.Random(6962)
    for _ in range(200):
        data = [rng.randbytes(32) for _ in range(rng.randrange(600))]
        start = rng.randrange(len(data) + 1)
        one, bulk = Frontier(), Frontier()
        for d in data:
            one.append(d)
        for d in data[:start]:
            bulk.append(d)
        i = start
        while i < len(data):
            step = rng.randrange(1, 300)
            bulk.extend(data[i : i + step])
            i += step
        assert bulk == one and bulk.root() == mth(data)


def test_spans_hashed_apart_push_onto_the_same_tree() -> None:
    """Ranges of leaves hashed each on its own (as verification workers do), their nodes
    pushed in order, give the tree grown leaf by leaf, at every cut."""
    rng = random.Random(9162)
    for _ in range(200):
        data = [rng.randbytes(32) for _ in range(rng.randrange(1, 600))]
        cuts = sorted(rng.sample(range(len(data) + 1), rng.randrange(min(5, len(data) + 1))))
        frontier = Frontier()
        for lo, hi in zip([0, *cuts], [*cuts, len(data)], strict=True):
            span = Span(lo, lo)
            i = lo
            while i < hi:  # fed in pieces, as batches arrive
                step = rng.randrange(1, 200)
                span.extend(data[i : min(i + step, hi)])
                i += step
            assert span.end == hi and len(span.nodes) <= 2 * max(hi - lo, 1).bit_length()
            for root, height in span.nodes:
                frontier.push(root, height)
            assert frontier.size == hi and frontier.root() == mth(data[:hi])
