"""The Merkle tree that :func:`~threeregs.store.verify` builds from the streamed leaf hashes."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from threeregs.store import _tables as t
from threeregs.store._merkle import Frontier

if TYPE_CHECKING:
    from collections.abc import Sequence


class _Tree:
    """Builder of the Merkle tree of the streamed leaf hashes, in aligned blocks.

    Hashing a block of 2**_BLOCK_LEVEL leaves one level at a time keeps the
    per-leaf Python work small; completed blocks join a :class:`Frontier` of
    block roots. Perfect subtrees of height ``LOG_NODE_LEVEL`` and above are
    kept for comparison with ``threeregs_log_nodes``.
    """

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.done = 0
        self.block: list[bytes] = []
        self.computed: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return self.done + len(self.block)

    def extend(self, hashes: Sequence[bytes]) -> None:
        """Add leaf hashes, folding each block into the frontier as it fills."""
        start = 0
        while start < len(hashes):
            end = start + _BLOCK - len(self.block)
            self.block.extend(hashes[start:end])
            start = end
            if len(self.block) == _BLOCK:
                self.push_block()

    def push_block(self) -> None:
        """Fold the full block into the frontier."""
        sha256 = hashlib.sha256
        level_hashes = self.block
        level = 0
        while len(level_hashes) > 1:
            level_hashes = [
                sha256(b"\x01" + level_hashes[i] + level_hashes[i + 1]).digest()
                for i in range(0, len(level_hashes), 2)
            ]
            level += 1
            if level >= t.LOG_NODE_LEVEL:
                first = self.done >> level
                for offset, value in enumerate(level_hashes):
                    self.computed[level, first + offset] = value
        value = level_hashes[0]
        carry = self.done >> _BLOCK_LEVEL
        while carry & 1:
            value = sha256(b"\x01" + self.stack.pop() + value).digest()
            carry >>= 1
            level += 1
            self.computed[level, ((self.done + _BLOCK) >> level) - 1] = value
        self.stack.append(value)
        self.done += _BLOCK
        self.block = []

    def frontier(self, *, keep: bool = False) -> Frontier:
        """Return the frontier of the leaves so far; *keep* records the subtrees it completes."""

        def record(level: int, index: int, value: bytes) -> None:
            if level >= t.LOG_NODE_LEVEL:
                self.computed[level, index] = value

        frontier = Frontier(self.stack, size=self.done, on_subtree=record if keep else None)
        for value in self.block:
            frontier.append(value)
        return frontier


_BLOCK_LEVEL: Final = 10
_BLOCK: Final = 1 << _BLOCK_LEVEL
