"""Statistics queries: counts grouped in SQL, shares and changes on the aggregates.

Each table is one ``GROUP BY`` statement over the statistics database, so the
work grows with the number of rows inside the database engine, and Python
receives only one row per period and key. What is counted:

* ``records``: intervention records of stage filings and anytime records.
  A zero report has no records. Monthly returns add no records, because they
  restate the records of the month's other filings (see
  :func:`threeregs.stats.monthly_return_records`).
* ``filings``: filings of every kind, zero reports and monthly returns included.
* ``zero_reports``: filings without records, stage and monthly alike.

A filing superseded by an imported amendment is not counted.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
from sqlalchemy import Integer, and_, case, func, literal_column, or_, select

from threeregs._errors import ValidationError
from threeregs._vocabulary import Bucket, Conduct, Provision
from threeregs.routing._directory import Level
from threeregs.stats._arithmetic import percent_change, share_percent
from threeregs.stats._periods import (
    Period,
    month_range,
    parse_month,
    previous_period,
    span_label,
    year_earlier,
)
from threeregs.stats._tables import check_stats_tables, stat_facts, stat_records
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal

    from sqlalchemy import ColumnElement, Select

__all__ = ["Cell", "Change", "Dimension", "KeyChange", "Measure", "StatTable", "tabulate"]


class Dimension(enum.StrEnum):
    """Grouping of a table's rows."""

    #: Level of the filer's office.
    LEVEL = "level"
    #: The filer's office, by code.
    OFFICE = "office"
    PROVISION = "provision"
    CONDUCT = "conduct"
    BUCKET = "bucket"
    #: Whether the intervener is procuratorate staff.
    STAFF = "staff"
    #: Direct reports by the level of the office they went to.
    DIRECT = "direct"


class Measure(enum.StrEnum):
    """Quantity that a table counts."""

    RECORDS = "records"
    FILINGS = "filings"
    ZERO_REPORTS = "zero_reports"


#: Keys of the staff dimension.
STAFF_KEYS: Final = ("procuratorate_staff", "other")

#: Dimensions whose rows are intervention records rather than filings.
RECORD_DIMENSIONS: Final = frozenset(
    {Dimension.PROVISION, Dimension.CONDUCT, Dimension.BUCKET, Dimension.STAFF}
)


_E = TypeVar("_E", bound=enum.Enum)


def choose(kind: type[_E], value: object, field: str) -> _E:
    """Return the member of *kind* that *value* names, or raise ValidationError naming *field*."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise ValidationError(field, value, f"expected one of {allowed}") from None


def level_key(level: int) -> str:
    """Return the key of a level number in tables: ``"supreme"`` ... ``"basic"``."""
    return Level(level).name.lower()


def known_keys(dimension: Dimension) -> tuple[str, ...]:
    """Return every key of *dimension* in display order; empty for offices."""
    if dimension in (Dimension.LEVEL, Dimension.DIRECT):
        levels = list(Level) if dimension is Dimension.LEVEL else list(Level)[:3]
        return tuple(level.name.lower() for level in levels)
    if dimension is Dimension.PROVISION:
        return tuple(member.value for member in Provision)
    if dimension is Dimension.CONDUCT:
        return tuple(member.value for member in Conduct)
    if dimension is Dimension.BUCKET:
        return tuple(member.value for member in Bucket)
    if dimension is Dimension.STAFF:
        return STAFF_KEYS
    return ()


def default_measure(dimension: Dimension) -> Measure:
    """Return the measure a table of *dimension* counts when no measure is given.

    Direct reports are counted as filings, as the published totals count
    reports; every other dimension counts records.
    """
    return Measure.FILINGS if dimension is Dimension.DIRECT else Measure.RECORDS


@attrs.frozen
class Cell:
    """The count of one key in one period."""

    period: str
    key: str
    count: int


@attrs.frozen
class KeyChange:
    """The change of one key's count (or of the total, key ``"total"``) between two periods."""

    key: str
    current: int
    previous: int
    #: Change in percent, rounded half-up to one decimal; None when ``previous`` is 0.
    percent: Decimal | None


