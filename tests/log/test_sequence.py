"""The sequencer: order, idempotence, limits, the grace period and concurrent runs."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from threeregs import ValidationError
from threeregs.store import LogLeaf, ProblemKind, read_head, sequence
from threeregs.store._merkle import leaf_hash, root_of
from threeregs.store._tables import envelopes, log_entries

if TYPE_CHECKING:
    from .conftest import LogBed

GRACE = dt.timedelta(minutes=15)


def entries(bed: LogBed) -> list[Any]:
    with bed.engine.begin() as conn:
        return conn.execute(sa.select(log_entries).order_by(log_entries.c.log_index)).all()


def test_entries_follow_receipts(bed: LogBed) -> None:
    receipts = bed.file(5)

    assert bed.sequence() == 5

    rows = entries(bed)
    assert [row.log_index for row in rows] == [0, 1, 2, 3, 4]
    for index, (row, receipt) in enumerate(zip(rows, receipts, strict=True)):
        leaf = LogLeaf.from_bytes(bytes(row.leaf))
        assert leaf == LogLeaf.of_receipt(receipt, index)
        assert bytes(row.leaf_hash) == leaf_hash(bytes(row.leaf))
        assert row.filing_id == receipt.filing_id
    with bed.engine.begin() as conn:
        head = read_head(conn)
    assert head is not None
    assert head.size == 5
    assert head.root == root_of([bytes(row.leaf_hash) for row in rows])
    assert len(head.log_id) == 32


def test_second_run_appends_nothing(bed: LogBed) -> None:
    bed.file(3)
    bed.sequence()

    assert bed.sequence() == 0
    bed.file(2)
    assert bed.sequence() == 2
    assert [row.log_index for row in entries(bed)] == [0, 1, 2, 3, 4]


def test_limit_appends_in_seq_order(bed: LogBed) -> None:
    receipts = bed.file(5)

    assert bed.sequence(limit=2) == 2
    with bed.engine.begin() as conn:
        head = read_head(conn)
    assert head is not None
    assert head.drained_at is None
    assert bed.sequence(limit=10) == 3
    assert [row.filing_id for row in entries(bed)] == [r.filing_id for r in receipts]


def test_limit_must_be_positive(bed: LogBed) -> None:
    with pytest.raises(ValidationError, match="positive"):
        bed.sequence(limit=0)


def test_empty_run_creates_head(bed: LogBed) -> None:
    assert bed.sequence() == 0

    with bed.engine.begin() as conn:
        head = read_head(conn)
    assert head is not None
    assert head.size == 0
    assert head.drained_at is not None


def insert_at_seq(bed: LogBed, seq: int, received_at: dt.datetime) -> str:
    """Insert an envelope row with an explicit seq, as a late commit would leave it."""
    receipt = bed.insert_synthetic(1, received_at=received_at)[0]
    bed.sql(
        "UPDATE threeregs_envelopes SET seq = :s WHERE filing_id = :f",
        s=seq,
        f=receipt.filing_id,
    )
    return receipt.filing_id


def test_floor_waits_for_grace_period(bed: LogBed) -> None:
    start = dt.datetime.now(dt.UTC)
    first = insert_at_seq(bed, 10, start)
    insert_at_seq(bed, 12, start)
    assert bed.sequence(clock=lambda: start) == 2

    # seq 11 commits late, within the grace period: it is still found.
    late = insert_at_seq(bed, 11, start)
    assert bed.sequence(clock=lambda: start + dt.timedelta(minutes=5)) == 1
    with bed.engine.begin() as conn:
        head = read_head(conn)
    assert head is not None
    assert (head.floor_seq, head.candidate_seq) == (0, 12)

    assert bed.sequence(clock=lambda: start + GRACE) == 0
    with bed.engine.begin() as conn:
        head = read_head(conn)
    assert head is not None
    assert head.floor_seq == 12

    # A commit below the floor breaks the grace assumption and is never
    # sequenced; verify reports it.
    too_late = insert_at_seq(bed, 5, start - dt.timedelta(hours=1))
    assert bed.sequence(clock=lambda: start + 2 * GRACE) == 0
    logged = [row.filing_id for row in entries(bed)]
    assert logged[:1] == [first]
    assert late in logged
    report = bed.verify(deep=False)
    assert [p.kind for p in report.problems] == [ProblemKind.NOT_IN_LOG]
    assert report.problems[0].params["filing_id"] == too_late


def test_concurrent_sequencers_do_not_interleave(bed: LogBed) -> None:
    bed.insert_synthetic(400)
    errors: list[BaseException] = []
    counts: list[int] = []

    def run() -> None:
        try:
            for _ in range(4):
                with bed.engine.begin() as conn:
                    counts.append(sequence(conn, limit=60))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    bed.sequence()
    rows = entries(bed)
    assert [row.log_index for row in rows] == list(range(400))
    assert len({row.filing_id for row in rows}) == 400
    assert bed.verify(deep=False).ok


def test_sequences_stored_digest_not_bytes(bed: LogBed) -> None:
    # The log commits to the digest on the filer's receipt, so an envelope
    # altered before sequencing is caught by verify, not silently logged.
    receipt = bed.file(1)[0]
    with bed.engine.begin() as conn:
        data = bytes(
            conn.execute(
                sa.select(envelopes.c.envelope).where(envelopes.c.filing_id == receipt.filing_id)
            ).scalar_one()
        )
    changed = bytearray(data)
    changed[-20] ^= 1
    bed.update_envelope(receipt.filing_id, envelope=bytes(changed))
    bed.sequence()

    leaf = LogLeaf.from_bytes(bytes(entries(bed)[0].leaf))
    assert leaf.digest == receipt.digest
    assert [p.kind for p in bed.verify().problems] == [ProblemKind.ENVELOPE_ALTERED]
