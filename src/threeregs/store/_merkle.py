"""Merkle tree hashes and proofs of RFC 9162 (Certificate Transparency 2.0) section 2.1.

Leaves are hashed as ``SHA-256(0x00 || leaf)`` and interior nodes as
``SHA-256(0x01 || left || right)``; the hash of the empty tree is
``SHA-256("")``. A tree of *n* leaves splits at the largest power of two
below *n*, so every subtree on the left is a perfect binary tree.

This module does not use the database. Proof builders take a
*subtree* function that returns the hash of the leaves ``[start, end)``;
those ranges are always either one perfect subtree aligned to its size or
the right edge of a tree, so a caller can serve them from cached perfect
subtrees.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

HASH_SIZE: Final = 32
#: Root hash of the tree with no leaves (RFC 9162 section 2.1.1).
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_sha256 = hashlib.sha256


def leaf_hash(leaf: bytes) -> bytes:
    """Return the hash of one leaf: SHA-256 of 0x00 followed by the leaf."""
    return _sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the hash of an interior node: SHA-256 of 0x01, left and right."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def split_point(size: int) -> int:
    """Return the largest power of two smaller than *size* (which is at least 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def is_perfect(start: int, end: int) -> bool:
    """Tell whether ``[start, end)`` is one perfect subtree aligned to its size."""
    size = end - start
    return size > 0 and size & (size - 1) == 0 and start % size == 0


def root_of(hashes: Sequence[bytes]) -> bytes:
    """Return the root of the tree whose leaf hashes are *hashes*, in order."""
    if not hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for value in hashes:
        frontier.append(value)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: one hash per perfect subtree.

    Appending a leaf hash merges equal-sized subtrees as a binary counter
    carries, so building a tree of *n* leaves costs *n* - 1 node hashes, and
    the root of the current size is available at any point. This class is
    mutable.

    *on_subtree*, when given, is called with ``(level, index, hash)`` for each
    perfect subtree of height *level* >= 1 as it completes; its leaves are
    ``[index * 2**level, (index + 1) * 2**level)``.
    """

    __slots__ = ("_hashes", "_on_subtree", "size")

    def __init__(
        self,
        hashes: Iterable[bytes] = (),
        *,
        size: int = 0,
        on_subtree: Callable[[int, int, bytes], None] | None = None,
    ) -> None:
        self._hashes = list(hashes)
        if len(self._hashes) != size.bit_count():
            count = len(self._hashes)
            msg = f"a frontier of size {size} holds {size.bit_count()} hashes, not {count}"
            raise ValueError(msg)
        self.size = size
        self._on_subtree = on_subtree

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect subtree hashes, largest (leftmost) first."""
        return tuple(self._hashes)

    def append(self, value: bytes) -> None:
        """Add the next leaf hash."""
        carry = self.size
        level = 0
        stack = self._hashes
        while carry & 1:
            value = _sha256(_NODE_PREFIX + stack.pop() + value).digest()
            carry >>= 1
            level += 1
            if self._on_subtree is not None:
                self._on_subtree(level, ((self.size + 1) >> level) - 1, value)
        stack.append(value)
        self.size += 1

    def root(self) -> bytes:
        """Return the root hash of the leaves appended so far."""
        if not self._hashes:
            return EMPTY_ROOT
        value = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            value = _sha256(_NODE_PREFIX + left + value).digest()
        return value


def subtree_from_leaves(hashes: Sequence[bytes]) -> Callable[[int, int], bytes]:
    """Return a *subtree* function over leaf hashes held in memory."""

    def subtree(start: int, end: int) -> bytes:
        if end - start == 1:
            return hashes[start]
        middle = start + split_point(end - start)
        return node_hash(subtree(start, middle), subtree(middle, end))

    return subtree


def perfect_parts(start: int, end: int) -> list[tuple[int, int]]:
    """Split a range that a proof needs into perfect aligned subtrees, left to right.

    The RFC 9162 recursion only produces ranges whose start is aligned to the
    largest power of two not above their size, so the greedy split is exact.
    """
    parts = []
    while start < end:
        size = 1 << ((end - start).bit_length() - 1)
        parts.append((start, start + size))
        start += size
    return parts


# --- inclusion (RFC 9162 section 2.1.3) ----------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes form PATH(index, D[size]), leaf end first."""
    _check_index(index, size)
    ranges = []
    start, end = 0, size
    while end - start > 1:
        middle = start + split_point(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    ranges.reverse()
    return ranges


def inclusion_path(index: int, size: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """Build the audit path of leaf *index* in the tree of *size* leaves."""
    return [subtree(start, end) for start, end in inclusion_ranges(index, size)]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """Compute the root that an audit path gives, or None when its shape is wrong.

    Follows the verification steps of RFC 9162 section 2.1.3.2 with *leaf*
    the leaf hash.
    """
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in path):
        return None
    fn, sn = index, size - 1
    value = leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return value


def verify_inclusion_path(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """Tell whether *path* proves that leaf hash *leaf* is entry *index* of the tree with *root*."""
    computed = root_from_inclusion(index, size, leaf, path)
    return computed is not None and hmac.compare_digest(computed, root)


# --- consistency (RFC 9162 section 2.1.4) --------------------------------


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes form PROOF(first, D[second]), in proof order."""
    if not 0 <= first <= second:
        msg = f"a consistency proof needs 0 <= first <= second, not {first} and {second}"
        raise ValueError(msg)
    if first in (0, second):
        return []
    # SUBPROOF(m, D[start:end], b) unrolled: the recursion appends one range
    # after each step, so collect them and reverse at the end.
    ranges = []
    start, end, complete = 0, second, True
    m = first
    while m != end - start:
        middle = split_point(end - start)
        if m <= middle:
            ranges.append((start + middle, end))
            end = start + middle
        else:
            ranges.append((start, start + middle))
            start += middle
            m -= middle
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def consistency_path(first: int, second: int, subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """Build the proof that the tree of *first* leaves is a prefix of the tree of *second*."""
    return [subtree(start, end) for start, end in consistency_ranges(first, second)]


def verify_consistency_path(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """Tell whether *path* proves the tree of *first* leaves is a prefix of the one of *second*.

    Follows RFC 9162 section 2.1.4.2. Equal sizes need an empty path and equal
    roots; the empty tree is a prefix of every tree.
    """
    if not 0 <= first <= second or any(len(p) != HASH_SIZE for p in path):
        return False
    if first == second:
        return not path and hmac.compare_digest(first_root, second_root)
    if first == 0:
        return not path and hmac.compare_digest(first_root, EMPTY_ROOT)
    if not path:
        return False

    hashes = list(path)
    if first & (first - 1) == 0:
        hashes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for value in hashes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(value, fr)
            sr = node_hash(value, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, value)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        msg = f"leaf index {index} is outside a tree of {size} leaves"
        raise ValueError(msg)


def _to_hashes(values: Iterable[bytes]) -> tuple[bytes, ...]:
    return tuple(bytes(value) for value in values)


@attrs.frozen
class InclusionProof:
    """Proof that entry *leaf_index* is in the log at *tree_size* (RFC 9162 2.1.3)."""

    leaf_index: int
    tree_size: int
    path: tuple[bytes, ...] = attrs.field(converter=_to_hashes, repr=lambda p: f"<{len(p)} hashes>")


@attrs.frozen
class ConsistencyProof:
    """Proof that the log at *first* entries is a prefix of the log at *second* (RFC 9162 2.1.4)."""

    first: int
    second: int
    path: tuple[bytes, ...] = attrs.field(converter=_to_hashes, repr=lambda p: f"<{len(p)} hashes>")
