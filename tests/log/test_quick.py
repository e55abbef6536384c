"""The quick verify (``deep=False``) over logs of several pages, tampered with by plain SQL.

The quick verify checks whole pages in bulk. It goes through a page entry by
entry only when a bulk check fails. These tests therefore read the log in
small pages, and tamper in the middle of a page and across page edges.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from threeregs.store import ProblemKind, _verify, _verify_bulk, _verify_envelopes, _verify_stream
from threeregs.store._log import encode_leaf
from threeregs.store._merkle import leaf_hash, root_of
from threeregs.store._tables import envelopes

if TYPE_CHECKING:
    from collections.abc import Callable

    from threeregs.store import VerifyReport

    from .conftest import LogBed

PAGE = 100
ENTRIES = 350
#: An entry in the middle of the second page.
VICTIM = 150


def read_in_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make verify fetch PAGE rows per round trip from every table it reads in pages."""
    for module in (_verify, _verify_envelopes, _verify_stream):
        monkeypatch.setattr(module, "STREAM_BATCH", PAGE)


@pytest.fixture
def paged(bed: LogBed, monkeypatch: pytest.MonkeyPatch) -> LogBed:
    """Return the bed with 350 sequenced synthetic entries, which verify reads 100 at a time."""
    read_in_pages(monkeypatch)
    bed.insert_synthetic(ENTRIES)
    assert bed.sequence() == ENTRIES
    return bed


def quick(bed: LogBed, **options: Any) -> VerifyReport:
    return bed.verify(deep=False, **options)


#: Kinds of problem that name log entries.
ENTRY_KINDS = frozenset(
    {
        ProblemKind.ENTRY_MISSING,
        ProblemKind.ENVELOPE_DELETED,
        ProblemKind.DIGEST_ALTERED,
        ProblemKind.ENTRY_ALTERED,
        ProblemKind.ENTRIES_SWAPPED,
        ProblemKind.ENTRIES_MOVED,
    }
)


def entry_problems(report: VerifyReport) -> list[tuple[ProblemKind, dict[str, Any]]]:
    """Return the problems that name log entries, with their parameters."""
    return [
        (problem.kind, dict(problem.params))
        for problem in report.problems
        if problem.kind in ENTRY_KINDS
    ]


def leaf_of(bed: LogBed, index: int) -> bytes:
    return bytes(bed.scalar("SELECT leaf FROM threeregs_log WHERE log_index = :i", i=index))


def write_leaf(bed: LogBed, index: int, leaf: bytes) -> None:
    """Replace the leaf of entry *index* and store its matching leaf hash, as a careful attacker."""
    changed = bed.sql(
        "UPDATE threeregs_log SET leaf = :l, leaf_hash = :h WHERE log_index = :i",
        l=leaf,
        h=leaf_hash(leaf),
        i=index,
    )
    assert changed == 1


def filing_of(bed: LogBed, index: int) -> str:
    return str(bed.scalar("SELECT filing_id FROM threeregs_log WHERE log_index = :i", i=index))


def test_clean_paged_log(paged: LogBed) -> None:
    with paged.engine.connect() as conn:
        leaves = conn.execute(sa.text("SELECT leaf FROM threeregs_log ORDER BY log_index"))
        hashes = [leaf_hash(bytes(leaf)) for leaf in leaves.scalars()]

    report = quick(paged)

    assert report.ok, report.problems
    assert report.tree_size == ENTRIES
    assert report.root == root_of(hashes)
    assert report.pending == 0


def delete_envelope(bed: LogBed) -> None:
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=filing_of(bed, VICTIM))


def alter_digest_column(bed: LogBed) -> None:
    bed.sql(
        "UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f",
        d="0" * 64,
        f=filing_of(bed, VICTIM),
    )


def alter_log_filing_id(bed: LogBed) -> None:
    bed.sql(
        "UPDATE threeregs_log SET filing_id = :f WHERE log_index = :i",
        f=os.urandom(16).hex(),
        i=VICTIM,
    )


