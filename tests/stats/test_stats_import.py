"""Importing opened filings: periods, amendments, idempotence and what is skipped."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from threeregs import (
    Filer,
    Filing,
    InboxItem,
    Intervener,
    Level,
    MonthlyObligation,
    Outcome,
    Record,
    StageObligation,
    ThreeregsError,
    ValidationError,
)
from threeregs._errors import StatsTablesError
from threeregs.routing import Directory
from threeregs.stats import (
    Dimension,
    Measure,
    Period,
    import_opened,
    stat_facts,
    stat_records,
    tabulate,
)

FILER = Filer("p1", "330106", "prosecutor")
MARCH_END_UTC = dt.datetime(2021, 3, 31, 17, tzinfo=dt.UTC)


def _record(at: dt.datetime) -> Record:
    return Record(
        "P3",
        "contact",
        "routine_inquiry",
        Intervener("王五", "", "", "party"),
        at - dt.timedelta(hours=2),
        "in_person",
        "当事人来访",
    )


def _stage(
    case_id: str, *, at: dt.datetime = MARCH_END_UTC, records: int = 1, **options: object
) -> Filing:
    return Filing(
        FILER,
        StageObligation(case_id, "accept"),
        records=tuple(_record(at) for _ in range(records)),
        filed_at=at,
        **options,  # type: ignore[arg-type]
    )


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _records(engine: sa.Engine, period: Period = Period.QUARTER) -> dict[str, int]:
    with engine.connect() as conn:
        table = tabulate(conn, Dimension.OFFICE, period=period)
    return {cell.period: cell.count for cell in table.cells}


def test_filing_counts_in_china_standard_time(
    stats_engine: sa.Engine, small_directory: Directory
) -> None:
    with stats_engine.begin() as conn:
        import_opened(conn, [_stage("C-1")], small_directory)

    assert _records(stats_engine) == {"2021-Q2": 1}
    assert _records(stats_engine, Period.MONTH) == {"2021-04": 1}


def test_amendment_replaces_earlier_filing(
    stats_engine: sa.Engine, small_directory: Directory
) -> None:
    first = _stage("C-1", records=1)
    amendment = _stage("C-1", records=3, supersedes=first.filing_id)

    with stats_engine.begin() as conn:
        import_opened(conn, [first], small_directory)
        import_opened(conn, [amendment], small_directory)

    assert _records(stats_engine) == {"2021-Q2": 3}


def test_amendment_imported_before_earlier_filing(
    stats_engine: sa.Engine, small_directory: Directory
) -> None:
    first = _stage("C-1", records=1)
    amendment = _stage("C-1", records=3, supersedes=first.filing_id)

    with stats_engine.begin() as conn:
        import_opened(conn, [amendment], small_directory)
        import_opened(conn, [first], small_directory)

    assert _records(stats_engine) == {"2021-Q2": 3}


def test_amendment_in_same_batch(stats_engine: sa.Engine, small_directory: Directory) -> None:
    first = _stage("C-1", records=2)
    amendment = _stage("C-1", records=5, supersedes=first.filing_id)

    with stats_engine.begin() as conn:
        import_opened(conn, [amendment, first], small_directory)

    assert _records(stats_engine) == {"2021-Q2": 5}


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_batches_give_same_result(
    stats_engine: sa.Engine, small_directory: Directory, batch: int
) -> None:
    filings = [_stage(f"C-{index}", records=index % 4) for index in range(7)]

    with stats_engine.begin() as conn:
        summary = import_opened(conn, filings + filings[:3], small_directory, batch=batch)

    assert summary.imported == 7
    assert summary.already_present == 3
    assert _count(stats_engine, stat_facts) == 7
    assert _count(stats_engine, stat_records) == sum(index % 4 for index in range(7))


def test_items_not_opened_are_skipped(stats_engine: sa.Engine, small_directory: Directory) -> None:
    filing = _stage("C-1")
    at = dt.datetime(2021, 4, 1, tzinfo=dt.UTC)
    items = [
        InboxItem(filing.filing_id, 1, at, Outcome.OPENED, filing),
        InboxItem("a" * 32, 2, at, Outcome.DECOY),
        InboxItem("b" * 32, 3, at, Outcome.FAILED),
        InboxItem("c" * 32, 4, at, Outcome.MISSING_KEY, key_version=2),
    ]

    with stats_engine.begin() as conn:
        summary = import_opened(conn, items, small_directory)

    assert (summary.imported, summary.already_present, summary.skipped) == (1, 0, 3)


def test_other_items_rejected(stats_engine: sa.Engine, small_directory: Directory) -> None:
    with stats_engine.begin() as conn, pytest.raises(ValidationError, match=r"items\[0\]"):
        import_opened(conn, ["not a filing"], small_directory)  # type: ignore[list-item]


def test_unknown_office_rejected(stats_engine: sa.Engine, small_directory: Directory) -> None:
    stranger = Filing.zero(Filer("p9", "999999", "clerk"), StageObligation("C-1", "accept"))

    with stats_engine.begin() as conn, pytest.raises(ThreeregsError, match="999999"):
        import_opened(conn, [stranger], small_directory)


@pytest.mark.parametrize("batch", [0, -1, True])
def test_invalid_batch_rejected(
    stats_engine: sa.Engine, small_directory: Directory, batch: int
) -> None:
    with stats_engine.begin() as conn, pytest.raises(ValidationError):
        import_opened(conn, [], small_directory, batch=batch)


def test_missing_tables_reported(tmp_path: object, small_directory: Directory) -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn, pytest.raises(StatsTablesError, match="create_stats_tables"):
        import_opened(conn, [], small_directory)
    with engine.connect() as conn, pytest.raises(StatsTablesError):
        tabulate(conn, Dimension.LEVEL)


def test_recipient_follows_route(stats_engine: sa.Engine, small_directory: Directory) -> None:
    direct = Filing(
        FILER,
        None,
        records=(_record(MARCH_END_UTC),),
        direct_to=Level.PROVINCIAL,
        filed_at=MARCH_END_UTC,
    )
    monthly = Filing.zero(FILER, MonthlyObligation("2021-03"), filed_at=MARCH_END_UTC)

    with stats_engine.begin() as conn:
        import_opened(conn, [direct, monthly], small_directory)
        import_opened(conn, [_stage("C-2")], small_directory, recipient="330100")

    with stats_engine.connect() as conn:
        rows = dict(
            conn.execute(sa.select(stat_facts.c.filing_id, stat_facts.c.recipient_code)).all()
        )
        own = tabulate(conn, Dimension.LEVEL, measure=Measure.FILINGS, recipient="330106")
    assert rows[direct.filing_id] == "330000"
    assert rows[monthly.filing_id] == "330106"
    assert own.total("2021-Q2") == 1


def test_monthly_records_not_counted(stats_engine: sa.Engine, small_directory: Directory) -> None:
    monthly = Filing(
        FILER,
        MonthlyObligation("2021-03"),
        records=(_record(MARCH_END_UTC),),
        filed_at=MARCH_END_UTC,
    )

    with stats_engine.begin() as conn:
        import_opened(conn, [monthly, _stage("C-1")], small_directory)

    with stats_engine.connect() as conn:
        records = tabulate(conn, Dimension.LEVEL)
        buckets = tabulate(conn, Dimension.BUCKET)
        filings = tabulate(conn, Dimension.LEVEL, measure=Measure.FILINGS)
    assert records.total("2021-Q2") == 1
    assert buckets.total("2021-Q2") == 1
    assert filings.total("2021-Q2") == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"by": "provision", "measure": "filings"}, "counts records"),
        ({"by": "level", "period": "span"}, "at least one"),
        (
            {
                "by": "level",
                "period": "span",
                "spans": [("2021-01", "2021-06"), ("2021-06", "2021-09")],
            },
            "overlaps",
        ),
        ({"by": "level", "start": "2021-1"}, "YYYY-MM"),
        ({"by": "colour"}, "colour"),
    ],
)
def test_invalid_table_requests(
    stats_engine: sa.Engine, options: dict[str, object], message: str
) -> None:
    with stats_engine.connect() as conn, pytest.raises(ValidationError, match=message):
        tabulate(conn, **options)  # type: ignore[arg-type]
