"""Inclusion and consistency proofs from the database, checked as a filer and an inspector would."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs
import pytest

from threeregs import Receipt, UnknownFilingError
from threeregs._errors import LogError, NotInLogError
from threeregs.store import (
    CheckpointSigner,
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    verify_consistency,
    verify_inclusion,
)

if TYPE_CHECKING:
    from threeregs.store import Checkpoint

    from .conftest import LogBed


@pytest.fixture
def signed(bed: LogBed) -> Checkpoint:
    bed.file(9)
    bed.sequence()
    return bed.checkpoint()


def test_every_receipt_proves_inclusion(bed: LogBed, signed: Checkpoint) -> None:
    with bed.engine.begin() as conn:
        for index, receipt in enumerate(bed.receipts):
            proof = inclusion_proof(conn, receipt.filing_id)

            assert (proof.leaf_index, proof.tree_size) == (index, 9)
            assert verify_inclusion(receipt, proof, signed, verify_keys=bed.keys)


def test_wrong_receipt_fails(bed: LogBed, signed: Checkpoint) -> None:
    receipt = bed.receipts[4]
    with bed.engine.begin() as conn:
        proof = inclusion_proof(conn, receipt.filing_id)

    wrong = [
        bed.receipts[5],
        attrs.evolve(receipt, digest="0" * 64),
        attrs.evolve(receipt, received_at=receipt.received_at + dt.timedelta(microseconds=1)),
        Receipt(receipt.filing_id, receipt.digest[:-1], receipt.received_at),
    ]
    for other in wrong:
        assert not verify_inclusion(other, proof, signed)
    assert not verify_inclusion(receipt, attrs.evolve(proof, leaf_index=3), signed)
    assert not verify_inclusion(receipt, attrs.evolve(proof, path=proof.path[:-1]), signed)


def test_proof_needs_matching_checkpoint(bed: LogBed, signed: Checkpoint) -> None:
    receipt = bed.receipts[0]
    bed.file(2)
    bed.sequence()
    with bed.engine.begin() as conn:
        current = inclusion_proof(conn, receipt.filing_id, tree_size=11)
        at_checkpoint = inclusion_proof(conn, receipt.filing_id, tree_size=9)

    assert not verify_inclusion(receipt, current, signed)
    assert verify_inclusion(receipt, at_checkpoint, signed)


def test_checkpoint_signature_is_checked(bed: LogBed, signed: Checkpoint) -> None:
    receipt = bed.receipts[2]
    with bed.engine.begin() as conn:
        proof = inclusion_proof(conn, receipt.filing_id)
    stranger = CheckpointSigner.generate("330000").public_key
    forged = attrs.evolve(signed, signature=bytes(64))

    assert not verify_inclusion(receipt, proof, signed, verify_keys=[stranger])
    assert not verify_inclusion(receipt, proof, forged, verify_keys=bed.keys)
    assert verify_inclusion(receipt, proof, forged)


def test_default_size_is_newest_checkpoint(bed: LogBed, signed: Checkpoint) -> None:
    bed.file(3)
    bed.sequence()
    newest = bed.file(1)[0]
    bed.sequence()
    with bed.engine.begin() as conn:
        assert latest_checkpoint(conn, verify_keys=bed.keys) == signed
        old = inclusion_proof(conn, bed.receipts[0].filing_id)
        new = inclusion_proof(conn, newest.filing_id)

    assert old.tree_size == 9
    # The newest entry is not in any checkpoint yet, so the current size is used.
    assert new.tree_size == 13


def test_unsequenced_and_unknown_filings(bed: LogBed, signed: Checkpoint) -> None:
    pending = bed.file(1)[0]
    with bed.engine.begin() as conn:
        with pytest.raises(NotInLogError, match="not yet in the log"):
            inclusion_proof(conn, pending.filing_id)
        with pytest.raises(UnknownFilingError):
            inclusion_proof(conn, "f" * 32)
        with pytest.raises(LogError, match="no tree of size 99"):
            inclusion_proof(conn, bed.receipts[0].filing_id, tree_size=99)
    bed.sequence()
    with bed.engine.begin() as conn, pytest.raises(NotInLogError, match="after the tree of size 9"):
        inclusion_proof(conn, pending.filing_id, tree_size=9)


def test_consistency_between_checkpoints(bed: LogBed, signed: Checkpoint) -> None:
    bed.file(6)
    bed.sequence()
    newer = bed.checkpoint(trusted=signed)
    with bed.engine.begin() as conn:
        proof = consistency_proof(conn, signed.tree_size, newer.tree_size)

    assert verify_consistency(proof, signed, newer)
    assert not verify_consistency(proof, newer, signed)
    assert not verify_consistency(proof, attrs.evolve(signed, root=bytes(32)), newer)
    assert not verify_consistency(attrs.evolve(proof, path=proof.path[1:]), signed, newer)
    with bed.engine.begin() as conn, pytest.raises(LogError, match="no consistency proof"):
        consistency_proof(conn, 20)


def test_large_log_uses_cached_subtrees(bed: LogBed) -> None:
    receipts = bed.insert_synthetic(700)
    bed.sequence()
    report = bed.verify(deep=False)
    assert report.log_id is not None
    checkpoint = bed.signer.sign(
        log_id=report.log_id, tree_size=700, root=report.root, at=dt.datetime.now(dt.UTC)
    )
    with bed.engine.begin() as conn:
        proofs = {i: inclusion_proof(conn, receipts[i].filing_id) for i in (0, 255, 256, 511, 699)}
        proof = consistency_proof(conn, 300, 700)

    for index, inclusion in proofs.items():
        assert verify_inclusion(receipts[index], inclusion, checkpoint)

    # Without the cached subtrees a proof is rebuilt from the leaves.
    bed.sql("DELETE FROM threeregs_log_nodes")
    expected = _proof_of(bed, 3)
    with bed.engine.begin() as conn:
        assert inclusion_proof(conn, receipts[3].filing_id) == expected
        assert consistency_proof(conn, 300, 700) == proof


def _proof_of(bed: LogBed, index: int) -> object:
    from threeregs.store._merkle import InclusionProof, inclusion_path, subtree_from_leaves
    from threeregs.store._tables import log_entries

    with bed.engine.begin() as conn:
        hashes = [
            bytes(row[0])
            for row in conn.execute(
                log_entries.select()
                .with_only_columns(log_entries.c.leaf_hash)
                .order_by(log_entries.c.log_index)
            )
        ]
    return InclusionProof(
        index, len(hashes), inclusion_path(index, len(hashes), subtree_from_leaves(hashes))
    )
