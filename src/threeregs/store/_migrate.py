"""Running the shipped Alembic migrations of the threeregs tables.

threeregs records its revision in its own version table,
``threeregs_alembic_version``, so a host's ``alembic_version`` table and its
own migration history are never touched. Every threeregs revision carries the
branch label ``threeregs``, so a host that prefers to run our revisions from
its own Alembic environment can upgrade them with ``threeregs@head``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, LargeBinary
from sqlalchemy.dialects import mysql

from threeregs._errors import SchemaError

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from sqlalchemy import Column
    from sqlalchemy.types import TypeEngine

#: Table in which threeregs records the revision of its own tables.
VERSION_TABLE = "threeregs_alembic_version"

#: Name prefix of the inspection side's statistics tables. They belong in a
#: database of their own and are not part of these migrations.
STATS_TABLE_PREFIX = "threeregs_stat_"


def migrations_path() -> str:
    """Return the directory of the threeregs revision scripts.

    A host that runs Alembic from its own environment adds this directory to
    its ``version_locations`` and then upgrades ``threeregs@head``.
    """
    return str(_script_location() / "versions")


def upgrade(bind: Connection | Engine, revision: str = "head") -> None:
    """Create or upgrade the threeregs tables to ``revision``.

    With an ``Engine`` the upgrade runs in a transaction of its own and is
    committed. With a ``Connection`` it runs in the connection's transaction,
    begun here if none is open, and the caller commits. MariaDB and MySQL
    commit every DDL statement implicitly, whatever the transaction.
    Running it again at the target revision changes nothing.

    NOTE: Nothing coordinates two processes that upgrade the same database at
    once, so run the upgrade from one process, for example at deployment.

    Raises:
        SchemaError: the database is at a revision this version of threeregs
            does not ship, or Alembic rejects ``revision``.
    """
    _migrate(bind, revision, command.upgrade)


def downgrade(bind: Connection | Engine, revision: str) -> None:
    """Downgrade the threeregs tables to ``revision``, where ``"base"`` drops them all.

    Transactions and errors are handled as in :func:`upgrade`. Downgrading
    deletes the rows of every table that a reverted revision drops.
    """
    _migrate(bind, revision, command.downgrade)


def current_revision(bind: Connection | Engine) -> str | None:
    """Return the revision of the threeregs tables, or ``None`` before the first upgrade.

    Raises:
        SchemaError: the database is at a revision this version of threeregs
            does not ship.
    """
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return current_revision(connection)

    script = ScriptDirectory.from_config(_config())
    return _checked_revision(bind, script)


def is_migrated_table(name: str) -> bool:
    """Return whether the table ``name`` is one that the shipped migrations manage.

    Autogenerate compares these tables, and only these, with ``metadata``.
    """
    if name == VERSION_TABLE or name.startswith(STATS_TABLE_PREFIX):
        return False
    return name.startswith("threeregs_")


def compare_type(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Compare a column type for Alembic autogenerate, without MariaDB's blob renaming.

    MariaDB and MySQL store ``BLOB(n)`` as the smallest blob type that can
    store n bytes, so ``LargeBinary(32)`` is reflected as ``TINYBLOB``. Returns
    whether the types differ for that pairing, and ``None`` to leave every
    other column to Alembic's own comparison.
    """
    if context.dialect.name not in ("mysql", "mariadb"):
        return None
    if not isinstance(metadata_type, LargeBinary) or metadata_type.length is None:
        return None
    return type(inspected_type) is not _mysql_blob_type(metadata_type.length)


def _mysql_blob_type(length: int) -> type[TypeEngine[Any]]:
    if length < 2**8:
        return mysql.TINYBLOB
    if length < 2**16:
        return mysql.BLOB
    if length < 2**24:
        return mysql.MEDIUMBLOB
    return mysql.LONGBLOB


def _migrate(
    bind: Connection | Engine,
    revision: str,
    step: Callable[[Config, str], None],
) -> None:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            _migrate_connection(connection, revision, step)
        return

    # Alembic commits a transaction that it begins itself, but runs inside
    # one that is already open, which leaves the commit to the caller.
    if not bind.in_transaction():
        bind.begin()
    _migrate_connection(bind, revision, step)


def _migrate_connection(
    connection: Connection,
    revision: str,
    step: Callable[[Config, str], None],
) -> None:
    config = _config(connection)
    script = ScriptDirectory.from_config(config)
    _checked_revision(connection, script)

    try:
        step(config, revision)
    except CommandError as error:
        msg = f"cannot migrate the threeregs tables to revision {revision!r}: {error}"
        raise SchemaError(msg) from error


def _checked_revision(connection: Connection, script: ScriptDirectory) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    stored = context.get_current_heads()
    if not stored:
        return None

    shipped = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in stored if rev not in shipped]
    if unknown:
        msg = (
            f"the database is at threeregs revision {unknown[0]!r} (in table "
            f"{VERSION_TABLE}), which this version of threeregs does not ship; "
            f"install the threeregs version that created it or a later one"
        )
        raise SchemaError(msg)
    if len(stored) > 1:
        msg = (
            f"table {VERSION_TABLE} holds several threeregs revisions "
            f"{sorted(stored)!r}, but threeregs has one line of revisions; "
            f"keep the row of the latest one and delete the others"
        )
        raise SchemaError(msg)
    return stored[0]


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    # Config values are interpolated like an ini file, so a literal "%" is doubled.
    location = str(_script_location()).replace("%", "%%")
    config.set_main_option("script_location", location)
    if connection is not None:
        # env.py migrates this connection instead of creating an engine.
        config.attributes["connection"] = connection
    return config


def _script_location() -> Path:
    location = resources.files("threeregs.store") / "migrations"
    if not isinstance(location, Path):
        msg = (
            f"the threeregs migrations at {location} are not files on disk, so "
            f"Alembic cannot read them; install threeregs as a regular package, "
            f"not inside a zip archive"
        )
        raise SchemaError(msg)
    return location