def alter_leaf_hash(bed: LogBed) -> None:
    bed.sql("UPDATE threeregs_log SET leaf_hash = :h WHERE log_index = :i", h=bytes(32), i=VICTIM)


def rewrite_leaf_version(bed: LogBed) -> None:
    write_leaf(bed, VICTIM, b"\x02" + leaf_of(bed, VICTIM)[1:])


def rewrite_leaf_index(bed: LogBed) -> None:
    leaf = leaf_of(bed, VICTIM)
    write_leaf(bed, VICTIM, leaf[:1] + (VICTIM + 1).to_bytes(8, "big") + leaf[9:])


def rewrite_leaf_filing_id(bed: LogBed) -> None:
    leaf = leaf_of(bed, VICTIM)
    write_leaf(bed, VICTIM, leaf[:9] + os.urandom(16) + leaf[25:])


def rewrite_leaf_digest(bed: LogBed) -> None:
    leaf = leaf_of(bed, VICTIM)
    write_leaf(bed, VICTIM, leaf[:25] + os.urandom(32) + leaf[57:])


def lengthen_leaf(bed: LogBed) -> None:
    write_leaf(bed, VICTIM, leaf_of(bed, VICTIM) + b"\x00")


def upper_case_filing_id(bed: LogBed) -> None:
    # Both rows agree with each other, but no longer with the receipt or the leaf.
    filing_id = filing_of(bed, VICTIM)
    bed.sql(
        "UPDATE threeregs_log SET filing_id = :u WHERE log_index = :i",
        u=filing_id.upper(),
        i=VICTIM,
    )
    bed.sql(
        "UPDATE threeregs_envelopes SET filing_id = :u WHERE filing_id = :f",
        u=filing_id.upper(),
        f=filing_id,
    )


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (delete_envelope, ProblemKind.ENVELOPE_DELETED),
        (alter_digest_column, ProblemKind.DIGEST_ALTERED),
        (alter_leaf_hash, ProblemKind.ENTRY_ALTERED),
        (rewrite_leaf_version, ProblemKind.ENTRY_ALTERED),
        (rewrite_leaf_filing_id, ProblemKind.ENTRY_ALTERED),
        (rewrite_leaf_digest, ProblemKind.DIGEST_ALTERED),
        (lengthen_leaf, ProblemKind.ENTRY_ALTERED),
    ],
)
def test_tampered_entry_is_named(
    paged: LogBed, tamper: Callable[[LogBed], None], kind: ProblemKind
) -> None:
    filing_id = filing_of(paged, VICTIM)
    tamper(paged)

    report = quick(paged)

    assert entry_problems(report) == [(kind, {"index": VICTIM, "filing_id": filing_id})]


@pytest.mark.parametrize("tamper", [alter_log_filing_id, upper_case_filing_id])
def test_altered_log_filing_id_is_named(paged: LogBed, tamper: Callable[[LogBed], None]) -> None:
    tamper(paged)
    # The finding names the filing id that the altered log row now holds.
    altered = filing_of(paged, VICTIM)

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRY_ALTERED, {"index": VICTIM, "filing_id": altered})
    ]


def test_rewritten_leaf_index_is_a_move(paged: LogBed) -> None:
    rewrite_leaf_index(paged)

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRIES_MOVED, {"first": VICTIM, "from_first": VICTIM + 1})
    ]


def test_leaf_bytes_shifted_between_entries(paged: LogBed) -> None:
    """Shorten one leaf by a byte and prepend that byte to the next one.

    The two leaves joined are the same bytes as before, so only a check of
    each leaf's own length finds it.
    """
    first, second = leaf_of(paged, VICTIM), leaf_of(paged, VICTIM + 1)
    first_id, second_id = filing_of(paged, VICTIM), filing_of(paged, VICTIM + 1)
    write_leaf(paged, VICTIM, first[:-1])
    write_leaf(paged, VICTIM + 1, first[-1:] + second)

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRY_ALTERED, {"index": VICTIM, "filing_id": first_id}),
        (ProblemKind.ENTRY_ALTERED, {"index": VICTIM + 1, "filing_id": second_id}),
    ]


