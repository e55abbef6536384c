"""The shipped Alembic migrations, on the database in THREEREGS_TEST_DATABASE_URL.

Without that variable the tests use an SQLite file in a temporary directory.
Each test starts and ends with no threeregs tables in the database.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.config import main as alembic_main
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from threeregs._errors import SchemaError
from threeregs.store import (
    current_revision,
    downgrade,
    metadata,
    migrations_path,
    upgrade,
)
from threeregs.store._migrate import compare_type, is_migrated_table
from threeregs.store._tables import envelopes, office_keys

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

VERSION_TABLE = "threeregs_alembic_version"
HOST_VERSION_TABLE = "testhost_alembic_version"
HOST_TABLE = "testhost_items"

HOST_ENV = """\
from alembic import context

context.configure(
    connection=context.config.attributes["connection"],
    version_table="testhost_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
"""

HOST_REVISION = """\
import sqlalchemy as sa
from alembic import op

revision = "host_0001"
down_revision = None
branch_labels = ("testhost",)
depends_on = None


def upgrade():
    op.create_table("testhost_items", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("testhost_items")
"""


def is_threeregs_table(name: str) -> bool:
    """Return whether the migrations create or use the table ``name``."""
    return name == VERSION_TABLE or is_migrated_table(name)


def is_host_table(name: str) -> bool:
    return name.startswith("testhost_")


def drop_tables(engine: sa.Engine, predicate: Callable[[str], bool]) -> None:
    reflected = sa.MetaData()
    reflected.reflect(engine, only=lambda name, _: predicate(name))
    reflected.drop_all(engine)


def table_names(
    engine: sa.Engine, predicate: Callable[[str], bool] = is_threeregs_table
) -> set[str]:
    return {name for name in sa.inspect(engine).get_table_names() if predicate(name)}


@pytest.fixture
def bare_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """Return an engine on the database under test, without the tables the migrations manage.

    A server database is shared with the other tests, which expect the
    tables of ``metadata`` to exist. If they existed before the test, they
    are created again afterwards, empty.
    """
    url = os.environ.get("THREEREGS_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path / 'threeregs.sqlite3'}"
    )
    engine = sa.create_engine(url)
    had_tables = bool(table_names(engine) & set(metadata.tables))
    drop_tables(engine, is_threeregs_table)
    yield engine

    drop_tables(engine, is_threeregs_table)
    if had_tables:
        metadata.create_all(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations_path()).parent))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the threeregs revisions have several heads: {heads}"
    return heads[0]


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name is not None and is_migrated_table(name)
    return True


def schema_differences(engine: sa.Engine) -> list[Any]:
    """List what Alembic autogenerate finds between the database and ``metadata``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": _include_name,
                "compare_type": compare_type,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, metadata))


def fractional_second_differences(engine: sa.Engine) -> list[str]:
    """List time columns whose fractional-second precision differs from ``metadata``.

    Autogenerate compares type arguments only when both sides have them, so
    it takes MariaDB's DATETIME and DATETIME(6) for the same type.
    """
    inspector = sa.inspect(engine)
    differences = []
    for table in metadata.sorted_tables:
        reflected = {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            expected = getattr(column.type.dialect_impl(engine.dialect), "fsp", None)
            actual = getattr(reflected[column.name], "fsp", None)
            if expected != actual:
                differences.append(f"{table.name}.{column.name}: fsp {actual}, expected {expected}")
    return differences


def version_rows(engine: sa.Engine, table: str = VERSION_TABLE) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT version_num FROM {table}"))
        return sorted(row[0] for row in rows)


def host_config(tmp_path: Path, threeregs_location: str) -> Config:
    """Build the Alembic configuration of a host with one revision of its own."""
    script_location = tmp_path / "host_migrations"
    versions = script_location / "versions"
    versions.mkdir(parents=True)
    (script_location / "env.py").write_text(HOST_ENV)
    (versions / "host_0001.py").write_text(HOST_REVISION)

    config = Config()
    config.set_main_option("script_location", str(script_location))
    # The package-resource form "package:path" contains a colon, so the
    # locations are separated by newlines, not by os.pathsep.
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", f"{versions}\n{threeregs_location}")
    return config


# --- the initial schema ----------------------------------------------------


def test_upgrade_creates_every_table(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)

    assert table_names(bare_engine) == set(metadata.tables) | {VERSION_TABLE}


def test_upgrade_matches_metadata(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)

    assert schema_differences(bare_engine) == []
    assert fractional_second_differences(bare_engine) == []


def test_upgraded_tables_keep_microseconds_and_blobs(bare_engine: sa.Engine) -> None:
    # A certificate above 64 KiB, the limit of MariaDB's plain BLOB.
    certificate = bytes(range(256)) * 400
    issued_at = dt.datetime(2024, 5, 17, 8, 30, 15, 123456, tzinfo=dt.UTC)
    upgrade(bare_engine)

    with bare_engine.begin() as connection:
        connection.execute(
            office_keys.insert().values(
                office_code="330106",
                key_version=1,
                certificate=certificate,
                issued_at=issued_at,
            )
        )
    with bare_engine.connect() as connection:
        row = connection.execute(sa.select(office_keys)).one()

    assert row.certificate == certificate
    assert row.issued_at == issued_at


# --- revisions -------------------------------------------------------------


def test_current_revision_before_upgrade(bare_engine: sa.Engine) -> None:
    assert current_revision(bare_engine) is None


def test_current_revision_after_upgrade(bare_engine: sa.Engine, head: str) -> None:
    upgrade(bare_engine)

    assert current_revision(bare_engine) == head
    assert version_rows(bare_engine) == [head]


def test_upgrade_twice_changes_nothing(bare_engine: sa.Engine, head: str) -> None:
    upgrade(bare_engine)
    upgrade(bare_engine)

    assert current_revision(bare_engine) == head
    assert version_rows(bare_engine) == [head]
    assert schema_differences(bare_engine) == []


def test_upgrade_on_connection_leaves_commit_to_caller(bare_engine: sa.Engine, head: str) -> None:
    with bare_engine.connect() as connection:
        upgrade(connection)
        assert connection.in_transaction()
        assert current_revision(connection) == head
        connection.commit()

    assert current_revision(bare_engine) == head


def test_downgrade_to_base_drops_tables(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "base")

    assert table_names(bare_engine) == {VERSION_TABLE}
    assert current_revision(bare_engine) is None
    assert version_rows(bare_engine) == []


def test_upgrade_after_downgrade_restores_tables(bare_engine: sa.Engine, head: str) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "base")
    upgrade(bare_engine)

    assert current_revision(bare_engine) == head
    assert schema_differences(bare_engine) == []


