"""Statistics tables as rows, CSV, JSON and rich terminal tables, in zh_CN or en.

Every output lists, per period, one row per key with its count, its share of
the period's total and its change year on year and period on period, then a
total row. CSV and JSON keep machine-readable column names and codes, and add
a ``label`` in the chosen locale; the terminal table is fully translated.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any, Final

import attrs
from rich.table import Table

from threeregs import _i18n
from threeregs._i18n import N_
from threeregs._vocabulary import Bucket, Conduct, Provision
from threeregs.routing._directory import Level
from threeregs.stats._arithmetic import share_percent
from threeregs.stats._query import STAFF_KEYS, Dimension, Measure, StatTable

if TYPE_CHECKING:
    from collections.abc import Collection
    from decimal import Decimal

    from threeregs.routing._directory import Directory

__all__ = ["OutputRow", "key_label", "output_rows", "to_csv", "to_json", "to_rich"]

#: Key of the total row of each period.
TOTAL: Final = "total"

_DIMENSION_NAMES: Final = {
    Dimension.LEVEL: N_("level"),
    Dimension.OFFICE: N_("office"),
    Dimension.PROVISION: N_("provision"),
    Dimension.CONDUCT: N_("conduct category"),
    Dimension.BUCKET: N_("statistical bucket"),
    Dimension.STAFF: N_("intervener"),
    Dimension.DIRECT: N_("destination of direct reports"),
}
_MEASURE_NAMES: Final = {
    Measure.RECORDS: N_("Records"),
    Measure.FILINGS: N_("Filings"),
    Measure.ZERO_REPORTS: N_("Zero reports"),
}
_PERIOD_NAMES: Final = {
    "month": N_("month"),
    "quarter": N_("quarter"),
    "half": N_("half-year"),
    "year": N_("year"),
    "span": N_("span of months"),
}
_STAFF_LABELS: Final = {
    STAFF_KEYS[0]: N_("Procuratorate staff"),
    STAFF_KEYS[1]: N_("Not procuratorate staff"),
}
CSV_COLUMNS: Final = (
    "period",
    "key",
    "label",
    "count",
    "share_percent",
    "year_on_year_percent",
    "period_on_period_percent",
)


@attrs.frozen
class OutputRow:
    """One line of an output table: a key's count in one period, or the period's total."""

    period: str
    key: str
    label: str
    count: int
    share: Decimal
    year_on_year: Decimal | None
    period_on_period: Decimal | None


def key_label(
    dimension: Dimension, key: str, locale: str, *, directory: Directory | None = None
) -> str:
    """Return the display label of *key* of *dimension* in *locale*."""
    if key == TOTAL:
        return _i18n.gettext("Total", locale)
    if dimension in (Dimension.LEVEL, Dimension.DIRECT):
        return _i18n.label(Level[key.upper()], locale)
    if dimension is Dimension.PROVISION:
        return _i18n.label(Provision(key), locale)
    if dimension is Dimension.CONDUCT:
        return _i18n.label(Conduct(key), locale)
    if dimension is Dimension.BUCKET:
        return _i18n.label(Bucket(key), locale)
    if dimension is Dimension.STAFF:
        return _i18n.gettext(_STAFF_LABELS[key], locale)
    if directory is not None and key in directory:
        return directory.get(key).name
    return key


def dimension_name(dimension: Dimension, locale: str) -> str:
    """Return the translated name of *dimension*, as used in headings."""
    return _i18n.gettext(_DIMENSION_NAMES[dimension], locale)


def measure_name(measure: Measure, locale: str) -> str:
    """Return the translated name of *measure*, as used in headings."""
    return _i18n.gettext(_MEASURE_NAMES[measure], locale)


def title(table: StatTable, locale: str) -> str:
    """Return the heading of *table* in *locale*."""
    # TRANSLATORS: {measure} is "Records", "Filings" or "Zero reports"; {dimension}
    # and {period} are lowercase names such as "level" and "quarter".
    return _i18n.gettext("{measure} by {dimension}, per {period}", locale).format(
        measure=measure_name(table.measure, locale),
        dimension=dimension_name(table.dimension, locale),
        period=_i18n.gettext(_PERIOD_NAMES[table.period.value], locale),
    )


def output_rows(
    table: StatTable,
    locale: str = _i18n.DEFAULT_LOCALE,
    *,
    directory: Directory | None = None,
    periods: Collection[str] | None = None,
) -> list[OutputRow]:
    """Return the rows of each period of *table*: one per key, then the total.

    *periods* limits the rows to those periods, while changes are still
    computed against every period of the table.
    """
    rows = []
    for period in table.periods():
        if periods is not None and period not in periods:
            continue
        shares = table.shares(period)
        year = table.year_on_year(period)
        previous = table.period_on_period(period)
        for key, count in table.counts(period).items():
            rows.append(
                OutputRow(
                    period,
                    key,
                    key_label(table.dimension, key, locale, directory=directory),
                    count,
                    shares[key],
                    None if year is None else year.of(key).percent,
                    None if previous is None else previous.of(key).percent,
                )
            )
        total = table.total(period)
        rows.append(
            OutputRow(
                period,
                TOTAL,
                key_label(table.dimension, TOTAL, locale),
                total,
                share_percent(total, total),
                None if year is None else year.total.percent,
                None if previous is None else previous.total.percent,
            )
        )
    return rows


def _text(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:.1f}"
    return f"+{text}" if signed and value > 0 else text


def to_csv(
    table: StatTable,
    locale: str = _i18n.DEFAULT_LOCALE,
    *,
    directory: Directory | None = None,
    periods: Collection[str] | None = None,
) -> str:
    """Return *table* as CSV with the columns of :data:`CSV_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in output_rows(table, locale, directory=directory, periods=periods):
        writer.writerow(
            (
                row.period,
                row.key,
                row.label,
                row.count,
                _text(row.share),
                _text(row.year_on_year),
                _text(row.period_on_period),
            )
        )
    return buffer.getvalue()


def _number(value: Decimal | None) -> float | None:
    # A value with one decimal converts to the float whose shortest repr is
    # that same decimal, so JSON shows 78.2, not 78.20000000000000284.
    return None if value is None else float(value)


def to_json(
    table: StatTable,
    locale: str = _i18n.DEFAULT_LOCALE,
    *,
    directory: Directory | None = None,
    periods: Collection[str] | None = None,
) -> str:
    """Return *table* as a JSON document: the table's settings and its rows."""
    document: dict[str, Any] = {
        "dimension": table.dimension.value,
        "period": table.period.value,
        "measure": table.measure.value,
        "locale": _i18n.normalise_locale(locale),
        "title": title(table, locale),
        "rows": [
            {
                "period": row.period,
                "key": row.key,
                "label": row.label,
                "count": row.count,
                "share_percent": _number(row.share),
                "year_on_year_percent": _number(row.year_on_year),
                "period_on_period_percent": _number(row.period_on_period),
            }
            for row in output_rows(table, locale, directory=directory, periods=periods)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def to_rich(
    table: StatTable,
    locale: str = _i18n.DEFAULT_LOCALE,
    *,
    directory: Directory | None = None,
    periods: Collection[str] | None = None,
) -> Table:
    """Return *table* as a rich table with headings in *locale*."""
    _ = _i18n.gettext
    view = Table(title=title(table, locale), show_lines=False)
    view.add_column(_("Period", locale))
    view.add_column(dimension_name(table.dimension, locale).capitalize(), overflow="fold")
    view.add_column(measure_name(table.measure, locale), justify="right")
    view.add_column(_("Share (%)", locale), justify="right")
    view.add_column(_("Year on year (%)", locale), justify="right")
    view.add_column(_("Period on period (%)", locale), justify="right")
    for row in output_rows(table, locale, directory=directory, periods=periods):
        style = "bold" if row.key == TOTAL else None
        view.add_row(
            row.period,
            row.label,
            f"{row.count:,}",
            _text(row.share),
            _text(row.year_on_year, signed=True) or "-",
            _text(row.period_on_period, signed=True) or "-",
            style=style,
            end_section=row.key == TOTAL,
        )
    return view