def test_swap_across_page_edge(paged: LogBed) -> None:
    paged.sql("UPDATE threeregs_log SET log_index = 1000 WHERE log_index = :i", i=PAGE - 1)
    paged.sql("UPDATE threeregs_log SET log_index = :t WHERE log_index = :i", t=PAGE - 1, i=PAGE)
    paged.sql("UPDATE threeregs_log SET log_index = :t WHERE log_index = 1000", t=PAGE)

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRIES_SWAPPED, {"first": PAGE - 1, "second": PAGE})
    ]


def test_deletion_across_page_edge(paged: LogBed) -> None:
    paged.sql("DELETE FROM threeregs_log WHERE log_index BETWEEN :a AND :b", a=198, b=201)

    report = quick(paged)

    assert entry_problems(report) == [(ProblemKind.ENTRY_MISSING, {"first": 198, "last": 201})]


def test_last_entries_deleted(paged: LogBed) -> None:
    paged.sql("DELETE FROM threeregs_log WHERE log_index >= :i", i=ENTRIES - 50)

    report = quick(paged)

    assert report.tree_size == ENTRIES - 50
    assert ProblemKind.HEAD_ALTERED in [problem.kind for problem in report.problems]


def test_renumbered_entry_far_away(paged: LogBed) -> None:
    paged.sql("UPDATE threeregs_log SET log_index = 5000 WHERE log_index = :i", i=VICTIM)

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRY_MISSING, {"first": VICTIM, "last": VICTIM}),
        (ProblemKind.ENTRY_MISSING, {"first": ENTRIES, "last": 4999}),
        (ProblemKind.ENTRIES_MOVED, {"first": 5000, "from_first": VICTIM}),
    ]


def test_tail_renumbered_by_one(paged: LogBed) -> None:
    """Entries 300 on get the next log index; each leaf still matches its place in the stream."""
    paged.sql("UPDATE threeregs_log SET log_index = log_index + 1000 WHERE log_index >= 300")
    paged.sql("UPDATE threeregs_log SET log_index = log_index - 999 WHERE log_index >= 1300")

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENTRY_MISSING, {"first": 300, "last": 300}),
        (
            ProblemKind.ENTRIES_MOVED,
            {"first": 301, "last": ENTRIES, "from_first": 300, "from_last": ENTRIES - 1},
        ),
    ]


def insert_envelope_row(bed: LogBed, seq: int) -> str:
    """Insert an envelope row with the given seq and a new filing id, and return the id."""
    filing_id = os.urandom(16).hex()
    with bed.engine.begin() as conn:
        conn.execute(
            sa.insert(envelopes).values(
                seq=seq,
                filing_id=filing_id,
                digest=hashlib.sha256(filing_id.encode()).hexdigest(),
                received_at=dt.datetime.now(dt.UTC),
                envelope=b"",
                slot0_office="330106",
                slot0_version=1,
            )
        )
    return filing_id


def test_unsequenced_row_inside_a_page(bed: LogBed, monkeypatch: pytest.MonkeyPatch) -> None:
    """An envelope row between the seqs of a page's entries, which the log does not hold."""
    read_in_pages(monkeypatch)
    receipts = bed.insert_synthetic(ENTRIES)
    victim = receipts[VICTIM].filing_id
    seq = bed.scalar("SELECT seq FROM threeregs_envelopes WHERE filing_id = :f", f=victim)
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=victim)
    assert bed.sequence() == ENTRIES - 1
    insert_envelope_row(bed, seq)

    report = quick(bed)

    assert report.ok, report.problems
    assert report.tree_size == ENTRIES - 1
    assert report.pending == 1


def test_envelope_row_given_another_filing_id(paged: LogBed) -> None:
    """The row at an entry's seq names another filing, and the entry's own row is gone."""
    filing_id = filing_of(paged, VICTIM)
    paged.sql(
        "UPDATE threeregs_envelopes SET filing_id = :n WHERE filing_id = :f",
        n=os.urandom(16).hex(),
        f=filing_id,
    )

    report = quick(paged)

    assert entry_problems(report) == [
        (ProblemKind.ENVELOPE_DELETED, {"index": VICTIM, "filing_id": filing_id})
    ]
    assert report.pending == 1


