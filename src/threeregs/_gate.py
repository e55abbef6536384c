"""The stage gate: cases, handlers, filings and the rule that binds them.

Every method takes the host's SQLAlchemy ``Connection`` or ``Session`` and
runs inside the host's transaction, which it never commits or rolls back.
Every change to a case bumps its ``version`` column. :meth:`StageGate.advance`
moves a case only if the version it checked is still current, so a
concurrent assignment or filing makes it raise :class:`StaleCaseError`
instead of letting a case slip past a missing filing.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from typing import TYPE_CHECKING, Any, Literal

import attrs
from sqlalchemy import (
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from threeregs import _canonical
from threeregs import _filing_sql as sql
from threeregs._checks import ID_PATTERN, MAX_ID
from threeregs._decision import Blocker, BlockerCode, Decision, Note, NoteCode
from threeregs._errors import (
    CaseClosedError,
    CaseExistsError,
    DuplicateFilingError,
    ForbiddenTransitionError,
    GateBlockedError,
    NotOnCaseError,
    StaleCaseError,
    UnknownCaseError,
    UnknownFilingError,
    UntrustedKeyError,
    ValidationError,
    WrongStageError,
)
from threeregs._model import (
    Filing,
    MonthlyObligation,
    Receipt,
    StageObligation,
)
from threeregs.crypto._keys import CertifiedKey
from threeregs.crypto._sealer import Sealer
from threeregs.policy._policy import default_policy
from threeregs.routing._directory import Directory
from threeregs.store import _tables as t
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from threeregs.crypto._envelope import SlotTarget
    from threeregs.crypto._keys import TrustAnchor
    from threeregs.policy._policy import Policy, Route

    Conn = Connection | Session

logger = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class CaseState:
    """The state of a case as the gate sees it."""

    case_id: str
    business_line: str
    office_code: str
    stage: str
    round: int
    visit: int
    closed: bool
    version: int


class StageGate:
    """Enforce the reporting duty at every stage change of the host's cases.

    *anchor* is the trust anchor from host configuration; it is needed to
    seal filings. *directory* defaults to the offices stored in the
    database. *policy* defaults to :func:`threeregs.policy.default_policy`.

    The gate remembers the office keys it read for a filing. A later filing
    that seals to them checks in SQL that they are still current, so the
    next filing after another process issues, retires or replaces a key
    uses the new set.
    """

    def __init__(
        self,
        *,
        anchor: TrustAnchor | None = None,
        directory: Directory | None = None,
        policy: Policy | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.policy: Policy = policy or default_policy()
        self.anchor = anchor
        self._directory = directory
        self._sealer = None if anchor is None else Sealer(anchor)
        self._clock = clock
        # The newest active key of each office, as the last filing read it.
        # The first write of a filing that uses them checks that they still are.
        self._keys: dict[str, CertifiedKey] = {}

    def __repr__(self) -> str:
        return f"StageGate(policy={self.policy.version!r})"

    # --- cases -----------------------------------------------------------

    def open_case(
        self,
        conn: Conn,
        case_id: str,
        *,
        business_line: str,
        office_code: str,
        stage: str | None = None,
    ) -> CaseState:
        """Start gating the host's case *case_id* at the line's first stage."""
        db = connection_of(conn)
        rules = self.policy.line(business_line)
        first = stage or rules.initial
        rules.require_stage(first)
        StageObligation(case_id=case_id, stage=first)  # validates the id and stage code
        now = self._clock()
        row = {
            "case_id": case_id,
            "business_line": business_line,
            "office_code": office_code,
            "stage": first,
            "round": 1,
            "visit": 1,
            "closed": False,
            "version": 1,
            "opened_at": now,
            "policy_version": self.policy.version,
        }
        if db.execute(select(t.cases.c.case_id).where(t.cases.c.case_id == case_id)).first():
            raise CaseExistsError(f"case {case_id!r} is already open with the gate")
        db.execute(insert(t.cases).values(row))
        db.execute(
            insert(t.visits).values(case_id=case_id, visit=1, stage=first, round=1, entered_at=now)
        )
        return _state(row)

    def case(self, conn: Conn, case_id: str) -> CaseState:
        """Return the gate's view of a case."""
        row = (
            connection_of(conn).execute(select(t.cases).where(t.cases.c.case_id == case_id)).first()
        )
        if row is None:
            raise UnknownCaseError(f"case {case_id!r} is not open with the gate; call open_case")
        return _state(row._mapping)

    def assign(self, conn: Conn, case_id: str, person_id: str, *, role: str) -> None:
        """Put *person_id* on the case in *role*, from the current stage visit on."""
        if role not in self.policy.roles:
            raise ValidationError("role", role, f"expected one of {sorted(self.policy.roles)}")
        # A person whose id no Filer accepts could never file, and would block the stage for good.
        if (
            not isinstance(person_id, str)
            or len(person_id) > MAX_ID
            or not ID_PATTERN.fullmatch(person_id)
        ):
            raise ValidationError(
                "person_id",
                person_id,
                f"expected the id the person files under: up to {MAX_ID} letters, digits and "
                "_ . : / - starting with a letter or digit",
            )
        db = connection_of(conn)
        self._bump(db, case_id)
        db.execute(
            insert(t.assignments).from_select(
                ["case_id", "person_id", "role", "from_visit", "assigned_at"],
                select(
                    t.cases.c.case_id,
                    literal(person_id),
                    literal(role),
                    t.cases.c.visit,
                    literal(self._clock(), t.Time),
                ).where(t.cases.c.case_id == case_id),
            )
        )

    def unassign(
        self, conn: Conn, case_id: str, person_id: str, *, role: str | None = None
    ) -> None:
        """Take *person_id* off the case after the current stage visit.

        The person still has to file for the current visit: whoever held the
        case during a stage may have been approached during it.
        """
        db = connection_of(conn)
        state = self._bump(db, case_id)
        conditions = [
            t.assignments.c.case_id == case_id,
            t.assignments.c.person_id == person_id,
            t.assignments.c.to_visit.is_(None),
        ]
        if role is not None:
            conditions.append(t.assignments.c.role == role)
        result = db.execute(update(t.assignments).where(*conditions).values(to_visit=state.visit))
        if result.rowcount == 0:
            raise NotOnCaseError(f"person {person_id!r} is not assigned to case {case_id!r}")

    def _bump(self, db: Connection, case_id: str) -> CaseState:
        """Lock the case row by bumping its version, and return the new state."""
        result = db.execute(
            update(t.cases)
            .where(t.cases.c.case_id == case_id, t.cases.c.closed.is_(False))
            .values(version=t.cases.c.version + 1)
        )
        state = self.case(db, case_id)
        if result.rowcount == 0:
            raise CaseClosedError(f"case {case_id!r} is closed")
        return state

    # --- the gate --------------------------------------------------------

    def check(self, conn: Conn, case_id: str, to_stage: str) -> Decision:
        """Decide whether the case may move to *to_stage* now, in one SQL statement.

        Never raises for a blocked gate; the decision lists every blocker.
        Raises :class:`UnknownCaseError` and
        :class:`~threeregs.UnknownStageError` for bad input.
        """
        parameters = {"case_id": case_id, "to_stage": to_stage}
        rows = connection_of(conn).execute(_check_statement(), parameters).all()
        if not rows:
            raise UnknownCaseError(f"case {case_id!r} is not open with the gate; call open_case")
        return self._decide(rows, to_stage)

    def _decide(self, rows: Sequence[Any], to_stage: str) -> Decision:
        first = rows[0]._mapping
        state = _state(first)
        assigned: dict[str, set[str]] = {}
        filed: set[str] = set()
        for row in rows:
            mapping = row._mapping
            if mapping["person_id"] is None:
                continue
            assigned.setdefault(mapping["person_id"], set()).add(mapping["role"])
            if mapping["filed"] is not None:
                filed.add(mapping["person_id"])
        to_round = int(first["prior_visits"]) + 1
        return _evaluate(
            self.policy,
            state,
            to_stage,
            to_round=to_round,
            assigned=assigned,
            filed=filed,
            decided_at=self._clock(),
        )

    def replay(self, conn: Conn, decision_id: int, *, policy: Policy | None = None) -> Decision:
        """Decide a recorded gate decision again from its recorded inputs.

        With no *policy*, the gate's own policy is used. Pass the policy of
        the recorded version to reproduce the original decision (the recorded
        hash is in ``inputs["recorded"]`` of the result), or another policy to
        see what it would have decided.
        """
        row = (
            connection_of(conn)
            .execute(select(t.decisions).where(t.decisions.c.id == decision_id))
            .first()
        )
        if row is None:
            raise UnknownCaseError(f"no gate decision with id {decision_id} is recorded")
        inputs = json.loads(row.inputs)
        state = CaseState(
            case_id=row.case_id,
            business_line=inputs["business_line"],
            office_code=inputs.get("office_code", ""),
            stage=row.from_stage,
            round=row.from_round,
            visit=inputs["visit"],
            closed=inputs.get("closed", False),
            version=0,
        )
        assigned = {person: set(roles) for person, roles in inputs["assigned"].items()}
        decision = _evaluate(
            policy or self.policy,
            state,
            row.to_stage,
            to_round=inputs["to_round"],
            assigned=assigned,
            filed=set(inputs["filed"]),
            decided_at=row.decided_at,
        )
        recorded = {"policy_version": row.policy_version, "policy_hash": row.policy_hash}
        return attrs.evolve(decision, inputs={**decision.inputs, "recorded": recorded})

    def advance(self, conn: Conn, case_id: str, to_stage: str) -> Decision:
        """Move the case to *to_stage* if the gate allows it, in the caller's transaction.

        Records the decision either way. Raises :class:`GateBlockedError`
        (or its subclass :class:`ForbiddenTransitionError`) carrying the
        decision, :class:`CaseClosedError` for a closed case, and
        :class:`StaleCaseError` when a concurrent change to the case won.
        """
        db = connection_of(conn)
        decision = self.check(db, case_id, to_stage)
        db.execute(insert(t.decisions), _decision_row(decision))
        codes = {b.code for b in decision.blockers}
        if BlockerCode.CASE_CLOSED in codes:
            raise CaseClosedError(f"case {case_id!r} is closed; it cannot move to {to_stage!r}")
        if codes & {BlockerCode.TRANSITION_NOT_ALLOWED, BlockerCode.ROUND_LIMIT}:
            raise ForbiddenTransitionError(decision)
        if not decision.allowed:
            raise GateBlockedError(decision)

        rules = self.policy.line(decision.inputs["business_line"])
        terminal = not rules.transitions.get(to_stage)
        result = db.execute(
            _move_statement(),
            {
                "case_id_": case_id,
                "version_": decision.case_version,
                "stage_": to_stage,
                "round_": decision.to_round,
                "visit_": decision.inputs["visit"] + 1,
                "closed_": terminal,
            },
        )
        if result.rowcount != 1:
            raise StaleCaseError(
                f"case {case_id!r} changed while the gate was checking it; roll back and retry"
            )
        db.execute(
            insert(t.visits),
            {
                "case_id": case_id,
                "visit": decision.inputs["visit"] + 1,
                "stage": to_stage,
                "round": decision.to_round,
                "entered_at": decision.decided_at,
            },
        )
        logger.info(
            "case %s moved from %s to %s (round %d)",
            case_id,
            decision.from_stage,
            to_stage,
            decision.to_round,
        )
        return decision

    def close(self, conn: Conn, case_id: str) -> Decision:
        """Close the case (move it to its line's closing stage) through the gate."""
        state = self.case(conn, case_id)
        return self.advance(conn, case_id, self.policy.line(state.business_line).closed)

    def history(self, conn: Conn, case_id: str) -> list[tuple[int, str, int]]:
        """Return the case's stage visits as ``(visit, stage, round)``, oldest first."""
        rows = connection_of(conn).execute(
            select(t.visits.c.visit, t.visits.c.stage, t.visits.c.round)
            .where(t.visits.c.case_id == case_id)
            .order_by(t.visits.c.visit)
        )
        return [(r.visit, r.stage, r.round) for r in rows]

    # --- filings ---------------------------------------------------------

    def file(self, conn: Conn, filing: Filing) -> Receipt:
        """Validate, seal and store *filing* in the caller's transaction.

        Filing the same value again (same ``filing_id``) returns the first
        receipt. A second, different filing for an obligation that is already
        met raises :class:`DuplicateFilingError` unless it names the earlier
        filing in ``supersedes``.
        """
        self._sealing()
        if filing.obligation is None and filing.is_zero:
            raise ValidationError(
                "records",
                (),
                "an anytime record holds at least one record; there is no "
                "zero report outside a stage or month",
            )
        db = connection_of(conn)
        chain = self.directory(db).chain(filing.filer.office_code)
        route = self.policy.route(filing, chain)
        if filing.policy_version != self.policy.version:
            filing = attrs.evolve(filing, policy_version=self.policy.version)
        now = self._clock()
        codes = [office.code for office in chain]

        receipt = self._file_with_known_keys(db, filing, codes, route, now)
        if receipt is not None:
            return receipt
        keys, stored = self._read_keys(db, codes, filing.filing_id)
        if stored is not None:
            return Receipt(filing.filing_id, stored[0], stored[1], notices=route.notices)
        # Check every office key before anything is written, so that an
        # untrusted or expired key leaves no obligation claimed without an
        # envelope, even in a host that commits after catching the error.
        targets = self._targets(codes, keys, route, now)
        obligation = filing.obligation
        if obligation is None:
            return self._store(db, filing, targets, route, now)
        if isinstance(obligation, StageObligation):
            self._bump_stage(db, filing, obligation)
        if filing.supersedes is not None:
            self._check_amendment(db, filing, obligation)
            return self._store(db, filing, targets, route, now)
        kind = sql.ClaimKind(_kind(obligation), 0)
        parameters = self._claim_parameters(filing, obligation, now)
        receipt = self._claim_and_store(db, filing, kind, parameters, targets, route, now)
        if receipt is None:
            raise self._claim_error(db, filing, obligation, parameters)
        return receipt

    def _file_with_known_keys(
        self, db: Connection, filing: Filing, codes: list[str], route: Route, now: dt.datetime
    ) -> Receipt | None:
        """File a stage report or monthly return without reading the keys first.

        The filing is sealed to the keys that the gate read for an earlier
        filing. Its first write is the bump of the case version, or the claim
        of a monthly return. That write changes a row only if each of those
        keys is still its office's newest active key with the same
        certificate, so a key that was issued, retired or replaced since is
        never missed. Returns None, having written nothing, when the path that
        reads the keys must decide. That is the case for an amendment or
        anytime record, an office whose key the gate has not read, a
        remembered key that no longer verifies, a changed key, a case in
        another stage, and a monthly return that claimed no row.
        """
        obligation = filing.obligation
        keys = self._known_keys(codes)
        if keys is None or obligation is None or filing.supersedes is not None:
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

        if db.execute(sql.stage_bump(len(codes)), checked).rowcount != 1:
            return None
        parameters = self._claim_parameters(filing, obligation, now)
        kind = sql.ClaimKind("stage", 0)
        receipt = self._claim_and_store(db, filing, kind, parameters, targets, route, now)
        if receipt is not None:
            return receipt
        # The case row is locked, but no row was claimed. Either the report
        # is stored already, or the filer may not file for this visit (again).
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
        try:
            db.execute(sql.envelope_insert(), row)
        except IntegrityError:
            raise _stored_concurrently(filing) from None
        logger.info("filing %s stored (%d slots)", filing.filing_id, len(targets))
        return Receipt(filing.filing_id, digest, now, notices=route.notices)

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
            try:
                db.execute(sql.envelope_insert(), row)
            except IntegrityError:
                raise _stored_concurrently(filing) from None
        logger.info("filing %s stored (%d slots)", filing.filing_id, len(targets))
        return Receipt(filing.filing_id, digest, now, notices=route.notices)

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

    def _bump_stage(self, db: Connection, filing: Filing, obligation: StageObligation) -> None:
        """Lock the case row by bumping its version, or raise why the stage cannot be filed."""
        bumped = db.execute(sql.stage_bump(0), sql.obligation_parameters(filing, obligation))
        if bumped.rowcount != 1:
            state = self.case(db, obligation.case_id)
            if state.closed:
                raise CaseClosedError(f"case {obligation.case_id!r} is closed")
            raise WrongStageError(
                f"case {obligation.case_id!r} is in stage {state.stage!r} round {state.round}, "
                f"not {obligation.stage!r} round {obligation.round}; file for the current stage"
            )

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

    # --- offices and keys ------------------------------------------------

    def directory(self, conn: Conn) -> Directory:
        """Return the office directory, reading it from the database the first time."""
        if self._directory is None:
            from threeregs.store._offices import load_directory  # noqa: PLC0415 - cycle

            self._directory = load_directory(connection_of(conn))
        return self._directory


