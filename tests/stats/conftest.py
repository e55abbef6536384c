"""Fixtures of the statistics tests: the inspection-side database and bulk fact rows.

``THREEREGS_TEST_DATABASE_URL`` selects the statistics database as it selects
the host database. The statistics tables have names of their own, so both
sets can share a test database. Without it, each test gets an SQLite file of
its own, apart from the host's.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from stats_data import DATABASE_URL_VARIABLE, clear_stats

from threeregs.stats import create_stats_tables, drop_stats_tables

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def stats_server_engine() -> Iterator[sa.Engine | None]:
    """Return the engine of the server statistics database, with fresh tables, or None."""
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if not url:
        yield None
        return
    engine = sa.create_engine(url)
    drop_stats_tables(engine)
    create_stats_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def stats_engine(tmp_path: Path, stats_server_engine: sa.Engine | None) -> Iterator[sa.Engine]:
    """Return an engine on empty statistics tables."""
    if stats_server_engine is not None:
        clear_stats(stats_server_engine)
        yield stats_server_engine
        return
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'stats.sqlite3'}")
    create_stats_tables(engine)
    yield engine
    engine.dispose()
