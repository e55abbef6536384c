"""``threeregs verify`` and ``threeregs checkpoint``: check the filing log and sign checkpoints.

``verify`` reads the log, the envelopes and the checkpoints, and exits 0
when it found nothing wrong, 1 when it found problems and 3 for invalid
input (an unreadable checkpoint or key list). ``checkpoint new-key`` creates
an inspection department's signing-key file, ``checkpoint public-key``
prints the key line that verifiers list, and ``checkpoint sign`` verifies
the log against the trusted checkpoint file, signs the current state and
replaces the file with the new checkpoint.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from threeregs._errors import LogVerificationError, ValidationError
from threeregs.cli._app import EXIT_PROBLEM, Context, handle_errors, main, obj
from threeregs.cli._options import database_option, open_engine, passphrase_for
from threeregs.store._checkpoint import (
    DEFAULT_COST,
    Checkpoint,
    CheckpointSigner,
    read_keys,
    read_public_key,
)
from threeregs.store._log import sequence
from threeregs.store._verify import create_checkpoint, verify

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from threeregs.store._checkpoint import CheckpointKey
    from threeregs.store._verify import VerifyReport

#: Environment variable holding the passphrase of the signing-key file.
PASSPHRASE_VARIABLE = "THREEREGS_CHECKPOINT_PASSPHRASE"  # noqa: S105 - a variable name


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _keys(path: Path | None) -> tuple[CheckpointKey, ...]:
    return () if path is None else read_keys(path)


def _sequence_all(engine: Engine, ctx: Context) -> None:
    with engine.begin() as conn:
        count = sequence(conn)
    if not ctx.quiet:
        ctx.out.print(ctx._("sequenced {count} filings").format(count=count))


def _print_report(ctx: Context, report: VerifyReport, trusted: Checkpoint | None) -> None:
    """Print what was checked, then the problems or that there were none."""
    _ = ctx._
    if not ctx.quiet:
        if report.log_id is None:
            ctx.out.print(_("the log is empty: nothing has been sequenced yet"))
        else:
            ctx.out.print(
                _("log {log_id}: {size} entries, root {root}").format(
                    log_id=report.log_id, size=report.tree_size, root=report.root.hex()
                )
            )
        if trusted is None:
            ctx.out.print(
                "[yellow]"
                + _(
                    "no trusted checkpoint was given, so a rollback to an older copy of the "
                    "database cannot be detected; pass --checkpoint FILE"
                )
                + "[/]"
            )
        else:
            ctx.out.print(
                _("trusted checkpoint: size {size}, signed by office {office} at {time}").format(
                    size=trusted.tree_size,
                    office=trusted.office_code,
                    time=_time(trusted.signed_at),
                )
            )
        ctx.out.print(
            _("compared the log with {count} signed checkpoints").format(
                count=report.checkpoints_checked
            )
        )
        if report.unknown_key_checkpoints:
            ctx.out.print(
                _(
                    "stored checkpoints skipped because their key is not in the key list: {count}"
                ).format(count=report.unknown_key_checkpoints)
            )
        if not report.deep:
            ctx.out.print(
                _(
                    "only the stored digests were compared (--quick); run without --quick to "
                    "recompute the content digest of every envelope"
                )
            )
        if report.pending and report.oldest_pending is not None:
            ctx.out.print(
                _("{count} filings wait for sequencing; the oldest was received at {time}").format(
                    count=report.pending, time=_time(report.oldest_pending)
                )
            )

    if report.ok:
        ctx.out.print("[bold green]" + _("no problems found") + "[/]")
        return
    total = len(report.problems) + report.problems_omitted
    ctx.out.print("[bold red]" + _("problems found: {count}").format(count=total) + "[/]")
    for number, problem in enumerate(report.problems, start=1):
        ctx.out.print(f"{number:>4}. {problem.message(ctx.locale)}", markup=False)
    if report.problems_omitted:
        ctx.out.print(
            _("and {count} more problems not listed").format(count=report.problems_omitted)
        )


def _verify_engine(
    engine: Engine,
    *,
    trusted: Checkpoint | None,
    keys: tuple[CheckpointKey, ...],
    deep: bool,
    grace: dt.timedelta,
) -> VerifyReport:
    """Verify in one transaction, so that every query reads the same state of the database."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            return verify(conn, trusted=trusted, verify_keys=keys, deep=deep, grace=grace)
    # A REPEATABLE READ snapshot needs no lock, so a read-only account can verify.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            return verify(
                conn, trusted=trusted, verify_keys=keys, deep=deep, grace=grace, lock=False
            )


_keys_option = click.option(
    "--keys",
    "keys_path",
    envvar="THREEREGS_CHECKPOINT_KEYS",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key list: one `threeregs-checkpoint-key v1` line per signing key whose checkpoints "
    "count [env THREEREGS_CHECKPOINT_KEYS].",
)
_sequence_option = click.option(
    "--sequence",
    "run_sequencer",
    is_flag=True,
    help="Run the sequencer first, in its own transaction, so every committed filing is logged.",
)
_quick_option = click.option(
    "--quick",
    is_flag=True,
    help="Compare the stored digest of each envelope instead of recomputing it from the bytes.",
)
_grace_option = click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=15,
    show_default=True,
    help="Minutes a filing transaction may stay open; older envelopes missing from the log "
    "are reported, newer ones count as pending.",
)


