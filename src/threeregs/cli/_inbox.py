"""``threeregs inbox``: list, open and export an office's filings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.table import Table

from threeregs import _canonical, _i18n
from threeregs._inbox import Inbox, InboxItem, InboxSummary, Outcome
from threeregs.cli._app import Context, handle_errors, main, obj
from threeregs.cli._options import database_option, keystore_options, open_engine, open_keystore
from threeregs.store._offices import load_directory

_READER_HELP = "Who is reading, for the access log (an inspector's staff id)."
N_ = _i18n.N_
_KINDS = {
    "stage": N_("stage filing"),
    "monthly": N_("monthly return"),
    "anytime": N_("anytime record"),
}
_OUTCOMES = {
    Outcome.OPENED: N_("opened"),
    Outcome.DECOY: N_("decoy"),
    Outcome.FAILED: N_("failed"),
}


def _outcome(ctx: Context, item: InboxItem) -> str:
    """Return the outcome of *item* for people, naming the key version a missing key has."""
    if item.outcome is Outcome.MISSING_KEY:
        return ctx._("key version {version} missing").format(version=item.key_version)
    return ctx._(_OUTCOMES[item.outcome])


@main.group()
def inbox() -> None:
    """Open the filings addressed to one office's inspection department."""


@inbox.command("list")
@database_option
@keystore_options
@click.option("--reader", required=True, help=_READER_HELP)
@click.option("--all", "show_all", is_flag=True, help="Also list decoy slots.")
@click.argument("office")
@handle_errors
def inbox_list(
    db_url: str,
    keystore_path: Path,
    passphrase: str | None,
    reader: str,
    show_all: bool,
    office: str,
) -> None:
    """Open and list the filings addressed to OFFICE."""
    ctx = obj()
    _ = ctx._
    store = open_keystore(keystore_path, passphrase)
    engine = open_engine(db_url)
    table = Table()
    # The full id is needed for `inbox open`, so it folds instead of being cut.
    table.add_column(_("filing"), overflow="fold", min_width=32)
    for heading in (_("received"), _("kind"), _("filer"), _("records"), _("outcome")):
        table.add_column(heading)
    box = Inbox(office, store, reader=reader)
    with engine.begin() as conn:
        load_directory(conn).get(office)
        for item in box.open_all(conn):
            if item.outcome is Outcome.DECOY and not show_all:
                continue
            filing = item.filing
            table.add_row(
                item.filing_id,
                item.received_at.strftime("%Y-%m-%d %H:%M"),
                _(_KINDS[filing.kind]) if filing else "",
                filing.filer.person_id if filing else "",
                str(len(filing.records)) if filing else "",
                _outcome(ctx, item),
            )
    ctx.out.print(table)
    summary = box.summary
    ctx.out.print(
        _("{opened} opened, {decoys} decoys skipped, {failed} failed, {missing} lack a key").format(
            opened=summary.opened,
            decoys=summary.decoys,
            failed=summary.failed,
            missing=summary.missing_key,
        )
    )
    if summary.failed or summary.missing_key:
        raise SystemExit(1)


