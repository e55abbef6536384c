"""The inspection inbox: opening the filings addressed to one office.

An inbox lists every envelope with a slot for its office, whether the slot is
real or a decoy, and tries to open each one with the office's private keys.
Decoys are skipped and counted; an envelope that cannot be opened is reported
as failed, never dropped. Every attempt is written to the access log, which
records who tried to open which filing and when, and nothing about the
outcome (the outcome would reveal the route).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import TYPE_CHECKING, Final

import attrs
from sqlalchemy import func, insert, select

from threeregs import _canonical
from threeregs._errors import (
    CanonicalFormError,
    InvalidEnvelopeError,
    UnknownFilingError,
    UnknownOfficeError,
)
from threeregs.crypto._envelope import NOT_ADDRESSED, open_envelope, parse_header
from threeregs.store import _tables as t
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from sqlalchemy import ColumnElement, Connection

    from threeregs._model import Filing
    from threeregs.crypto._keys import OfficeKeyPair
    from threeregs.crypto._keystore import KeyStore

logger = logging.getLogger(__name__)

#: Envelopes fetched per round trip while streaming an inbox.
BATCH: Final = 500


class Outcome(enum.StrEnum):
    """What happened when the inbox tried to open one envelope."""

    OPENED = "opened"
    DECOY = "decoy"
    #: The envelope is damaged or was tampered with.
    FAILED = "failed"
    #: The key store lacks the key version the slot was sealed to.
    MISSING_KEY = "missing_key"


@attrs.frozen
class InboxItem:
    """One envelope of the inbox and the result of opening it."""

    filing_id: str
    seq: int
    received_at: dt.datetime
    outcome: Outcome
    #: The filing, when ``outcome`` is ``OPENED``.
    filing: Filing | None = None
    #: The key version the slot needs, when ``outcome`` is ``MISSING_KEY``.
    key_version: int | None = None


@attrs.define
class InboxSummary:
    """Counts of one pass over an inbox. This class is mutable."""

    opened: int = 0
    decoys: int = 0
    failed: int = 0
    missing_key: int = 0

    @property
    def total(self) -> int:
        """Number of envelopes seen."""
        return self.opened + self.decoys + self.failed + self.missing_key

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        if outcome is Outcome.OPENED:
            self.opened += 1
        elif outcome is Outcome.DECOY:
            self.decoys += 1
        elif outcome is Outcome.FAILED:
            self.failed += 1
        else:
            self.missing_key += 1


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Inbox:
    """The filings addressed to one office, opened with that office's keys.

    *reader* identifies the inspector for the access log.
    """

    def __init__(
        self,
        office_code: str,
        keystore: KeyStore,
        *,
        reader: str,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.office_code = office_code
        self.reader = reader
        self._keys: Mapping[int, OfficeKeyPair] = keystore.keys_for(office_code)
        self._clock = clock
        self._office_known = False
        self.summary = InboxSummary()

    def __repr__(self) -> str:
        return f"Inbox({self.office_code!r}, reader={self.reader!r})"

    def _check_office(self, db: Connection) -> None:
        """Raise :class:`UnknownOfficeError` if a stored directory lacks the office.

        A mistyped code would otherwise give an empty inbox. Without a stored
        directory there is nothing to check against. The check runs once.
        """
        if self._office_known:
            return
        o = t.offices
        stored = db.execute(select(o.c.code).where(o.c.code == self.office_code)).first()
        if stored is None and db.execute(select(o.c.code).limit(1)).first() is not None:
            raise UnknownOfficeError(
                f"no office with code {self.office_code!r} is in the directory; "
                "check the code against the office directory in use"
            )
        self._office_known = True

    def _addressed(self) -> ColumnElement[bool]:
        return t.slots_of(self.office_code)

    def count(self, conn: object) -> int:
        """Return how many envelopes have a slot for this office (real or decoy)."""
        db = connection_of(conn)
        self._check_office(db)
        return int(db.execute(select(func.count()).where(self._addressed())).scalar_one())

    def open_all(
        self, conn: object, *, after_seq: int = 0, batch: int = BATCH
    ) -> Iterator[InboxItem]:
        """Open every envelope addressed to the office, oldest first, streaming.

        Each batch of attempts is written to the access log in the caller's
        transaction before its items are yielded.
        """
        db = connection_of(conn)
        self._check_office(db)
        e = t.envelopes
        last = after_seq
        while True:
            # Two short statements per page rather than one: the first walks
            # the slot indexes and stops after a page, so each page costs the
            # same however many envelopes lie beyond it.
            seqs = db.execute(t.addressed_seqs(self.office_code, after=last, limit=batch))
            page = list(seqs.scalars())
            if not page:
                return
            rows = db.execute(
                select(e.c.seq, e.c.filing_id, e.c.received_at, e.c.envelope)
                .where(e.c.seq.in_(page))
                .order_by(e.c.seq)
            ).all()
            items = [self._open_row(r.seq, r.filing_id, r.received_at, r.envelope) for r in rows]
            self._log(db, [item.filing_id for item in items])
            yield from items
            last = page[-1]

    def open(self, conn: object, filing_id: str) -> InboxItem:
        """Open one filing by id, writing the attempt to the access log."""
        db = connection_of(conn)
        self._check_office(db)
        e = t.envelopes
        row = db.execute(
            select(e.c.seq, e.c.filing_id, e.c.received_at, e.c.envelope).where(
                e.c.filing_id == filing_id, self._addressed()
            )
        ).first()
        if row is None:
            raise UnknownFilingError(
                f"no filing {filing_id!r} has a slot for office {self.office_code!r}"
            )
        item = self._open_row(row.seq, row.filing_id, row.received_at, row.envelope)
        self._log(db, [filing_id])
        return item

    def _open_row(
        self, seq: int, filing_id: str, received_at: dt.datetime, data: bytes
    ) -> InboxItem:
        outcome, filing, version = self._open_bytes(bytes(data))
        self.summary.add(outcome)
        if outcome is Outcome.FAILED:
            logger.warning(
                "filing %s in the inbox of %s could not be opened", filing_id, self.office_code
            )
        return InboxItem(filing_id, seq, received_at, outcome, filing, version)

    def _open_bytes(self, data: bytes) -> tuple[Outcome, Filing | None, int | None]:
        try:
            header = parse_header(data)
        except InvalidEnvelopeError:
            return Outcome.FAILED, None, None
        slot = header.slot_for(self.office_code)
        if slot is None:
            return Outcome.FAILED, None, None
        if slot.key_version not in self._keys:
            return Outcome.MISSING_KEY, None, slot.key_version
        try:
            payload = open_envelope(data, self.office_code, self._keys, header=header)
        except InvalidEnvelopeError:
            return Outcome.FAILED, None, None
        if payload is NOT_ADDRESSED or not isinstance(payload, bytes):
            return Outcome.DECOY, None, None
        try:
            return Outcome.OPENED, _canonical.loads(payload), None
        except CanonicalFormError:
            # Authenticated but unparsable: a faulty sealer, reported like tampering.
            return Outcome.FAILED, None, None

    def _log(self, db: Connection, filing_ids: list[str]) -> None:
        now = self._clock()
        db.execute(
            insert(t.access_log),
            [
                {
                    "office_code": self.office_code,
                    "reader": self.reader,
                    "filing_id": filing_id,
                    "opened_at": now,
                }
                for filing_id in filing_ids
            ],
        )
