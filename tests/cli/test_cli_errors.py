"""Bad input to the ``threeregs`` command: one clear line on stderr and the documented exit code.

Exit codes: 2 usage error, 3 invalid input, 4 key or passphrase error,
5 database error.
"""

from __future__ import annotations

import random
import shutil
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from cli_support import CHAIN, describe, error_line, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeregs.stats import create_stats_tables

if TYPE_CHECKING:
    from pathlib import Path

    from cli_support import Workspace

#: An office code that no office of the national directory has.
UNKNOWN_OFFICE = "999999"


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _database_commands(workspace: Workspace, db_url: str) -> dict[str, tuple[str, ...]]:
    """Return, by name, a command of each kind that reads the host database at *db_url*."""
    keystore = ("--keystore", str(workspace.keystore))
    return {
        "keys list": ("keys", "list", "--db", db_url, "--anchor", workspace.anchor, CHAIN[0]),
        "keys export": ("keys", "export", "--db", db_url, CHAIN[0]),
        "keys issue": ("keys", "issue", "--db", db_url, *keystore, CHAIN[0]),
        "keys retire": ("keys", "retire", "--db", db_url, CHAIN[0], "1"),
        "inbox list": ("inbox", "list", "--db", db_url, *keystore, "--reader", "r", CHAIN[0]),
    }


COMMANDS = ("keys list", "keys export", "keys issue", "keys retire", "inbox list")


# --- the database URL and file -------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_database_file(workspace: Workspace, tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nope.sqlite3"

    result = invoke(*_database_commands(workspace, f"sqlite:///{missing}")[command])

    line = error_line(result, 3)
    assert line.startswith("error: database file")
    assert "not found" in line
    assert "threeregs db init" in line
    assert not missing.exists()


@pytest.mark.parametrize("url", ["not a url", "sqlite//host.sqlite3", "://"])
def test_malformed_database_url(url: str) -> None:
    result = invoke("keys", "export", "--db", url, CHAIN[0])

    assert f"invalid --db {url!r}: not a SQLAlchemy URL" in error_line(result, 3)


def test_unknown_database_dialect() -> None:
    result = invoke("keys", "export", "--db", "sqlight:///host.sqlite3", CHAIN[0])

    assert "sqlight" in error_line(result, 3)


def test_missing_db_option() -> None:
    result = invoke("keys", "export", CHAIN[0])

    assert result.exit_code == 2, describe(result)
    assert "Missing option '--db'" in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_corrupt_database(workspace: Workspace, tmp_path: Path, command: str) -> None:
    database = tmp_path / "host.sqlite3"
    database.write_bytes(_random_bytes(8192, seed=5))

    result = invoke(*_database_commands(workspace, f"sqlite:///{database}")[command])

    assert error_line(result, 5) == "error: database error: file is not a database"


def test_db_init_on_corrupt_database(tmp_path: Path) -> None:
    database = tmp_path / "host.sqlite3"
    garbage = _random_bytes(8192, seed=6)
    database.write_bytes(garbage)

    result = invoke("db", "init", "--db", f"sqlite:///{database}")

    assert error_line(result, 5) == "error: database error: file is not a database"
    assert database.read_bytes() == garbage


@pytest.mark.parametrize("command", COMMANDS)
def test_database_without_tables(workspace: Workspace, tmp_path: Path, command: str) -> None:
    database = tmp_path / "host.sqlite3"
    database.touch()

    result = invoke(*_database_commands(workspace, f"sqlite:///{database}")[command])

    assert "error: database error: no such table: threeregs_" in error_line(result, 5)


def test_db_init_in_missing_folder(tmp_path: Path) -> None:
    database = tmp_path / "nope" / "host.sqlite3"

    result = invoke("db", "init", "--db", f"sqlite:///{database}")

    line = error_line(result, 3)
    assert f"the folder '{tmp_path / 'nope'}'" in line
    assert "does not exist; create it first" in line
    assert not (tmp_path / "nope").exists()


def test_db_init_with_bad_directory_csv(tmp_path: Path) -> None:
    offices = tmp_path / "offices.csv"
    offices.write_text("code,name\n330000,浙江省人民检察院\n", encoding="utf-8")
    database = tmp_path / "host.sqlite3"

    result = invoke("db", "init", "--db", f"sqlite:///{database}", "--directory", str(offices))

    assert "missing column level, parent_code" in error_line(result, 3)
    assert not database.exists()


# --- offices -------------------------------------------------------------


@pytest.mark.parametrize("command", ["keys list", "keys issue"])
def test_unknown_office(own_workspace: Workspace, command: str) -> None:
    args = _database_commands(own_workspace, own_workspace.db_url)[command]

    result = invoke(*args[:-1], UNKNOWN_OFFICE)

    assert error_line(result, 3) == (
        "error: no office with code '999999' is in the directory; "
        "check the code against the office directory in use"
    )


def test_unknown_office_export(workspace: Workspace) -> None:
    result = invoke("keys", "export", "--db", workspace.db_url, UNKNOWN_OFFICE)

    assert "no office with code '999999'" in error_line(result, 3)


