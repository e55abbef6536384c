"""pytest fixtures for database-backed tests of a host, rolled back after each test.

pytest loads this module through the ``pytest11`` entry point. It only
defines fixtures, so a test suite that requests none of them is unaffected;
``-p no:threeregs`` disables it. The fixtures need the host to define
``threeregs_engine``, returning the SQLAlchemy engine of its test database.

A test decorated with ``@given`` runs many examples in one call of the test
function, while function-scoped fixtures are set up once for all of them.
Such a test takes :func:`threeregs_connection` and wraps each example in
``example_transaction(threeregs_connection)``, a SAVEPOINT rolled back after
the example, with ``suppress_health_check=[HealthCheck.function_scoped_fixture]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session


@pytest.fixture
def threeregs_engine() -> Engine:
    """Return the engine of the test database; the host's conftest must override this."""
    pytest.fail(
        "the threeregs fixtures need the test database: define a fixture named "
        "threeregs_engine in conftest.py that returns its SQLAlchemy Engine",
        pytrace=False,
    )


@pytest.fixture
def threeregs_connection(threeregs_engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction that is rolled back after the test."""
    from threeregs.testing._transactions import example_transaction  # noqa: PLC0415 - lazy

    with example_transaction(threeregs_engine) as conn:
        yield conn


@pytest.fixture
def threeregs_session(threeregs_engine: Engine) -> Iterator[Session]:
    """Yield an ORM session whose work, commits included, is rolled back after the test."""
    from threeregs.testing._transactions import example_session  # noqa: PLC0415 - lazy

    with example_session(threeregs_engine) as session:
        yield session
