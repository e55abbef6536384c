"""The stage gate: cases, handlers, filings and the rule that binds them.

Every method takes the host's SQLAlchemy ``Connection`` or ``Session`` and
runs inside the host's transaction, which it never commits or rolls back.
Every change to a case bumps its ``version`` column. :meth:`StageGate.advance`
moves a case only if the version it checked is still current, so a
concurrent assignment or filing makes it raise :class:`StaleCaseError`
instead of letting a case slip past a missing filing.

The evaluation of a decision and the statements that check and move a case
live in ``_gate_decision``. The private methods of the filing path live in
``_gate_filing``, which :class:`StageGate` inherits from.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import insert, literal, select, update

from threeregs import _filing_sql as sql
from threeregs._checks import ID_PATTERN, MAX_ID
from threeregs._decision import BlockerCode, Decision
from threeregs._errors import (
    CaseClosedError,
    CaseExistsError,
    ForbiddenTransitionError,
    GateBlockedError,
    NotOnCaseError,
    SchemaError,
    StaleCaseError,
    UnknownCaseError,
    ValidationError,
    WrongStageError,
)
from threeregs._gate_decision import (
    _check_statement,
    _decision_row,
    _evaluate,
    _move_statement,
)
from threeregs._gate_filing import _GateFiling, _kind
from threeregs._model import (
    Filing,
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

    from threeregs.crypto._keys import TrustAnchor
    from threeregs.policy._policy import Policy

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


class StageGate(_GateFiling):
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
        # Every filing for the case is routed through this office's chain, so
        # a code missing from a stored directory is rejected now. A host that
        # only gates, with no directory stored, opens cases without the check.
        try:
            directory = self.directory(db)
        except SchemaError:
            directory = None
        if directory is not None:
            directory.get(office_code)
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

    def _bump_stage(self, db: Connection, filing: Filing, obligation: StageObligation) -> None:
        """Lock the case row by bumping its version, or raise why the stage cannot be filed."""
        bumped = db.execute(sql.stage_bump(), sql.obligation_parameters(filing, obligation))
        if bumped.rowcount != 1:
            state = self.case(db, obligation.case_id)
            if state.closed:
                raise CaseClosedError(f"case {obligation.case_id!r} is closed")
            # A stage the case's line does not know is a typo, not a stage passed.
            self.policy.line(state.business_line).require_stage(obligation.stage)
            raise WrongStageError(
                f"case {obligation.case_id!r} is in stage {state.stage!r} round {state.round}, "
                f"not {obligation.stage!r} round {obligation.round}; file for the current stage"
            )

    # --- offices and keys ------------------------------------------------

    def directory(self, conn: Conn) -> Directory:
        """Return the office directory, reading it from the database the first time."""
        if self._directory is None:
            from threeregs.store._offices import load_directory  # noqa: PLC0415 - cycle

            self._directory = load_directory(connection_of(conn))
        return self._directory


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
