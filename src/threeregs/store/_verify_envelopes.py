"""Checks of envelope rows that are not in the log, for :func:`~threeregs.store.verify`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select

from threeregs.store import _tables as t
from threeregs.store._log import _DIGEST, _FILING_ID
from threeregs.store._verify_report import ProblemKind
from threeregs.store._verify_stream import STREAM_BATCH

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy import Connection

    from threeregs.store._log import LogHead
    from threeregs.store._verify_report import _Findings
    from threeregs.store._verify_stream import _Stream


def _check_unsequenced(
    db: Connection,
    head: LogHead | None,
    grace: dt.timedelta,
    stream: _Stream,
    findings: _Findings,
) -> tuple[int, dt.datetime | None]:
    """Report envelopes missing from the log; count those that may still be pending.

    An envelope received before the last complete sequencer run minus the
    grace period was committed before that run under the grace assumption,
    so the run must have appended it. A newer one is pending.
    """
    e = t.envelopes
    total = db.execute(select(func.count()).select_from(e)).scalar_one()
    missing = total - stream.matched
    if missing <= 0:
        return 0, None
    unsequenced = _Unsequenced(head, grace, findings)
    # Usually the envelopes missing from the log are the newest ones, above
    # every seq in the log, so scanning those first mostly suffices.
    unsequenced.scan(db, e.c.seq > stream.max_seq)
    if unsequenced.found < missing:
        unsequenced.scan(db, e.c.seq <= stream.max_seq)
    return unsequenced.pending, unsequenced.oldest


class _Unsequenced:
    """Classification of envelope rows that are not in the log."""

    def __init__(self, head: LogHead | None, grace: dt.timedelta, findings: _Findings) -> None:
        self.head = head
        self.cutoff = None if head is None or head.drained_at is None else head.drained_at - grace
        self.findings = findings
        self.found = 0
        self.pending = 0
        self.oldest: dt.datetime | None = None

    def scan(self, db: Connection, where: Any) -> None:
        """Classify every envelope row matching *where* that is not in the log."""
        e, log = t.envelopes, t.log_entries
        # Anti-join on the indexed integer seq first. A candidate whose seq
        # was changed after sequencing is still in the log, which the filing
        # id lookup below shows.
        statement = (
            select(e.c.seq, e.c.filing_id, e.c.digest, e.c.received_at)
            .where(where, ~exists().where(log.c.seq == e.c.seq, log.c.filing_id == e.c.filing_id))
            .order_by(e.c.seq)
            .limit(STREAM_BATCH)
        )
        last = None
        while True:
            page = statement if last is None else statement.where(e.c.seq > last)
            candidates = db.execute(page).all()
            if not candidates:
                return
            last = candidates[-1].seq
            ids = [row.filing_id for row in candidates]
            logged = set(
                db.execute(select(log.c.filing_id).where(log.c.filing_id.in_(ids))).scalars()
            )
            for row in candidates:
                if row.filing_id not in logged:
                    self.found += 1
                    self.classify(row)

    def classify(self, row: Any) -> None:
        head = self.head
        if not (
            isinstance(row.filing_id, str)
            and _FILING_ID.fullmatch(row.filing_id)
            and isinstance(row.digest, str)
            and _DIGEST.fullmatch(row.digest)
        ):
            self.findings.add(ProblemKind.ROW_MALFORMED, seq=row.seq)
        elif self.cutoff is not None and head is not None and row.received_at < self.cutoff:
            self.findings.add(
                ProblemKind.NOT_IN_LOG,
                filing_id=row.filing_id,
                time=row.received_at,
                sequenced=head.drained_at,
            )
        else:
            self.pending += 1
            if self.oldest is None or row.received_at < self.oldest:
                self.oldest = row.received_at