@attrs.frozen
class Change:
    """The change of every key of a table from period ``against`` to ``period``."""

    period: str
    against: str
    keys: tuple[KeyChange, ...]
    total: KeyChange

    def of(self, key: str) -> KeyChange:
        """Return the change of *key*, or of the total for ``"total"``."""
        if key == "total":
            return self.total
        for item in self.keys:
            if item.key == key:
                return item
        raise ValidationError("key", key, f"not in the table; use one of {_joined(self.keys)}")


def _joined(items: Iterable[KeyChange]) -> str:
    return ", ".join(item.key for item in items) or "none"


@attrs.frozen
class StatTable:
    """Counts of one measure by period and key, as :func:`tabulate` returns them.

    ``cells`` are sorted by period, then by key in display order, and every
    known key of the dimension has a cell in every period, zero or not.
    """

    dimension: Dimension
    period: Period
    measure: Measure
    cells: tuple[Cell, ...]

    @classmethod
    def from_counts(
        cls,
        dimension: Dimension,
        period: Period,
        measure: Measure,
        counts: Iterable[tuple[str, str, int]],
    ) -> StatTable:
        """Build a table from ``(period, key, count)`` triples, adding equal keys up."""
        totals: dict[tuple[str, str], int] = {}
        for label, key, count in counts:
            totals[label, key] = totals.get((label, key), 0) + int(count)
        known = known_keys(dimension)
        periods = sorted({label for label, _ in totals})
        extra = sorted({key for _, key in totals} - set(known))
        order = {key: index for index, key in enumerate((*known, *extra))}
        cells = [
            Cell(label, key, totals.get((label, key), 0))
            for label in periods
            for key in sorted(
                {*known, *(k for p, k in totals if p == label)}, key=lambda k: order[k]
            )
        ]
        return cls(dimension, period, measure, tuple(cells))

    def periods(self) -> tuple[str, ...]:
        """Return the period labels in time order."""
        return tuple(dict.fromkeys(cell.period for cell in self.cells))

    def row_keys(self) -> tuple[str, ...]:
        """Return the keys in display order."""
        return tuple(dict.fromkeys(cell.key for cell in self.cells))

    def counts(self, period: str) -> dict[str, int]:
        """Return the count of each key in *period*; empty when the period has no cells."""
        return {cell.key: cell.count for cell in self.cells if cell.period == period}

    def count(self, period: str, key: str) -> int:
        """Return the count of *key* in *period*, 0 when it has none."""
        return self.counts(period).get(key, 0)

    def total(self, period: str) -> int:
        """Return the sum of the counts of *period*."""
        return sum(self.counts(period).values())

    def shares(self, period: str) -> dict[str, Decimal]:
        """Return each key's share of the period's total in percent, rounded half-up."""
        counts = self.counts(period)
        total = sum(counts.values())
        return {key: share_percent(count, total) for key, count in counts.items()}

    def change(self, period: str, against: str) -> Change:
        """Compare the counts of *period* with those of *against*, key by key."""
        current, previous = self.counts(period), self.counts(against)
        keys = tuple(dict.fromkeys((*current, *previous)))
        changes = tuple(
            KeyChange(
                key,
                current.get(key, 0),
                previous.get(key, 0),
                percent_change(current.get(key, 0), previous.get(key, 0)),
            )
            for key in keys
        )
        now, before = sum(current.values()), sum(previous.values())
        total = KeyChange("total", now, before, percent_change(now, before))
        return Change(period, against, changes, total)

    def year_on_year(self, period: str) -> Change | None:
        """Compare *period* with the same period a year before, if the table has it."""
        earlier = year_earlier(period)
        if earlier not in self.periods():
            return None
        return self.change(period, earlier)

    def period_on_period(self, period: str) -> Change | None:
        """Compare *period* with the period just before it, if the table has it."""
        earlier = previous_period(period)
        if earlier not in self.periods():
            return None
        return self.change(period, earlier)


