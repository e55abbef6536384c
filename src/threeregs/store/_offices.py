"""Offices and their certified keys in the host database."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update

from threeregs._errors import KeyNotFoundError, SchemaError, UntrustedKeyError
from threeregs.crypto._keys import CertifiedKey
from threeregs.routing._directory import Directory, Level, Office
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from threeregs.crypto._keys import TrustAnchor

#: Rows per INSERT when saving a directory.
_BATCH = 1000


def save_directory(conn: Connection, directory: Directory) -> None:
    """Replace the offices stored in the database with *directory*."""
    conn.execute(delete(t.offices))
    rows = [
        {"code": o.code, "name": o.name, "level": int(o.level), "parent_code": o.parent_code}
        for o in directory
    ]
    for start in range(0, len(rows), _BATCH):
        conn.execute(insert(t.offices), rows[start : start + _BATCH])


def load_directory(conn: Connection) -> Directory:
    """Read the office directory stored in the database."""
    rows = conn.execute(select(t.offices)).all()
    if not rows:
        raise SchemaError(
            "no offices are stored; save a directory first with "
            "threeregs.store.save_directory(conn, Directory.national())"
        )
    return Directory(
        Office(code=r.code, name=r.name, level=Level(r.level), parent_code=r.parent_code)
        for r in rows
    )


def add_office_key(
    conn: Connection, certified: CertifiedKey, *, anchor: TrustAnchor, at: dt.datetime | None = None
) -> None:
    """Store a certified office key after checking it against *anchor*.

    New filings use the office's highest active key version from then on.
    """
    when = at or dt.datetime.now(dt.UTC)
    record = certified.record
    anchor.verify(certified, office_code=record.office_code, at=when)
    exists = conn.execute(
        select(t.office_keys.c.key_version).where(
            t.office_keys.c.office_code == record.office_code,
            t.office_keys.c.key_version == record.key_version,
        )
    ).first()
    if exists:
        raise UntrustedKeyError(
            f"office {record.office_code!r} already has key version {record.key_version}; "
            "issue the next version instead"
        )
    conn.execute(
        insert(t.office_keys).values(
            office_code=record.office_code,
            key_version=record.key_version,
            certificate=certified.to_bytes(),
            issued_at=when,
        )
    )


def office_keys(conn: Connection, office_code: str) -> list[tuple[CertifiedKey, bool]]:
    """Return the office's stored keys, oldest first, each with whether it is retired."""
    rows = conn.execute(
        select(t.office_keys.c.certificate, t.office_keys.c.retired_at)
        .where(t.office_keys.c.office_code == office_code)
        .order_by(t.office_keys.c.key_version)
    ).all()
    return [(CertifiedKey.from_bytes(r.certificate), r.retired_at is not None) for r in rows]


def retire_key(conn: Connection, office_code: str, key_version: int) -> None:
    """Mark a key version retired; refuse while any stored slot still uses it."""
    in_use = conn.execute(
        select(t.envelopes.c.seq).where(t.slots_of(office_code, key_version=key_version)).limit(1)
    ).first()
    if in_use is not None:
        raise UntrustedKeyError(
            f"key version {key_version} of office {office_code!r} still protects stored "
            "filings; run the rewrap job to the newer version first"
        )
    result = conn.execute(
        update(t.office_keys)
        .where(
            t.office_keys.c.office_code == office_code,
            t.office_keys.c.key_version == key_version,
            t.office_keys.c.retired_at.is_(None),
        )
        .values(retired_at=dt.datetime.now(dt.UTC))
    )
    if result.rowcount != 1:
        raise KeyNotFoundError(
            f"office {office_code!r} has no active key version {key_version} to retire"
        )
