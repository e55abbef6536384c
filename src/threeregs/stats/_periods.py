"""Reporting periods: months, quarters, half-years, years and spans of months.

Every period has a text label that sorts in time order within one kind:
``2021-03`` (month), ``2021-Q1`` (quarter), ``2021-H1`` (half-year), ``2021``
(year) and ``2021-01..2021-09`` (a span of whole months, both ends included).
Filings are placed in periods by their time of filing in China Standard Time
(UTC+8, without daylight saving since 1991), the time the offices work in.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Final

from threeregs._errors import ValidationError

__all__ = [
    "CHINA_STANDARD_TIME",
    "Period",
    "local_month",
    "month_range",
    "parse_month",
    "period_kind",
    "period_label",
    "period_months",
    "previous_period",
    "span_label",
    "year_earlier",
]

#: China Standard Time, UTC+8.
CHINA_STANDARD_TIME: Final = dt.timezone(dt.timedelta(hours=8), "CST")

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_HALF = re.compile(r"(\d{4})-H([12])")
_YEAR = re.compile(r"(\d{4})")
_SPAN = re.compile(r"(\d{4}-\d{2})\.\.(\d{4}-\d{2})")
_FIRST_YEAR: Final = 1990
_LAST_YEAR: Final = 9998


class Period(enum.StrEnum):
    """Length of the periods a table is broken down by."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    #: One or more explicit spans of whole months.
    SPAN = "span"


def parse_month(text: str, *, field: str = "month") -> tuple[int, int]:
    """Parse ``YYYY-MM`` into ``(year, month)``, raising ValidationError naming *field*."""
    match = _MONTH.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(field, text, "expected a month as YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise ValidationError(
            field, text, f"expected a month from {_FIRST_YEAR}-01 to {_LAST_YEAR}-12"
        )
    return year, month


def _month_text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


def period_label(period: Period, year: int, month: int) -> str:
    """Return the label of the *period* that contains *month* of *year*."""
    if period is Period.MONTH:
        return _month_text(year, month)
    if period is Period.QUARTER:
        return f"{year:04d}-Q{(month - 1) // 3 + 1}"
    if period is Period.HALF:
        return f"{year:04d}-H{1 if month <= 6 else 2}"
    if period is Period.YEAR:
        return f"{year:04d}"
    raise ValidationError("period", period, "a span has no label of its own; name its months")


def span_label(start: str, end: str) -> str:
    """Return the label of the span of months from *start* to *end*, both included."""
    first = parse_month(start, field="start")
    last = parse_month(end, field="end")
    if last < first:
        raise ValidationError("end", end, f"lies before the start {start}; swap them")
    return f"{_month_text(*first)}..{_month_text(*last)}"


def period_months(label: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Return the first and last ``(year, month)`` of the period named by *label*."""
    kind, first, last = _parse_label(label)
    del kind
    return first, last


def period_kind(label: str) -> Period:
    """Return the kind of period that *label* names."""
    return _parse_label(label)[0]


def _parse_label(label: str) -> tuple[Period, tuple[int, int], tuple[int, int]]:
    if not isinstance(label, str):
        raise ValidationError("period", label, "expected a period label such as 2021-Q1")
    if match := _SPAN.fullmatch(label):
        start, end = match.group(1), match.group(2)
        span_label(start, end)
        return Period.SPAN, parse_month(start, field="period"), parse_month(end, field="period")
    if _MONTH.fullmatch(label):
        month = parse_month(label, field="period")
        return Period.MONTH, month, month
    year: int | None = None
    if match := _QUARTER.fullmatch(label):
        year, quarter = int(match.group(1)), int(match.group(2))
        kind, first, length = Period.QUARTER, 3 * quarter - 2, 3
    elif match := _HALF.fullmatch(label):
        year, half = int(match.group(1)), int(match.group(2))
        kind, first, length = Period.HALF, 6 * half - 5, 6
    elif match := _YEAR.fullmatch(label):
        year = int(match.group(1))
        kind, first, length = Period.YEAR, 1, 12
    if year is None or not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise ValidationError(
            "period",
            label,
            "expected a period label such as 2021-03, 2021-Q1, 2021-H1, 2021 or 2021-01..2021-09",
        )
    return kind, (year, first), (year, first + length - 1)


def year_earlier(label: str) -> str:
    """Return the label of the same period one year before."""
    kind, first, last = _parse_label(label)
    if kind is Period.SPAN:
        return f"{_month_text(first[0] - 1, first[1])}..{_month_text(last[0] - 1, last[1])}"
    return period_label(kind, first[0] - 1, first[1])


def previous_period(label: str) -> str:
    """Return the label of the period of the same length just before."""
    kind, first, last = _parse_label(label)
    length = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    start = _add_months(*first, -length)
    if kind is Period.SPAN:
        end = _add_months(*last, -length)
        return f"{_month_text(*start)}..{_month_text(*end)}"
    return period_label(kind, *start)


def month_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """Return *start* and *end* (``YYYY-MM`` or None) as ``year * 100 + month`` bounds."""
    low = high = None
    if start is not None:
        year, month = parse_month(start, field="start")
        low = year * 100 + month
    if end is not None:
        year, month = parse_month(end, field="end")
        high = year * 100 + month
    if low is not None and high is not None and high < low:
        raise ValidationError("end", end, f"lies before the start {start}; swap them")
    return low, high


def local_month(moment: dt.datetime) -> tuple[int, int]:
    """Return ``(year, month)`` of an aware *moment* in China Standard Time."""
    local = moment.astimezone(CHINA_STANDARD_TIME)
    return local.year, local.month
