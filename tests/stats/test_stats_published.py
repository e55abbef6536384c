"""The published national figures, loaded as fact rows and counted back.

The published table gives records by level per period. Counts for quarters
that were not published on their own (2021 Q2, 2022 Q2) follow from the
published sums, and the year-earlier figures follow from the published
year-on-year changes. Each derivation is checked against the published
figure it came from.
"""

from __future__ import annotations

import os
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from stats_data import DATABASE_URL_VARIABLE, clear_stats, fact, facts_for_records, insert_facts

from threeregs.stats import (
    Dimension,
    Measure,
    Period,
    create_stats_tables,
    percent_change,
    share_percent,
    tabulate,
)
from threeregs.stats._query import StatTable

if TYPE_CHECKING:
    from collections.abc import Iterator

LEVELS = ("supreme", "provincial", "municipal", "basic")

#: Records by level (supreme, provincial, municipal, basic), as published.
PUBLISHED = {
    "2021-Q1": (270, 1_293, 7_176, 31_267),
    "2021-Q3": (273, 2_260, 6_610, 22_328),
    "2021-01..2021-09": (818, 5_008, 25_750, 99_688),
    "2022-Q1": (184, 1_448, 7_455, 23_246),
    "2022-H1": (339, 2_888, 15_815, 56_880),
    "2022-Q4": (106, 1_055, 6_829, 38_419),
    "2023-Q2": (168, 1_357, 8_925, 51_257),
}
PUBLISHED_TOTALS = {
    "2021-Q1": 40_006,
    "2021-Q3": 31_471,
    "2021-01..2021-09": 131_264,
    "2022-Q1": 32_333,
    "2022-H1": 75_922,
    "2022-Q4": 46_409,
    "2023-Q2": 61_707,
}
#: Shares by level as printed, in percent.
PRINTED_SHARES = {
    "2021-Q1": ("0.7", "3.2", "17.9", "78.2"),
    "2021-Q3": ("0.9", "7.2", "21.0", "70.9"),
}
#: Year-on-year changes as printed, and the precision they were printed with.
PRINTED_CHANGES = {
    "2021-Q3": (Decimal("60"), Decimal("1")),
    "2021-01..2021-09": (Decimal("204.2"), Decimal("0.1")),
    "2022-Q4": (Decimal("51.9"), Decimal("0.1")),
}
DIRECT_REPORTS = {"supreme": 514, "provincial": 1_121, "municipal": 2_389}


def _minus(
    a: tuple[int, ...], b: tuple[int, ...], c: tuple[int, ...] = (0, 0, 0, 0)
) -> tuple[int, ...]:
    return tuple(x - y - z for x, y, z in zip(a, b, c, strict=True))


def _year_earlier_total(current: int, printed: Decimal) -> int:
    """Return the whole number nearest to the year-earlier figure a printed change implies."""
    return round(Fraction(current) / (1 + Fraction(printed) / 100))


