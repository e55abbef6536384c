"""The pass of :func:`~threeregs.store.verify` over the log entries and their envelope rows.

``_Stream`` reads the log in pages. In quick mode it checks each page in
bulk and falls back to checking entry by entry when a bulk check fails. In
deep mode it checks every entry, with its envelope bytes. ``_Moves``
collects entries whose leaf belongs at another position and reports them as
swaps or moves.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import bindparam, select

from threeregs._errors import InvalidEnvelopeError
from threeregs.crypto._envelope import content_digest
from threeregs.store import _tables as t
from threeregs.store._log import LEAF_SIZE, LEAF_VERSION, to_microseconds, unpack_leaf
from threeregs.store._verify_bulk import (
    _as_bytes,
    _columns,
    _content_digest,
    _leaves_match,
    _PlainQuery,
)
from threeregs.store._verify_report import MAX_PROBLEMS, ProblemKind, _Findings
from threeregs.store._verify_tree import _Tree

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy import Connection

    from threeregs.store._merkle import Frontier
    from threeregs.store._verify_checkpoints import _Checkpoints

#: Rows fetched per round trip while streaming the log. In
#: benchmarks/bench_verify.py, pages of 5,000 rows and more made the quick
#: verify slower than pages of 1,000 to 2,000.
STREAM_BATCH: Final = 2000
#: Entries per round trip when envelope bytes are read too: envelopes are
#: 8 KiB in the default size class and at most about 1 MiB.
DEEP_BATCH: Final = 100

# The leaf's version and log index, which check_entries compares in one go.
_LEAF_HEAD: Final = struct.Struct(">BQ")
# Filing id, digest, receipt time and bytes of a missing envelope row.
_NO_ENVELOPE: Final = (None, None, None, None)
_unpack_micros = struct.Struct(">q").unpack_from


class _Moves:
    """Runs of entries whose leaf names another position: (start, length, offset).

    At most ``2 * MAX_PROBLEMS`` runs are kept, so that a log renumbered in a
    pattern cannot make the list grow with the log. Further runs are only
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
