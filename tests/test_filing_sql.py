"""Statements behind StageGate.file that the gate tests do not reach on every database."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from threeregs import _filing_sql as sql
from threeregs.store import metadata

envelopes = metadata.tables["threeregs_envelopes"]
monthly_returns = metadata.tables["threeregs_monthly_returns"]


def envelope_row(filing_id: str) -> dict[str, object]:
    row: dict[str, object] = {
        "filing_id": filing_id,
        "digest": "0" * 64,
        "received_at": dt.datetime.now(dt.UTC),
        "envelope": b"\x00" * 64,
    }
    for index in range(4):
        row[f"slot{index}_office"] = "330106" if index == 0 else None
        row[f"slot{index}_version"] = 1 if index == 0 else None
    return row


def test_violates_names_the_table(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sql.envelope_insert(), envelope_row("a" * 32))
        with pytest.raises(IntegrityError) as raised:
            conn.execute(sql.envelope_insert(), envelope_row("a" * 32))
        conn.rollback()

    if engine.dialect.name == "postgresql":
        assert sql.violates(raised.value, envelopes)
        assert not sql.violates(raised.value, monthly_returns)
    else:
        # pysqlite and PyMySQL report no table; the gate then keeps the claim's message.
        assert not sql.violates(raised.value, envelopes)


@pytest.mark.parametrize("kind", [sql.ClaimKind("stage", 0), sql.ClaimKind("month", 4)])
def test_claim_and_store_compiles_for_postgresql(kind: sql.ClaimKind) -> None:
    statement = sql.claim_and_store(kind)
    text = str(statement.compile(dialect=postgresql.dialect()))

    # The data-modifying WITH query must sit at the top level, where PostgreSQL allows it.
    assert text.startswith("WITH claimed AS")
    assert "RETURNING" in text
    assert "INSERT INTO threeregs_envelopes" in text
