"""Verifying the filing log against signed checkpoints, and signing new ones.

:func:`verify` streams the log once, in ``log_index`` order, and checks:

* every entry's row: its leaf hash and its position. The envelope row it
  names must exist, and its stored digest, content digest and receipt time
  must equal the leaf's;
* the Merkle root at the size of every checkpoint it trusts (the inspector's
  own checkpoint file, and the stored ones whose signature verifies), which
  also shows that those checkpoints are consistent with each other;
* that the log is at least as long as every trusted checkpoint;
* the head row and the cached subtree hashes;
* envelopes that are not in the log: those received more than the grace
  period before the last sequencer run that took every envelope it could
  see are reported, the newer ones are counted as pending.

Every finding is a :class:`Problem` that names the entries concerned.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import hmac
import logging
import operator
import struct
from typing import TYPE_CHECKING, Any, Final

import attrs
from sqlalchemy import bindparam, exists, func, select

from threeregs import _i18n
from threeregs._errors import (
    CheckpointError,
    InvalidEnvelopeError,
    LogError,
    LogVerificationError,
)
from threeregs._i18n import N_
from threeregs.crypto._envelope import (
    CORE_FIXED,
    MAGIC,
    MAX_SLOTS,
    OFFICE_FIELD,
    SIZE_CLASSES,
    content_digest,
)
from threeregs.crypto._envelope import VERSION as ENVELOPE_VERSION
from threeregs.crypto._keys import Suite
from threeregs.store import _tables as t
from threeregs.store._checkpoint import format_time
from threeregs.store._connection import connection_of
from threeregs.store._log import (
    _DIGEST,
    _FILING_ID,
    DEFAULT_GRACE,
    LEAF_SIZE,
    LEAF_VERSION,
    LogHead,
    _head_of,
    store_checkpoint,
    stored_checkpoints,
    to_microseconds,
    unpack_leaf,
)
from threeregs.store._merkle import EMPTY_ROOT, Frontier

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from sqlalchemy import Connection, Select
    from sqlalchemy.orm import Session

    from threeregs.store._checkpoint import Checkpoint, CheckpointKey, CheckpointSigner

    Conn = Connection | Session

logger = logging.getLogger(__name__)

#: Rows fetched per round trip while streaming the log. In
#: benchmarks/bench_verify.py, pages of 5,000 rows and more made the quick
#: verify slower than pages of 1,000 to 2,000.
STREAM_BATCH: Final = 2000
#: Entries per round trip when envelope bytes are read too: envelopes are
#: 8 KiB in the default size class and at most about 1 MiB.
DEEP_BATCH: Final = 100
#: Problems kept in a report; the rest are only counted.
MAX_PROBLEMS: Final = 1000

# The leaf's version and log index, which check_entries compares in one go.
_LEAF_HEAD: Final = struct.Struct(">BQ")
# Filing id, digest, receipt time and bytes of a missing envelope row.
_NO_ENVELOPE: Final = (None, None, None, None)
_unpack_micros = struct.Struct(">q").unpack_from


class ProblemKind(enum.StrEnum):
    """Kind of problem that :func:`verify` reports."""

    ENTRY_MISSING = "entry_missing"
    ENVELOPE_DELETED = "envelope_deleted"
    ENVELOPE_ALTERED = "envelope_altered"
    ENVELOPE_UNREADABLE = "envelope_unreadable"
    DIGEST_ALTERED = "digest_altered"
    RECEIPT_TIME_ALTERED = "receipt_time_altered"
    ENTRY_ALTERED = "entry_altered"
    ENTRIES_SWAPPED = "entries_swapped"
    ENTRIES_MOVED = "entries_moved"
    ROLLED_BACK = "rolled_back"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_FORK = "checkpoint_fork"
    CHECKPOINT_INVALID = "checkpoint_invalid"
    OTHER_LOG = "other_log"
    HEAD_ALTERED = "head_altered"
    NODE_ALTERED = "node_altered"
    NOT_IN_LOG = "not_in_log"
    ROW_MALFORMED = "row_malformed"


# Message ids by kind, and by variant where one kind has several wordings.
_MESSAGES: Final[Mapping[str, str]] = {
    "entry_missing": N_("log entry {first} is missing: its row was deleted from the log"),
    "entry_missing_range": N_(
        "log entries {first} to {last} are missing: their rows were deleted from the log"
    ),
    "envelope_deleted": N_("log entry {index} (filing {filing_id}): the envelope was deleted"),
    "envelope_altered": N_(
        "log entry {index} (filing {filing_id}): the envelope was altered, its content no "
        "longer matches the digest in the log"
    ),
    "envelope_unreadable": N_(
        "log entry {index} (filing {filing_id}): the envelope was altered, it is no longer a "
        "valid envelope"
    ),
    "digest_altered": N_(
        "log entry {index} (filing {filing_id}): the digest stored with the envelope was altered"
    ),
    "receipt_time_altered": N_(
        "log entry {index} (filing {filing_id}): the receipt time stored with the envelope was "
        "altered"
    ),
    "entry_altered": N_(
        "log entry {index} (filing {filing_id}): the log row was altered, its leaf does not "
        "match its leaf hash or filing id"
    ),
    "entries_swapped": N_("log entries {first} and {second} were swapped"),
    "entries_moved": N_(
        "log entry {first} holds the leaf of entry {from_first}: the entries were reordered"
    ),
    "entries_moved_range": N_(
        "log entries {first} to {last} hold the leaves of entries {from_first} to {from_last}: "
        "entries were deleted, inserted or renumbered"
    ),
    "rolled_back": N_(
        "the log has {size} entries, but the checkpoint signed by office {office} at {time} "
        "has {checkpoint_size}: the log was rolled back (for example restored from an old "
        "backup) or truncated"
    ),
    "checkpoint_mismatch": N_(
        "the log does not match the checkpoint of size {size} signed by office {office} at "
        "{time}: the first difference lies in entries {first} to {last}"
    ),
    "checkpoint_fork": N_(
        "two signed checkpoints of size {size} have different root hashes: the log was forked"
    ),
    "checkpoint_unparsable": N_("stored checkpoint {row} is not a valid checkpoint"),
    "checkpoint_bad_signature": N_(
        "stored checkpoint {row} (size {size}) has a signature that does not verify: it was "
        "forged or altered"
    ),
    "other_log": N_(
        "the checkpoint of size {size} signed at {time} belongs to log {expected}, but this "
        "database holds log {actual}"
    ),
    "head_altered": N_(
        "the log head row records {head_size} entries and a root that the {size} entries do "
        "not give: the head row was altered"
    ),
    "node_altered": N_(
        "the stored subtree hash at level {level}, index {index} is missing or does not match "
        "the entries: inclusion proofs that use it fail"
    ),
    "not_in_log": N_(
        "the envelope of filing {filing_id} (received {time}) is not in the log although the "
        "sequencer ran at {sequenced}: it was inserted after sequencing, or its log entry was "
        "deleted"
    ),
    "row_malformed": N_(
        "envelope row {seq} has a malformed filing id or digest, so it cannot be in the log"
    ),
}


def _display_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@attrs.frozen
class Problem:
    """One finding of :func:`verify`.

    ``params`` contains the entries and values the message names: ``index``,
    ``first`` and ``last`` are log indices, ``filing_id`` a filing id.
    """

    kind: ProblemKind
    params: Mapping[str, Any] = attrs.field(factory=dict)
    variant: str | None = attrs.field(default=None, kw_only=True)

    def message(self, locale: str = _i18n.DEFAULT_LOCALE) -> str:
        """Return the finding as a sentence in *locale*."""
        msgid = _MESSAGES[self.variant or self.kind.value]
        values = {
            key: _display_time(value) if isinstance(value, dt.datetime) else value
            for key, value in self.params.items()
        }
        return _i18n.gettext(msgid, locale).format(**values)

    def __str__(self) -> str:
        return self.message("en")


@attrs.frozen
class VerifyReport:
    """The outcome of :func:`verify`."""

    #: The log id from the head row, or None before the first sequencing.
    log_id: str | None
    #: Number of entries streamed, and the root hash they give.
    tree_size: int
    root: bytes = attrs.field(repr=lambda b: b.hex()[:16] + "...")
    #: Checkpoints whose root was compared with the log (trusted and stored).
    checkpoints_checked: int
    problems: tuple[Problem, ...]
    #: Problems found beyond :data:`MAX_PROBLEMS`, counted but not kept.
    problems_omitted: int
    #: Envelopes not in the log that are newer than the last complete sequencer run.
    pending: int
    oldest_pending: dt.datetime | None
    #: Stored checkpoints skipped because their key is not in the key list.
    unknown_key_checkpoints: int
    deep: bool

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems and not self.problems_omitted


class _Findings:
    """Problems collected while streaming, capped at :data:`MAX_PROBLEMS`."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.omitted = 0
        self.structural = False

    def add(self, kind: ProblemKind, variant: str | None = None, **params: Any) -> None:
        if kind in _STRUCTURAL:
            self.structural = True
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(kind, params, variant=variant))
        else:
            self.omitted += 1


