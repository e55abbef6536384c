"""A test bed for the filing log: filings, the sequencer, checkpoints and direct SQL.

The ``engine``, ``gate``, ``filer`` and ``lawyer_contact`` fixtures come from
``tests/conftest.py``. :class:`LogBed` adds what an inspector does (sequence,
sign checkpoints, verify) and what an attacker with write access to the
database does (plain SQL on the tables, bypassing the library).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from threeregs import Filing, Receipt
from threeregs.store import (
    CheckpointSigner,
    create_checkpoint,
    metadata,
    sequence,
    verify,
)
from threeregs.store._tables import envelopes

if TYPE_CHECKING:
    from threeregs import Record, StageGate
    from threeregs.store import Checkpoint, VerifyReport


class LogBed:
    """Files, sequences, signs and verifies on one database, and tampers with it by SQL."""

    def __init__(
        self,
        engine: sa.Engine,
        gate: StageGate,
        filer: Any,
        record: Record,
        signer: CheckpointSigner,
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.filer = filer
        self.record = record
        self.signer = signer
        self.receipts: list[Receipt] = []

    @property
    def keys(self) -> tuple[Any, ...]:
        return (self.signer.public_key,)

    def file(self, count: int) -> list[Receipt]:
        """File *count* anytime records in one transaction and return their receipts."""
        with self.engine.begin() as conn:
            receipts = [
                self.gate.file(
                    conn,
                    Filing(self.filer(f"p{len(self.receipts) + i}"), None, records=(self.record,)),
                )
                for i in range(count)
            ]
        self.receipts.extend(receipts)
        return receipts

    def insert_synthetic(
        self, count: int, *, received_at: dt.datetime | None = None
    ) -> list[Receipt]:
        """Insert *count* envelope rows with random digests and no real envelope bytes.

        For tests that need hundreds of entries and verify with ``deep=False``.
        """
        when = received_at or dt.datetime.now(dt.UTC)
        rows = []
        for _ in range(count):
            filing_id = os.urandom(16).hex()
            rows.append(
                {
                    "filing_id": filing_id,
                    "digest": hashlib.sha256(filing_id.encode()).hexdigest(),
                    "received_at": when,
                    "envelope": b"",
                    **{f"slot{i}_office": "330106" if i == 0 else None for i in range(4)},
                    **{f"slot{i}_version": 1 if i == 0 else None for i in range(4)},
                }
            )
        with self.engine.begin() as conn:
            conn.execute(sa.insert(envelopes), rows)
        receipts = [Receipt(r["filing_id"], r["digest"], when) for r in rows]
        self.receipts.extend(receipts)
        return receipts

    def sequence(self, **options: Any) -> int:
        with self.engine.begin() as conn:
            return sequence(conn, **options)

    def checkpoint(self, *, trusted: Checkpoint | None = None, deep: bool = True) -> Checkpoint:
        with self.engine.begin() as conn:
            return create_checkpoint(
                conn, self.signer, trusted=trusted, verify_keys=self.keys, deep=deep
            )

    def verify(self, **options: Any) -> VerifyReport:
        options.setdefault("verify_keys", self.keys)
        with self.engine.begin() as conn:
            return verify(conn, **options)

    def sql(self, statement: str, **params: Any) -> int:
        """Run one statement as an attacker would, and return the number of rows it changed."""
        with self.engine.begin() as conn:
            return conn.execute(sa.text(statement), params).rowcount

    def update_envelope(self, filing_id: str, **values: Any) -> None:
        """Change columns of one envelope row, bypassing the library."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(envelopes).where(envelopes.c.filing_id == filing_id).values(values)
            )
        assert result.rowcount == 1

    def scalar(self, statement: str, **params: Any) -> Any:
        with self.engine.begin() as conn:
            return conn.execute(sa.text(statement), params).scalar()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Copy every threeregs table, as a backup would."""
        with self.engine.begin() as conn:
            return {
                table.name: [dict(row._mapping) for row in conn.execute(sa.select(table))]
                for table in metadata.sorted_tables
            }

    def restore(self, backup: dict[str, list[dict[str, Any]]]) -> None:
        """Replace every threeregs table with the rows of *backup*."""
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if backup[table.name]:
                    conn.execute(table.insert(), backup[table.name])


@pytest.fixture(scope="session")
def checkpoint_signer() -> CheckpointSigner:
    """Return the inspection department's checkpoint signing key for the session."""
    return CheckpointSigner.generate("330000")


@pytest.fixture
def bed(
    engine: sa.Engine,
    gate: StageGate,
    filer: Any,
    lawyer_contact: Record,
    checkpoint_signer: CheckpointSigner,
) -> LogBed:
    """Return a test bed on empty tables with office keys issued."""
    return LogBed(engine, gate, filer, lawyer_contact, checkpoint_signer)


@pytest.fixture
def days_ago() -> Any:
    """Return a function giving the aware UTC time *n* days before now."""

    def at(days: float) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)

    return at
