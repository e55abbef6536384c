"""Counting the SQL statements that an engine sends, for the statement-count tests."""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Statements that the design's statement counts leave out.
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@contextlib.contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect the SQL statements *engine* sends while the block runs, transaction control aside."""
    statements: list[str] = []

    def record(conn: sa.Connection, cursor: Any, statement: str, *rest: Any) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