_STRUCTURAL: Final = frozenset(
    {
        ProblemKind.ENTRY_MISSING,
        ProblemKind.ENTRY_ALTERED,
        ProblemKind.ENTRIES_MOVED,
        ProblemKind.ENTRIES_SWAPPED,
    }
)


_GLOBAL: Final = (
    ProblemKind.OTHER_LOG,
    ProblemKind.CHECKPOINT_INVALID,
    ProblemKind.CHECKPOINT_FORK,
    ProblemKind.ROLLED_BACK,
    ProblemKind.CHECKPOINT_MISMATCH,
    ProblemKind.HEAD_ALTERED,
)


def _reading_order(problem: Problem) -> tuple[int, int]:
    """Sort key: checkpoint and log-wide findings, then entries by index, then the rest."""
    if problem.kind in _GLOBAL:
        return 0, _GLOBAL.index(problem.kind)
    if problem.kind in (ProblemKind.NOT_IN_LOG, ProblemKind.ROW_MALFORMED):
        return 2, 0
    if problem.kind is ProblemKind.NODE_ALTERED:
        return 3, 0
    return 1, int(problem.params.get("index", problem.params.get("first", 0)))


class _Moves:
    """Runs of entries whose leaf names another position: (start, length, offset).

    At most ``2 * MAX_PROBLEMS`` runs are kept, so that a log renumbered in a
    pattern cannot make the list grow with the log; further runs are only
    counted as omitted problems.
    """

    def __init__(self, findings: _Findings) -> None:
        self.runs: list[list[int]] = []
        self.findings = findings

    def add(self, index: int, leaf_index: int) -> None:
        offset = leaf_index - index
        self.findings.structural = True
        if self.runs:
            last = self.runs[-1]
            if last[0] + last[1] == index and last[2] == offset:
                last[1] += 1
                return
        if len(self.runs) < 2 * MAX_PROBLEMS:
            self.runs.append([index, 1, offset])
        else:
            self.findings.omitted += 1

    def report(self, findings: _Findings) -> None:
        singles = {run[0]: run[2] for run in self.runs if run[1] == 1}
        paired: set[int] = set()
        for start, length, offset in self.runs:
            if start in paired:
                continue
            partner = start + offset
            if length == 1 and singles.get(partner) == -offset and partner not in paired:
                paired.update((start, partner))
                findings.add(
                    ProblemKind.ENTRIES_SWAPPED,
                    first=min(start, partner),
                    second=max(start, partner),
                )
            elif length == 1:
                findings.add(ProblemKind.ENTRIES_MOVED, first=start, from_first=partner)
            else:
                findings.add(
                    ProblemKind.ENTRIES_MOVED,
                    "entries_moved_range",
                    first=start,
                    last=start + length - 1,
                    from_first=partner,
                    from_last=partner + length - 1,
                )


