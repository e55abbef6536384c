"""Creating and dropping the threeregs tables outside Alembic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threeregs.store._tables import metadata

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def create_tables(bind: Connection | Engine) -> None:
    """Create the threeregs tables that do not exist yet.

    For tests and the embedded demo; production hosts run the shipped Alembic
    migrations instead (see the integration guide).
    """
    metadata.create_all(bind)


def drop_tables(bind: Connection | Engine) -> None:
    """Drop every threeregs table."""
    metadata.drop_all(bind)
