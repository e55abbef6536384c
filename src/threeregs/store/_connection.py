"""Joining the host's transaction, whatever it hands us."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from threeregs._errors import ValidationError


def connection_of(conn: Any) -> Connection:
    """Return the ``Connection`` behind a host's ``Connection`` or ``Session``.

    A session's connection is taken with ``Session.connection()``, which
    begins the session's transaction if needed, so our statements run in it.
    """
    if isinstance(conn, Connection):
        return conn
    if isinstance(conn, Session):
        return conn.connection()
    raise ValidationError(
        "conn",
        type(conn).__name__,
        "expected a SQLAlchemy Connection or Session in the host's transaction",
    )


def use_immediate_transactions(engine: Engine) -> Engine:
    """Make an SQLite engine start every transaction with ``BEGIN IMMEDIATE``.

    SQLite's default deferred transactions take the write lock only at the
    first write, so two transactions can both read a case and then one fails
    to upgrade. Taking the lock at ``BEGIN`` makes writers queue instead, which
    is what the gate's read-then-write steps need. Other dialects are left
    as they are.
    """
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself instead of the sqlite3 module.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