@attrs.frozen
class _Target:
    """A checkpoint whose root the stream compares at its size."""

    checkpoint: Checkpoint
    row: int | None


def verify(
    conn: Conn,
    *,
    trusted: Checkpoint | None = None,
    verify_keys: Iterable[CheckpointKey] = (),
    deep: bool = True,
    grace: dt.timedelta = DEFAULT_GRACE,
    lock: bool = True,
) -> VerifyReport:
    """Check the log, the envelopes it names and the checkpoints, streaming every table.

    *trusted* is the inspector's latest trusted checkpoint, kept outside the
    database; its signature must verify with one of *verify_keys* (else
    :class:`CheckpointError`). Stored checkpoints count when their signature
    verifies with *verify_keys*. With *deep*, every envelope's content digest
    is recomputed from its bytes; without, only the stored digest column is
    compared, which is much faster. With *lock* (the default), the log head
    is locked so that no sequencer commits while the log is read. On a
    read-only connection, pass ``lock=False`` and run in a REPEATABLE READ
    transaction, so that every query reads the same state.
    """
    db = connection_of(conn)
    keys = tuple(verify_keys)
    if trusted is not None:
        trusted.verify(keys)
    findings = _Findings()

    head_row = db.execute(
        select(t.log_head).where(t.log_head.c.id == 1).with_for_update()
        if lock and db.dialect.name != "sqlite"
        else select(t.log_head).where(t.log_head.c.id == 1)
    ).first()
    head: LogHead | None = None
    head_damaged = False
    if head_row is not None:
        try:
            head = _head_of(head_row)
        except LogError:
            head_damaged = True
    log_id = None if head_row is None else str(head_row.log_id)

    targets, unknown = _targets(db, trusted, keys, log_id, findings)
    checker = _Checkpoints(targets, findings)
    checker.reached(0, EMPTY_ROOT)
    stream = _Stream(db, deep=deep, checker=checker, findings=findings)
    frontier = stream.run()
    stream.moves.report(findings)
    root = frontier.root()
    checker.finish(frontier.size, stream.end)

    if not findings.structural:
        if (
            head_damaged
            or (head is not None and (head.size != frontier.size or head.root != root))
            or (head is None and frontier.size > 0)
        ):
            findings.add(
                ProblemKind.HEAD_ALTERED,
                head_size=head.size if head is not None else 0,
                size=frontier.size,
            )
        _check_nodes(db, stream.tree.computed, findings)
    pending, oldest = _check_unsequenced(db, head, grace, stream, findings)
    findings.items.sort(key=_reading_order)
    return VerifyReport(
        log_id=log_id,
        tree_size=frontier.size,
        root=root,
        checkpoints_checked=checker.checked,
        problems=tuple(findings.items),
        problems_omitted=findings.omitted,
        pending=pending,
        oldest_pending=oldest,
        unknown_key_checkpoints=unknown,
        deep=deep,
    )


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


