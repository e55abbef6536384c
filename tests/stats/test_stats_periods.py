"""Period labels, their arithmetic and China Standard Time."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeregs import ValidationError
from threeregs.stats import Period
from threeregs.stats._periods import (
    local_month,
    period_kind,
    period_label,
    period_months,
    previous_period,
    span_label,
    year_earlier,
)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (Period.MONTH, "2021-08"),
        (Period.QUARTER, "2021-Q3"),
        (Period.HALF, "2021-H2"),
        (Period.YEAR, "2021"),
    ],
)
def test_period_label(period: Period, expected: str) -> None:
    assert period_label(period, 2021, 8) == expected


@pytest.mark.parametrize(
    ("label", "earlier", "previous"),
    [
        ("2021-01", "2020-01", "2020-12"),
        ("2021-Q1", "2020-Q1", "2020-Q4"),
        ("2021-Q3", "2020-Q3", "2021-Q2"),
        ("2021-H1", "2020-H1", "2020-H2"),
        ("2021", "2020", "2020"),
        ("2021-01..2021-09", "2020-01..2020-09", "2020-04..2020-12"),
    ],
)
def test_label_arithmetic(label: str, earlier: str, previous: str) -> None:
    assert year_earlier(label) == earlier
    assert previous_period(label) == previous


def test_period_months() -> None:
    assert period_months("2022-H1") == ((2022, 1), (2022, 6))
    assert period_months("2022-Q4") == ((2022, 10), (2022, 12))
    assert period_kind("2021-01..2021-09") is Period.SPAN


@pytest.mark.parametrize(
    "label",
    ["2021-13", "2021-Q0", "2021-Q5", "2021-H3", "21", "1989", "2021-09..2021-01", "", "2021q1"],
)
def test_invalid_labels_rejected(label: str) -> None:
    with pytest.raises(ValidationError):
        period_months(label)


def test_span_label_rejects_reversed_months() -> None:
    with pytest.raises(ValidationError, match="before the start"):
        span_label("2021-09", "2021-01")


def test_china_standard_time_decides_the_month() -> None:
    # 17:00 UTC on 31 March is 01:00 on 1 April in Beijing.
    assert local_month(dt.datetime(2021, 3, 31, 17, tzinfo=dt.UTC)) == (2021, 4)
    assert local_month(dt.datetime(2021, 3, 31, 15, tzinfo=dt.UTC)) == (2021, 3)


@given(st.integers(1991, 9000), st.integers(1, 12), st.sampled_from(list(Period)[:4]))
def test_label_contains_its_month(year: int, month: int, period: Period) -> None:
    label = period_label(period, year, month)
    first, last = period_months(label)

    assert first <= (year, month) <= last
    assert period_kind(label) is period
    assert period_months(year_earlier(label))[0] == (first[0] - 1, first[1])
