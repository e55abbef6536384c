"""Options shared by several commands: database, key store, trust anchor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from threeregs._errors import SchemaError, ValidationError
from threeregs.cli._app import obj
from threeregs.crypto._keys import TrustAnchor
from threeregs.crypto._keystore import PassphraseKeyStore
from threeregs.store._connection import use_immediate_transactions

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

F = TypeVar("F", bound="Callable[..., Any]")


def database_option(func: F) -> F:
    """Add ``--db URL`` (or ``THREEREGS_DATABASE_URL``)."""
    return click.option(
        "--db",
        "db_url",
        envvar="THREEREGS_DATABASE_URL",
        required=True,
        metavar="URL",
        help="SQLAlchemy URL of the host database, e.g. sqlite:///cases.sqlite3 "
        "[env THREEREGS_DATABASE_URL].",
    )(func)


def keystore_options(func: F) -> F:
    """Add ``--keystore FILE`` and ``--passphrase``."""
    func = click.option(
        "--passphrase",
        envvar="THREEREGS_PASSPHRASE",
        default=None,
        help="Key store passphrase; prompted for when omitted [env THREEREGS_PASSPHRASE].",
    )(func)
    return click.option(
        "--keystore",
        "keystore_path",
        envvar="THREEREGS_KEYSTORE",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Passphrase-protected key store file [env THREEREGS_KEYSTORE].",
    )(func)


def anchor_option(func: F) -> F:
    """Add ``--anchor HEX`` (or ``THREEREGS_TRUST_ANCHOR``)."""
    return click.option(
        "--anchor",
        "anchor_hex",
        envvar="THREEREGS_TRUST_ANCHOR",
        required=True,
        metavar="HEX",
        help="Trust anchor public key, 64 hex digits, from host configuration "
        "[env THREEREGS_TRUST_ANCHOR].",
    )(func)


def open_engine(
    url: str,
    *,
    must_exist: bool = True,
    option: str = "--db",
    create_hint: str = "create it with `threeregs db init`",
) -> Engine:
    """Create an engine for *url*, refusing an SQLite file that does not exist."""
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError:
        raise ValidationError(
            option, url, "not a SQLAlchemy URL; write it like sqlite:///path/to/file.sqlite3"
        ) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and must_exist:
        if database in ("", ":memory:") or not Path(database).is_file():
            raise SchemaError(f"database file {database!r} not found; {create_hint}")
    elif parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        folder = Path(database).parent
        if not folder.is_dir():
            raise SchemaError(
                f"the folder {str(folder)!r} of database file {database!r} does not exist; "
                "create it first"
            )
    try:
        engine = sa.create_engine(url)
    except NoSuchModuleError:
        raise ValidationError(
            option, url, f"unknown database dialect {parsed.drivername!r}"
        ) from None
    return use_immediate_transactions(engine)


def read_anchor(text: str) -> TrustAnchor:
    """Build the trust anchor from the option's hex text."""
    return TrustAnchor.from_hex(text)


def passphrase_for(path: Path, given: str | None, *, confirm: bool = False) -> str:
    """Return *given*, or prompt for the passphrase of the key file at *path*."""
    if given is not None:
        return given
    prompt = obj()._("Passphrase for {path}").format(path=path)
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def open_keystore(path: Path, passphrase: str | None) -> PassphraseKeyStore:
    """Open the key store at *path*, prompting for the passphrase if needed."""
    return PassphraseKeyStore.open(path, passphrase_for(path, passphrase))
