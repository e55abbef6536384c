"""Importing opened filings into the inspection-side statistics database.

The import streams: it reads the items in batches, writes each batch with one
``executemany`` per table and keeps nothing of earlier batches, so memory
does not grow with the number of filings. It is idempotent by filing id, so
an inbox can be imported again after more filings arrived.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any, Final

import attrs
from sqlalchemy import insert, select, update

from threeregs._errors import ValidationError
from threeregs._inbox import InboxItem, Outcome
from threeregs._model import Filing
from threeregs.stats._periods import local_month
from threeregs.stats._tables import check_stats_tables, stat_facts, stat_records
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy import Connection

    from threeregs.routing._directory import Directory

__all__ = ["ImportSummary", "import_opened"]

logger = logging.getLogger(__name__)

#: Filings written per round trip.
BATCH: Final = 1000
# Ids per IN list: SQLite before 3.32 allows 999 bound parameters per statement.
_IN_LIST: Final = 900


@attrs.frozen
class ImportSummary:
    """Counts of one import."""

    #: Filings written to the statistics database.
    imported: int
    #: Filings whose id was already there, left unchanged.
    already_present: int
    #: Inbox items that held no opened filing (decoys, failures, missing keys).
    skipped: int


def _recipient(filing: Filing, directory: Directory) -> str:
    """Return the office whose inspection department the policy routes *filing* to.

    This follows the default policy: the filer's own office, or for a direct
    report the office of that level in the filer's chain.
    """
    chain = directory.chain(filing.filer.office_code)
    if filing.direct_to is None:
        return chain[0].code
    for office in chain:
        if office.level == filing.direct_to:
            return office.code
    raise ValidationError(
        "direct_to",
        filing.direct_to.name.lower(),
        f"no office of this level is in the chain of office {filing.filer.office_code!r}; "
        "pass recipient= with the code of the office that opened the filing",
    )


def _fact_row(filing: Filing, directory: Directory, recipient: str | None) -> dict[str, Any]:
    office = directory.get(filing.filer.office_code)
    year, month = local_month(filing.filed_at)
    return {
        "filing_id": filing.filing_id,
        "office_code": office.code,
        "level": int(office.level),
        "person_id": filing.filer.person_id,
        "recipient_code": recipient or _recipient(filing, directory),
        "kind": filing.kind,
        "is_zero": filing.is_zero,
        "record_count": len(filing.records),
        "direct_to": None if filing.direct_to is None else int(filing.direct_to),
        "supersedes": filing.supersedes,
        "superseded": False,
        "filed_at": filing.filed_at,
        "year": year,
        "quarter": (month - 1) // 3 + 1,
        "month": month,
        "year_month": year * 100 + month,
    }


_COPIED: Final = (
    "level",
    "recipient_code",
    "kind",
    "superseded",
    "year",
    "quarter",
    "month",
    "year_month",
)


def _record_rows(filing: Filing, fact: dict[str, Any]) -> Iterator[dict[str, Any]]:
    copied = {name: fact[name] for name in _COPIED}
    for position, record in enumerate(filing.records):
        yield {
            "filing_id": filing.filing_id,
            "position": position,
            "provision": record.provision.value,
            "conduct": record.conduct.value,
            "bucket": record.bucket.value,
            "role": record.intervener.role.value,
            "manner": record.manner.value,
            "procuratorate_staff": record.intervener.procuratorate_staff,
            "own_office_leader": record.intervener.own_office_leader,
            "occurred_at": record.occurred_at,
            **copied,
        }


def _opened(items: Iterable[InboxItem | Filing], skipped: list[int]) -> Iterator[Filing]:
    for index, item in enumerate(items):
        if isinstance(item, Filing):
            yield item
        elif isinstance(item, InboxItem):
            if item.outcome is Outcome.OPENED and item.filing is not None:
                yield item.filing
            else:
                skipped[0] += 1
        else:
            raise ValidationError(f"items[{index}]", item, "expected an InboxItem or a Filing")


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_LIST):
        yield values[start : start + _IN_LIST]


def _write_batch(
    db: Connection, filings: list[Filing], directory: Directory, recipient: str | None
) -> int:
    f = stat_facts.c
    ids = list(dict.fromkeys(filing.filing_id for filing in filings))
    present: set[str] = set()
    for chunk in _chunks(ids):
        present.update(db.execute(select(f.filing_id).where(f.filing_id.in_(chunk))).scalars())

    fresh: dict[str, Filing] = {}
    for filing in filings:
        if filing.filing_id not in present:
            fresh.setdefault(filing.filing_id, filing)
    if not fresh:
        return 0

    facts = [_fact_row(filing, directory, recipient) for filing in fresh.values()]
    # An amendment may arrive before the filing it supersedes: mark such a
    # filing at once, inside this batch or against earlier imports.
    replaced = {row["supersedes"] for row in facts if row["supersedes"] is not None}
    fresh_ids = list(fresh)
    for chunk in _chunks(fresh_ids):
        replaced.update(db.execute(select(f.supersedes).where(f.supersedes.in_(chunk))).scalars())
    for row in facts:
        row["superseded"] = row["filing_id"] in replaced

    db.execute(insert(stat_facts), facts)
    records = list(
        itertools.chain.from_iterable(
            _record_rows(filing, fact) for filing, fact in zip(fresh.values(), facts, strict=True)
        )
    )
    if records:
        db.execute(insert(stat_records), records)
    earlier = sorted(replaced - set(fresh))
    for chunk in _chunks(earlier):
        for table in (stat_facts, stat_records):
            db.execute(
                update(table)
                .where(table.c.filing_id.in_(chunk), table.c.superseded.is_(False))
                .values(superseded=True)
            )
    return len(facts)


def import_opened(
    stat_conn: object,
    items: Iterable[InboxItem | Filing],
    directory: Directory,
    *,
    recipient: str | None = None,
    batch: int = BATCH,
) -> ImportSummary:
    """Write the opened filings among *items* to the statistics database.

    *items* are :class:`~threeregs.InboxItem` values, as
    :meth:`threeregs.Inbox.open_all` yields them, or :class:`~threeregs.Filing`
    values; items that were not opened are skipped and counted. *directory*
    gives each filer's office level. *recipient* is the office whose
    inspection department opened the filings; by default it follows the
    default routing policy (own office, or the chosen level of a direct
    report). Runs in the caller's transaction on *stat_conn*, which must be
    a connection to the inspection-side database, never the host's.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValidationError("batch", batch, "expected a whole number of 1 or more")
    db = connection_of(stat_conn)
    check_stats_tables(db)

    skipped = [0]
    seen = imported = 0
    stream = _opened(items, skipped)
    while True:
        filings = list(itertools.islice(stream, batch))
        if not filings:
            break
        seen += len(filings)
        imported += _write_batch(db, filings, directory, recipient)
    logger.info(
        "imported %d filings into the statistics database (%d already there)",
        imported,
        seen - imported,
    )
    return ImportSummary(imported, seen - imported, skipped[0])