def _evaluate(
    policy: Policy,
    state: CaseState,
    to_stage: str,
    *,
    to_round: int,
    assigned: dict[str, set[str]],
    filed: set[str],
    decided_at: dt.datetime,
) -> Decision:
    """Apply *policy* to who was assigned and who filed; no database access."""
    rules = policy.line(state.business_line)
    rules.require_stage(to_stage)
    required_roles = rules.roles_that_file(state.stage)
    blockers: list[Blocker] = []
    notes: list[Note] = []
    where = {"stage": state.stage, "round": state.round}
    if state.closed:
        blockers.append(Blocker(BlockerCode.CASE_CLOSED, {}))
    if not rules.allows(state.stage, to_stage):
        blockers.append(
            Blocker(
                BlockerCode.TRANSITION_NOT_ALLOWED, {"stage": state.stage, "to_stage": to_stage}
            )
        )
    limit = rules.max_rounds.get(to_stage)
    if limit is not None and to_round > limit:
        blockers.append(Blocker(BlockerCode.ROUND_LIMIT, {"to_stage": to_stage, "limit": limit}))

    must_file = sorted(p for p, roles in assigned.items() if roles & required_roles)
    if not required_roles:
        notes.append(
            Note(NoteCode.NO_FILING_RULE, {"stage": state.stage, "policy": policy.version})
        )
    elif not must_file:
        blockers.append(Blocker(BlockerCode.NO_FILER_ASSIGNED, {"stage": state.stage}))
    for person in must_file:
        if person not in filed:
            role = sorted(assigned[person] & required_roles)[0]
            blockers.append(
                Blocker(BlockerCode.MISSING_FILING, {"person": person, "role": role, **where})
            )
    if must_file and all(p in filed for p in must_file):
        notes.append(Note(NoteCode.ALL_FILED, where))

    return Decision(
        case_id=state.case_id,
        from_stage=state.stage,
        from_round=state.round,
        to_stage=to_stage,
        to_round=to_round,
        blockers=tuple(blockers),
        notes=tuple(notes),
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        decided_at=decided_at,
        case_version=state.version,
        inputs={
            "business_line": state.business_line,
            "office_code": state.office_code,
            "visit": state.visit,
            "closed": state.closed,
            "to_round": to_round,
            "assigned": {p: sorted(r) for p, r in sorted(assigned.items())},
            "filed": sorted(filed),
            "required_roles": sorted(required_roles),
        },
    )


