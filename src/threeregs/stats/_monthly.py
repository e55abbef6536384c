"""Monthly major-matters returns: the records they carry and who is overdue.

Every member of staff owes a monthly return, a zero return when there is
nothing to record. The records of the month's stage filings and anytime
records flow into it by :func:`monthly_return_records`, so nothing is typed
twice. :func:`overdue_returns` lists who has not filed by the due date, from a
staff roster and the host database's index of filed returns, which tells who
filed and when but nothing about the content.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select

from threeregs._errors import ValidationError
from threeregs._model import Filing, MonthlyObligation
from threeregs.stats._periods import CHINA_STANDARD_TIME, local_month, parse_month
from threeregs.store import _tables as host_tables
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from threeregs._model import Record
    from threeregs.policy._policy import Policy

__all__ = [
    "MonthlyIndexRow",
    "OverdueReturn",
    "ReturnState",
    "monthly_return_records",
    "overdue_returns",
    "read_monthly_index",
]


def monthly_return_records(
    filings: Iterable[Filing], *, person_id: str, month: str
) -> tuple[Record, ...]:
    """Collect the records that *person_id*'s monthly return for *month* carries.

    They are the records of the person's stage filings and anytime records
    filed in *month* (China Standard Time), oldest filing first, in their
    order within each filing. A filing superseded by another one among
    *filings* gives way to it, and a record that appears twice is kept once.
    Direct reports are left out: the monthly return goes to the person's own
    office, which must not learn what was reported past it. An empty result
    means a zero return.
    """
    MonthlyObligation(month)
    wanted = parse_month(month)
    chosen = [
        filing
        for filing in filings
        if filing.filer.person_id == person_id
        and filing.kind in ("stage", "anytime")
        and filing.direct_to is None
        and local_month(filing.filed_at) == wanted
    ]
    replaced = {filing.supersedes for filing in chosen if filing.supersedes is not None}
    chosen = [filing for filing in chosen if filing.filing_id not in replaced]
    chosen.sort(key=lambda filing: (filing.filed_at, filing.filing_id))

    records: dict[Record, None] = {}
    for filing in chosen:
        for record in filing.records:
            records.setdefault(record, None)
    return tuple(records)


@attrs.frozen
class MonthlyIndexRow:
    """One row of the host database's index of monthly returns."""

    person_id: str
    month: str
    office_code: str
    filed_at: dt.datetime


class ReturnState(enum.StrEnum):
    """Why a monthly return is listed as overdue."""

    #: Not filed, and the due date has passed.
    MISSING = "missing"
    #: Filed, but after the due date.
    LATE = "late"


@attrs.frozen
class OverdueReturn:
    """A member of staff whose monthly return was not filed by the due date."""

    person_id: str
    office_code: str
    month: str
    due: dt.date
    state: ReturnState
    #: When the return was filed, for a late one.
    filed_at: dt.datetime | None = None


def read_monthly_index(host_conn: object, month: str) -> Iterator[MonthlyIndexRow]:
    """Read the host database's index rows of monthly returns for *month*.

    The index is readable by anyone with access to the host database and
    holds no content; reading it needs no office key.
    """
    MonthlyObligation(month)
    m = host_tables.monthly_returns
    rows = connection_of(host_conn).execute(
        select(m.c.person_id, m.c.month, m.c.office_code, m.c.filed_at)
        .where(m.c.month == month)
        .order_by(m.c.person_id)
    )
    for row in rows:
        yield MonthlyIndexRow(row.person_id, row.month, row.office_code, row.filed_at)


def _as_row(value: object, index: int) -> MonthlyIndexRow:
    if isinstance(value, MonthlyIndexRow):
        return value
    fields: tuple[Any, ...] = tuple(value) if isinstance(value, Iterable) else ()
    if len(fields) != 4:
        raise ValidationError(
            f"returns[{index}]",
            value,
            "expected a MonthlyIndexRow or a (person_id, month, office_code, filed_at) row",
        )
    person_id, month, office_code, filed_at = fields
    if not isinstance(filed_at, dt.datetime) or filed_at.tzinfo is None:
        raise ValidationError(
            f"returns[{index}].filed_at", filed_at, "expected a timezone-aware datetime"
        )
    return MonthlyIndexRow(str(person_id), str(month), str(office_code), filed_at)


def overdue_returns(
    roster: Iterable[tuple[str, str]],
    returns: Iterable[MonthlyIndexRow | tuple[str, str, str, dt.datetime]],
    *,
    month: str,
    policy: Policy,
    as_of: dt.datetime,
) -> tuple[OverdueReturn, ...]:
    """List who on *roster* had not filed the monthly return for *month* by its due date.

    *roster* yields ``(person_id, office_code)`` of every member of staff who
    owes the return. *returns* are the host's index rows (for example from
    :func:`read_monthly_index`); rows of other months are ignored. The return
    is due by the end of ``policy.monthly_due(month)`` in China Standard Time.
    Before that moment, as judged at *as_of*, nobody is listed as missing.
    Late filers are listed too. The result is sorted by office, then person.
    """
    MonthlyObligation(month)
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None:
        raise ValidationError("as_of", as_of, "expected a timezone-aware datetime")
    due = policy.monthly_due(month)
    deadline = dt.datetime.combine(
        due + dt.timedelta(days=1), dt.time(), tzinfo=CHINA_STANDARD_TIME
    )

    filed: dict[str, dt.datetime] = {}
    for index, value in enumerate(returns):
        row = _as_row(value, index)
        if row.month != month:
            continue
        earliest = filed.get(row.person_id)
        if earliest is None or row.filed_at < earliest:
            filed[row.person_id] = row.filed_at

    listed: dict[str, OverdueReturn] = {}
    for person_id, office_code in roster:
        if person_id in listed:
            continue
        filed_at = filed.get(person_id)
        if filed_at is None:
            if as_of >= deadline:
                listed[person_id] = OverdueReturn(
                    person_id, office_code, month, due, ReturnState.MISSING
                )
        elif filed_at >= deadline:
            listed[person_id] = OverdueReturn(
                person_id, office_code, month, due, ReturnState.LATE, filed_at
            )
    return tuple(sorted(listed.values(), key=lambda item: (item.office_code, item.person_id)))