class _Stream:
    """One pass over the log joined with its envelope rows.

    This is the hot path of :func:`verify`. In quick mode, :meth:`check_page`
    tests a whole page of entries with a few bulk comparisons, so an entry
    that passes costs its leaf hash, about one node hash and a share of those
    comparisons. A page that fails any of them, and every page in deep mode,
    goes through :meth:`check_entries` one entry at a time, and each entry
    that fails there goes to :meth:`diagnose`, which finds out exactly what is
    wrong.
    """

    def __init__(
        self, db: Connection, *, deep: bool, checker: _Checkpoints, findings: _Findings
    ) -> None:
        self.db = db
        self.deep = deep
        self.checker = checker
        self.findings = findings
        self.moves = _Moves(findings)
        self.tree = _Tree()
        #: The highest log index seen plus one: the index the next entry must have.
        self.end = 0
        #: Entries whose envelope row was found, and the highest seq an entry names.
        self.matched = 0
        self.max_seq = -1

    def run(self) -> Frontier:
        """Stream and check every entry; return the frontier of the whole log."""
        log = t.log_entries
        # The log is read in pages by log index rather than through one
        # server-side cursor, so that other queries can run in between on
        # every driver. Each page's envelope rows are read by the seq that
        # the sequencer recorded, which costs a range scan where a join
        # would cost one index lookup per entry.
        pages = _PlainQuery(
            self.db,
            select(log.c.log_index, log.c.filing_id, log.c.leaf, log.c.leaf_hash, log.c.seq)
            .where(log.c.log_index > bindparam("last", -1))
            .order_by(log.c.log_index)
            .limit(DEEP_BATCH if self.deep else STREAM_BATCH),
        )
        if self.deep:
            self._run_deep(pages)
        else:
            self._run_quick(pages)
        return self.tree.frontier(keep=True)

    def _run_deep(self, pages: _PlainQuery) -> None:
        last = -1
        while rows := pages.rows(last=last):
            last = rows[-1][0]
            seqs = [row[4] for row in rows]
            envelopes = {row[0]: tuple(row[1:]) for row in self.envelope_rows(seqs)}
            self.grow(self.check_entries(rows, envelopes))

    def _run_quick(self, pages: _PlainQuery) -> None:
        e = t.envelopes
        ranges = _PlainQuery(
            self.db,
            select(e.c.filing_id, e.c.digest)
            .where(e.c.seq.between(bindparam("low", 0), bindparam("high", 0)))
            .order_by(e.c.seq),
        )
        rows = pages.rows(last=-1)
        while rows:
            self.grow(self.check_page(rows, ranges))
            rows = pages.rows(last=rows[-1][0])

    def grow(self, hashes: Sequence[bytes]) -> None:
        """Add a page of leaf hashes to the tree, comparing the root at each checkpoint size."""
        tree, checker = self.tree, self.checker
        start = 0
        while (size := checker.next_size) is not None and size <= tree.size + len(hashes) - start:
            end = start + size - tree.size
            tree.extend(hashes[start:end])
            checker.reached(size, tree.frontier().root())
            start = end
        tree.extend(hashes[start:])

    def check_page(self, rows: Sequence[tuple[Any, ...]], ranges: _PlainQuery) -> list[bytes]:
        """Check a page of entries in quick mode, in bulk, and return their stored leaf hashes.

        *ranges* reads the filing id and digest of the envelope rows in a
        range of seqs, in seq order. The bulk comparisons together make the
        same checks as :meth:`check_entries` makes for each entry. When any
        of them fails, the page goes through :meth:`check_entries` to find
        the entries concerned.
        """
        first, count = self.end, len(rows)
        indices, filing_ids, leaves, stored, seqs = _columns(rows, 5)
        if not isinstance(stored[0], bytes):
            # A driver that returns memoryview for binary columns.
            leaves = list(map(_as_bytes, leaves))
            stored = list(map(_as_bytes, stored))
        low, high = min(seqs), max(seqs)
        self.max_seq = max(self.max_seq, high)

        healthy = False
        if high - low < 2 * count + 64:
            # The envelope rows in the range, in seq order, belong to the
            # page's entries in log order when the filing ids are equal. Both
            # tables keep filing ids unique, so each entry then has its own
            # envelope row.
            envelope_ids, digests = _columns(ranges.rows(low=low, high=high), 2)
            sha256 = hashlib.sha256
            try:
                healthy = (
                    envelope_ids == filing_ids
                    and indices == list(range(first, first + count))
                    and [sha256(b"\x00" + leaf).digest() for leaf in leaves] == stored
                    and _leaves_match(leaves, first, filing_ids, digests)
                )
            except (TypeError, ValueError, struct.error):
                # A NULL or a value of an unexpected type. check_entries
                # reports the entry as altered.
                healthy = False
        if not healthy:
            envelopes = {row[0]: (row[1], row[2], None, None) for row in self.envelope_rows(seqs)}
            return self.check_entries(rows, envelopes)
        self.matched += count
        self.end = first + count
        return stored

    def check_entries(
        self, rows: Sequence[tuple[Any, ...]], envelopes: Mapping[Any, tuple[Any, ...]]
    ) -> list[bytes]:
        """Check entries one at a time and return their stored leaf hashes.

        Each entry that fails a check goes to :meth:`diagnose`. *envelopes*
        maps a seq to the filing id, digest, receipt time and bytes of its
        envelope row. Only deep mode needs the receipt time and the bytes.
        """
        sha256 = hashlib.sha256
        pack_head = _LEAF_HEAD.pack
        deep = self.deep
        expected = self.end
        hashes = []
        for row in rows:
            index, filing_id, seq = row[0], row[1], row[4]
            leaf, stored_hash = _as_bytes(row[2]), _as_bytes(row[3])
            envelope = envelopes.get(seq, _NO_ENVELOPE)
            try:
                healthy = (
                    index == expected
                    and envelope[0] == filing_id
                    and leaf[:9] == pack_head(LEAF_VERSION, index)
                    and leaf[9:25].hex() == filing_id
                    and len(leaf) == LEAF_SIZE
                    and envelope[1] == leaf[25:57].hex()
                    and sha256(b"\x00" + leaf).digest() == stored_hash
                    and (
                        not deep
                        or (
                            _content_digest(envelope[3]) == envelope[1]
                            and to_microseconds(envelope[2]) == _unpack_micros(leaf, 57)[0]
                        )
                    )
                )
            except (ValueError, TypeError, struct.error):
                healthy = False
            if healthy:
                self.matched += 1
            else:
                self.diagnose((index, filing_id, leaf, stored_hash, *envelope), expected)
            expected = index + 1
            # A NULL leaf hash (reported above) still takes its place in the tree.
            hashes.append(stored_hash if isinstance(stored_hash, bytes) else b"")
        self.end = expected
        return hashes

    def envelope_rows(self, seqs: Sequence[int]) -> Sequence[Any]:
        """Read the envelope rows at *seqs*, the seqs of a page of entries.

        Entries are mostly in seq order, so one range scan usually covers a
        page. A page whose seqs lie far apart (envelopes that committed late,
        or seqs changed by hand) is read by a list of seqs instead. Each row
        starts with the seq, filing id and digest; deep mode adds the receipt
        time and the envelope bytes.
        """
        e = t.envelopes
        if self.deep:
            columns = select(e.c.seq, e.c.filing_id, e.c.digest, e.c.received_at, e.c.envelope)
        else:
            columns = select(e.c.seq, e.c.filing_id, e.c.digest)
        low, high = min(seqs), max(seqs)
        self.max_seq = max(self.max_seq, high)
        if high - low < 2 * len(seqs) + 64:
            return self.db.execute(columns.where(e.c.seq.between(low, high))).all()
        result: list[Any] = []
        ordered = sorted(seqs)
        for start in range(0, len(ordered), 500):
            query = columns.where(e.c.seq.in_(ordered[start : start + 500]))
            result += self.db.execute(query).all()
        return result

    def diagnose(self, row: Any, expected: int) -> None:
        """Find out what is wrong with one entry, *expected* being its index, and report it."""
        findings = self.findings
        index, filing_id, leaf, stored_hash = row[0], row[1], row[2], row[3]
        if index > expected:
            findings.add(
                ProblemKind.ENTRY_MISSING,
                None if index == expected + 1 else "entry_missing_range",
                first=expected,
                last=index - 1,
            )
        if (
            not isinstance(leaf, bytes)
            or len(leaf) != LEAF_SIZE
            or leaf[0] != LEAF_VERSION
            or hashlib.sha256(b"\x00" + leaf).digest() != stored_hash
        ):
            findings.add(ProblemKind.ENTRY_ALTERED, index=index, filing_id=filing_id)
            return
        _, leaf_index, leaf_filing, leaf_digest, micros = unpack_leaf(leaf)
        if leaf_index != index:
            self.moves.add(index, leaf_index)
        if leaf_filing.hex() != filing_id:
            findings.add(ProblemKind.ENTRY_ALTERED, index=index, filing_id=filing_id)
            return

        envelope = self._envelope(row, filing_id)
        if envelope is None:
            findings.add(ProblemKind.ENVELOPE_DELETED, index=index, filing_id=filing_id)
            return
        self.matched += 1
        digest = leaf_digest.hex()
        if envelope[0] != digest:
            findings.add(ProblemKind.DIGEST_ALTERED, index=index, filing_id=filing_id)
        if not self.deep:
            return
        try:
            actual = content_digest(bytes(envelope[2]))
        except InvalidEnvelopeError:
            findings.add(ProblemKind.ENVELOPE_UNREADABLE, index=index, filing_id=filing_id)
        else:
            if actual != digest:
                findings.add(ProblemKind.ENVELOPE_ALTERED, index=index, filing_id=filing_id)
        if envelope[1] is None or to_microseconds(envelope[1]) != micros:
            findings.add(ProblemKind.RECEIPT_TIME_ALTERED, index=index, filing_id=filing_id)

    def _envelope(self, row: Any, filing_id: str) -> tuple[Any, Any, Any] | None:
        """Return the digest, receipt time and bytes of the entry's envelope row, or None."""
        if row[4] == filing_id:
            return (row[5], row[6], row[7]) if self.deep else (row[5], None, None)
        e = t.envelopes
        found = self.db.execute(
            select(e.c.digest, e.c.received_at, e.c.envelope).where(e.c.filing_id == filing_id)
        ).first()
        return None if found is None else (found[0], found[1], found[2])


