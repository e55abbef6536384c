"""Transactions that are always rolled back, one per hypothesis example.

A property test that writes to a database must start each example from the
same rows. Creating tables or reloading office keys per example is slow, so
the helpers here run each example in a transaction, or in a SAVEPOINT inside
an enclosing test transaction, and roll it back afterwards.

SQLite needs an engine prepared with
:func:`threeregs.store.use_immediate_transactions`, which lets SQLAlchemy emit
``BEGIN`` itself; with the ``sqlite3`` module's own transaction handling,
SAVEPOINTs do not nest correctly.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from threeregs._errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import sessionmaker


@contextlib.contextmanager
def example_transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """Yield a connection in a transaction that is rolled back on exit.

    Given an :class:`~sqlalchemy.Engine`, a new connection begins a
    transaction. Given a :class:`~sqlalchemy.Connection` that is already in a
    transaction, the example runs in a SAVEPOINT on it, so rows written
    before it (offices, keys, a case under test) stay for the next example.
    The code under test must not commit the connection; a host that commits
    its session should use :func:`example_session` instead.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            outer = conn.begin()
            try:
                yield conn
            finally:
                if outer.is_active:
                    outer.rollback()
        return
    if not isinstance(bind, Connection):
        raise ValidationError(
            "bind", type(bind).__name__, "expected a SQLAlchemy Engine or Connection"
        )
    if not bind.in_transaction():
        outer = bind.begin()
        try:
            yield bind
        finally:
            if outer.is_active:
                outer.rollback()
        return
    savepoint = bind.begin_nested()
    try:
        yield bind
    finally:
        if savepoint.is_active:
            savepoint.rollback()


@contextlib.contextmanager
def example_session(
    bind: Engine | Connection, *, session_factory: sessionmaker[Session] | None = None
) -> Iterator[Session]:
    """Yield an ORM session whose work is rolled back on exit, even if it commits.

    The session joins an :func:`example_transaction` in SQLAlchemy's
    ``create_savepoint`` mode: ``session.commit()`` in the code under test
    releases a SAVEPOINT instead of committing, and ``session.rollback()``
    returns to it. Pass the host's *session_factory* to keep its session
    options.
    """
    with example_transaction(bind) as conn:
        if session_factory is None:
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
        else:
            session = session_factory(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
