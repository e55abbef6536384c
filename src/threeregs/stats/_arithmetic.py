"""Shares and changes in percent, rounded half-up to one decimal.

Published bulletins divide each count by the total and round half-up to one
decimal, so these functions do the same with :mod:`decimal`. They run on
aggregated counts only, never on individual rows.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Final

from threeregs._errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["percent_change", "share_percent", "shares"]

_TENTH: Final = Decimal("0.1")
# A quotient of two counts below 10**15 lies either exactly on a rounding
# boundary (a finite decimal, computed exactly) or at least 10**-16 away from
# it, so 50 significant digits round every such quotient as exact arithmetic would.
_PRECISION: Final = 50


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(name, value, "expected a whole number of 0 or more")
    return value


def _round(numerator: int, denominator: int) -> Decimal:
    with decimal.localcontext() as context:
        context.prec = _PRECISION
        quotient = Decimal(numerator) / Decimal(denominator)
        return quotient.quantize(_TENTH, rounding=ROUND_HALF_UP)


def share_percent(count: int, total: int) -> Decimal:
    """Return *count* as a percentage of *total*, rounded half-up to one decimal.

    A total of 0 gives ``Decimal("0.0")``, because nothing was counted.
    """
    _check_count("count", count)
    _check_count("total", total)
    if count > total:
        raise ValidationError("count", count, f"is larger than the total {total}")
    if total == 0:
        return Decimal("0.0")
    return _round(count * 100, total)


def shares(counts: Mapping[str, int]) -> dict[str, Decimal]:
    """Return the share of each count in the sum of *counts*, as :func:`share_percent` does."""
    total = sum(_check_count(f"counts[{key!r}]", value) for key, value in counts.items())
    return {key: share_percent(value, total) for key, value in counts.items()}


def percent_change(current: int, previous: int) -> Decimal | None:
    """Return the change from *previous* to *current* in percent, rounded half-up.

    Half-up rounds away from zero, so a fall of 12.35 % gives ``-12.4``. The
    change from 0 is undefined and gives None.
    """
    _check_count("current", current)
    _check_count("previous", previous)
    if previous == 0:
        return None
    return _round((current - previous) * 100, previous)
