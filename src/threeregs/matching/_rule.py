"""The contract of a matching rule, and the base of the built-in rules."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from threeregs import _i18n

if TYPE_CHECKING:
    from collections.abc import Iterable

    from threeregs.matching._findings import Finding
    from threeregs.matching._input import MatchInput


@runtime_checkable
class MatchingRule(Protocol):
    """What a plugin's rule provides.

    ``find`` must be deterministic: the same input gives the same findings,
    whatever the order of the filings and clues in it. It must reference only
    filing and clue ids of the input, and must not change anything outside
    the rule. :mod:`threeregs.matching.conformance` checks all of this.
    """

    @property
    def name(self) -> str:
        """Unique rule name: lowercase ASCII, ``_`` and dots (``acme.night_visits``)."""
        ...

    def label(self, locale: str) -> str:
        """Return the display name of the rule in *locale* (``"zh_CN"`` or ``"en"``)."""
        ...

    def find(self, data: MatchInput) -> Iterable[Finding]:
        """Compare the filings of *data* with its clues and return the findings."""
        ...


class BuiltinRule:
    """Base of the built-in rules: a name and a label from the threeregs catalogs."""

    #: The rule name.
    rule_name: ClassVar[str]
    #: English message id of the display name, translated by :meth:`label`.
    title: ClassVar[str]

    @property
    def name(self) -> str:
        """The rule name."""
        return self.rule_name

    def label(self, locale: str) -> str:
        """Return the display name of the rule in *locale*."""
        return _i18n.gettext(self.title, locale)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.rule_name!r}>"


def format_time(value: dt.datetime) -> str:
    """Format a time for a contribution: ISO 8601 in UTC, to the minute."""
    if value.year <= 1:
        return ".."
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def format_period(start: dt.datetime, end: dt.datetime | None) -> str:
    """Format a period as ISO 8601 ``start/end``, or a single time when they are equal."""
    if end is None:
        return f"{format_time(start)}/.."
    if start == end:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"