@main.command("verify")
@database_option
@click.option(
    "--checkpoint",
    "checkpoint_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The latest trusted checkpoint, kept outside the database.",
)
@_keys_option
@_sequence_option
@_quick_option
@_grace_option
@handle_errors
def verify_command(
    db_url: str,
    checkpoint_path: Path | None,
    keys_path: Path | None,
    run_sequencer: bool,
    quick: bool,
    grace: int,
) -> None:
    """Check that no filing in the log was deleted, altered, reordered or rolled back.

    Exits 0 when nothing was found wrong, 1 when problems were found, and 3
    when the checkpoint or the key list cannot be read.
    """
    ctx = obj()
    keys = _keys(keys_path)
    trusted = None if checkpoint_path is None else Checkpoint.read(checkpoint_path)
    if trusted is not None and not keys:
        raise ValidationError(
            "--keys", None, "checking the trusted checkpoint's signature needs the key list"
        )
    engine = open_engine(db_url)
    try:
        if run_sequencer:
            _sequence_all(engine, ctx)
        report = _verify_engine(
            engine,
            trusted=trusted,
            keys=keys,
            deep=not quick,
            grace=dt.timedelta(minutes=grace),
        )
    finally:
        engine.dispose()
    _print_report(ctx, report, trusted)
    if not report.ok:
        raise SystemExit(EXIT_PROBLEM)


@main.group("checkpoint")
def checkpoint_group() -> None:
    """Create checkpoint signing keys and sign checkpoints of the filing log."""


_passphrase_option = click.option(
    "--passphrase",
    envvar=PASSPHRASE_VARIABLE,
    default=None,
    help="Passphrase of the signing-key file; prompted for when omitted "
    f"[env {PASSPHRASE_VARIABLE}].",
)


@checkpoint_group.command("new-key")
@click.option("--office", required=True, metavar="CODE", help="Office code of the department.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signing-key file to create; keep it outside the host and its database.",
)
@_passphrase_option
@handle_errors
def new_key(office: str, out_path: Path, passphrase: str | None) -> None:
    """Create an inspection department's checkpoint signing key."""
    ctx = obj()
    if out_path.exists():
        raise ValidationError("--out", str(out_path), "the file exists; choose another path")
    signer = CheckpointSigner.generate(office)
    signer.save(out_path, passphrase_for(out_path, passphrase, confirm=True), cost=DEFAULT_COST)
    key = signer.public_key
    if not ctx.quiet:
        ctx.err.print(
            ctx._("created signing key {key_id} of office {office} in {path}").format(
                key_id=key.key_id, office=office, path=out_path
            )
        )
        ctx.err.print(
            ctx._("give this line to everyone who verifies this department's checkpoints:")
        )
    click.echo(key.to_text())


@checkpoint_group.command("public-key")
@click.argument("key_path", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def public_key(key_path: Path) -> None:
    """Print the key line of a signing-key file (no passphrase needed)."""
    click.echo(read_public_key(key_path).to_text())


@checkpoint_group.command("sign")
@database_option
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The department's signing-key file.",
)
@click.option(
    "--checkpoint",
    "checkpoint_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trusted checkpoint file: read and verified against first when it exists, then "
    "replaced with the new checkpoint.",
)
@_keys_option
@_passphrase_option
@_sequence_option
@_quick_option
@_grace_option
@handle_errors
def sign(
    db_url: str,
    key_path: Path,
    checkpoint_path: Path,
    keys_path: Path | None,
    passphrase: str | None,
    run_sequencer: bool,
    quick: bool,
    grace: int,
) -> None:
    """Verify the log, then sign a checkpoint of it and store it in the database and the file.

    Exits 1 without signing when verifying finds problems.
    """
    ctx = obj()
    signer = CheckpointSigner.open(key_path, passphrase_for(key_path, passphrase))
    keys = (*_keys(keys_path), signer.public_key)
    trusted = Checkpoint.read(checkpoint_path) if checkpoint_path.exists() else None
    if trusted is None and not ctx.quiet:
        ctx.out.print(
            "[yellow]"
            + ctx._(
                "{path} does not exist yet, so this first checkpoint is not compared with an "
                "earlier one"
            ).format(path=escape(str(checkpoint_path)))
            + "[/]"
        )
    engine = open_engine(db_url)
    try:
        if run_sequencer:
            _sequence_all(engine, ctx)
        with engine.begin() as conn:
            checkpoint = create_checkpoint(
                conn,
                signer,
                trusted=trusted,
                verify_keys=keys,
                deep=not quick,
                grace=dt.timedelta(minutes=grace),
            )
    except LogVerificationError as exc:
        _print_report(ctx, exc.report, trusted)
        ctx.err.print(
            "[bold red]"
            + ctx._("no checkpoint was signed because verifying the log found problems")
            + "[/]"
        )
        raise SystemExit(EXIT_PROBLEM) from None
    finally:
        engine.dispose()
    checkpoint.write(checkpoint_path)
    ctx.out.print(
        ctx._("signed a checkpoint of size {size} and wrote it to {path}").format(
            size=checkpoint.tree_size, path=checkpoint_path
        )
    )
