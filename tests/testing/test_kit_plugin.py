"""The pytest plugin's fixtures roll every test back, and fail clearly without an engine."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest
from kit_support import entry_point_installed, run_python

if TYPE_CHECKING:
    from pathlib import Path

CONFTEST = """
import pytest
import sqlalchemy as sa

from threeregs.store import create_tables, use_immediate_transactions


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "host.sqlite3"
    engine = use_immediate_transactions(sa.create_engine(f"sqlite:///{path}"))
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def threeregs_engine(engine):
    return engine
"""

TESTS = """
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from threeregs import StageGate
from threeregs.store import metadata
from threeregs.testing import example_transaction

CASES = metadata.tables["threeregs_cases"]


def count(conn):
    return conn.execute(sa.select(sa.func.count()).select_from(CASES)).scalar_one()


def open_case(conn, case_id):
    StageGate().open_case(conn, case_id, business_line="criminal", office_code="330106")


def test_1_connection(threeregs_connection):
    open_case(threeregs_connection, "C-1")
    assert count(threeregs_connection) == 1


def test_2_session_commit(threeregs_session):
    open_case(threeregs_session, "C-2")
    threeregs_session.commit()
    assert count(threeregs_session.connection()) == 1


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=1, max_value=3))
def test_3_examples_in_savepoints(threeregs_connection, number):
    if count(threeregs_connection) == 0:
        open_case(threeregs_connection, "C-outer")
    with example_transaction(threeregs_connection) as conn:
        for index in range(number):
            open_case(conn, f"C-{index}")
        assert count(conn) == number + 1
    assert count(threeregs_connection) == 1


def test_4_nothing_left(engine):
    with engine.connect() as conn:
        assert count(conn) == 0
"""

NO_ENGINE = """
def test_needs_engine(threeregs_connection):
    pass
"""


def run_pytest(directory: Path, *args: str) -> tuple[int, str]:
    result = run_python(
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        *args,
        cwd=directory,
        PYTEST_ADDOPTS="",
    )
    return result.returncode, result.stdout + result.stderr


def explicit_plugin(directory: Path) -> tuple[int, str]:
    """Run pytest in *directory* with only the threeregs plugin, installed or not."""
    return run_pytest(directory, "-p", "threeregs.testing.pytest_plugin")


@pytest.fixture
def host_suite(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (tmp_path / "test_host.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    return tmp_path


def test_fixtures_roll_back(host_suite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    code, output = explicit_plugin(host_suite)

    assert code == 0, output
    assert "4 passed" in output


def test_missing_engine_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "test_host.py").write_text(textwrap.dedent(NO_ENGINE), encoding="utf-8")

    code, output = explicit_plugin(tmp_path)

    assert code == 1, output
    assert "define a fixture named threeregs_engine" in output


@pytest.mark.skipif(
    not entry_point_installed("pytest11"),
    reason="threeregs is not installed, so pytest cannot find its plugin",
)
def test_plugin_loads_itself(host_suite: Path) -> None:
    code, output = run_pytest(host_suite)

    assert code == 0, output
    assert "4 passed" in output
