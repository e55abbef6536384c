"""Low-level helpers of the log stream of :func:`~threeregs.store.verify`.

They cover reads that skip SQLAlchemy's per-row processing, the bulk
comparison of a page of leaves with its entries and envelope rows, and an
envelope content digest that returns None where the full parser would raise.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import struct
from typing import TYPE_CHECKING, Any, Final

from threeregs.crypto._envelope import (
    CORE_FIXED,
    MAGIC,
    MAX_SLOTS,
    OFFICE_FIELD,
    SIZE_CLASSES,
)
from threeregs.crypto._envelope import VERSION as ENVELOPE_VERSION
from threeregs.crypto._keys import Suite
from threeregs.store._log import LEAF_SIZE, LEAF_VERSION

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection, Select


class _PlainQuery:
    """A statement compiled once and run on the driver's cursor, returning plain tuples.

    This skips SQLAlchemy's per-row result processing, which is most of the
    cost of reading a million rows. It is only for columns that need no
    processing (integers, strings and bytes).
    """

    def __init__(self, db: Connection, statement: Select[Any]) -> None:
        self.db = db
        compiled = statement.compile(dialect=db.dialect)
        self.sql = str(compiled)
        self.defaults = compiled.construct_params()
        self.order = compiled.positiontup
        # psycopg's binary format gives the same Python types as its text
        # format, and spares parsing bytea values written out in hex.
        self.cursor_options = {"binary": True} if db.dialect.driver == "psycopg" else {}

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        """Execute the statement with *values* and return every row."""
        params = {**self.defaults, **values}
        order = self.order
        arguments = params if order is None else tuple(params[name] for name in order)
        connection = self.db.connection.dbapi_connection
        cursor = connection.cursor(**self.cursor_options)  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql, arguments)
            return list(cursor.fetchall())
        finally:
            cursor.close()


# The fields of a v1 leaf (see LogLeaf) that the bulk check compares: log
# index, filing id and content digest. The version byte and receipt time are skipped.
_LEAF_FIELDS: Final = "xQ16s32s8x"


@functools.lru_cache(maxsize=4)
def _page_layout(count: int) -> struct.Struct:
    """Return the struct that cuts *count* joined leaves into their fields."""
    return struct.Struct(">" + _LEAF_FIELDS * count)


def _leaves_match(
    leaves: Sequence[bytes], first: int, filing_ids: Sequence[str], digests: Sequence[str]
) -> bool:
    """Tell whether each leaf is a v1 leaf of its log index (*first* on), filing id and digest.

    The hex strings are compared joined by newlines. A newline is not a hex
    digit, so the joined strings are equal only when each string equals the
    hex of its own field.
    """
    count = len(leaves)
    if list(map(len, leaves)).count(LEAF_SIZE) != count:
        return False
    joined = b"".join(leaves)
    fields = _page_layout(count).unpack(joined)
    return (
        joined[::LEAF_SIZE] == bytes((LEAF_VERSION,)) * count
        and fields[0::3] == tuple(range(first, first + count))
        and b"".join(fields[1::3]).hex("\n", 16) == "\n".join(filing_ids)
        and b"".join(fields[2::3]).hex("\n", 32) == "\n".join(digests)
    )


def _columns(rows: Sequence[Any], width: int) -> list[list[Any]]:
    """Return the first *width* columns of *rows* as lists.

    ``zip(*rows)`` would create an iterator object per row, and so many
    short-lived objects make the garbage collector run a full collection
    every few hundred thousand entries.
    """
    return [list(map(operator.itemgetter(column), rows)) for column in range(width)]


def _as_bytes(value: Any) -> Any:
    """Return a driver's memoryview or bytearray as bytes, and any other value unchanged."""
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _content_digest(data: bytes) -> str | None:
    """Return :func:`content_digest` of *data*, or None where it would raise.

    Checks the lengths that :func:`parse_header` checks, but not the office
    codes: they lie in the header core, so an envelope whose digest matches
    the log has the same, valid, codes as when it was filed.
    """
    if len(data) < CORE_FIXED or data[:4] != _ENVELOPE_PREFIX:
        return None
    slot_length = _SLOT_LENGTHS.get(data[4])
    count = data[21]
    padded = int.from_bytes(data[22:26])
    if slot_length is None or not 1 <= count <= MAX_SLOTS or padded not in SIZE_CLASSES:
        return None
    core_end = CORE_FIXED + OFFICE_FIELD * count
    if len(data) != core_end + count * (4 + slot_length) + padded + 16:
        return None
    digest = hashlib.sha256(data[:core_end])
    digest.update(memoryview(data)[-padded - 16 :])
    return digest.hexdigest()


_ENVELOPE_PREFIX: Final = MAGIC + bytes([ENVELOPE_VERSION])
_SLOT_LENGTHS: Final = {int(suite): suite.slot_length for suite in Suite}