class _PlainQuery:
    """A statement compiled once and run on the driver's cursor, returning plain tuples.

    This skips SQLAlchemy's per-row result processing, which is most of the
    cost of reading a million rows. It is only for columns that need no
    processing (integers, strings and bytes).
    """

    def __init__(self, db: Connection, statement: Select[Any]) -> None:
        self.db = db
        compiled = statement.compile(dialect=db.dialect)
        self.sql = str(compiled)
        self.defaults = compiled.construct_params()
        self.order = compiled.positiontup
        # psycopg's binary format gives the same Python types as its text
        # format, and spares parsing bytea values written out in hex.
        self.cursor_options = {"binary": True} if db.dialect.driver == "psycopg" else {}

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        """Execute the statement with *values* and return every row."""
        params = {**self.defaults, **values}
        order = self.order
        arguments = params if order is None else tuple(params[name] for name in order)
        connection = self.db.connection.dbapi_connection
        cursor = connection.cursor(**self.cursor_options)  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, arguments)
            return list(cursor.fetchall())
        finally:
            cursor.close()


# The fields of a v1 leaf (see LogLeaf) that the bulk check compares: log
# index, filing id and content digest. The version byte and receipt time are skipped.
_LEAF_FIELDS: Final = "xQ16s32s8x"


@functools.lru_cache(maxsize=4)
def _page_layout(count: int) -> struct.Struct:
    """Return the struct that cuts *count* joined leaves into their fields."""
    return struct.Struct(">" + _LEAF_FIELDS * count)


