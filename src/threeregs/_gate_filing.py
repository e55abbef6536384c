"""The filing path of :class:`threeregs.StageGate`: office keys, sealing and claims.

``_GateFiling`` contains the private methods behind :meth:`StageGate.file
<threeregs.StageGate.file>`, which stays on the gate itself. The statements
they run are built in ``_filing_sql``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.exc import IntegrityError

from threeregs import _canonical
from threeregs import _filing_sql as sql
from threeregs._errors import (
    DuplicateFilingError,
    NotOnCaseError,
    UnknownFilingError,
    UntrustedKeyError,
    ValidationError,
)
from threeregs._model import MonthlyObligation, Receipt, StageObligation
from threeregs.store import _tables as t

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from sqlalchemy import Connection

    from threeregs._model import Filing
    from threeregs.crypto._envelope import SlotTarget
    from threeregs.crypto._keys import CertifiedKey
    from threeregs.crypto._sealer import Sealer
    from threeregs.policy._policy import Route

logger = logging.getLogger(__name__)


class _GateFiling:
    """The filing methods of :class:`~threeregs.StageGate`, mixed into it.

    The gate's constructor sets the attributes declared here.
    """

    _sealer: Sealer | None
    _clock: Callable[[], dt.datetime]
    _keys: dict[str, CertifiedKey]

    def _file_with_known_keys(
        self, db: Connection, filing: Filing, codes: list[str], route: Route, now: dt.datetime
    ) -> Receipt | None:
        """File a stage report or monthly return without reading the keys first.

        The filing is sealed to the keys that the gate read for an earlier
        filing, and its first statement checks whether those keys are still
        current. Each must still be its office's newest active key with the
        same certificate, so a key that was issued, retired or replaced since
        is never missed.

        A monthly return's claim inserts a row only if the keys are current.
        A stage report's bump of the case version returns whether they are.
        If they are not, the keys are read and the report is sealed again,
        which keeps the filing within 4 statements. Databases without UPDATE … RETURNING
        (MariaDB) file stage reports on the path that reads the keys first.

        Returns None, having written nothing, when that path must decide: for
        an amendment or anytime record, an office whose key the gate has not
        read, a remembered key that no longer verifies, a case in another
        stage, and a monthly return that claimed no row.
        """
        obligation = filing.obligation
        keys = self._known_keys(codes)
        if keys is None or obligation is None or filing.supersedes is not None:
            return None
        if isinstance(obligation, StageObligation) and not sql.bump_reports_keys(db.dialect):
            return None
        try:
            targets = self._targets(codes, keys, route, now)
        except UntrustedKeyError:
            return None
        checked = {
            **sql.obligation_parameters(filing, obligation),
            **sql.key_parameters(codes, keys),
        }
        if isinstance(obligation, MonthlyObligation):
            kind = sql.ClaimKind("month", len(codes))
            parameters = {**checked, "filed_at_": now}
            return self._claim_and_store(db, filing, kind, parameters, targets, route, now)

        bumped = db.execute(sql.stage_bump_reporting_keys(len(codes)), checked).first()
        if bumped is None:
            return None
        read_again = not bumped.keys_current
        if read_again:
            # A key of the chain changed since the gate read it. The case row
            # is bumped and locked, so read the keys and go on from here.
            keys, stored = self._read_keys(db, codes, filing.filing_id)
            if stored is not None:
                return Receipt(filing.filing_id, stored[0], stored[1], notices=route.notices)
            targets = self._targets(codes, keys, route, now)
        parameters = self._claim_parameters(filing, obligation, now)
        kind = sql.ClaimKind("stage", 0)
        receipt = self._claim_and_store(db, filing, kind, parameters, targets, route, now)
        if receipt is not None:
            return receipt
        # The case row is locked, but no row was claimed. Either the report
        # is stored already, or the filer may not file for this visit (again).
        if not read_again:
            _, stored = self._read_keys(db, codes, filing.filing_id)
            if stored is not None:
                return Receipt(filing.filing_id, stored[0], stored[1], notices=route.notices)
        raise self._claim_error(db, filing, obligation, parameters)

    def _claim_parameters(
        self, filing: Filing, obligation: StageObligation | MonthlyObligation, now: dt.datetime
    ) -> dict[str, Any]:
        """Return the parameters of the claim of *obligation*, with the time it is filed."""
        filed_at = self._clock() if isinstance(obligation, StageObligation) else now
        return {**sql.obligation_parameters(filing, obligation), "filed_at_": filed_at}

    def _targets(
        self, codes: list[str], keys: dict[str, CertifiedKey], route: Route, now: dt.datetime
    ) -> list[SlotTarget]:
        """Check the key of every office in the chain and mark the route's recipients."""
        missing = [code for code in codes if code not in keys]
        if missing:
            raise UntrustedKeyError(
                f"office {missing[0]!r} has no active key; issue one with `threeregs keys issue`"
            )
        chain = [(code, keys[code]) for code in codes]
        return self._sealing().targets(chain, route.recipients, at=now)

    def _seal(
        self, filing: Filing, targets: list[SlotTarget], now: dt.datetime
    ) -> tuple[str, dict[str, Any]]:
        """Seal *filing* to *targets* and return its digest and envelope row."""
        envelope, digest = self._sealing().seal_to_targets(
            _canonical.dumps(filing), targets, envelope_id=bytes.fromhex(filing.filing_id)
        )
        row: dict[str, Any] = {
            "filing_id": filing.filing_id,
            "digest": digest,
            "received_at": now,
            "envelope": envelope,
        }
        for index in range(t.SLOTS):
            target = targets[index] if index < len(targets) else None
            row[f"slot{index}_office"] = None if target is None else target.office_code
            row[f"slot{index}_version"] = None if target is None else target.key_version
        return digest, row

    def _store(
        self,
        db: Connection,
        filing: Filing,
        targets: list[SlotTarget],
        route: Route,
        now: dt.datetime,
    ) -> Receipt:
        """Seal *filing* to *targets*, insert its envelope row and return the receipt."""
        digest, row = self._seal(filing, targets, now)
        _insert_envelope(db, filing, row)
        return _stored(filing, digest, len(targets), route, now)

    def _claim_and_store(  # noqa: PLR0917 - the state of one filing
        self,
        db: Connection,
        filing: Filing,
        kind: sql.ClaimKind,
        parameters: dict[str, Any],
        targets: list[SlotTarget],
        route: Route,
        now: dt.datetime,
    ) -> Receipt | None:
        """Claim the obligation and store the envelope, or return None if no row was claimed.

        On PostgreSQL both happen in one statement, in which the envelope
        insert depends on the claim's RETURNING row. Other databases run the
        envelope insert after the claim. The filing is sealed first either way.
        """
        digest, row = self._seal(filing, targets, now)
        merged = sql.merges_claim_and_store(db.dialect)
        try:
            if merged:
                store = {f"{name}_": value for name, value in row.items()}
                claimed = db.execute(sql.claim_and_store(kind), {**parameters, **store})
            else:
                claimed = db.execute(sql.claim(kind), parameters)
        except IntegrityError as error:
            # Stage claims are serialised by the lock on the case row, so only
            # a concurrent monthly return or envelope can break a unique key.
            monthly = filing.obligation
            if merged and (
                not isinstance(monthly, MonthlyObligation) or sql.violates(error, t.envelopes)
            ):
                raise _stored_concurrently(filing) from None
            if isinstance(monthly, MonthlyObligation):
                raise _monthly_duplicate(filing, monthly) from None
            raise
        if claimed.rowcount != 1:
            return None
        if not merged:
            _insert_envelope(db, filing, row)
        return _stored(filing, digest, len(targets), route, now)

    def _sealing(self) -> Sealer:
        """Return the sealer, or raise if the gate was built without a trust anchor."""
        if self._sealer is None:
            raise ValidationError(
                "anchor", None, "StageGate needs anchor= (the trust anchor) to seal filings"
            )
        return self._sealer

    def _read_keys(
        self, db: Connection, codes: list[str], filing_id: str
    ) -> tuple[dict[str, CertifiedKey], tuple[str, dt.datetime] | None]:
        """Read the newest active key of each office, and any stored copy of the filing.

        The keys are remembered for the next filing from the same offices.
        """
        parameters = {f"code{index}": code for index, code in enumerate(codes)}
        parameters["filing_id"] = filing_id
        rows = db.execute(sql.keys_select(len(codes)), parameters).all()
        newest: dict[str, tuple[int, bytes]] = {}
        stored = None
        for row in rows:
            if row.digest is not None:
                stored = (row.digest, row.received_at)
            if row.office_code not in newest or row.key_version > newest[row.office_code][0]:
                newest[row.office_code] = (row.key_version, row.certificate)
        keys = {code: sql.parse_certificate(bytes(cert)) for code, (_, cert) in newest.items()}
        for code in codes:
            if code in keys:
                self._keys[code] = keys[code]
            else:
                self._keys.pop(code, None)
        return keys, stored

    def _known_keys(self, codes: list[str]) -> dict[str, CertifiedKey] | None:
        """Return the remembered key of each office, or None if one is not known."""
        try:
            return {code: self._keys[code] for code in codes}
        except KeyError:
            return None

    def _claim_error(
        self,
        db: Connection,
        filing: Filing,
        obligation: StageObligation | MonthlyObligation,
        parameters: dict[str, Any],
    ) -> NotOnCaseError | DuplicateFilingError:
        """Build the error for a claim of *obligation* that inserted no row."""
        if isinstance(obligation, MonthlyObligation):
            return _monthly_duplicate(filing, obligation)
        person = filing.filer.person_id
        assignment = db.execute(sql.stage_on_case(), parameters).one()
        if not assignment.on_case:
            return NotOnCaseError(
                f"person {person!r} is not assigned to case {obligation.case_id!r} for stage "
                f"{obligation.stage!r}; assign them first"
            )
        return DuplicateFilingError(
            f"person {person!r} has already filed for case {obligation.case_id!r} stage "
            f"{obligation.stage!r} round {obligation.round}; to amend, file again with "
            "supersedes=<id of the earlier filing>"
        )

    def _check_amendment(
        self, db: Connection, filing: Filing, obligation: StageObligation | MonthlyObligation
    ) -> None:
        """Raise unless the filing named in ``supersedes`` is the filer's earlier one here."""
        parameters = {
            **sql.obligation_parameters(filing, obligation),
            "supersedes_": filing.supersedes,
        }
        found = db.execute(sql.amendment_select(_kind(obligation)), parameters).one()
        if not found.earlier:
            raise UnknownFilingError(
                f"filing {filing.supersedes} named in supersedes is not stored; check the id "
                "on your receipt"
            )
        if not found.on_case:
            raise NotOnCaseError(f"person {filing.filer.person_id!r} is not assigned to the case")
        if not found.already:
            raise UnknownFilingError(
                f"there is no earlier filing of {filing.filer.person_id!r} for this stage to "
                "amend; file without supersedes"
            )


