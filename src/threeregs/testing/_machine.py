"""A hypothesis state machine that drives a host's cases through the stage gate.

:class:`GateMachine` opens cases, assigns and releases people, files zero and
non-zero stage reports, checks moves with the gate and moves cases. Each
action goes through an overridable ``host_*`` method that defaults to the
plain gate call. A host
overrides those methods with its own service code and adds rules of its own.
After every step the machine checks the gate invariant on the threeregs
tables, and checks that the host's own notion of each case's stage matches
the gate's, which catches a host that changes a stage without
:meth:`threeregs.StageGate.advance`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, ClassVar

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from threeregs._decision import BlockerCode
from threeregs._errors import GateBlockedError, InvalidRouteError, UnknownCaseError
from threeregs._model import Filer, StageObligation
from threeregs._vocabulary import StaffKind
from threeregs.routing._directory import Level
from threeregs.store import _tables as t
from threeregs.store._connection import connection_of
from threeregs.testing._invariant import GateInvariantError, find_gate_violations, read_histories
from threeregs.testing._strategies import filings

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from threeregs._gate import CaseState, StageGate
    from threeregs._model import Filing, Receipt
    from threeregs.policy._policy import Policy
    from threeregs.routing._directory import Directory
    from threeregs.testing._invariant import VisitDuty

    Conn = Connection | Session


class GateMachine(RuleBasedStateMachine):
    """Random sequences of case handling that must never get a case past the gate.

    Subclass it and override :meth:`connect` and :meth:`make_gate`. Override
    the ``host_*`` methods to route each action through the host's own code,
    and :meth:`host_stage` to report the host's own stage of a case. Add
    rules for the host's other stage-changing code, drawing cases from the
    bundle ``GateMachine.case_ids``. Run the machine with
    ``run_state_machine_as_test`` or through its ``TestCase`` attribute.
    """

    #: Person ids the machine assigns and files as. There are few, so people
    #: are assigned again, released and put on several cases.
    people: ClassVar[tuple[str, ...]] = ("P000001", "P000002", "P000003", "P000004")
    #: Prefix of the ids of the cases the machine opens.
    case_id_prefix: ClassVar[str] = "GM-"
    #: Cases opened so far in this example.
    case_ids: ClassVar[Bundle[str]] = Bundle("threeregs_case_ids")

    def __init__(self) -> None:
        super().__init__()
        self._resources = contextlib.ExitStack()
        try:
            self.conn: Conn = self._resources.enter_context(self.connect())
            self.gate: StageGate = self.make_gate()
        except BaseException:
            self._resources.close()
            raise
        self._opened = 0
        self._directory: Directory | None = None

    def teardown(self) -> None:
        """Close what :meth:`connect` opened, which rolls the example back."""
        self._resources.close()

    # --- hooks for the host ----------------------------------------------------

    def connect(self) -> AbstractContextManager[Conn]:
        """Return a context manager that yields the host's connection or session.

        Everything the example did must be undone on exit, so that examples
        do not see each other's cases: return
        :func:`~threeregs.testing.example_session` or
        :func:`~threeregs.testing.example_transaction` of the test engine.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override connect(); return for example "
            "threeregs.testing.example_session(engine)"
        )

    def make_gate(self) -> StageGate:
        """Return the stage gate the host uses, with its trust anchor and policy.

        Every office in :meth:`office_codes` and each office above it needs an
        active key, or filing raises :class:`~threeregs.UntrustedKeyError`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override make_gate(); return the host's StageGate"
        )

    @property
    def policy(self) -> Policy:
        """The policy of the gate under test."""
        return self.gate.policy

    def business_lines(self) -> Sequence[str]:
        """Return the business lines the machine opens cases in (default: all of the policy)."""
        lines = getattr(self.policy, "lines", None)
        if not lines:
            raise NotImplementedError(
                f"the policy of {type(self).__name__} does not list its lines; "
                "override business_lines()"
            )
        return sorted(lines)

    def office_codes(self) -> Sequence[str]:
        """Return the offices the machine opens cases in (default: the basic offices)."""
        directory = self._load_directory()
        basic = [office.code for office in directory.by_level(Level.BASIC)]
        return basic or sorted(office.code for office in directory)

    def host_open_case(
        self, conn: Conn, case_id: str, *, business_line: str, office_code: str
    ) -> None:
        """Open a case the way the host does; it must open it with the gate too."""
        self.gate.open_case(conn, case_id, business_line=business_line, office_code=office_code)

    def host_assign(self, conn: Conn, case_id: str, person_id: str, *, role: str) -> None:
        """Put a person on a case the way the host does, telling the gate."""
        self.gate.assign(conn, case_id, person_id, role=role)

    def host_unassign(self, conn: Conn, case_id: str, person_id: str, *, role: str) -> None:
        """Take a person off a case the way the host does, telling the gate."""
        self.gate.unassign(conn, case_id, person_id, role=role)

    def host_file(self, conn: Conn, filing: Filing) -> Receipt:
        """Store a filing the way the host does, through the gate."""
        return self.gate.file(conn, filing)

    def host_advance(self, conn: Conn, case_id: str, to_stage: str) -> None:
        """Move a case the way the host does.

        Must raise :class:`~threeregs.GateBlockedError` (or a subclass) when
        the gate refuses the move, and leave the case where it was.
        """
        self.gate.advance(conn, case_id, to_stage)

    def host_stage(self, conn: Conn, case_id: str) -> str | None:
        """Return the host's own record of the case's stage, or None if it keeps none.

        The invariant compares it with the gate's stage after every step.
        """
        return None

    def host_case_ids(self, conn: Conn) -> Iterable[str]:
        """Return the ids of the host's cases; each must be open with the gate."""
        return ()

    # --- built-in rules --------------------------------------------------------

    @initialize(target=case_ids, data=st.data())
    def open_first_case(self, data: st.DataObject) -> str:
        """Open a case before any other step, so that every example has one."""
        return self._open(data)

    @rule(target=case_ids, data=st.data())
    def open_case(self, data: st.DataObject) -> str:
        """Open another case in a drawn business line and office."""
        return self._open(data)

    @rule(case_id=case_ids, data=st.data())
    def assign(self, case_id: str, data: st.DataObject) -> None:
        """Put one of :attr:`people` on the case in a drawn role."""
        if self._state(case_id).closed or not self.policy.roles:
            return
        person = data.draw(st.sampled_from(self.people), label="person_id")
        role = data.draw(st.sampled_from(sorted(self.policy.roles)), label="role")
        self.host_assign(self.conn, case_id, person, role=role)
        if (person, role) not in self._open_assignments(case_id):
            raise AssertionError(
                f"host_assign did not assign {person!r} as {role!r} to case {case_id!r} "
                "with the gate; call StageGate.assign when the host puts someone on a case"
            )

    @rule(case_id=case_ids, data=st.data())
    def unassign(self, case_id: str, data: st.DataObject) -> None:
        """Take someone who is on the case off it after the current visit."""
        current = sorted(self._open_assignments(case_id))
        if self._state(case_id).closed or not current:
            return
        person, role = data.draw(st.sampled_from(current), label="assignment")
        self.host_unassign(self.conn, case_id, person, role=role)
        if (person, role) in self._open_assignments(case_id):
            raise AssertionError(
                f"host_unassign left {person!r} assigned as {role!r} to case {case_id!r} "
                "with the gate; call StageGate.unassign when the host takes someone off"
            )

    @rule(case_id=case_ids, data=st.data())
    def file_zero_report(self, case_id: str, data: st.DataObject) -> None:
        """File a zero report for the current visit as someone on the case."""
        waiting = self._waiting(case_id)
        if waiting:
            person = data.draw(st.sampled_from(waiting), label="person_id")
            self._file(case_id, person, data, zero=True)

    @rule(case_id=case_ids, data=st.data())
    def file_report(self, case_id: str, data: st.DataObject) -> None:
        """File a report with records for the current visit as someone on the case."""
        waiting = self._waiting(case_id)
        if waiting:
            person = data.draw(st.sampled_from(waiting), label="person_id")
            self._file(case_id, person, data, zero=False)

    @rule(case_id=case_ids, data=st.data())
    def check(self, case_id: str, data: st.DataObject) -> None:
        """Ask the gate about a move and compare its blockers with the tables."""
        state = self._state(case_id)
        to_stage = data.draw(self._target_stages(state), label="to_stage")
        decision = self.gate.check(self.conn, case_id, to_stage)
        blocked_people = {
            b.person_id for b in decision.blockers if b.code is BlockerCode.MISSING_FILING
        }
        expected = set(self._duty(case_id).missing)
        assert blocked_people == expected, (
            f"the gate names {sorted(map(str, blocked_people))} as not having filed for case "
            f"{case_id!r}, but the tables show {sorted(expected)}"
        )
        if state.closed:
            assert not decision.allowed, f"the gate lets closed case {case_id!r} move"

    @rule(case_id=case_ids, data=st.data())
    def advance(self, case_id: str, data: st.DataObject) -> None:
        """Move the case to a drawn stage through :meth:`host_advance`."""
        state = self._state(case_id)
        if not state.closed:
            self._advance(state, data.draw(self._target_stages(state), label="to_stage"))

    @rule(case_id=case_ids, data=st.data())
    def finish_stage(self, case_id: str, data: st.DataObject) -> None:
        """File zero reports for everyone still waiting, then move the case on.

        This is how a stage usually ends, and it lets examples get past the
        first stages, where the other rules alone seldom line up.
        """
        for person in self._waiting(case_id):
            self._file(case_id, person, data, zero=True)
        state = self._state(case_id)
        allowed = self.policy.line(state.business_line).transitions.get(state.stage, ())
        if allowed and not state.closed:
            self._advance(state, data.draw(st.sampled_from(allowed), label="to_stage"))

    # --- the invariant ---------------------------------------------------------

    @invariant()
    def gate_invariant(self) -> None:
        """Check the threeregs tables, then the host's stages against the gate's."""
        violations = find_gate_violations(self.conn, self.policy)
        if violations:
            raise GateInvariantError(violations)

        cases = t.cases
        rows = connection_of(self.conn).execute(select(cases.c.case_id, cases.c.stage))
        gate_stages = {row.case_id: row.stage for row in rows}
        for case_id in self.host_case_ids(self.conn):
            if case_id not in gate_stages:
                raise AssertionError(
                    f"the host has case {case_id!r}, but it is not open with the gate; "
                    "call StageGate.open_case when the host creates a case"
                )
        mismatches = []
        for case_id, gate_stage in sorted(gate_stages.items()):
            host_stage = self.host_stage(self.conn, case_id)
            if host_stage is not None and host_stage != gate_stage:
                mismatches.append(
                    f"case {case_id!r} is in stage {host_stage!r} for the host but in "
                    f"{gate_stage!r} for the gate"
                )
        if mismatches:
            raise AssertionError(
                "the host changed a case's stage without StageGate.advance: "
                + "; ".join(mismatches)
            )

    # --- helpers ----------------------------------------------------------------

    def _open(self, data: st.DataObject) -> str:
        line = data.draw(st.sampled_from(self.business_lines()), label="business_line")
        office = data.draw(st.sampled_from(self.office_codes()), label="office_code")
        self._opened += 1
        case_id = f"{self.case_id_prefix}{self._opened}"
        self.host_open_case(self.conn, case_id, business_line=line, office_code=office)
        try:
            self.gate.case(self.conn, case_id)
        except UnknownCaseError:
            raise AssertionError(
                f"host_open_case did not open case {case_id!r} with the gate; "
                "call StageGate.open_case when the host creates a case"
            ) from None
        return case_id

    def _state(self, case_id: str) -> CaseState:
        return self.gate.case(self.conn, case_id)

    def _load_directory(self) -> Directory:
        if self._directory is None:
            self._directory = self.gate.directory(self.conn)
        return self._directory

    def _duty(self, case_id: str) -> VisitDuty:
        """Read who is on the case during its current visit and who has filed."""
        history = read_histories(self.conn, self.policy, case_ids=[case_id])[0]
        return history.duties[-1]

    def _open_assignments(self, case_id: str) -> set[tuple[str, str]]:
        a = t.assignments
        rows = connection_of(self.conn).execute(
            select(a.c.person_id, a.c.role).where(a.c.case_id == case_id, a.c.to_visit.is_(None))
        )
        return {(row.person_id, row.role) for row in rows}

    def _target_stages(self, state: CaseState) -> st.SearchStrategy[str]:
        rules = self.policy.line(state.business_line)
        allowed = list(rules.transitions.get(state.stage, ()))
        # Nine draws in ten are moves the policy allows, and the tenth is any
        # stage of the catalog, so that forbidden moves are tried too.
        anywhere = st.sampled_from(rules.stages)
        if not allowed:
            return anywhere
        return st.integers(min_value=0, max_value=9).flatmap(
            lambda n: anywhere if n == 9 else st.sampled_from(allowed)
        )

    def _advance(self, before: CaseState, to_stage: str) -> None:
        case_id = before.case_id
        decision = self.gate.check(self.conn, case_id, to_stage)
        try:
            self.host_advance(self.conn, case_id, to_stage)
        except GateBlockedError:
            event("advance: refused by the gate")
            after = self._state(case_id)
            assert (after.stage, after.visit) == (before.stage, before.visit), (
                f"host_advance raised GateBlockedError but case {case_id!r} moved to "
                f"{after.stage!r}; roll back the host's changes when the gate refuses"
            )
            return

        if not decision.allowed:
            reasons = "; ".join(b.message("en") for b in decision.blockers)
            raise AssertionError(
                f"host_advance returned normally for case {case_id!r} to {to_stage!r}, but the "
                f"gate blocks that move: {reasons}. Call StageGate.advance and let "
                "GateBlockedError propagate"
            )
        event("advance: moved")
        after = self._state(case_id)
        if (after.stage, after.visit) != (to_stage, before.visit + 1):
            raise AssertionError(
                f"host_advance returned normally, but the gate has case {case_id!r} in stage "
                f"{after.stage!r}, not {to_stage!r}; move cases with StageGate.advance"
            )

    def _waiting(self, case_id: str) -> list[str]:
        """Return who is on the open case during its current visit and has not filed."""
        if self._state(case_id).closed:
            return []
        duty = self._duty(case_id)
        return sorted(set(duty.assigned) - duty.filed)

    def _file(self, case_id: str, person: str, data: st.DataObject, *, zero: bool) -> None:
        state = self._state(case_id)
        kind = data.draw(st.sampled_from(StaffKind), label="staff_kind")
        filer = Filer(person, state.office_code, kind)
        obligation = StageObligation(case_id, state.stage, state.round)
        now = dt.datetime.now(dt.UTC)
        filing = data.draw(
            filings(
                filer=st.just(filer),
                obligation=st.just(obligation),
                min_records=0 if zero else 1,
                max_records=0 if zero else 2,
                directory=self._load_directory(),
                direct_reports=not zero,
                filed_at=st.just(now),
            ),
            label="filing",
        )
        filing = self._routable(filing)

        receipt = self.host_file(self.conn, filing)
        assert receipt.filing_id == filing.filing_id, (
            f"host_file returned the receipt of filing {receipt.filing_id}, "
            f"not of {filing.filing_id}"
        )
        if person not in self._duty(case_id).filed:
            raise AssertionError(
                f"host_file returned, but the gate has no filing of {person!r} for case "
                f"{case_id!r} stage {state.stage!r}; store filings with StageGate.file"
            )

    def _routable(self, filing: Filing) -> Filing:
        """Make *filing* a direct report upward if the policy requires one."""
        chain = self._load_directory().chain(filing.filer.office_code)
        try:
            self.policy.route(filing, chain)
        except InvalidRouteError:
            if len(chain) > 1:
                return attrs.evolve(filing, direct_to=chain[1].level)
            return attrs.evolve(filing, records=(), direct_to=None)
        return filing