def _leaves_match(
    leaves: Sequence[bytes], first: int, filing_ids: Sequence[str], digests: Sequence[str]
) -> bool:
    """Tell whether each leaf is a v1 leaf of its log index (*first* on), filing id and digest.

    The hex strings are compared joined by newlines. A newline is not a hex
    digit, so the joined strings are equal only when each string equals the
    hex of its own field.
    """
    count = len(leaves)
    if list(map(len, leaves)).count(LEAF_SIZE) != count:
        return False
    joined = b"".join(leaves)
    fields = _page_layout(count).unpack(joined)
    return (
        joined[::LEAF_SIZE] == bytes((LEAF_VERSION,)) * count
        and fields[0::3] == tuple(range(first, first + count))
        and b"".join(fields[1::3]).hex("\n", 16) == "\n".join(filing_ids)
        and b"".join(fields[2::3]).hex("\n", 32) == "\n".join(digests)
    )


def _columns(rows: Sequence[Any], width: int) -> list[list[Any]]:
    """Return the first *width* columns of *rows* as lists.

    ``zip(*rows)`` would create an iterator object per row, and so many
    short-lived objects make the garbage collector run a full collection
    every few hundred thousand entries.
    """
    return [list(map(operator.itemgetter(column), rows)) for column in range(width)]


