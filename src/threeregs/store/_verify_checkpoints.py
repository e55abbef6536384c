"""Checkpoint checks of :func:`~threeregs.store.verify`.

``_targets`` collects the checkpoints to compare with the log: the trusted
one and the stored ones whose signature verifies. It reports stored
checkpoints that are invalid, and checkpoints that belong to another log or
fork from each other. ``_Checkpoints`` compares the root of the streamed
tree with each checkpoint when the stream reaches its size, and reports the
checkpoints that the log never reaches.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import attrs

from threeregs._errors import CheckpointError
from threeregs.store._log import stored_checkpoints
from threeregs.store._verify_report import ProblemKind, _Findings

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from threeregs.store._checkpoint import Checkpoint, CheckpointKey


@attrs.frozen
class _Target:
    """A checkpoint whose root the stream compares at its size."""

    checkpoint: Checkpoint
    row: int | None


def _targets(
    db: Connection,
    trusted: Checkpoint | None,
    keys: tuple[CheckpointKey, ...],
    log_id: str | None,
    findings: _Findings,
) -> tuple[dict[int, list[_Target]], int]:
    """Collect the checkpoints to compare, by tree size, and report invalid or forked ones."""
    targets: dict[int, list[_Target]] = {}
    seen: set[str] = set()
    unknown = 0
    candidates: list[_Target] = []
    if trusted is not None:
        candidates.append(_Target(trusted, None))
    for row, checkpoint in stored_checkpoints(db):
        if isinstance(checkpoint, CheckpointError):
            findings.add(ProblemKind.CHECKPOINT_INVALID, "checkpoint_unparsable", row=row)
            continue
        if not any(key.key_id == checkpoint.key_id for key in keys):
            unknown += 1
            continue
        if checkpoint.signing_key(keys) is None:
            findings.add(
                ProblemKind.CHECKPOINT_INVALID,
                "checkpoint_bad_signature",
                row=row,
                size=checkpoint.tree_size,
            )
            continue
        candidates.append(_Target(checkpoint, row))

    for target in candidates:
        checkpoint = target.checkpoint
        text = checkpoint.to_text()
        if text in seen:
            continue
        seen.add(text)
        if log_id is not None and checkpoint.log_id != log_id:
            findings.add(
                ProblemKind.OTHER_LOG,
                size=checkpoint.tree_size,
                time=checkpoint.signed_at,
                expected=checkpoint.log_id,
                actual=log_id,
            )
            continue
        targets.setdefault(checkpoint.tree_size, []).append(target)

    for size, same_size in sorted(targets.items()):
        if len({target.checkpoint.root for target in same_size}) > 1:
            findings.add(ProblemKind.CHECKPOINT_FORK, size=size)
    return targets, unknown


class _Checkpoints:
    """Comparison of the streamed tree with each checkpoint when it reaches its size."""

    def __init__(self, targets: dict[int, list[_Target]], findings: _Findings) -> None:
        self.targets = targets
        self.sizes = sorted(targets)
        self.position = 0
        self.matched_through = 0
        self.checked = 0
        self.findings = findings

    @property
    def next_size(self) -> int | None:
        return self.sizes[self.position] if self.position < len(self.sizes) else None

    def reached(self, size: int, root: bytes) -> None:
        if self.next_size != size:
            return
        self.position += 1
        matched = True
        for target in self.targets[size]:
            self.checked += 1
            checkpoint = target.checkpoint
            if not hmac.compare_digest(root, checkpoint.root):
                matched = False
                self.findings.add(
                    ProblemKind.CHECKPOINT_MISMATCH,
                    size=size,
                    office=checkpoint.office_code,
                    time=checkpoint.signed_at,
                    first=self.matched_through,
                    last=size - 1,
                )
        if matched:
            self.matched_through = size

    def finish(self, size: int, end: int) -> None:
        """Report the checkpoints the *size* entries do not reach.

        *end* is the highest log index plus one. A checkpoint within it was
        not reached only because entries are missing, so it is a mismatch.
        A checkpoint beyond it shows that the log was rolled back or truncated.
        """
        beyond = []
        for checkpoint_size in self.sizes[self.position :]:
            for target in self.targets[checkpoint_size]:
                if checkpoint_size > end:
                    beyond.append(target)
                    continue
                checkpoint = target.checkpoint
                self.findings.add(
                    ProblemKind.CHECKPOINT_MISMATCH,
                    size=checkpoint_size,
                    office=checkpoint.office_code,
                    time=checkpoint.signed_at,
                    first=self.matched_through,
                    last=checkpoint_size - 1,
                )
        if not beyond:
            return
        longest = max(beyond, key=lambda target: target.checkpoint.tree_size).checkpoint
        self.findings.add(
            ProblemKind.ROLLED_BACK,
            size=size,
            checkpoint_size=longest.tree_size,
            office=longest.office_code,
            time=longest.signed_at,
        )