def test_unknown_office_inbox(workspace: Workspace) -> None:
    result = invoke("inbox", "list", *workspace.inbox(), UNKNOWN_OFFICE)

    assert "no office with code '999999'" in error_line(result, 3)


def test_retire_unknown_version(workspace: Workspace) -> None:
    result = invoke("keys", "retire", "--db", workspace.db_url, CHAIN[0], "7")

    assert error_line(result, 4) == "error: office '330106' has no active key version 7 to retire"


# --- key stores and the trust anchor -------------------------------------


def test_wrong_passphrase(workspace: Workspace) -> None:
    result = invoke(
        "keys", "anchor", "--keystore", str(workspace.keystore), env={"THREEREGS_PASSPHRASE": "x"}
    )

    assert (
        error_line(result, 4)
        == f"error: wrong passphrase for key store {str(workspace.keystore)!r}"
    )


def test_wrong_passphrase_for_inbox(workspace: Workspace) -> None:
    result = invoke(
        "inbox", "list", *workspace.inbox(), CHAIN[0], env={"THREEREGS_PASSPHRASE": "x"}
    )

    assert "wrong passphrase" in error_line(result, 4)
    assert result.stdout == ""


def test_corrupt_keystore(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"
    keystore.write_bytes(_random_bytes(600, seed=7))

    result = invoke("keys", "anchor", "--keystore", str(keystore))

    assert error_line(result, 4) == f"error: {str(keystore)!r} is not a threeregs key store file"


def test_truncated_keystore(workspace: Workspace, tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"
    keystore.write_bytes(workspace.keystore.read_bytes()[:200])

    result = invoke("keys", "anchor", "--keystore", str(keystore))

    line = error_line(result, 4)
    assert "is damaged" in line
    assert "restore it from a backup" in line


def test_missing_keystore(workspace: Workspace, tmp_path: Path) -> None:
    keystore = tmp_path / "nope.trks"

    result = invoke(
        "inbox", "list", "--db", workspace.db_url, "--keystore", str(keystore),
        "--reader", "r", CHAIN[0],
    )  # fmt: skip

    assert error_line(result, 4) == (
        f"error: key store {str(keystore)!r} not found; create it with `threeregs keys init`"
    )


def test_keystore_is_folder(tmp_path: Path) -> None:
    result = invoke("keys", "anchor", "--keystore", str(tmp_path))

    assert result.exit_code == 2, describe(result)
    assert "is a directory" in result.stderr


def test_keys_init_on_existing_file(workspace: Workspace, tmp_path: Path) -> None:
    keystore = tmp_path / "keys.trks"
    shutil.copy(workspace.keystore, keystore)

    result = invoke("keys", "init", "--keystore", str(keystore), "--with-anchor")

    line = error_line(result, 3)
    assert line.startswith("error: invalid --keystore")
    assert line.endswith("the file exists; choose another path")
    assert keystore.read_bytes() == workspace.keystore.read_bytes()


@pytest.mark.parametrize(
    ("anchor", "problem"),
    [
        ("zz", "is not 64 hex digits; copy it from `threeregs keys anchor`"),
        ("00" * 31, "a trust anchor public key is 32 bytes (64 hex digits), got 31"),
        ("00" * 33, "a trust anchor public key is 32 bytes (64 hex digits), got 33"),
    ],
)
def test_malformed_anchor(workspace: Workspace, anchor: str, problem: str) -> None:
    result = invoke("keys", "list", "--db", workspace.db_url, "--anchor", anchor, CHAIN[0])

    assert problem in error_line(result, 4)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=400))
def test_any_bytes_as_keystore(tmp_path: Path, content: bytes) -> None:
    keystore = tmp_path / "keys.trks"
    keystore.write_bytes(content)

    result = invoke("keys", "anchor", "--keystore", str(keystore))

    assert "key store" in error_line(result, 4)


# --- match ---------------------------------------------------------------


@pytest.fixture
def filings(tmp_path: Path) -> Path:
    """Return an empty file of opened filings."""
    path = tmp_path / "opened.jsonl"
    path.write_text("", encoding="utf-8")
    return path


def test_match_clue_csv_bad_header(tmp_path: Path, filings: Path) -> None:
    clues = tmp_path / "clues.csv"
    clues.write_text("name,when\n王建国,2024-03-01\n", encoding="utf-8")

    result = invoke("match", str(clues), str(filings))

    line = error_line(result, 3)
    assert line.startswith(f"error: {clues}: unknown column 'name' in the header")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[{"clue_id": "c1",', "not valid JSON at line 1, column 19"),
        ('{"clue_id": "c1"}', "expected a JSON array of clue objects"),
    ],
)
def test_match_clue_json_malformed(
    tmp_path: Path, filings: Path, content: str, problem: str
) -> None:
    clues = tmp_path / "clues.json"
    clues.write_text(content, encoding="utf-8")

    result = invoke("match", str(clues), str(filings))

    assert f"error: {clues}: {problem}" in error_line(result, 3)