def _state(row: Any) -> CaseState:
    return CaseState(
        case_id=row["case_id"],
        business_line=row["business_line"],
        office_code=row["office_code"],
        stage=row["stage"],
        round=row["round"],
        visit=row["visit"],
        closed=bool(row["closed"]),
        version=row["version"],
    )


@functools.cache
def _check_statement() -> Any:
    """Build the one statement behind :meth:`StageGate.check`, once.

    Its parameters are ``case_id`` and ``to_stage``. It returns one row per
    person on the case during the current visit (or one row of NULLs), each
    with the case columns, whether they filed, and how often the case has
    been in ``to_stage`` before. Building the statement on every call took
    most of the time of a check.
    """
    c, a, s, v = t.cases, t.assignments, t.stage_filings, t.visits
    prior = (
        select(func.count())
        .select_from(v)
        .where(v.c.case_id == c.c.case_id, v.c.stage == bindparam("to_stage"))
        .scalar_subquery()
    )
    return (
        select(
            c.c.case_id,
            c.c.business_line,
            c.c.office_code,
            c.c.stage,
            c.c.round,
            c.c.visit,
            c.c.closed,
            c.c.version,
            a.c.person_id,
            a.c.role,
            s.c.person_id.label("filed"),
            prior.label("prior_visits"),
        )
        .select_from(
            c.outerjoin(
                a,
                and_(
                    a.c.case_id == c.c.case_id,
                    a.c.from_visit <= c.c.visit,
                    or_(a.c.to_visit.is_(None), a.c.to_visit >= c.c.visit),
                ),
            ).outerjoin(
                s,
                and_(
                    s.c.case_id == c.c.case_id,
                    s.c.visit == c.c.visit,
                    s.c.person_id == a.c.person_id,
                ),
            )
        )
        .where(c.c.case_id == bindparam("case_id"))
    )


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


