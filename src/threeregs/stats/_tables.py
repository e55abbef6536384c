"""Tables of the inspection-side statistics database.

These tables hold facts that exist only after a filing is opened: whether it
is a zero report, where it was routed and what its records are about. They
must never be created in the host database, whose readers may learn none of
that, so they live under their own :data:`stats_metadata` and are created on
an engine that the inspection department controls.

``threeregs_stat_facts`` has one row per opened filing and
``threeregs_stat_records`` one row per intervention record of it. Each record
row repeats the columns of its filing that tables filter and group by, so a
table by provision or bucket reads only the record rows: a national year has
about 150 k of them against 3.5 M filings. Period columns are computed at
import time in China Standard Time, so that a filing made at 23:00 on
31 March in Beijing counts in the first quarter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    inspect,
)

from threeregs._errors import StatsTablesError
from threeregs.store._tables import CODE, ID, Time

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = [
    "KINDS",
    "check_stats_tables",
    "create_stats_tables",
    "drop_stats_tables",
    "stat_facts",
    "stat_records",
    "stats_metadata",
]

stats_metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Values of the ``kind`` column, after :attr:`threeregs.Filing.kind`.
KINDS = ("stage", "monthly", "anytime")

stat_facts = Table(
    "threeregs_stat_facts",
    stats_metadata,
    Column("filing_id", String(32), nullable=False),
    # The filer's office and its level (1 supreme ... 4 basic).
    Column("office_code", String(CODE), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("person_id", String(ID), nullable=False),
    # The inspection department that opened the filing.
    Column("recipient_code", String(CODE), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("is_zero", Boolean, nullable=False),
    Column("record_count", SmallInteger, nullable=False),
    # Level of the office a direct report went to; NULL for other filings.
    Column("direct_to", SmallInteger, nullable=True),
    Column("supersedes", String(32), nullable=True),
    # Set when another imported filing supersedes this one, which then no
    # longer counts.
    Column("superseded", Boolean, nullable=False),
    Column("filed_at", Time, nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", SmallInteger, nullable=False),
    Column("month", SmallInteger, nullable=False),
    # year * 100 + month, for filtering by a range of months.
    Column("year_month", Integer, nullable=False),
    PrimaryKeyConstraint("filing_id"),
    CheckConstraint("level BETWEEN 1 AND 4", name="level"),
    CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
    CheckConstraint("month BETWEEN 1 AND 12", name="month"),
    CheckConstraint("kind IN ('stage', 'monthly', 'anytime')", name="kind"),
    Index("ix_threeregs_stat_facts_supersedes", "supersedes"),
    Index("ix_threeregs_stat_facts_year_month", "year_month"),
    Index("ix_threeregs_stat_facts_recipient", "recipient_code", "year_month"),
)

stat_records = Table(
    "threeregs_stat_records",
    stats_metadata,
    Column("filing_id", String(32), nullable=False),
    # Position of the record in its filing, from 0.
    Column("position", SmallInteger, nullable=False),
    Column("provision", String(8), nullable=False),
    Column("conduct", String(32), nullable=False),
    Column("bucket", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("manner", String(32), nullable=False),
    Column("procuratorate_staff", Boolean, nullable=False),
    Column("own_office_leader", Boolean, nullable=False),
    Column("occurred_at", Time, nullable=False),
    # Copies of the filing's columns, kept equal by the import.
    Column("level", SmallInteger, nullable=False),
    Column("recipient_code", String(CODE), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("superseded", Boolean, nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", SmallInteger, nullable=False),
    Column("month", SmallInteger, nullable=False),
    Column("year_month", Integer, nullable=False),
    PrimaryKeyConstraint("filing_id", "position"),
)


def create_stats_tables(bind: Connection | Engine) -> None:
    """Create the statistics tables that do not exist yet, on the inspection-side database."""
    stats_metadata.create_all(bind)


def drop_stats_tables(bind: Connection | Engine) -> None:
    """Drop the statistics tables."""
    stats_metadata.drop_all(bind)


def check_stats_tables(conn: Connection) -> None:
    """Raise :class:`StatsTablesError` unless both statistics tables exist."""
    names = set(inspect(conn).get_table_names())
    missing = [table.name for table in stats_metadata.sorted_tables if table.name not in names]
    if missing:
        raise StatsTablesError(
            f"the statistics database has no table {', '.join(missing)}; create the tables "
            "with threeregs.stats.create_stats_tables and import opened filings with "
            "threeregs.stats.import_opened"
        )
