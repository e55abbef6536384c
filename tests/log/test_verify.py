"""Tampering by plain SQL, as a database writer would do it, and what verify names."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from threeregs._errors import CheckpointError, LogVerificationError
from threeregs.store import CheckpointSigner, ProblemKind, issue_key, rewrap_office
from threeregs.store._log import encode_leaf
from threeregs.store._merkle import leaf_hash
from threeregs.store._tables import checkpoints

if TYPE_CHECKING:
    from threeregs.crypto import AnchorSigner, MemoryKeyStore
    from threeregs.store import Checkpoint, VerifyReport

    from .conftest import LogBed

NO_GRACE = dt.timedelta(0)


def kinds(report: VerifyReport) -> list[ProblemKind]:
    return [problem.kind for problem in report.problems]


def only(report: VerifyReport, kind: ProblemKind) -> dict[str, Any]:
    """Return the parameters of the one problem of *kind*."""
    found = [problem for problem in report.problems if problem.kind is kind]
    assert len(found) == 1, report.problems
    return dict(found[0].params)


@pytest.fixture
def logged(bed: LogBed) -> Checkpoint:
    """File 12 filings, sequence them and sign a checkpoint of size 12."""
    bed.file(12)
    assert bed.sequence() == 12
    return bed.checkpoint()


def text(report: VerifyReport, kind: ProblemKind) -> str:
    """Return the English message of the first problem of *kind*."""
    return next(p for p in report.problems if p.kind is kind).message("en")


def envelope_of(bed: LogBed, filing_id: str) -> bytes:
    return bytes(
        bed.scalar("SELECT envelope FROM threeregs_envelopes WHERE filing_id = :f", f=filing_id)
    )


def write_envelope(bed: LogBed, filing_id: str, data: bytes) -> None:
    changed = bed.sql(
        "UPDATE threeregs_envelopes SET envelope = :e WHERE filing_id = :f", e=data, f=filing_id
    )
    assert changed == 1


def move_entry(bed: LogBed, source: int, target: int) -> None:
    bed.sql("UPDATE threeregs_log SET log_index = :t WHERE log_index = :s", t=target, s=source)


def test_untouched_log_is_clean(bed: LogBed, logged: Checkpoint) -> None:
    report = bed.verify(trusted=logged)

    assert report.ok, report.problems
    assert report.tree_size == 12
    assert report.root == logged.root
    assert report.checkpoints_checked == 1
    assert report.pending == 0


def test_deleted_envelope_is_named(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[3].filing_id
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=victim)

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.ENVELOPE_DELETED]
    assert only(report, ProblemKind.ENVELOPE_DELETED) == {"index": 3, "filing_id": victim}
    assert report.problems[0].message("en") == (
        f"log entry 3 (filing {victim}): the envelope was deleted"
    )
    assert victim in report.problems[0].message("zh_CN")


def test_altered_payload_is_named(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[5].filing_id
    data = bytearray(envelope_of(bed, victim))
    data[-40] ^= 0x01
    write_envelope(bed, victim, bytes(data))

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.ENVELOPE_ALTERED]
    assert only(report, ProblemKind.ENVELOPE_ALTERED) == {"index": 5, "filing_id": victim}


def test_payload_and_digest_column_altered_together(bed: LogBed, logged: Checkpoint) -> None:
    from threeregs.crypto import content_digest

    victim = bed.receipts[2].filing_id
    data = bytearray(envelope_of(bed, victim))
    data[-100] ^= 0xFF
    write_envelope(bed, victim, bytes(data))
    bed.sql(
        "UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f",
        d=content_digest(bytes(data)),
        f=victim,
    )

    report = bed.verify(trusted=logged)

    assert sorted(kinds(report)) == sorted(
        [ProblemKind.DIGEST_ALTERED, ProblemKind.ENVELOPE_ALTERED]
    )


def test_broken_header_is_named(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[0].filing_id
    data = envelope_of(bed, victim)
    write_envelope(bed, victim, data[:-1])

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.ENVELOPE_UNREADABLE]
    assert only(report, ProblemKind.ENVELOPE_UNREADABLE)["index"] == 0


def test_replaced_slot_is_not_seen(bed: LogBed, logged: Checkpoint) -> None:
    # Slots lie outside the content digest because key rotation rewrites them;
    # only the recipient office notices a replaced slot, when opening fails.
    victim = bed.receipts[1].filing_id
    data = bytearray(envelope_of(bed, victim))
    core_end = 58 + 16 * data[21]
    data[core_end + 10] ^= 0x01
    write_envelope(bed, victim, bytes(data))

    assert bed.verify(trusted=logged).ok


def test_altered_receipt_time_is_named(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[7]
    bed.update_envelope(victim.filing_id, received_at=victim.received_at - dt.timedelta(days=30))

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.RECEIPT_TIME_ALTERED]
    assert only(report, ProblemKind.RECEIPT_TIME_ALTERED)["index"] == 7


def test_quick_mode_checks_digest_column_only(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[4].filing_id
    data = bytearray(envelope_of(bed, victim))
    data[-40] ^= 0x01
    write_envelope(bed, victim, bytes(data))
    bed.sql("UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f", d="0" * 64, f=victim)

    quick = bed.verify(trusted=logged, deep=False)
    deep = bed.verify(trusted=logged)

    assert kinds(quick) == [ProblemKind.DIGEST_ALTERED]
    assert not quick.deep
    assert sorted(kinds(deep)) == sorted([ProblemKind.DIGEST_ALTERED, ProblemKind.ENVELOPE_ALTERED])


def test_deleted_log_entry_is_named(bed: LogBed, logged: Checkpoint) -> None:
    victim = bed.receipts[4].filing_id
    bed.sql("DELETE FROM threeregs_log WHERE log_index = 4")

    report = bed.verify(trusted=logged, grace=NO_GRACE)

    assert only(report, ProblemKind.ENTRY_MISSING) == {"first": 4, "last": 4}
    assert only(report, ProblemKind.CHECKPOINT_MISMATCH)["size"] == 12
    assert ProblemKind.ROLLED_BACK not in kinds(report)
    assert only(report, ProblemKind.NOT_IN_LOG)["filing_id"] == victim
    assert text(report, ProblemKind.ENTRY_MISSING).startswith("log entry 4 is missing")


def test_deleted_range_of_entries(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("DELETE FROM threeregs_log WHERE log_index BETWEEN 3 AND 6")
    bed.sql(
        "DELETE FROM threeregs_envelopes WHERE filing_id IN (:a, :b, :c, :d)",
        **{key: bed.receipts[i].filing_id for key, i in zip("abcd", range(3, 7), strict=True)},
    )

    report = bed.verify(trusted=logged)

    assert only(report, ProblemKind.ENTRY_MISSING) == {"first": 3, "last": 6}
    assert text(report, ProblemKind.ENTRY_MISSING).startswith("log entries 3 to 6 are missing")


def test_swapped_entries_are_named(bed: LogBed, logged: Checkpoint) -> None:
    move_entry(bed, 2, 100)
    move_entry(bed, 9, 2)
    move_entry(bed, 100, 9)

    report = bed.verify(trusted=logged)

    assert only(report, ProblemKind.ENTRIES_SWAPPED) == {"first": 2, "second": 9}
    assert only(report, ProblemKind.CHECKPOINT_MISMATCH) == {
        "size": 12,
        "office": "330000",
        "time": logged.signed_at,
        "first": 0,
        "last": 11,
    }
    assert ProblemKind.HEAD_ALTERED not in kinds(report)


def test_renumbered_after_deletion(bed: LogBed, logged: Checkpoint) -> None:
    # Delete entry 5 and its envelope, then close the gap as a careful attacker would.
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=bed.receipts[5].filing_id)
    bed.sql("DELETE FROM threeregs_log WHERE log_index = 5")
    for index in range(6, 12):
        move_entry(bed, index, index - 1)

    report = bed.verify(trusted=logged)

    moved = only(report, ProblemKind.ENTRIES_MOVED)
    assert moved == {"first": 5, "last": 10, "from_first": 6, "from_last": 11}
    assert only(report, ProblemKind.ROLLED_BACK)["checkpoint_size"] == 12
    assert text(report, ProblemKind.ENTRIES_MOVED).startswith(
        "log entries 5 to 10 hold the leaves of entries 6 to 11"
    )


def test_rewritten_entry_is_bounded_by_checkpoints(bed: LogBed, logged: Checkpoint) -> None:
    """An attacker who rewrites an envelope and recomputes every hash leaves no local trace."""
    from threeregs.crypto import content_digest

    later = bed.file(4)
    bed.sequence()
    newest = bed.checkpoint(trusted=logged)
    victim = later[1]
    index = 13

    data = bytearray(envelope_of(bed, victim.filing_id))
    data[-50] ^= 0x01
    digest = content_digest(bytes(data))
    leaf = encode_leaf(
        index, bytes.fromhex(victim.filing_id), bytes.fromhex(digest), _micros(victim.received_at)
    )
    write_envelope(bed, victim.filing_id, bytes(data))
    bed.sql(
        "UPDATE threeregs_envelopes SET digest = :d WHERE filing_id = :f",
        d=digest,
        f=victim.filing_id,
    )
    bed.sql(
        "UPDATE threeregs_log SET leaf = :l, leaf_hash = :h WHERE log_index = :i",
        l=leaf,
        h=leaf_hash(leaf),
        i=index,
    )

    report = bed.verify(trusted=newest)

    mismatch = only(report, ProblemKind.CHECKPOINT_MISMATCH)
    assert (mismatch["first"], mismatch["last"]) == (12, 15)
    assert ProblemKind.ENVELOPE_ALTERED not in kinds(report)


def _micros(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def test_restored_old_copy_is_a_rollback(bed: LogBed, logged: Checkpoint) -> None:
    backup = bed.snapshot()
    bed.file(5)
    bed.sequence()
    newest = bed.checkpoint(trusted=logged)

    bed.restore(backup)
    report = bed.verify(trusted=newest)

    assert kinds(report) == [ProblemKind.ROLLED_BACK]
    assert only(report, ProblemKind.ROLLED_BACK) == {
        "size": 12,
        "checkpoint_size": 17,
        "office": "330000",
        "time": newest.signed_at,
    }
    assert "restored from an old backup" in report.problems[0].message("en")


def test_restored_copy_passes_without_trusted_checkpoint(bed: LogBed, logged: Checkpoint) -> None:
    # The database alone cannot show a rollback: only the checkpoint kept
    # outside it can. This is why verify takes the trusted checkpoint.
    backup = bed.snapshot()
    bed.file(3)
    bed.sequence()
    bed.checkpoint(trusted=logged)
    bed.restore(backup)

    assert bed.verify().ok


def test_truncated_log_is_a_rollback(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("DELETE FROM threeregs_log WHERE log_index >= 8")
    bed.sql("DELETE FROM threeregs_log_nodes")
    bed.sql("UPDATE threeregs_log_head SET size = 8")

    report = bed.verify(trusted=logged)

    assert only(report, ProblemKind.ROLLED_BACK)["size"] == 8


def test_inserted_envelope_is_reported(bed: LogBed, logged: Checkpoint, days_ago: Any) -> None:
    bed.insert_synthetic(1, received_at=days_ago(3))

    report = bed.verify(trusted=logged)

    problem = only(report, ProblemKind.NOT_IN_LOG)
    assert problem["filing_id"] == bed.receipts[-1].filing_id
    assert "inserted after sequencing" in text(report, ProblemKind.NOT_IN_LOG)


def test_new_filings_are_pending(bed: LogBed, logged: Checkpoint) -> None:
    bed.file(2)

    report = bed.verify(trusted=logged, grace=NO_GRACE)

    assert report.ok
    assert report.pending == 2
    assert report.oldest_pending == bed.receipts[-2].received_at


def test_malformed_envelope_row(bed: LogBed, logged: Checkpoint, caplog: Any) -> None:
    bed.insert_synthetic(1)
    bed.sql(
        "UPDATE threeregs_envelopes SET filing_id = 'not-hex' WHERE filing_id = :f",
        f=bed.receipts[-1].filing_id,
    )

    assert bed.sequence() == 0
    assert "malformed filing id or digest" in caplog.text
    report = bed.verify(trusted=logged)
    assert kinds(report) == [ProblemKind.ROW_MALFORMED]


def test_altered_head_row(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("UPDATE threeregs_log_head SET root = :r", r=bytes(32))

    report = bed.verify(trusted=logged)

    assert only(report, ProblemKind.HEAD_ALTERED) == {"head_size": 12, "size": 12}


def test_damaged_head_frontier(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("UPDATE threeregs_log_head SET frontier = :f", f=b"\x00" * 5)

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.HEAD_ALTERED]


def test_altered_subtree_node(bed: LogBed) -> None:
    bed.insert_synthetic(600)
    bed.sequence()
    bed.sql(
        "UPDATE threeregs_log_nodes SET hash = :h WHERE level = 8 AND node_index = 1", h=bytes(32)
    )
    bed.sql("DELETE FROM threeregs_log_nodes WHERE level = 9")

    report = bed.verify(deep=False)

    assert sorted((p.params["level"], p.params["index"]) for p in report.problems) == [
        (8, 1),
        (9, 0),
    ]
    assert set(kinds(report)) == {ProblemKind.NODE_ALTERED}


def test_forged_stored_checkpoint(bed: LogBed, logged: Checkpoint) -> None:
    forged = logged.to_text().replace(f"root {logged.root.hex()}", "root " + "ab" * 32)
    with bed.engine.begin() as conn:
        conn.execute(
            sa.insert(checkpoints),
            [
                {
                    "tree_size": 12,
                    "office_code": "330000",
                    "signed_at": logged.signed_at,
                    "checkpoint": forged,
                },
                {
                    "tree_size": 1,
                    "office_code": "330000",
                    "signed_at": logged.signed_at,
                    "checkpoint": "junk",
                },
            ],
        )

    report = bed.verify(trusted=logged)

    assert kinds(report) == [ProblemKind.CHECKPOINT_INVALID, ProblemKind.CHECKPOINT_INVALID]
    assert {p.variant for p in report.problems} == {
        "checkpoint_bad_signature",
        "checkpoint_unparsable",
    }


def test_checkpoint_of_unknown_key_is_skipped(bed: LogBed, logged: Checkpoint) -> None:
    stranger = CheckpointSigner.generate("110000")
    with bed.engine.begin() as conn:
        from threeregs.store import store_checkpoint

        store_checkpoint(
            conn,
            stranger.sign(log_id=logged.log_id, tree_size=12, root=bytes(32), at=logged.signed_at),
        )

    report = bed.verify(trusted=logged)

    assert report.ok
    assert report.unknown_key_checkpoints == 1


def test_forked_checkpoints(bed: LogBed, logged: Checkpoint) -> None:
    other = bed.signer.sign(log_id=logged.log_id, tree_size=12, root=bytes(32), at=logged.signed_at)
    with bed.engine.begin() as conn:
        from threeregs.store import store_checkpoint

        store_checkpoint(conn, other)

    report = bed.verify(trusted=logged)

    assert only(report, ProblemKind.CHECKPOINT_FORK) == {"size": 12}
    assert only(report, ProblemKind.CHECKPOINT_MISMATCH)["size"] == 12


def test_checkpoint_of_another_log(bed: LogBed, logged: Checkpoint) -> None:
    foreign = bed.signer.sign(log_id="f" * 32, tree_size=12, root=logged.root, at=logged.signed_at)

    report = bed.verify(trusted=foreign)

    assert only(report, ProblemKind.OTHER_LOG) == {
        "size": 12,
        "time": logged.signed_at,
        "expected": "f" * 32,
        "actual": logged.log_id,
    }


def test_trusted_checkpoint_must_verify(bed: LogBed, logged: Checkpoint) -> None:
    with pytest.raises(CheckpointError, match="not in the list of checkpoint keys"):
        bed.verify(trusted=logged, verify_keys=())


def test_rewrap_keeps_log_clean(
    bed: LogBed, logged: Checkpoint, anchor_signer: AnchorSigner, keystore: MemoryKeyStore
) -> None:
    with bed.engine.begin() as conn:
        issue_key(conn, anchor_signer, keystore, "330106", level=4)
    progress = rewrap_office(bed.engine, "330106", keystore, anchor_signer.anchor)

    assert progress.rewrapped == 12
    assert bed.verify(trusted=logged).ok


def test_checkpoint_refused_on_problems(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=bed.receipts[0].filing_id)

    with pytest.raises(LogVerificationError) as caught:
        bed.checkpoint(trusted=logged)

    assert kinds(caught.value.report) == [ProblemKind.ENVELOPE_DELETED]
    with bed.engine.begin() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM threeregs_checkpoints")).scalar()
    assert stored == 1


def test_consistent_checkpoints_all_compared(bed: LogBed, logged: Checkpoint) -> None:
    bed.file(3)
    bed.sequence()
    second = bed.checkpoint(trusted=logged)
    bed.file(2)
    bed.sequence()

    report = bed.verify(trusted=second)

    assert report.ok
    assert report.checkpoints_checked == 2
    assert report.tree_size == 17


def test_messages_exist_in_both_languages(bed: LogBed, logged: Checkpoint) -> None:
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=bed.receipts[1].filing_id)
    move_entry(bed, 3, 100)
    move_entry(bed, 4, 3)
    move_entry(bed, 100, 4)

    report = bed.verify(trusted=logged)

    for problem in report.problems:
        english = problem.message("en")
        chinese = problem.message("zh_CN")
        assert english != chinese
        assert all(str(value) in chinese for key, value in problem.params.items() if key != "time")


def test_empty_database(bed: LogBed) -> None:
    report = bed.verify()

    assert report.ok
    assert report.log_id is None
    assert report.tree_size == 0
    assert report.root == hashlib.sha256(b"").digest()


def test_new_filing_after_deleted_last_envelope(bed: LogBed, logged: Checkpoint) -> None:
    # SQLite gives the next row the seq of a deleted last row; the new filing
    # must still count as pending rather than as the deleted entry's envelope.
    victim = bed.receipts[-1].filing_id
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=victim)
    newcomer = bed.file(1)[0]

    report = bed.verify(trusted=logged, grace=NO_GRACE)

    assert kinds(report) == [ProblemKind.ENVELOPE_DELETED]
    assert only(report, ProblemKind.ENVELOPE_DELETED) == {"index": 11, "filing_id": victim}
    assert report.pending == 1
    assert report.oldest_pending == newcomer.received_at


def test_large_log_with_checkpoints_inside_blocks(bed: LogBed) -> None:
    """Cover logs longer than the blocks verify hashes at once, and scattered seqs."""
    bed.insert_synthetic(1500)
    bed.sequence()
    first = bed.checkpoint(deep=False)
    bed.insert_synthetic(548)
    bed.sequence()
    second = bed.checkpoint(trusted=first, deep=False)
    bed.insert_synthetic(700)
    bed.sequence()
    # Give one envelope and its entry a far-away seq, as a late commit can.
    victim = bed.receipts[100].filing_id
    bed.update_envelope(victim, seq=10**9)
    bed.sql("UPDATE threeregs_log SET seq = :s WHERE filing_id = :f", s=10**9, f=victim)

    clean = bed.verify(trusted=second, deep=False)
    bed.sql("UPDATE threeregs_log_nodes SET hash = :h WHERE level = 10 AND node_index = 1", h=b"x")
    altered = bed.verify(trusted=second, deep=False)

    assert clean.ok, clean.problems
    assert (clean.tree_size, clean.checkpoints_checked) == (2748, 2)
    assert first.tree_size == 1500
    assert second.tree_size == 2048
    assert [(p.kind, p.params) for p in altered.problems] == [
        (ProblemKind.NODE_ALTERED, {"level": 10, "index": 1})
    ]