@functools.cache
def _move_statement() -> Any:
    """Build the UPDATE that moves a case if its version is still the one checked, once.

    Building statements once keeps SQLAlchemy's per-call work small; the
    parameter names end in ``_`` because SQLAlchemy keeps the column names
    for the SET clause.
    """
    c = t.cases
    return (
        update(c)
        .where(c.c.case_id == bindparam("case_id_"), c.c.version == bindparam("version_"))
        .values(
            stage=bindparam("stage_"),
            round=bindparam("round_"),
            visit=bindparam("visit_"),
            version=c.c.version + 1,
            closed=bindparam("closed_"),
        )
    )


def _decision_row(decision: Decision) -> dict[str, Any]:
    return {
        "case_id": decision.case_id,
        "from_stage": decision.from_stage,
        "from_round": decision.from_round,
        "to_stage": decision.to_stage,
        "allowed": decision.allowed,
        "blockers": json.dumps(
            [{"code": b.code.value, **b.params} for b in decision.blockers],
            sort_keys=True,
            ensure_ascii=False,
        ),
        "inputs": json.dumps(dict(decision.inputs), sort_keys=True, ensure_ascii=False),
        "policy_version": decision.policy_version,
        "policy_hash": decision.policy_hash,
        "decided_at": decision.decided_at,
    }
