"""``threeregs stats``: tables and a trend chart from the inspection-side statistics database."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from rich.console import Console

from threeregs._errors import ValidationError
from threeregs.cli._app import handle_errors, main, obj
from threeregs.cli._options import open_engine
from threeregs.routing._directory import Directory
from threeregs.stats._chart import quarterly_trend_chart
from threeregs.stats._output import to_csv, to_json, to_rich
from threeregs.stats._periods import Period, parse_month, period_months, year_earlier
from threeregs.stats._query import Dimension, Measure, StatTable, tabulate

#: Environment variable naming the statistics database when --stats-db is not given.
STATS_DB_VARIABLE = "THREEREGS_STATS_DB"


def _span_table(
    conn: sa.Connection,
    by: Dimension,
    measure: Measure | None,
    start: str | None,
    end: str | None,
    recipient: str | None,
) -> StatTable:
    if start is None or end is None:
        raise ValidationError(
            "period", "span", "--period span needs both --from and --to, as YYYY-MM"
        )
    current = f"{start}..{end}"
    earlier = year_earlier(current)
    first, last = earlier.split("..")
    # The same months a year earlier come along, so the table shows the change.
    return tabulate(
        conn,
        by,
        period=Period.SPAN,
        measure=measure,
        spans=[(first, last), (start, end)],
        recipient=recipient,
    )


def _year_before(month: str) -> str:
    year, number = parse_month(month, field="from")
    return f"{year - 1:04d}-{number:02d}"


def _periods_from(table: StatTable, start: str | None) -> list[str] | None:
    """Return the periods of *table* that begin at or after *start*, or None for all."""
    if start is None:
        return None
    first = parse_month(start, field="from")
    return [label for label in table.periods() if period_months(label)[0] >= first]


@main.command("stats")
@click.option(
    "--stats-db",
    "stats_db",
    envvar=STATS_DB_VARIABLE,
    required=True,
    metavar="URL",
    help="SQLAlchemy URL of the inspection-side statistics database "
    f"(default: ${STATS_DB_VARIABLE}). Never the host database.",
)
@click.option(
    "--by",
    type=click.Choice([d.value for d in Dimension]),
    default=Dimension.LEVEL.value,
    show_default=True,
    help="What the rows are grouped by.",
)
@click.option(
    "--period",
    type=click.Choice([p.value for p in Period]),
    default=Period.QUARTER.value,
    show_default=True,
    help="Length of the periods; span needs --from and --to.",
)
@click.option(
    "--measure",
    type=click.Choice([m.value for m in Measure]),
    default=None,
    help="What to count; defaults to records, and to filings for --by direct.",
)
@click.option("--from", "start", metavar="YYYY-MM", help="First month counted.")
@click.option("--to", "end", metavar="YYYY-MM", help="Last month counted.")
@click.option(
    "--recipient",
    metavar="CODE",
    help="Count only the filings opened by this office's inspection department.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also draw the quarterly trend of records by level to this PNG file.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the table to this file instead of standard output.",
)
@handle_errors
def stats_command(
    stats_db: str,
    by: str,
    period: str,
    measure: str | None,
    start: str | None,
    end: str | None,
    recipient: str | None,
    output_format: str,
    chart: Path | None,
    output: Path | None,
) -> None:
    """Print counts, shares and changes from the statistics database.

    The statistics database contains what only the inspection department may
    know (zero reports, routes, categories), so it is a database of its own,
    filled by threeregs.stats.import_opened.
    """
    context = obj()
    locale = context.locale
    _ = context._
    for name, value in (("from", start), ("to", end)):
        if value is not None:
            parse_month(value, field=name)
    dimension = Dimension(by)
    chosen = None if measure is None else Measure(measure)

    # A year more is read than shown, so that the first periods shown have a
    # year-on-year change.
    read_from = None if start is None else _year_before(start)
    engine = open_engine(
        stats_db,
        option="--stats-db",
        create_hint="import opened filings into it first with `threeregs inbox import-stats`",
    )
    try:
        with engine.connect() as conn:
            if Period(period) is Period.SPAN:
                table = _span_table(conn, dimension, chosen, start, end, recipient)
                shown = None
            else:
                table = tabulate(
                    conn,
                    dimension,
                    period=Period(period),
                    measure=chosen,
                    start=read_from,
                    end=end,
                    recipient=recipient,
                )
                shown = _periods_from(table, start)
            trend = None
            if chart is not None:
                trend = tabulate(
                    conn,
                    Dimension.LEVEL,
                    period=Period.QUARTER,
                    start=start,
                    end=end,
                    recipient=recipient,
                )
    finally:
        engine.dispose()

    directory = Directory.national() if dimension is Dimension.OFFICE else None
    if output_format == "table":
        view = to_rich(table, locale, directory=directory, periods=shown)
        if output is not None:
            with output.open("w", encoding="utf-8") as stream:
                Console(file=stream, width=120, highlight=False).print(view)
        elif not [cell for cell in table.cells if shown is None or cell.period in shown]:
            context.out.print(_("No filings were counted for these settings."))
        else:
            context.out.print(view)
    else:
        text = (to_csv if output_format == "csv" else to_json)(
            table, locale, directory=directory, periods=shown
        )
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)

    if chart is not None and trend is not None:
        result = quarterly_trend_chart(trend, chart, locale=locale)
        if result.fell_back:
            context.err.print(
                _("No font with Chinese characters was found, so the chart has English labels.")
            )
        if not context.quiet:
            context.err.print(_("Chart written to {path}").format(path=result.path))