def _insert_envelope(db: Connection, filing: Filing, row: dict[str, Any]) -> None:
    """Insert the envelope row of *filing*, raising if a concurrent call stored it first."""
    try:
        db.execute(sql.envelope_insert(), row)
    except IntegrityError:
        raise _stored_concurrently(filing) from None


def _stored(filing: Filing, digest: str, slots: int, route: Route, now: dt.datetime) -> Receipt:
    """Log that *filing* is stored and return its receipt."""
    logger.info("filing %s stored (%d slots)", filing.filing_id, slots)
    return Receipt(filing.filing_id, digest, now, notices=route.notices)


def _kind(obligation: StageObligation | MonthlyObligation) -> Literal["stage", "month"]:
    return "stage" if isinstance(obligation, StageObligation) else "month"


def _monthly_duplicate(filing: Filing, obligation: MonthlyObligation) -> DuplicateFilingError:
    return DuplicateFilingError(
        f"person {filing.filer.person_id!r} has already filed the monthly return for "
        f"{obligation.month}; to amend, file again with supersedes=<id of the earlier filing>"
    )


def _stored_concurrently(filing: Filing) -> DuplicateFilingError:
    return DuplicateFilingError(
        f"filing {filing.filing_id} was stored by a concurrent transaction; "
        "roll back and file again to get its receipt"
    )