def _split(total: int, weights: tuple[int, ...]) -> tuple[int, ...]:
    """Split *total* over the levels in proportion to *weights*, the rest to basic offices."""
    parts = [total * weight // sum(weights) for weight in weights[:-1]]
    return (*parts, total - sum(parts))


Q2_2021 = _minus(PUBLISHED["2021-01..2021-09"], PUBLISHED["2021-Q1"], PUBLISHED["2021-Q3"])
Q2_2022 = _minus(PUBLISHED["2022-H1"], PUBLISHED["2022-Q1"])
Q4_2021_TOTAL = _year_earlier_total(46_409, Decimal("51.9"))
Q3_2020_TOTAL = _year_earlier_total(31_471, Decimal("60"))
Q1_Q3_2020_TOTAL = _year_earlier_total(131_264, Decimal("204.2"))
WEIGHTS = (3, 30, 200, 767)

#: Every quarter loaded, by level.
QUARTERS = {
    "2020-Q1": _split((Q1_Q3_2020_TOTAL - Q3_2020_TOTAL) // 2, WEIGHTS),
    "2020-Q2": _split(
        Q1_Q3_2020_TOTAL - Q3_2020_TOTAL - (Q1_Q3_2020_TOTAL - Q3_2020_TOTAL) // 2, WEIGHTS
    ),
    "2020-Q3": _split(Q3_2020_TOTAL, WEIGHTS),
    "2021-Q1": PUBLISHED["2021-Q1"],
    "2021-Q2": Q2_2021,
    "2021-Q3": PUBLISHED["2021-Q3"],
    "2021-Q4": _split(Q4_2021_TOTAL, WEIGHTS),
    "2022-Q1": PUBLISHED["2022-Q1"],
    "2022-Q2": Q2_2022,
    "2022-Q4": PUBLISHED["2022-Q4"],
    "2023-Q2": PUBLISHED["2023-Q2"],
}


def _rows() -> Iterator[dict[str, object]]:
    for label, counts in QUARTERS.items():
        year, quarter = int(label[:4]), int(label[-1])
        for level, records in enumerate(counts, start=1):
            yield from facts_for_records(level=level, year=year, quarter=quarter, records=records)
            # Zero reports and monthly returns of the same quarter add no records.
            month = 3 * quarter
            yield from (fact(level=level, year=year, month=month, record_count=0) for _ in range(5))
            yield fact(level=level, year=year, month=month, record_count=3, kind="monthly")
            yield fact(level=level, year=year, month=month, record_count=7, superseded=True)
    # Direct reports, each with one record, filed by basic-office staff in 2019.
    for target, count in DIRECT_REPORTS.items():
        direct_to = LEVELS.index(target) + 1
        yield from (
            fact(level=4, year=2019, month=6, record_count=1, kind="anytime", direct_to=direct_to)
            for _ in range(count)
        )


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, stats_server_engine: sa.Engine | None
) -> Iterator[sa.Engine]:
    """Return a statistics database loaded with the published quarters, shared by the module."""
    engine = stats_server_engine
    if engine is None:
        path = tmp_path_factory.mktemp("published") / "stats.sqlite3"
        engine = sa.create_engine(f"sqlite:///{path}")
        create_stats_tables(engine)
    else:
        clear_stats(engine)
    with engine.begin() as conn:
        insert_facts(conn, _rows())
    yield engine
    if stats_server_engine is None:
        engine.dispose()


def _by_level(engine: sa.Engine, period: Period, **options: object) -> StatTable:
    with engine.connect() as conn:
        return tabulate(conn, Dimension.LEVEL, period=period, **options)  # type: ignore[arg-type]


def test_derived_figures_match_their_sources() -> None:
    assert sum(Q2_2021) == 131_264 - 40_006 - 31_471
    assert sum(Q2_2022) == 75_922 - 32_333
    assert Q4_2021_TOTAL == 30_552
    assert percent_change(46_409, Q4_2021_TOTAL) == Decimal("51.9")
    assert percent_change(131_264, Q1_Q3_2020_TOTAL) == Decimal("204.2")
    assert percent_change(31_471, Q3_2020_TOTAL).quantize(Decimal("1")) == Decimal("60")  # type: ignore[union-attr]


def test_published_totals_add_up() -> None:
    for label, counts in PUBLISHED.items():
        assert sum(counts) == PUBLISHED_TOTALS[label], label


@pytest.mark.parametrize("label", ["2021-Q1", "2021-Q3", "2022-Q1", "2022-Q4", "2023-Q2"])
def test_quarter_counts_by_level(published: sa.Engine, label: str) -> None:
    table = _by_level(published, Period.QUARTER)

    assert tuple(table.counts(label)) == LEVELS
    assert tuple(table.counts(label).values()) == PUBLISHED[label]
    assert table.total(label) == PUBLISHED_TOTALS[label]


def test_half_year_counts_by_level(published: sa.Engine) -> None:
    table = _by_level(published, Period.HALF)

    assert tuple(table.counts("2022-H1").values()) == PUBLISHED["2022-H1"]
    assert table.total("2022-H1") == 75_922


def test_span_counts_and_year_on_year(published: sa.Engine) -> None:
    table = _by_level(
        published, Period.SPAN, spans=[("2020-01", "2020-09"), ("2021-01", "2021-09")]
    )

    assert tuple(table.counts("2021-01..2021-09").values()) == PUBLISHED["2021-01..2021-09"]
    assert table.total("2020-01..2020-09") == Q1_Q3_2020_TOTAL
    change = table.year_on_year("2021-01..2021-09")
    assert change is not None
    assert change.total.percent == Decimal("204.2")


@pytest.mark.parametrize("label", sorted(PRINTED_CHANGES))
def test_printed_year_on_year_round_trip(published: sa.Engine, label: str) -> None:
    printed, precision = PRINTED_CHANGES[label]
    if ".." in label:
        spans = [("2020-01", "2020-09"), ("2021-01", "2021-09")]
        table = _by_level(published, Period.SPAN, spans=spans)
    else:
        table = _by_level(published, Period.QUARTER)

    change = table.year_on_year(label)

    assert change is not None
    assert change.total.current == PUBLISHED_TOTALS[label]
    assert change.total.percent is not None
    assert change.total.percent.quantize(precision) == printed


@pytest.mark.parametrize("label", sorted(PRINTED_SHARES))
def test_shares_match_printed(published: sa.Engine, label: str) -> None:
    table = _by_level(published, Period.QUARTER)

    shares = table.shares(label)

    assert tuple(str(shares[level]) for level in LEVELS) == PRINTED_SHARES[label]


def test_period_on_period(published: sa.Engine) -> None:
    table = _by_level(published, Period.QUARTER)

    change = table.period_on_period("2021-Q3")

    assert change is not None
    assert change.against == "2021-Q2"
    assert change.total.previous == sum(Q2_2021)
    assert change.total.percent == share_percent(31_471, sum(Q2_2021)) - Decimal(100)
    assert table.period_on_period("2022-Q4") is None


def test_year_counts(published: sa.Engine) -> None:
    table = _by_level(published, Period.YEAR)

    assert table.total("2021") == 40_006 + sum(Q2_2021) + 31_471 + Q4_2021_TOTAL
    assert table.periods() == ("2019", "2020", "2021", "2022", "2023")


def test_month_filter(published: sa.Engine) -> None:
    table = _by_level(published, Period.QUARTER, start="2021-04", end="2021-09")

    assert table.periods() == ("2021-Q2", "2021-Q3")
    assert table.total("2021-Q3") == 31_471


def test_filings_and_zero_reports(published: sa.Engine) -> None:
    filings = _by_level(published, Period.QUARTER, measure=Measure.FILINGS)
    zero = _by_level(published, Period.QUARTER, measure=Measure.ZERO_REPORTS)

    # Per level: the record-holding filings, 5 zero reports and 1 monthly return.
    expected = sum(-(-records // 20) + 5 + 1 for records in PUBLISHED["2021-Q1"])
    assert filings.total("2021-Q1") == expected
    assert zero.counts("2021-Q1") == dict.fromkeys(LEVELS, 5)


def test_direct_report_totals(published: sa.Engine) -> None:
    with published.connect() as conn:
        table = tabulate(conn, Dimension.DIRECT, period=Period.YEAR)

    assert table.measure is Measure.FILINGS
    assert table.counts("2019") == DIRECT_REPORTS
    assert table.total("2019") == 4_024
    shares = table.shares("2019")
    for key, count in DIRECT_REPORTS.items():
        exact = Fraction(count * 100, 4_024)
        # Half-up to one decimal, computed independently with exact fractions.
        tenths = int(exact * 10 + Fraction(1, 2))
        assert shares[key] == Decimal(tenths) / 10, key
    assert shares == {
        "supreme": Decimal("12.8"),
        "provincial": Decimal("27.9"),
        "municipal": Decimal("59.4"),
    }


def test_direct_reports_count_as_records_too(published: sa.Engine) -> None:
    table = _by_level(published, Period.YEAR)

    assert table.counts("2019") == {"supreme": 0, "provincial": 0, "municipal": 0, "basic": 4_024}


def test_server_database_in_use_when_configured(published: sa.Engine) -> None:
    url = os.environ.get(DATABASE_URL_VARIABLE)
    expected = sa.make_url(url).get_backend_name() if url else "sqlite"
    assert published.dialect.name == expected


def test_no_python_loop_over_rows(published: sa.Engine) -> None:
    """The table query returns one row per period and key, not one per filing."""
    from threeregs.stats._query import build_query

    statement, _, _ = build_query(Dimension.LEVEL, period=Period.QUARTER)
    with published.connect() as conn:
        rows = conn.execute(statement).all()
        filings = conn.execute(
            sa.select(sa.func.count()).select_from(sa.table("threeregs_stat_facts"))
        ).scalar_one()

    assert len(rows) <= len(QUARTERS) * 4 + 1
    assert filings > 10 * len(rows)
