"""Shares and changes: half-up rounding to one decimal, and the invariants of shares."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeregs import ValidationError
from threeregs.stats import (
    Dimension,
    Measure,
    Period,
    StatTable,
    percent_change,
    share_percent,
    shares,
)


def _half_up(value: Fraction) -> Decimal:
    """Round to one decimal, ties away from zero, with exact fractions."""
    tenths = abs(value) * 10
    rounded = int(tenths + Fraction(1, 2))
    return (Decimal(rounded) / 10).copy_sign(Decimal(1) if value >= 0 else Decimal(-1))


@pytest.mark.parametrize(
    ("count", "total", "expected"),
    [
        (1, 8, "12.5"),
        (1, 16, "6.3"),  # 6.25: half-up, where banker's rounding gives 6.2
        (3, 16, "18.8"),  # 18.75
        (1, 32, "3.1"),  # 3.125
        (0, 5, "0.0"),
        (5, 5, "100.0"),
        (0, 0, "0.0"),
        (270, 40_006, "0.7"),
    ],
)
def test_share_percent(count: int, total: int, expected: str) -> None:
    assert str(share_percent(count, total)) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (9, 8, "12.5"),
        (7, 8, "-12.5"),
        (15, 16, "-6.3"),  # -6.25 rounds away from zero
        (17, 16, "6.3"),
        (8, 8, "0.0"),
        (46_409, 30_552, "51.9"),
        (0, 3, "-100.0"),
    ],
)
def test_percent_change(current: int, previous: int, expected: str) -> None:
    assert str(percent_change(current, previous)) == expected


def test_change_from_zero_undefined() -> None:
    assert percent_change(5, 0) is None


@pytest.mark.parametrize(("count", "total"), [(-1, 5), (6, 5), (True, 5), (1.0, 5)])
def test_share_rejects_bad_counts(count: int, total: int) -> None:
    with pytest.raises(ValidationError):
        share_percent(count, total)


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_share_matches_exact_half_up(count: int, total: int) -> None:
    count = min(count, total)

    assert share_percent(count, total) == _half_up(Fraction(count * 100, total))


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_change_matches_exact_half_up(current: int, previous: int) -> None:
    assert percent_change(current, previous) == _half_up(
        Fraction((current - previous) * 100, previous)
    )


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(0, 10**9), min_size=1, max_size=30)
)
def test_shares_sum_to_100_within_rounding(counts: dict[str, int]) -> None:
    result = shares(counts)
    total = sum(result.values())

    if sum(counts.values()) == 0:
        assert total == 0
    else:
        # Each share is off by at most 0.05 from its exact value, which sum to 100.
        assert abs(total - 100) <= Decimal("0.05") * len(counts)
        assert all(Decimal(0) <= share <= Decimal(100) for share in result.values())


@given(st.lists(st.integers(0, 10**7), min_size=4, max_size=4))
def test_table_shares_sum_to_100(counts: list[int]) -> None:
    keys = ("supreme", "provincial", "municipal", "basic")
    table = StatTable.from_counts(
        Dimension.LEVEL,
        Period.QUARTER,
        Measure.RECORDS,
        [("2021-Q1", key, count) for key, count in zip(keys, counts, strict=True)],
    )

    total = sum(table.shares("2021-Q1").values())

    assert table.total("2021-Q1") == sum(counts)
    if sum(counts):
        assert abs(total - 100) <= Decimal("0.2")