def _span_bounds(start: str, end: str) -> tuple[int, int]:
    """Return a span's first and last month as ``year * 100 + month``."""
    first, last = parse_month(start, field="start"), parse_month(end, field="end")
    return first[0] * 100 + first[1], last[0] * 100 + last[1]


def _columns(dimension: Dimension) -> Any:
    """Return the columns of the table that a table by *dimension* reads."""
    return stat_records.c if dimension in RECORD_DIMENSIONS else stat_facts.c


def _period_columns(period: Period, spans: Sequence[tuple[str, str]], f: Any) -> list[Any]:
    if period is Period.MONTH:
        return [f.year, f.month]
    if period is Period.QUARTER:
        return [f.year, f.quarter]
    # Constants are written into the SQL text rather than bound, so that the
    # expression in GROUP BY is the same text as in SELECT. Databases with
    # strict grouping rules (PostgreSQL, MySQL's ONLY_FULL_GROUP_BY) compare
    # the two, and two separately bound parameters do not compare equal.
    if period is Period.HALF:
        return [f.year, case((f.quarter <= _number(2), _number(1)), else_=_number(2))]
    if period is Period.YEAR:
        return [f.year]
    whens = []
    for index, (start, end) in enumerate(spans):
        low, high = _span_bounds(start, end)
        whens.append(
            (and_(f.year_month >= _number(low), f.year_month <= _number(high)), _number(index))
        )
    return [case(*whens, else_=_number(-1))]


def _number(value: int) -> Any:
    return literal_column(str(int(value)), Integer)


def _label(period: Period, values: Sequence[Any], spans: Sequence[tuple[str, str]]) -> str:
    if period is Period.MONTH:
        return f"{int(values[0]):04d}-{int(values[1]):02d}"
    if period is Period.QUARTER:
        return f"{int(values[0]):04d}-Q{int(values[1])}"
    if period is Period.HALF:
        return f"{int(values[0]):04d}-H{int(values[1])}"
    if period is Period.YEAR:
        return f"{int(values[0]):04d}"
    start, end = spans[int(values[0])]
    return span_label(start, end)


def _key_column(dimension: Dimension) -> Any:
    f, r = stat_facts.c, stat_records.c
    columns: dict[Dimension, Any] = {
        Dimension.LEVEL: f.level,
        Dimension.OFFICE: f.office_code,
        Dimension.DIRECT: f.direct_to,
        Dimension.PROVISION: r.provision,
        Dimension.CONDUCT: r.conduct,
        Dimension.BUCKET: r.bucket,
        Dimension.STAFF: r.procuratorate_staff,
    }
    return columns[dimension]


def _key_text(dimension: Dimension, value: Any) -> str:
    if dimension in (Dimension.LEVEL, Dimension.DIRECT):
        return level_key(int(value))
    if dimension is Dimension.STAFF:
        return STAFF_KEYS[0] if value else STAFF_KEYS[1]
    return str(value)


def _value_column(dimension: Dimension, measure: Measure) -> Any:
    f = stat_facts.c
    if dimension in RECORD_DIMENSIONS:
        return func.count()
    if measure is Measure.RECORDS:
        return func.coalesce(func.sum(f.record_count), 0)
    return func.count()


def _conditions(
    dimension: Dimension,
    measure: Measure,
    *,
    period: Period,
    spans: Sequence[tuple[str, str]],
    start: str | None,
    end: str | None,
    recipient: str | None,
) -> list[ColumnElement[bool]]:
    f = _columns(dimension)
    conditions: list[ColumnElement[bool]] = [f.superseded.is_(False)]
    if measure is Measure.RECORDS:
        # Monthly returns restate the month's records, so they add none.
        conditions.append(f.kind != "monthly")
    elif measure is Measure.ZERO_REPORTS:
        conditions.append(f.is_zero.is_(True))
    if dimension is Dimension.DIRECT:
        conditions.append(f.direct_to.is_not(None))
    if recipient is not None:
        conditions.append(f.recipient_code == recipient)

    ym = f.year_month
    low, high = month_range(start, end)
    if low is not None:
        conditions.append(ym >= low)
    if high is not None:
        conditions.append(ym <= high)
    if period is Period.SPAN:
        ranges = [_span_bounds(s, e) for s, e in spans]
        conditions.append(or_(*(and_(ym >= lo, ym <= hi) for lo, hi in ranges)))
    return conditions