def test_match_strict_rejects_bad_row(tmp_path: Path, filings: Path) -> None:
    clues = tmp_path / "clues.jsonl"
    clues.write_text("{not json\n", encoding="utf-8")

    lenient = invoke("match", str(clues), str(filings))
    strict = invoke("match", "--strict", str(clues), str(filings))

    assert lenient.exit_code == 0, describe(lenient)
    assert f"{clues}, line 1: clue rejected: not valid JSON" in lenient.stderr
    assert "rows rejected: 1; the first is on line 1" in error_line(strict, 3)


def test_match_missing_clue_file(tmp_path: Path, filings: Path) -> None:
    clues = tmp_path / "nope.csv"

    result = invoke("match", str(clues), str(filings))

    assert error_line(result, 3) == f"error: {clues}: no such clue file"


def test_match_missing_filings_file(tmp_path: Path) -> None:
    clues = tmp_path / "clues.csv"
    clues.write_text("clue_id,source,occurred_from\n", encoding="utf-8")
    missing = tmp_path / "nope.jsonl"

    result = invoke("match", str(clues), str(missing))

    assert error_line(result, 3) == f"error: {missing}: no such filings file"


def test_match_malformed_filings_file(tmp_path: Path) -> None:
    clues = tmp_path / "clues.csv"
    clues.write_text("clue_id,source,occurred_from\n", encoding="utf-8")
    opened = tmp_path / "opened.jsonl"
    opened.write_text('{"filing_id": "x"}\n[1, 2\n', encoding="utf-8")

    result = invoke("match", str(clues), str(opened))

    assert f"error: {opened}, line " in error_line(result, 3)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=300), suffix=st.sampled_from(["csv", "json", "jsonl"]))
def test_match_any_bytes_as_clues(
    tmp_path: Path, filings: Path, content: bytes, suffix: str
) -> None:
    clues = tmp_path / f"clues.{suffix}"
    clues.write_bytes(content)

    result = invoke("match", str(clues), str(filings))

    # Without filings there can be no findings, so the command either reads
    # the file (0, rejected rows listed) or names the problem in one line (3).
    if result.exit_code == 0:
        assert "findings: 0;" in result.stderr, describe(result)
    else:
        error_line(result, 3)


# --- files the commands write --------------------------------------------


def test_export_into_missing_folder(workspace: Workspace, tmp_path: Path) -> None:
    output = tmp_path / "nope" / "opened.jsonl"

    result = invoke("inbox", "export", *workspace.inbox(), "-o", str(output), CHAIN[0])

    assert str(output) in error_line(result, 3)


def test_match_output_into_missing_folder(tmp_path: Path, filings: Path) -> None:
    clues = tmp_path / "clues.csv"
    clues.write_text("clue_id,source,occurred_from\n", encoding="utf-8")
    output = tmp_path / "nope" / "findings.csv"

    result = invoke("match", str(clues), str(filings), "--format", "csv", "-o", str(output))

    assert str(output) in error_line(result, 3)


# --- stats ---------------------------------------------------------------


def test_stats_without_statistics_tables(workspace: Workspace) -> None:
    result = invoke("stats", "--stats-db", workspace.db_url)

    line = error_line(result, 3)
    assert "the statistics database has no table threeregs_stat_facts" in line
    assert "create_stats_tables" in line


def test_stats_on_corrupt_database(tmp_path: Path) -> None:
    database = tmp_path / "stats.sqlite3"
    database.write_bytes(_random_bytes(8192, seed=8))

    result = invoke("stats", "--stats-db", f"sqlite:///{database}")

    assert error_line(result, 5) == "error: database error: file is not a database"


def test_stats_on_empty_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    engine = sa.create_engine(url)
    create_stats_tables(engine)
    engine.dispose()

    result = invoke("stats", "--stats-db", url)

    assert result.exit_code == 0, describe(result)
    assert result.stdout == "No filings were counted for these settings.\n"


def test_stats_missing_database_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"

    result = invoke("stats", "--stats-db", f"sqlite:///{missing}")

    assert "not found" in error_line(result, 3)
    assert not missing.exists()


def test_stats_malformed_url() -> None:
    result = invoke("stats", "--stats-db", "not a url")

    assert "not a SQLAlchemy URL" in error_line(result, 3)


def test_stats_bad_month() -> None:
    result = invoke("stats", "--stats-db", "sqlite://", "--from", "2025-13")

    assert "invalid from '2025-13'" in error_line(result, 3)


# --- the language --------------------------------------------------------


def test_unknown_lang_option() -> None:
    result = invoke("db", "init", "--db", "sqlite://", lang="fr")

    assert result.exit_code == 2, describe(result)
    assert "Invalid value for '--lang': 'fr' is not one of 'zh', 'en'" in result.stderr


def test_unknown_lang_variable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"

    result = invoke("db", "init", "--db", url, lang=None, env={"THREEREGS_LANG": "fr"})

    # A usage error, in click's format or on one line.
    assert not isinstance(result.exception, Exception), describe(result)
    assert result.exit_code == 2, describe(result)
    assert "invalid THREEREGS_LANG 'fr'" in result.stderr
