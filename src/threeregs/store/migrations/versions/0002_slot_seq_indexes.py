"""Index each envelope slot column together with seq.

An inbox pages through the envelopes of one office in seq order. With an
index on the office code alone, PostgreSQL has to fetch and sort every
remaining envelope of the office for each page; with seq beside the code,
each slot column is read in order and the read stops after one page.

Revision ID: 0002_slot_seq_indexes
Revises: 0001_initial
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_slot_seq_indexes"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "threeregs_envelopes"
SLOTS = 4


def upgrade() -> None:
    for slot in range(SLOTS):
        # The new index is built before the old one goes, so the inbox is
        # never left without one.
        op.create_index(
            op.f(f"ix_threeregs_envelopes_slot{slot}_seq"), TABLE, [f"slot{slot}_office", "seq"]
        )
        op.drop_index(op.f(f"ix_threeregs_envelopes_slot{slot}"), table_name=TABLE)


def downgrade() -> None:
    for slot in range(SLOTS):
        op.create_index(op.f(f"ix_threeregs_envelopes_slot{slot}"), TABLE, [f"slot{slot}_office"])
        op.drop_index(op.f(f"ix_threeregs_envelopes_slot{slot}_seq"), table_name=TABLE)