def envelope_indexes(engine: sa.Engine) -> dict[str, list[str]]:
    return {
        index["name"]: list(index["column_names"])
        for index in sa.inspect(engine).get_indexes("threeregs_envelopes")
        if index["name"] and index["name"].startswith("ix_threeregs_envelopes_slot")
    }


def test_slot_indexes_gain_seq_and_keep_rows(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine, "0001_initial")
    row = {
        "filing_id": "f" * 32,
        "digest": "0" * 64,
        "received_at": dt.datetime(2024, 5, 17, tzinfo=dt.UTC),
        "slot0_office": "330106",
        "slot0_version": 1,
        "envelope": b"sealed",
    }
    with bare_engine.begin() as connection:
        connection.execute(envelopes.insert().values(row))
    before = envelope_indexes(bare_engine)

    upgrade(bare_engine)
    after = envelope_indexes(bare_engine)
    with bare_engine.connect() as connection:
        stored = connection.execute(sa.select(envelopes.c.filing_id, envelopes.c.envelope)).all()

    assert before == {f"ix_threeregs_envelopes_slot{i}": [f"slot{i}_office"] for i in range(4)}
    assert after == {
        f"ix_threeregs_envelopes_slot{i}_seq": [f"slot{i}_office", "seq"] for i in range(4)
    }
    assert stored == [("f" * 32, b"sealed")]


def test_downgrade_restores_office_only_indexes(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)
    downgrade(bare_engine, "0001_initial")

    assert envelope_indexes(bare_engine) == {
        f"ix_threeregs_envelopes_slot{i}": [f"slot{i}_office"] for i in range(4)
    }


# --- errors ----------------------------------------------------------------


def test_unknown_stored_revision_current(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)
    with bare_engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))

    with pytest.raises(SchemaError, match="9999_future"):
        current_revision(bare_engine)


def test_unknown_stored_revision_upgrade(bare_engine: sa.Engine) -> None:
    upgrade(bare_engine)
    with bare_engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))

    with pytest.raises(SchemaError, match="9999_future"):
        upgrade(bare_engine)


def test_unknown_target_revision(bare_engine: sa.Engine) -> None:
    with pytest.raises(SchemaError, match="no_such_revision"):
        upgrade(bare_engine, "no_such_revision")

    assert table_names(bare_engine) <= {VERSION_TABLE}


# --- other ways to run the revisions --------------------------------------


@pytest.mark.parametrize("location_form", ["path", "package-resource"])
def test_host_environment_upgrades_threeregs_branch(
    bare_engine: sa.Engine, tmp_path: Path, head: str, location_form: str
) -> None:
    location = migrations_path()
    if location_form == "package-resource":
        location = "threeregs.store:migrations/versions"
    config = host_config(tmp_path, location)
    drop_tables(bare_engine, is_host_table)
    try:
        with bare_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "threeregs@head")
        assert table_names(bare_engine, is_host_table) == {HOST_VERSION_TABLE}
        assert version_rows(bare_engine, HOST_VERSION_TABLE) == [head]

        with bare_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
        assert table_names(bare_engine, is_host_table) == {HOST_VERSION_TABLE, HOST_TABLE}
        assert version_rows(bare_engine, HOST_VERSION_TABLE) == sorted([head, "host_0001"])

        # The host records our revision in its own version table, so
        # threeregs' version table is never created.
        assert VERSION_TABLE not in table_names(bare_engine)
        assert schema_differences(bare_engine) == []
    finally:
        drop_tables(bare_engine, is_host_table)


def test_command_line_upgrade_and_check(bare_engine: sa.Engine, head: str) -> None:
    ini = str(Path(migrations_path()).parent / "alembic.ini")
    url = bare_engine.url.render_as_string(hide_password=False)

    alembic_main(argv=["--raiseerr", "-c", ini, "-x", f"url={url}", "upgrade", "head"])
    # "check" raises when autogenerate finds an operation to write.
    alembic_main(argv=["--raiseerr", "-c", ini, "-x", f"url={url}", "check"])

    assert current_revision(bare_engine) == head
