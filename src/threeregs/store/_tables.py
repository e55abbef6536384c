"""SQLAlchemy Core tables, all under one :data:`metadata` with a ``threeregs_`` prefix.

What a database reader can see is part of the threat model: the envelope
table has no column that depends on the route, the kind of filing or whether
it is a zero report, and nothing links an anytime record to its filer.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy import Select

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime, stored naive in UTC so every database agrees."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # MariaDB's DATETIME drops microseconds unless asked. The precision is
        # chosen here and not with with_variant(), which would replace this
        # decorator and hand back naive datetimes on MariaDB.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}; pass an aware datetime in UTC"
            raise ValueError(msg)
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


# MariaDB's BLOB stops at 64 KiB.
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
Time = UTCDateTime()
# An auto-increment big integer that SQLite accepts as its row id.
Serial = BigInteger().with_variant(Integer(), "sqlite")

ID = 64
CODE = 16
STAGE = 48

cases = Table(
    "threeregs_cases",
    metadata,
    Column("case_id", String(ID), primary_key=True),
    Column("business_line", String(32), nullable=False),
    Column("office_code", String(CODE), nullable=False),
    Column("stage", String(STAGE), nullable=False),
    Column("round", Integer, nullable=False),
    # Count of stage visits so far; the current visit's number.
    Column("visit", Integer, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    # Bumped by every change that can affect the gate, for optimistic checks.
    Column("version", Integer, nullable=False),
    Column("opened_at", Time, nullable=False),
    Column("policy_version", String(ID), nullable=False),
)

visits = Table(
    "threeregs_visits",
    metadata,
    Column("case_id", String(ID), ForeignKey(cases.c.case_id), nullable=False),
    Column("visit", Integer, nullable=False),
    Column("stage", String(STAGE), nullable=False),
    Column("round", Integer, nullable=False),
    Column("entered_at", Time, nullable=False),
    PrimaryKeyConstraint("case_id", "visit"),
    Index("ix_threeregs_visits_stage", "case_id", "stage"),
)

assignments = Table(
    "threeregs_assignments",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("case_id", String(ID), ForeignKey(cases.c.case_id), nullable=False),
    Column("person_id", String(ID), nullable=False),
    Column("role", String(32), nullable=False),
    # The person is on the case for visits from_visit..to_visit (open-ended
    # while to_visit is NULL), and must file for each of them.
    Column("from_visit", Integer, nullable=False),
    Column("to_visit", Integer, nullable=True),
    Column("assigned_at", Time, nullable=False),
    Index("ix_threeregs_assignments_case", "case_id", "person_id"),
)

stage_filings = Table(
    "threeregs_stage_filings",
    metadata,
    Column("case_id", String(ID), ForeignKey(cases.c.case_id), nullable=False),
    Column("visit", Integer, nullable=False),
    Column("person_id", String(ID), nullable=False),
    Column("stage", String(STAGE), nullable=False),
    Column("round", Integer, nullable=False),
    Column("filed_at", Time, nullable=False),
    PrimaryKeyConstraint("case_id", "visit", "person_id"),
)

monthly_returns = Table(
    "threeregs_monthly_returns",
    metadata,
    Column("person_id", String(ID), nullable=False),
    Column("month", String(7), nullable=False),
    Column("office_code", String(CODE), nullable=False),
    Column("filed_at", Time, nullable=False),
    PrimaryKeyConstraint("person_id", "month"),
)

#: Slot columns: the chain holds at most four offices.
SLOTS = 4

envelopes = Table(
    "threeregs_envelopes",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("filing_id", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("received_at", Time, nullable=False),
    *[Column(f"slot{i}_office", String(CODE), nullable=i > 0) for i in range(SLOTS)],
    *[Column(f"slot{i}_version", Integer, nullable=i > 0) for i in range(SLOTS)],
    Column("envelope", Blob, nullable=False),
    UniqueConstraint("filing_id"),
    # Each index has seq after the office code, so an inbox can walk one slot
    # column in filing order and stop after a page (see addressed_seqs).
    *[Index(f"ix_threeregs_envelopes_slot{i}_seq", f"slot{i}_office", "seq") for i in range(SLOTS)],
)


def slots_of(
    office_code: str, *, key_version: int | None = None, other_than: int | None = None
) -> ColumnElement[bool]:
    """Build a condition: the envelope has a slot for *office_code*.

    With *key_version*, the slot must be sealed to that version; with
    *other_than*, to any other version.
    """
    conditions = []
    for index in range(SLOTS):
        condition = envelopes.c[f"slot{index}_office"] == office_code
        version = envelopes.c[f"slot{index}_version"]
        if key_version is not None:
            condition &= version == key_version
        if other_than is not None:
            condition &= version != other_than
        conditions.append(condition)
    return or_(*conditions)


def addressed_seqs(
    office_code: str, *, after: int, limit: int, other_than: int | None = None
) -> Select[int]:
    """Build a query for the next *limit* envelope seqs with a slot for *office_code*.

    With *other_than*, only slots sealed to another key version count.

    A single condition over the four slot columns makes the database collect
    and sort every remaining match to return one page, so paging through a
    large table would cost more with each page. Here each slot column is
    walked in seq order on its own index and stops after *limit* rows, and
    only the smallest *limit* of those at most ``4 * limit`` seqs are kept.
    """
    walks = []
    for index in range(SLOTS):
        condition = (envelopes.c[f"slot{index}_office"] == office_code) & (envelopes.c.seq > after)
        if other_than is not None:
            condition &= envelopes.c[f"slot{index}_version"] != other_than
        walk = select(envelopes.c.seq).where(condition).order_by(envelopes.c.seq).limit(limit)
        walks.append(walk.subquery(f"slot{index}"))
    merged = union_all(*(select(walk.c.seq) for walk in walks)).subquery("merged")
    return select(merged.c.seq).order_by(merged.c.seq).limit(limit)


decisions = Table(
    "threeregs_decisions",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("from_stage", String(STAGE), nullable=False),
    Column("from_round", Integer, nullable=False),
    Column("to_stage", String(STAGE), nullable=False),
    Column("allowed", Boolean, nullable=False),
    # JSON: the blockers, and the inputs the policy decided on, for replay.
    Column("blockers", Text, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("policy_version", String(ID), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("decided_at", Time, nullable=False),
    Index("ix_threeregs_decisions_case", "case_id"),
)

offices = Table(
    "threeregs_offices",
    metadata,
    Column("code", String(CODE), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("level", Integer, nullable=False),
    Column("parent_code", String(CODE), nullable=True),
    CheckConstraint("level BETWEEN 1 AND 4", name="level"),
)

office_keys = Table(
    "threeregs_office_keys",
    metadata,
    Column("office_code", String(CODE), nullable=False),
    Column("key_version", Integer, nullable=False),
    # The certified key record (CertifiedKey.to_bytes()); trusted only after
    # the trust anchor from host configuration verifies it.
    Column("certificate", Blob, nullable=False),
    Column("issued_at", Time, nullable=False),
    Column("retired_at", Time, nullable=True),
    PrimaryKeyConstraint("office_code", "key_version"),
)

access_log = Table(
    "threeregs_access_log",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("office_code", String(CODE), nullable=False),
    Column("reader", String(ID), nullable=False),
    Column("filing_id", String(32), nullable=False),
    # No outcome column: whether the slot was real or a decoy would tell a
    # database reader where the filing was routed.
    Column("opened_at", Time, nullable=False),
    Index("ix_threeregs_access_log_filing", "filing_id"),
)

rewrap_jobs = Table(
    "threeregs_rewrap_jobs",
    metadata,
    Column("office_code", String(CODE), nullable=False),
    Column("to_version", Integer, nullable=False),
    # The highest envelope seq already rewrapped; the job resumes after it.
    Column("done_through", BigInteger, nullable=False),
    Column("started_at", Time, nullable=False),
    Column("finished_at", Time, nullable=True),
    PrimaryKeyConstraint("office_code", "to_version"),
)

# --- the tamper-evident filing log (docs/tamper-evidence.md) ---------------

#: Perfect subtrees of this height and above are kept in ``threeregs_log_nodes``,
#: so an inclusion proof reads at most about 2 * 2**LOG_NODE_LEVEL leaf hashes.
LOG_NODE_LEVEL = 8

log_head = Table(
    "threeregs_log_head",
    metadata,
    # One row only; sequencers lock it so that they cannot interleave.
    Column("id", Integer, primary_key=True, autoincrement=False),
    # Random id of this log, named in every checkpoint.
    Column("log_id", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    # The perfect subtree hashes on the right edge of the tree, largest first.
    Column("frontier", Blob, nullable=False),
    # Envelopes with seq <= floor_seq are all in the log; the sequencer scans above it.
    Column("floor_seq", BigInteger, nullable=False),
    # The floor moves to candidate_seq once the grace period after candidate_at is over.
    Column("candidate_seq", BigInteger, nullable=True),
    Column("candidate_at", Time, nullable=True),
    # Start of the last sequencer run that appended every envelope it could see.
    Column("drained_at", Time, nullable=True),
    Column("updated_at", Time, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

log_entries = Table(
    "threeregs_log",
    metadata,
    # Serial makes the index SQLite's row id, so reading the log in order is a table scan.
    Column("log_index", Serial, primary_key=True, autoincrement=False),
    Column("filing_id", String(32), nullable=False),
    # The envelope row's seq when it was sequenced: where to find it, not part of the leaf.
    Column("seq", BigInteger, nullable=False),
    # The leaf data (threeregs.store.LogLeaf) and its RFC 9162 leaf hash.
    Column("leaf", LargeBinary(128), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("appended_at", Time, nullable=False),
    UniqueConstraint("filing_id"),
    Index("ix_threeregs_log_seq", "seq"),
)

log_nodes = Table(
    "threeregs_log_nodes",
    metadata,
    # The perfect subtree of leaves [node_index * 2**level, (node_index + 1) * 2**level).
    Column("level", Integer, nullable=False),
    Column("node_index", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "node_index"),
)

checkpoints = Table(
    "threeregs_checkpoints",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("office_code", String(CODE), nullable=False),
    Column("signed_at", Time, nullable=False),
    # The signed checkpoint text; the columns above are copies for queries.
    Column("checkpoint", Text, nullable=False),
    Index("ix_threeregs_checkpoints_size", "tree_size"),
)