def test_checkpoints_at_page_and_block_edges(bed: LogBed, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints at a page's end, inside pages and at a subtree edge; one entry rewritten."""
    read_in_pages(monkeypatch)
    bed.insert_synthetic(ENTRIES)
    checkpoint = None
    for size in (100, 200, 256, 300):
        bed.sequence(limit=size - (checkpoint.tree_size if checkpoint else 0))
        checkpoint = bed.checkpoint(trusted=checkpoint, deep=False)
        assert checkpoint.tree_size == size
    bed.sequence()
    clean = quick(bed, trusted=checkpoint)
    # Rewrite entry 250 and its envelope digest consistently: only the roots
    # of the checkpoints that contain it can show it.
    digest = os.urandom(32)
    filing_id = filing_of(bed, 250)
    bed.sql(
        "UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f",
        d=digest.hex(),
        f=filing_id,
    )
    leaf = leaf_of(bed, 250)
    write_leaf(bed, 250, leaf[:25] + digest + leaf[57:])

    rewritten = quick(bed, trusted=checkpoint)

    assert clean.ok, clean.problems
    assert clean.checkpoints_checked == 4
    mismatches = [
        (problem.params["size"], problem.params["first"], problem.params["last"])
        for problem in rewritten.problems
        if problem.kind is ProblemKind.CHECKPOINT_MISMATCH
    ]
    assert mismatches == [(256, 200, 255), (300, 200, 299)]
    assert entry_problems(rewritten) == []


def test_quick_verify_with_default_page_size(bed: LogBed) -> None:
    """A log longer than one page of the default size, with one digest altered."""
    bed.insert_synthetic(_verify_stream.STREAM_BATCH + 10)
    bed.sequence()
    index = _verify_stream.STREAM_BATCH + 5
    filing_id = filing_of(bed, index)
    bed.sql(
        "UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f", d="f" * 64, f=filing_id
    )

    report = quick(bed)

    assert entry_problems(report) == [
        (ProblemKind.DIGEST_ALTERED, {"index": index, "filing_id": filing_id})
    ]


def test_clean_pages_pass_the_bulk_checks(paged: LogBed, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean log never needs the entry-by-entry checks, which are the slow path."""

    def fail(*args: Any) -> None:
        pytest.fail("a clean page went through check_entries")

    monkeypatch.setattr(_verify_stream._Stream, "check_entries", fail)

    report = quick(paged)

    assert report.ok, report.problems


def test_leaves_match_compares_every_field() -> None:
    ids = [os.urandom(16) for _ in range(3)]
    digests = [os.urandom(32) for _ in range(3)]
    leaves = [encode_leaf(7 + i, ids[i], digests[i], 1_700_000_000_000_000) for i in range(3)]
    hex_ids = [value.hex() for value in ids]
    hex_digests = [value.hex() for value in digests]
    other = os.urandom(16).hex()

    assert _verify_bulk._leaves_match(leaves, 7, hex_ids, hex_digests)
    assert not _verify_bulk._leaves_match(leaves, 8, hex_ids, hex_digests)
    assert not _verify_bulk._leaves_match(leaves, 7, [*hex_ids[:2], other], hex_digests)
    assert not _verify_bulk._leaves_match(leaves, 7, hex_ids, [*hex_digests[:2], "0" * 64])
    assert not _verify_bulk._leaves_match(
        leaves, 7, [value.upper() for value in hex_ids], hex_digests
    )
    assert not _verify_bulk._leaves_match(
        [b"\x02" + leaves[0][1:], *leaves[1:]], 7, hex_ids, hex_digests
    )
    assert not _verify_bulk._leaves_match(
        [leaves[0][:-1], leaves[0][-1:] + leaves[1], leaves[2]], 7, hex_ids, hex_digests
    )