@inbox.command("open")
@database_option
@keystore_options
@click.option("--reader", required=True, help=_READER_HELP)
@click.argument("office")
@click.argument("filing_id")
@handle_errors
def inbox_open(
    db_url: str,
    keystore_path: Path,
    passphrase: str | None,
    reader: str,
    office: str,
    filing_id: str,
) -> None:
    """Open one filing addressed to OFFICE and show it."""
    ctx = obj()
    _ = ctx._
    store = open_keystore(keystore_path, passphrase)
    engine = open_engine(db_url)
    with engine.begin() as conn:
        load_directory(conn).get(office)
        item = Inbox(office, store, reader=reader).open(conn, filing_id)
    if item.filing is None:
        ctx.out.print(_outcome(ctx, item))
        raise SystemExit(1 if item.outcome is not Outcome.DECOY else 0)
    filing = item.filing
    ctx.out.print(_("filing {id}").format(id=filing.filing_id))
    ctx.out.print(
        _("filer {person} ({office}), {kind}").format(
            person=filing.filer.person_id,
            office=filing.filer.office_code,
            kind=_(_KINDS[filing.kind]),
        )
    )
    if filing.is_zero:
        ctx.out.print(_("zero report"))
    for number, record in enumerate(filing.records, start=1):
        person = record.intervener
        ctx.out.print(
            f"{number}. {_i18n.label(record.provision, ctx.locale)} · "
            f"{_i18n.label(record.conduct, ctx.locale)} · {_i18n.label(record.bucket, ctx.locale)}"
        )
        ctx.out.print(f"   {person.name} {person.unit} {person.position}")
        ctx.out.print(f"   {record.occurred_at:%Y-%m-%d %H:%M} {record.place}")
        ctx.out.print(f"   {record.content}")


@inbox.command("export")
@database_option
@keystore_options
@click.option("--reader", required=True, help=_READER_HELP)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON-lines file to write, one opened filing per line.",
)
@click.argument("office")
@handle_errors
def inbox_export(
    db_url: str, keystore_path: Path, passphrase: str | None, reader: str, output: Path, office: str
) -> None:
    """Export the opened filings of OFFICE as JSON lines, the input of `match`.

    The file holds plaintext: keep it inside the inspection department.
    """
    ctx = obj()
    store = open_keystore(keystore_path, passphrase)
    engine = open_engine(db_url)
    box = Inbox(office, store, reader=reader)
    with engine.begin() as conn:
        load_directory(conn).get(office)
    # The file contains plaintext, so it is created readable by its owner only.
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle, engine.begin() as conn:
        for item in box.open_all(conn):
            if item.filing is None:
                continue
            line = _canonical.filing_to_dict(item.filing)
            line["received_at"] = _canonical.format_time(item.received_at)
            handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    ctx.out.print(
        ctx._("exported {count} filings to {path}").format(count=box.summary.opened, path=output)
    )
    _report_unopened(ctx, box.summary)


def _report_unopened(ctx: Context, summary: InboxSummary) -> None:
    """Print how many envelopes could not be opened, and exit with 1 if any."""
    if not (summary.failed or summary.missing_key):
        return
    ctx.out.print(
        ctx._(
            "{failed} failed and {missing} lack a key in this key store, so they are not "
            "in the output; check the key store and run `threeregs verify`"
        ).format(failed=summary.failed, missing=summary.missing_key)
    )
    raise SystemExit(1)


@inbox.command("import-stats")
@database_option
@keystore_options
@click.option("--reader", required=True, help=_READER_HELP)
@click.option(
    "--stats-db",
    required=True,
    metavar="URL",
    help="SQLAlchemy URL of the inspection-side statistics database; its tables are "
    "created when missing. Never the host database.",
)
@click.argument("office")
@handle_errors
def inbox_import_stats(
    db_url: str,
    keystore_path: Path,
    passphrase: str | None,
    reader: str,
    stats_db: str,
    office: str,
) -> None:
    """Open the inbox of OFFICE and add its filings to the statistics database."""
    from threeregs.stats import create_stats_tables, import_opened  # noqa: PLC0415 - heavy

    ctx = obj()
    store = open_keystore(keystore_path, passphrase)
    engine = open_engine(db_url)
    stats_engine = open_engine(stats_db, must_exist=False, option="--stats-db")
    create_stats_tables(stats_engine)
    box = Inbox(office, store, reader=reader)
    with engine.begin() as conn, stats_engine.begin() as stat_conn:
        directory = load_directory(conn)
        directory.get(office)
        result = import_opened(stat_conn, box.open_all(conn), directory, recipient=office)
    ctx.out.print(
        ctx._(
            "{imported} filings added to the statistics database, {present} already there, "
            "{skipped} not opened"
        ).format(imported=result.imported, present=result.already_present, skipped=result.skipped)
    )