def _check_spans(spans: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if not spans:
        raise ValidationError(
            "spans", spans, "a span table needs at least one (start, end) pair of months"
        )
    checked: list[tuple[str, str]] = []
    for start, end in spans:
        span_label(start, end)
        low, high = _span_bounds(start, end)
        for other_start, other_end in checked:
            other_low, other_high = _span_bounds(other_start, other_end)
            if low <= other_high and other_low <= high:
                raise ValidationError(
                    "spans",
                    f"{start}..{end}",
                    f"overlaps {other_start}..{other_end}; a month can count in one span only",
                )
        checked.append((start, end))
    return checked


def build_query(
    dimension: Dimension,
    *,
    period: Period = Period.QUARTER,
    measure: Measure | None = None,
    start: str | None = None,
    end: str | None = None,
    spans: Sequence[tuple[str, str]] | None = None,
    recipient: str | None = None,
) -> tuple[Select[Any], Measure, list[tuple[str, str]]]:
    """Build the ``GROUP BY`` statement of a table; see :func:`tabulate`."""
    dimension = choose(Dimension, dimension, "by")
    period = choose(Period, period, "period")
    measure = default_measure(dimension) if measure is None else choose(Measure, measure, "measure")
    if dimension in RECORD_DIMENSIONS and measure is not Measure.RECORDS:
        raise ValidationError(
            "measure",
            measure.value,
            f"a table by {dimension.value} counts records; use measure=records",
        )
    checked = _check_spans(spans) if period is Period.SPAN else []
    for name, value in (("start", start), ("end", end)):
        if value is not None:
            parse_month(value, field=name)

    # Grouping by the labels, not by the expressions, keeps PostgreSQL from
    # seeing a CASE with bound parameters in SELECT and GROUP BY as different.
    periods = [
        column.label(f"period{index}")
        for index, column in enumerate(_period_columns(period, checked, _columns(dimension)))
    ]
    key = _key_column(dimension).label("group_key")
    source = stat_records if dimension in RECORD_DIMENSIONS else stat_facts
    conditions = _conditions(
        dimension,
        measure,
        period=period,
        spans=checked,
        start=start,
        end=end,
        recipient=recipient,
    )
    statement = (
        select(*periods, key, _value_column(dimension, measure).label("n"))
        .select_from(source)
        .where(*conditions)
        .group_by(*periods, key)
    )
    return statement, measure, checked


def tabulate(
    conn: object,
    by: Dimension | str,
    *,
    period: Period | str = Period.QUARTER,
    measure: Measure | str | None = None,
    start: str | None = None,
    end: str | None = None,
    spans: Sequence[tuple[str, str]] | None = None,
    recipient: str | None = None,
) -> StatTable:
    """Count *measure* by period and *by* in the statistics database *conn*.

    *start* and *end* (``YYYY-MM``, both included) limit the months counted.
    With ``period="span"``, *spans* lists ``(start, end)`` pairs of months and
    each becomes one period, so a table can hold 2021-01..2021-09 beside
    2020-01..2020-09 for a year-on-year comparison. *recipient* keeps only
    filings opened by that office's inspection department. *measure*
    defaults to records, and to filings for direct reports.
    """
    db = connection_of(conn)
    check_stats_tables(db)
    dimension = choose(Dimension, by, "by")
    length = choose(Period, period, "period")
    statement, chosen, checked = build_query(
        dimension,
        period=length,
        measure=None if measure is None else choose(Measure, measure, "measure"),
        start=start,
        end=end,
        spans=spans,
        recipient=recipient,
    )
    width = 1 if length in (Period.YEAR, Period.SPAN) else 2
    triples = []
    for row in db.execute(statement):
        values = tuple(row)
        label = _label(length, values[:width], checked)
        triples.append((label, _key_text(dimension, values[width]), int(values[width + 1])))
    return StatTable.from_counts(dimension, length, chosen, triples)
