"""Helpers of the statistics tests: fact rows built directly, for fast bulk loads.

Sealing and opening a hundred thousand filings would take minutes, so tests
of counting write rows of ``threeregs_stat_facts`` directly, as
:func:`threeregs.stats.import_opened` would write them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from threeregs.stats import stat_facts, stats_metadata
from threeregs.stats._periods import CHINA_STANDARD_TIME

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

DATABASE_URL_VARIABLE = "THREEREGS_TEST_DATABASE_URL"
#: Records per synthetic filing in bulk loads; the model allows up to 20.
RECORDS_PER_FILING = 20
_ids = itertools.count(1)


def clear_stats(engine: sa.Engine) -> None:
    """Delete every row of the statistics tables."""
    with engine.begin() as conn:
        for table in reversed(stats_metadata.sorted_tables):
            conn.execute(table.delete())


def new_filing_id() -> str:
    """Return a filing id unique within the test session."""
    return f"{next(_ids):032x}"


def fact(
    *,
    level: int,
    year: int,
    month: int,
    record_count: int,
    kind: str = "stage",
    office_code: str | None = None,
    direct_to: int | None = None,
    superseded: bool = False,
    recipient_code: str | None = None,
) -> dict[str, Any]:
    """Return one row of ``threeregs_stat_facts``, filed on the 15th of the month."""
    office = office_code or {1: "000000", 2: "330000", 3: "330100", 4: "330106"}[level]
    return {
        "filing_id": new_filing_id(),
        "office_code": office,
        "level": level,
        "person_id": f"p-{office}",
        "recipient_code": recipient_code or office,
        "kind": kind,
        "is_zero": record_count == 0,
        "record_count": record_count,
        "direct_to": direct_to,
        "supersedes": None,
        "superseded": superseded,
        "filed_at": dt.datetime(year, month, 15, 10, tzinfo=CHINA_STANDARD_TIME),
        "year": year,
        "quarter": (month - 1) // 3 + 1,
        "month": month,
        "year_month": year * 100 + month,
    }


def facts_for_records(
    *, level: int, year: int, quarter: int, records: int
) -> Iterator[dict[str, Any]]:
    """Yield stage filings that hold *records* records in all, spread over the quarter's months."""
    months = [3 * quarter - 2, 3 * quarter - 1, 3 * quarter]
    full, rest = divmod(records, RECORDS_PER_FILING)
    sizes = [RECORDS_PER_FILING] * full + ([rest] if rest else [])
    for index, size in enumerate(sizes):
        yield fact(level=level, year=year, month=months[index % 3], record_count=size)


def insert_facts(conn: sa.Connection, rows: Iterable[dict[str, Any]], batch: int = 5000) -> int:
    """Insert fact rows in batches of executemany; return how many."""
    total = 0
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, batch)):
        conn.execute(sa.insert(stat_facts), chunk)
        total += len(chunk)
    return total
