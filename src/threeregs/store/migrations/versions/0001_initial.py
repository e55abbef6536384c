"""Create the threeregs tables.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("threeregs",)
depends_on: str | Sequence[str] | None = None

# The column types are written out here instead of imported from
# threeregs.store._tables, so this revision keeps creating the same columns
# after the tables module changes.
#
# MariaDB's BLOB stops at 64 KiB and its DATETIME drops microseconds unless
# asked for them. Times are stored naive, in UTC.
BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
TIME = sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# SQLite makes an INTEGER primary key its auto-incrementing row id, but not a
# BIGINT one.
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ID = sa.String(64)
CODE = sa.String(16)
STAGE = sa.String(48)


def upgrade() -> None:
    # Every constraint and index is named explicitly through op.f(), so a
    # host environment's own naming convention cannot rename them.
    op.create_table(
        "threeregs_cases",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("business_line", sa.String(32), nullable=False),
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("policy_version", ID, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_threeregs_cases")),
    )

    op.create_table(
        "threeregs_visits",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("entered_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["threeregs_cases.case_id"],
            name=op.f("fk_threeregs_visits_case_id_threeregs_cases"),
        ),
        sa.PrimaryKeyConstraint("case_id", "visit", name=op.f("pk_threeregs_visits")),
    )
    op.create_index(op.f("ix_threeregs_visits_stage"), "threeregs_visits", ["case_id", "stage"])

    op.create_table(
        "threeregs_assignments",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("from_visit", sa.Integer(), nullable=False),
        sa.Column("to_visit", sa.Integer(), nullable=True),
        sa.Column("assigned_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["threeregs_cases.case_id"],
            name=op.f("fk_threeregs_assignments_case_id_threeregs_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeregs_assignments")),
    )
    op.create_index(
        op.f("ix_threeregs_assignments_case"),
        "threeregs_assignments",
        ["case_id", "person_id"],
    )

    op.create_table(
        "threeregs_stage_filings",
        sa.Column("case_id", ID, nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("filed_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["threeregs_cases.case_id"],
            name=op.f("fk_threeregs_stage_filings_case_id_threeregs_cases"),
        ),
        sa.PrimaryKeyConstraint(
            "case_id", "visit", "person_id", name=op.f("pk_threeregs_stage_filings")
        ),
    )

    op.create_table(
        "threeregs_monthly_returns",
        sa.Column("person_id", ID, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("filed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("person_id", "month", name=op.f("pk_threeregs_monthly_returns")),
    )

    # One slot per office in the filer's chain, at most four. Slot 0 is
    # always filled.
    op.create_table(
        "threeregs_envelopes",
        sa.Column("seq", SERIAL, autoincrement=True, nullable=False),
        sa.Column("filing_id", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("slot0_office", CODE, nullable=False),
        sa.Column("slot1_office", CODE, nullable=True),
        sa.Column("slot2_office", CODE, nullable=True),
        sa.Column("slot3_office", CODE, nullable=True),
        sa.Column("slot0_version", sa.Integer(), nullable=False),
        sa.Column("slot1_version", sa.Integer(), nullable=True),
        sa.Column("slot2_version", sa.Integer(), nullable=True),
        sa.Column("slot3_version", sa.Integer(), nullable=True),
        sa.Column("envelope", BLOB, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_threeregs_envelopes")),
        sa.UniqueConstraint("filing_id", name=op.f("uq_threeregs_envelopes_filing_id")),
    )
    for slot in range(4):
        op.create_index(
            op.f(f"ix_threeregs_envelopes_slot{slot}"),
            "threeregs_envelopes",
            [f"slot{slot}_office"],
        )

    op.create_table(
        "threeregs_decisions",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("from_stage", STAGE, nullable=False),
        sa.Column("from_round", sa.Integer(), nullable=False),
        sa.Column("to_stage", STAGE, nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("blockers", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("policy_version", ID, nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeregs_decisions")),
    )
    op.create_index(op.f("ix_threeregs_decisions_case"), "threeregs_decisions", ["case_id"])

    op.create_table(
        "threeregs_offices",
        sa.Column("code", CODE, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", CODE, nullable=True),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name=op.f("ck_threeregs_offices_level")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_threeregs_offices")),
    )

    op.create_table(
        "threeregs_office_keys",
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("certificate", BLOB, nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("retired_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint(
            "office_code", "key_version", name=op.f("pk_threeregs_office_keys")
        ),
    )

    op.create_table(
        "threeregs_access_log",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("reader", ID, nullable=False),
        sa.Column("filing_id", sa.String(32), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeregs_access_log")),
    )
    op.create_index(op.f("ix_threeregs_access_log_filing"), "threeregs_access_log", ["filing_id"])

    op.create_table(
        "threeregs_rewrap_jobs",
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("done_through", sa.BigInteger(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("office_code", "to_version", name=op.f("pk_threeregs_rewrap_jobs")),
    )

    # The tamper-evident filing log: its head row, its leaves, the stored
    # subtree hashes and the signed checkpoints.
    op.create_table(
        "threeregs_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", BLOB, nullable=False),
        sa.Column("floor_seq", sa.BigInteger(), nullable=False),
        sa.Column("candidate_seq", sa.BigInteger(), nullable=True),
        sa.Column("candidate_at", TIME, nullable=True),
        sa.Column("drained_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_threeregs_log_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeregs_log_head")),
    )

    op.create_table(
        "threeregs_log",
        sa.Column("log_index", SERIAL, autoincrement=False, nullable=False),
        sa.Column("filing_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(128), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("appended_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_threeregs_log")),
        sa.UniqueConstraint("filing_id", name=op.f("uq_threeregs_log_filing_id")),
    )
    op.create_index(op.f("ix_threeregs_log_seq"), "threeregs_log", ["seq"])

    op.create_table(
        "threeregs_log_nodes",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_threeregs_log_nodes")),
    )

    op.create_table(
        "threeregs_checkpoints",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("office_code", CODE, nullable=False),
        sa.Column("signed_at", TIME, nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeregs_checkpoints")),
    )
    op.create_index(op.f("ix_threeregs_checkpoints_size"), "threeregs_checkpoints", ["tree_size"])


def downgrade() -> None:
    # Tables that refer to threeregs_cases go before it.
    op.drop_table("threeregs_checkpoints")
    op.drop_table("threeregs_log_nodes")
    op.drop_table("threeregs_log")
    op.drop_table("threeregs_log_head")
    op.drop_table("threeregs_rewrap_jobs")
    op.drop_table("threeregs_access_log")
    op.drop_table("threeregs_office_keys")
    op.drop_table("threeregs_offices")
    op.drop_table("threeregs_decisions")
    op.drop_table("threeregs_envelopes")
    op.drop_table("threeregs_monthly_returns")
    op.drop_table("threeregs_stage_filings")
    op.drop_table("threeregs_assignments")
    op.drop_table("threeregs_visits")
    op.drop_table("threeregs_cases")
