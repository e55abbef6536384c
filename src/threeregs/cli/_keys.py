"""``threeregs db`` and ``threeregs keys``: set up the store, manage office keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from threeregs import _i18n
from threeregs._errors import KeyStoreError, UntrustedKeyError, ValidationError
from threeregs.cli._app import handle_errors, main, obj
from threeregs.cli._options import (
    anchor_option,
    database_option,
    keystore_options,
    open_engine,
    open_keystore,
    passphrase_for,
    read_anchor,
)
from threeregs.crypto._keys import AnchorSigner, Suite
from threeregs.crypto._keystore import PassphraseKeyStore
from threeregs.routing._directory import Directory
from threeregs.store._migrate import upgrade
from threeregs.store._offices import load_directory, office_keys, retire_key, save_directory
from threeregs.store._rotation import RewrapProgress, issue_key, rewrap_office

if TYPE_CHECKING:
    from threeregs.crypto._keys import CertifiedKey, TrustAnchor


@main.group()
def db() -> None:
    """Set up the threeregs tables and the office directory in a database."""


@db.command("init")
@database_option
@click.option(
    "--directory",
    "directory_csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV of offices (code,name,level,parent_code); defaults to the national directory.",
)
@handle_errors
def db_init(db_url: str, directory_csv: Path | None) -> None:
    """Run the shipped migrations and store the office directory."""
    ctx = obj()
    engine = open_engine(db_url, must_exist=False)
    directory = Directory.from_csv(directory_csv) if directory_csv else Directory.national()
    upgrade(engine)
    with engine.begin() as conn:
        save_directory(conn, directory)
    ctx.out.print(ctx._("stored {count} offices").format(count=len(directory)))


@main.group()
def keys() -> None:
    """Create the trust anchor and issue, rotate, retire and export office keys."""


@keys.command("init")
@keystore_options
@click.option("--with-anchor", is_flag=True, help="Also create a new trust anchor in the store.")
@handle_errors
def keys_init(keystore_path: Path, passphrase: str | None, with_anchor: bool) -> None:
    """Create an empty key store file, optionally holding a new trust anchor."""
    ctx = obj()
    if keystore_path.exists():
        raise ValidationError(
            "--keystore", str(keystore_path), "the file exists; choose another path"
        )
    secret = passphrase_for(keystore_path, passphrase, confirm=True)
    store = PassphraseKeyStore(keystore_path, secret)
    if with_anchor:
        store.anchor_signer = AnchorSigner.generate()
    store.save()
    ctx.out.print(ctx._("created key store {path}").format(path=keystore_path))
    if store.anchor_signer is not None:
        ctx.out.print(
            ctx._("trust anchor (put it in host configuration): {anchor}").format(
                anchor=store.anchor_signer.anchor.public_bytes().hex()
            )
        )


@keys.command("anchor")
@keystore_options
@handle_errors
def keys_anchor(keystore_path: Path, passphrase: str | None) -> None:
    """Print the public trust anchor held in a key store."""
    store = open_keystore(keystore_path, passphrase)
    if store.anchor_signer is None:
        raise KeyStoreError(
            f"key store {str(keystore_path)!r} holds no trust anchor; create one with "
            "`threeregs keys init --with-anchor`"
        )
    obj().out.print(store.anchor_signer.anchor.public_bytes().hex())


@keys.command("issue")
@database_option
@keystore_options
@click.option(
    "--anchor-store",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Key store that holds the trust anchor, if not the --keystore file.",
)
@click.option(
    "--suite",
    type=click.Choice(["x25519", "mlkem768-x25519"]),
    default="x25519",
    show_default=True,
    help="HPKE suite of the new key.",
)
@click.option(
    "--valid-days",
    type=click.IntRange(1, 36500),
    default=3 * 365,
    show_default=True,
    help="Validity period of the key, in days.",
)
@click.argument("offices", nargs=-1, required=True)
@handle_errors
def keys_issue(
    db_url: str,
    keystore_path: Path,
    passphrase: str | None,
    anchor_store: Path | None,
    suite: str,
    valid_days: int,
    offices: tuple[str, ...],
) -> None:
    """Issue the next key version for each OFFICE code; new filings use it at once."""
    ctx = obj()
    store = open_keystore(keystore_path, passphrase)
    signer = store.anchor_signer
    if anchor_store is not None:
        signer = open_keystore(anchor_store, None).anchor_signer
    if signer is None:
        raise KeyStoreError(
            "no trust anchor available to certify keys; pass --anchor-store with the "
            "store that holds it"
        )
    engine = open_engine(db_url)
    with engine.begin() as conn:
        directory = load_directory(conn)
        for code in offices:
            office = directory.get(code)
            pair = issue_key(
                conn,
                signer,
                store,
                office.code,
                level=int(office.level),
                valid_for=dt.timedelta(days=valid_days),
                suite=Suite.X25519 if suite == "x25519" else Suite.MLKEM768_X25519,
            )
            ctx.out.print(
                ctx._("issued key version {version} for {office}").format(
                    version=pair.key_version, office=office.name
                )
            )
        store.save()


@keys.command("list")
@database_option
@anchor_option
@click.argument("office")
@handle_errors
def keys_list(db_url: str, anchor_hex: str, office: str) -> None:
    """List the key versions of OFFICE and whether the trust anchor certifies them."""
    ctx = obj()
    anchor = read_anchor(anchor_hex)
    engine = open_engine(db_url)
    with engine.connect() as conn:
        load_directory(conn).get(office)
        rows = office_keys(conn, office)
    table = Table()
    for heading in (
        ctx._("version"),
        ctx._("suite"),
        ctx._("valid until"),
        ctx._("status"),
        ctx._("fingerprint"),
    ):
        table.add_column(heading)
    for certified, retired in rows:
        table.add_row(
            str(certified.record.key_version),
            certified.record.suite.name,
            certified.record.not_after.date().isoformat(),
            _status(certified, retired, anchor, office, ctx.locale),
            certified.record.fingerprint,
        )
    ctx.out.print(table)


def _status(
    certified: CertifiedKey, retired: bool, anchor: TrustAnchor, office: str, locale: str
) -> str:
    if retired:
        return _i18n.gettext("retired", locale)
    try:
        anchor.verify(certified, office_code=office, at=dt.datetime.now(dt.UTC))
    except UntrustedKeyError:
        return _i18n.gettext("NOT CERTIFIED", locale)
    return _i18n.gettext("active", locale)


@keys.command("export")
@database_option
@click.option(
    "--version", "key_version", type=int, default=None, help="Key version; default newest."
)
@click.argument("office")
@handle_errors
def keys_export(db_url: str, key_version: int | None, office: str) -> None:
    """Print the certified key record of OFFICE in hex."""
    engine = open_engine(db_url)
    with engine.connect() as conn:
        load_directory(conn).get(office)
        rows = office_keys(conn, office)
    chosen = [c for c, _ in rows if key_version is None or c.record.key_version == key_version]
    if not chosen:
        raise KeyStoreError(f"office {office!r} has no key version {key_version or ''}".strip())
    obj().out.print(chosen[-1].to_bytes().hex())


@keys.command("rewrap")
@database_option
@keystore_options
@anchor_option
@click.argument("office")
@handle_errors
def keys_rewrap(
    db_url: str, keystore_path: Path, passphrase: str | None, anchor_hex: str, office: str
) -> None:
    """Move every stored slot of OFFICE to its newest key version (resumable)."""
    ctx = obj()
    store = open_keystore(keystore_path, passphrase)
    engine = open_engine(db_url)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=ctx.err,
        disable=ctx.quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(ctx._("rewrapping slots"), total=None)

        def report(step: RewrapProgress) -> None:
            progress.update(task, completed=step.rewrapped, total=step.rewrapped + step.remaining)

        result = rewrap_office(engine, office, store, read_anchor(anchor_hex), progress=report)
    ctx.out.print(
        ctx._("rewrapped {count} slots of {office} to key version {version}").format(
            count=result.rewrapped, office=office, version=result.to_version
        )
    )


@keys.command("retire")
@database_option
@click.argument("office")
@click.argument("version", type=int)
@handle_errors
def keys_retire(db_url: str, office: str, version: int) -> None:
    """Retire key VERSION of OFFICE; refused while a stored slot still uses it."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        retire_key(conn, office, version)
    obj().out.print(
        obj()._("retired key version {version} of {office}").format(version=version, office=office)
    )