def _as_bytes(value: Any) -> Any:
    """Return a driver's memoryview or bytearray as bytes, and any other value unchanged."""
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _content_digest(data: bytes) -> str | None:
    """Return :func:`content_digest` of *data*, or None where it would raise.

    Checks the lengths that :func:`parse_header` checks, but not the office
    codes: they lie in the header core, so an envelope whose digest matches
    the log has the same, valid, codes as when it was filed.
    """
    if len(data) < CORE_FIXED or data[:4] != _ENVELOPE_PREFIX:
        return None
    slot_length = _SLOT_LENGTHS.get(data[4])
    count = data[21]
    padded = int.from_bytes(data[22:26])
    if slot_length is None or not 1 <= count <= MAX_SLOTS or padded not in SIZE_CLASSES:
        return None
    core_end = CORE_FIXED + OFFICE_FIELD * count
    if len(data) != core_end + count * (4 + slot_length) + padded + 16:
        return None
    digest = hashlib.sha256(data[:core_end])
    digest.update(memoryview(data)[-padded - 16 :])
    return digest.hexdigest()


_ENVELOPE_PREFIX: Final = MAGIC + bytes([ENVELOPE_VERSION])
_SLOT_LENGTHS: Final = {int(suite): suite.slot_length for suite in Suite}


def _check_nodes(
    db: Connection, computed: dict[tuple[int, int], bytes], findings: _Findings
) -> None:
    """Compare the cached subtree hashes with those the stream computed."""
    n = t.log_nodes
    rows = db.execute(
        select(n.c.level, n.c.node_index, n.c.hash).order_by(n.c.level, n.c.node_index),
        execution_options={"yield_per": STREAM_BATCH},
    )
    for row in rows:
        key = (int(row.level), int(row.node_index))
        value = computed.pop(key, None)
        if value is None or value != bytes(row.hash):
            findings.add(ProblemKind.NODE_ALTERED, level=key[0], index=key[1])
    for level, index in sorted(computed):
        findings.add(ProblemKind.NODE_ALTERED, level=level, index=index)


