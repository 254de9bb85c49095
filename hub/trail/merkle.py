"""RFC 6962 / RFC 9162 Merkle trees over audit event hashes, usable offline.

Leaves are the 32-byte event hashes; ``leaf = SHA-256(0x00 || data)`` and
``node = SHA-256(0x01 || left || right)``. Trees are never held whole: a
:class:`Frontier` (the perfect subtrees, or "peaks", of the tree so far) extends a tree
one leaf at a time and gives its root, and proofs are computed from a :class:`NodeSource`
that knows the leaves after a base frontier (events before it may have been purged).
The ``verify_*`` functions need nothing but the standard library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice


class ProofUnavailable(ValueError):
    """A proof needs leaves that were purged, or sizes outside the tree."""


_LEAF_PREFIX, _NODE_PREFIX = hashlib.sha256(b"\x00"), hashlib.sha256(b"\x01")
"""The states after hashing each prefix, never updated: a copy of one, updated with the
rest, costs less than a new hash over the joined bytes (no join, no digest lookup)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    state = _LEAF_PREFIX.copy()
    state.update(data)
    return state.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    state = _NODE_PREFIX.copy()
    state.update(left)
    state.update(right)
    return state.digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def peak_ranges(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``[lo, hi)`` of a tree of ``size`` leaves, left to right."""
    out, lo = [], 0
    for bit in reversed(range(size.bit_length())):
        if size & (1 << bit):
            out.append((lo, lo + (1 << bit)))
            lo += 1 << bit
    return out


def root_of_peaks(peaks: Sequence[bytes]) -> bytes:
    """The tree head of a tree whose perfect subtrees are ``peaks`` (left to right)."""
    if not peaks:
        return EMPTY_ROOT
    root = peaks[-1]
    for peak in reversed(peaks[:-1]):
        root = node_hash(peak, root)
    return root


def _perfect_root(datas: Sequence[bytes]) -> bytes:
    """The root of the perfect tree over ``datas`` (a power of two of them): the hashes of
    :func:`leaf_hash` and :func:`node_hash`, inlined (this is the audit scan's hot loop)."""
    leaf, node = _LEAF_PREFIX.copy, _NODE_PREFIX.copy
    level: list[bytes] = []
    add = level.append
    for data in datas:
        state = leaf()
        state.update(data)
        add(state.digest())
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=True)
        level = []
        add = level.append
        for left, right in pairs:
            state = node()
            state.update(left)
            state.update(right)
            add(state.digest())
    return level[0]


def aligned_subtrees(start: int, datas: Sequence[bytes]) -> Iterator[tuple[bytes, int]]:
    """The perfect subtrees over the leaves for ``datas`` placed from leaf ``start`` on, as
    ``(root, height)`` left to right, each as large as its place allows (its first leaf a
    multiple of its size): hashed as whole subtrees, level by level."""
    i, n = 0, len(datas)
    while i < n:
        pos = start + i
        height = (pos & -pos).bit_length() - 1 if pos else (n - i).bit_length() - 1
        while 1 << height > n - i:
            height -= 1
        yield _perfect_root(datas[i : i + (1 << height)]), height
        i += 1 << height


@dataclass
class Frontier:
    """A tree grown leaf by leaf in O(log n) memory: its size and its peaks."""

    size: int = 0
    peaks: list[bytes] = field(default_factory=list)

    def append(self, data: bytes) -> None:
        """Add the leaf for ``data`` (an event hash)."""
        self.push(leaf_hash(data), 0)

    def extend(self, datas: Sequence[bytes]) -> None:
        """Add the leaves for ``datas`` in order: same tree as :meth:`append` on each, but
        aligned runs of leaves are hashed as whole perfect subtrees."""
        for root, height in aligned_subtrees(self.size, datas):
            self.push(root, height)

    def extend_from(self, datas: Iterable[bytes], chunk: int = 4096) -> None:
        """:meth:`extend` over an iterable, ``chunk`` leaves at a time (memory stays flat)."""
        source = iter(datas)
        while batch := list(islice(source, chunk)):
            self.extend(batch)

    def push(self, root: bytes, height: int) -> None:
        """Add a perfect subtree of ``2**height`` leaves (``size`` is a multiple of it)."""
        self.peaks.append(root)
        self.size += 1 << height
        n = self.size >> height
        while not n & 1:
            right = self.peaks.pop()
            self.peaks[-1] = node_hash(self.peaks[-1], right)
            n >>= 1

    def root(self) -> bytes:
        """The RFC 6962 tree head of the leaves so far."""
        return root_of_peaks(self.peaks)

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.peaks))


@dataclass
class Span:
    """Leaves ``start`` to ``end - 1`` of a larger tree, hashed apart from the leaves before
    them (by another process): the perfect subtrees covering them, ``(root, height)`` left
    to right, each merged as far as its place allows. Pushing ``nodes`` in order onto the
    :class:`Frontier` of the first ``start`` leaves gives that of the first ``end``."""

    start: int
    end: int
    nodes: list[tuple[bytes, int]] = field(default_factory=list)

    def extend(self, datas: Sequence[bytes]) -> None:
        """Add the leaves for ``datas`` after ``end``."""
        nodes = self.nodes
        for root, height in aligned_subtrees(self.end, datas):
            nodes.append((root, height))
            self.end += 1 << height
            h = height
            # the last two are siblings: equal heights, the left one aligned one level up
            while len(nodes) > 1 and nodes[-2][1] == h and not (self.end >> h) & 1:
                right = nodes.pop()[0]
                nodes[-1] = (node_hash(nodes[-1][0], right), h + 1)
                h += 1


def root_of(leaves: Iterable[bytes]) -> bytes:
    """The tree head over ``leaves`` (raw event hashes)."""
    frontier = Frontier()
    frontier.extend_from(leaves)
    return frontier.root()


@dataclass
class NodeSource:
    """Subtree hashes of a tree whose leaves before ``base.size`` are only known as peaks."""

    base: Frontier
    leaves: list[bytes]  # raw data of leaves base.size, base.size + 1, ...

    @property
    def size(self) -> int:
        return self.base.size + len(self.leaves)

    def mth(self, lo: int, hi: int) -> bytes:
        """The hash of the subtree over leaves ``[lo, hi)``."""
        known = dict(zip(peak_ranges(self.base.size), self.base.peaks, strict=True))
        return self._mth(lo, hi, known)

    def _mth(self, lo: int, hi: int, known: dict[tuple[int, int], bytes]) -> bytes:
        if (lo, hi) in known:
            return known[(lo, hi)]
        if lo >= self.base.size:
            start = lo - self.base.size
            return root_of(self.leaves[start : start + hi - lo])
        if hi - lo == 1:
            raise ProofUnavailable(f"leaf {lo} was purged")
        k = _split(hi - lo)
        return node_hash(self._mth(lo, lo + k, known), self._mth(lo + k, hi, known))

    def inclusion_path(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
        if not 0 <= index < size <= self.size:
            raise ProofUnavailable(f"leaf {index} is not in a tree of {size} leaves")
        return self._path(index, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = _split(hi - lo)
        if m < k:
            return [*self._path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """RFC 6962 consistency proof between the trees of ``first`` and ``second`` leaves."""
        if not 0 < first <= second <= self.size:
            raise ProofUnavailable(f"no consistency proof from size {first} to {second}")
        return self._subproof(first, 0, second, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, whole), self.mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    data: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: is leaf ``data`` at ``index`` in the tree with ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(data)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: does the tree ``second_root`` extend ``first_root``?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    nodes = list(proof)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