def _check_unsequenced(
    db: Connection,
    head: LogHead | None,
    grace: dt.timedelta,
    stream: _Stream,
    findings: _Findings,
) -> tuple[int, dt.datetime | None]:
    """Report envelopes missing from the log; count those that may still be pending.

    An envelope received before the last complete sequencer run minus the
    grace period was committed before that run under the grace assumption,
    so the run must have appended it. A newer one is pending.
    """
    e = t.envelopes
    total = db.execute(select(func.count()).select_from(e)).scalar_one()
    missing = total - stream.matched
    if missing <= 0:
        return 0, None
    unsequenced = _Unsequenced(head, grace, findings)
    # Usually the envelopes missing from the log are the newest ones, above
    # every seq in the log, so scanning those first mostly suffices.
    unsequenced.scan(db, e.c.seq > stream.max_seq)
    if unsequenced.found < missing:
        unsequenced.scan(db, e.c.seq <= stream.max_seq)
    return unsequenced.pending, unsequenced.oldest


class _Unsequenced:
    """Classification of envelope rows that are not in the log."""

    def __init__(self, head: LogHead | None, grace: dt.timedelta, findings: _Findings) -> None:
        self.head = head
        self.cutoff = None if head is None or head.drained_at is None else head.drained_at - grace
        self.findings = findings
        self.found = 0
        self.pending = 0
        self.oldest: dt.datetime | None = None

    def scan(self, db: Connection, where: Any) -> None:
        """Classify every envelope row matching *where* that is not in the log."""
        e, log = t.envelopes, t.log_entries
        # Anti-join on the indexed integer seq first. A candidate whose seq
        # was changed after sequencing is still in the log, which the filing
        # id lookup below shows.
        statement = (
            select(e.c.seq, e.c.filing_id, e.c.digest, e.c.received_at)
            .where(where, ~exists().where(log.c.seq == e.c.seq, log.c.filing_id == e.c.filing_id))
            .order_by(e.c.seq)
            .limit(STREAM_BATCH)
        )
        last = None
        while True:
            page = statement if last is None else statement.where(e.c.seq > last)
            candidates = db.execute(page).all()
            if not candidates:
                return
            last = candidates[-1].seq
            ids = [row.filing_id for row in candidates]
            logged = set(
                db.execute(select(log.c.filing_id).where(log.c.filing_id.in_(ids))).scalars()
            )
            for row in candidates:
                if row.filing_id not in logged:
                    self.found += 1
                    self.classify(row)

    def classify(self, row: Any) -> None:
        head = self.head
        if not (
            isinstance(row.filing_id, str)
            and _FILING_ID.fullmatch(row.filing_id)
            and isinstance(row.digest, str)
            and _DIGEST.fullmatch(row.digest)
        ):
            self.findings.add(ProblemKind.ROW_MALFORMED, seq=row.seq)
        elif self.cutoff is not None and head is not None and row.received_at < self.cutoff:
            self.findings.add(
                ProblemKind.NOT_IN_LOG,
                filing_id=row.filing_id,
                time=row.received_at,
                sequenced=head.drained_at,
            )
        else:
            self.pending += 1
            if self.oldest is None or row.received_at < self.oldest:
                self.oldest = row.received_at


def create_checkpoint(
    conn: Conn,
    signer: CheckpointSigner,
    *,
    trusted: Checkpoint | None = None,
    verify_keys: Iterable[CheckpointKey] = (),
    deep: bool = True,
    grace: dt.timedelta = DEFAULT_GRACE,
    clock: Callable[[], dt.datetime] | None = None,
) -> Checkpoint:
    """Verify the log, then sign and store a checkpoint of its current size and root.

    Signs only what it verified: the root comes from the entries streamed,
    never from the head row. Raises :class:`LogVerificationError`, carrying
    the report, when :func:`verify` finds any problem, and :class:`LogError`
    when nothing has been sequenced yet.
    """
    keys = (*verify_keys, signer.public_key)
    report = verify(conn, trusted=trusted, verify_keys=keys, deep=deep, grace=grace)
    if not report.ok:
        raise LogVerificationError(report)
    if report.log_id is None:
        raise LogError("the log is empty; run the sequencer before signing a checkpoint")
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    checkpoint = signer.sign(
        log_id=report.log_id, tree_size=report.tree_size, root=report.root, at=now
    )
    store_checkpoint(conn, checkpoint)
    logger.info(
        "signed checkpoint of size %d for office %s at %s",
        checkpoint.tree_size,
        checkpoint.office_code,
        format_time(now),
    )
    return checkpoint
