"""Random sequences of gate calls against an independent model of the rule.

The rule: everyone assigned to a case, in a role the policy lists for the
stage, at any time during a stage visit must have filed for that visit before
the case leaves it. After every step the machine checks the rule on the
database tables themselves, compares the tables with the model, and checks
that ``check`` and ``advance`` agree.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from threeregs import (
    BlockerCode,
    CaseClosedError,
    Decision,
    DuplicateFilingError,
    Filer,
    Filing,
    ForbiddenTransitionError,
    GateBlockedError,
    NotOnCaseError,
    StaffKind,
    StageGate,
    StageObligation,
    ThreeregsError,
    WrongStageError,
)
from threeregs.policy import default_policy
from threeregs.store import metadata

if TYPE_CHECKING:
    from conftest import FindViolations
    from threeregs.policy import LineRules

POLICY = default_policy()
LINES = ("criminal", "civil_administrative")
PEOPLE = ("p1", "p2", "p3", "p4")
ROLES = tuple(sorted(POLICY.roles))
OFFICE = "330106"

cases_table = metadata.tables["threeregs_cases"]
visits_table = metadata.tables["threeregs_visits"]
assignments_table = metadata.tables["threeregs_assignments"]
filings_table = metadata.tables["threeregs_stage_filings"]

Params = dict[str, Any]


@attrs.define
class Assignment:
    person: str
    role: str
    from_visit: int
    to_visit: int | None = None

    def covers(self, visit: int) -> bool:
        return self.from_visit <= visit and (self.to_visit is None or self.to_visit >= visit)


@attrs.define
class ModelCase:
    """What the gate should know about one case, kept without reading the database."""

    line: str
    visits: list[tuple[str, int]]  # (stage, round) of visit 1, 2, ...
    closed: bool = False
    assignments: list[Assignment] = attrs.Factory(list)
    filed: set[tuple[int, str]] = attrs.Factory(set)  # (visit, person)

    @property
    def rules(self) -> LineRules:
        return POLICY.line(self.line)

    @property
    def visit(self) -> int:
        return len(self.visits)

    @property
    def stage(self) -> str:
        return self.visits[-1][0]

    @property
    def round(self) -> int:
        return self.visits[-1][1]

    def roles_during(self, visit: int) -> dict[str, set[str]]:
        """Return each person on the case during *visit*, with their roles."""
        roles: dict[str, set[str]] = {}
        for assignment in self.assignments:
            if assignment.covers(visit):
                roles.setdefault(assignment.person, set()).add(assignment.role)
        return roles

    def must_file(self, visit: int) -> dict[str, set[str]]:
        """Return who must file for *visit*, with the roles that oblige them."""
        stage = self.visits[visit - 1][0]
        required = self.rules.roles_that_file(stage)
        during = self.roles_during(visit).items()
        return {person: roles & required for person, roles in during if roles & required}

    def expected_blockers(self, to_stage: str) -> list[tuple[BlockerCode, Params]]:
        """Return the blockers the gate must list for a move to *to_stage* now."""
        rules = self.rules
        blockers: list[tuple[BlockerCode, Params]] = []
        if self.closed:
            blockers.append((BlockerCode.CASE_CLOSED, {}))
        if to_stage not in rules.transitions.get(self.stage, ()):
            blockers.append(
                (BlockerCode.TRANSITION_NOT_ALLOWED, {"stage": self.stage, "to_stage": to_stage})
            )
        limit = rules.max_rounds.get(to_stage)
        if limit is not None and self.to_round(to_stage) > limit:
            blockers.append((BlockerCode.ROUND_LIMIT, {"to_stage": to_stage, "limit": limit}))
        must = self.must_file(self.visit)
        if rules.roles_that_file(self.stage) and not must:
            blockers.append((BlockerCode.NO_FILER_ASSIGNED, {"stage": self.stage}))
        for person in sorted(must):
            if (self.visit, person) not in self.filed:
                params = {
                    "person": person,
                    "role": min(must[person]),
                    "stage": self.stage,
                    "round": self.round,
                }
                blockers.append((BlockerCode.MISSING_FILING, params))
        return blockers

    def to_round(self, to_stage: str) -> int:
        return sum(1 for stage, _ in self.visits if stage == to_stage) + 1

    def enter(self, to_stage: str) -> None:
        self.visits.append((to_stage, self.to_round(to_stage)))
        self.closed = not self.rules.transitions.get(to_stage)


def as_list(decision: Decision) -> list[tuple[BlockerCode, Params]]:
    return [(b.code, dict(b.params)) for b in decision.blockers]


class GateMachine(RuleBasedStateMachine):
    """Open, assign, unassign, file, check, advance and close, each in its own transaction."""

    engine: ClassVar[sa.Engine]
    gate: ClassVar[StageGate]
    find_violations: ClassVar[FindViolations]

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.prefix = uuid.uuid4().hex[:8]
        self.model: dict[str, ModelCase] = {}

    def pick_stage(self, case: ModelCase, pick: int) -> str:
        """Mostly a move deeper into the catalog, sometimes closing or any stage at all."""
        allowed = case.rules.transitions.get(case.stage, ())
        onward = [stage for stage in allowed if stage != case.rules.closed] or list(allowed)
        if onward and pick < 8:
            return onward[pick % len(onward)]
        if allowed and pick < 10:
            return allowed[pick % len(allowed)]
        return case.rules.stages[pick % len(case.rules.stages)]

    # --- rules -----------------------------------------------------------

    @initialize(target=cases, line=st.sampled_from(LINES), handler=st.sampled_from(PEOPLE))
    def open_first_case(self, line: str, handler: str) -> str:
        return self.open_case(line, handler)

    @rule(target=cases, line=st.sampled_from(LINES), handler=st.none() | st.sampled_from(PEOPLE))
    def open_case(self, line: str, handler: str | None) -> str:
        """Open a case, and put a handler on it in the same transaction, as hosts usually do."""
        case_id = f"M-{self.prefix}-{len(self.model)}"
        with self.engine.begin() as conn:
            state = self.gate.open_case(conn, case_id, business_line=line, office_code=OFFICE)
            if handler is not None:
                self.gate.assign(conn, case_id, handler, role="handler")
        case = ModelCase(line, [(state.stage, 1)])
        if handler is not None:
            case.assignments.append(Assignment(handler, "handler", 1))
        self.model[case_id] = case
        return case_id

    @rule(case_id=cases, person=st.sampled_from(PEOPLE), role=st.sampled_from(ROLES))
    def assign(self, case_id: str, person: str, role: str) -> None:
        case = self.model[case_id]
        outcome = self.attempt(lambda conn: self.gate.assign(conn, case_id, person, role=role))
        if case.closed:
            assert isinstance(outcome, CaseClosedError), outcome
            return
        assert outcome is None, outcome
        case.assignments.append(Assignment(person, role, case.visit))

    @rule(
        case_id=cases,
        person=st.sampled_from(PEOPLE),
        role=st.none() | st.sampled_from(ROLES),
    )
    def unassign(self, case_id: str, person: str, role: str | None) -> None:
        case = self.model[case_id]
        outcome = self.attempt(lambda conn: self.gate.unassign(conn, case_id, person, role=role))
        current = [
            a
            for a in case.assignments
            if a.person == person and a.to_visit is None and role in (None, a.role)
        ]
        if case.closed:
            assert isinstance(outcome, CaseClosedError), outcome
        elif not current:
            assert isinstance(outcome, NotOnCaseError), outcome
        else:
            assert outcome is None, outcome
            for assignment in current:
                assignment.to_visit = case.visit

    @rule(case_id=cases, pick=st.integers(0, 2 * len(PEOPLE)), earlier=st.integers(0, 4))
    def file(self, case_id: str, pick: int, earlier: int) -> None:
        """File a zero report as one of the people, or as someone the gate waits for.

        With *earlier* > 0 the report names an earlier visit's stage and round,
        as a filer looking at an outdated screen would.
        """
        case = self.model[case_id]
        waiting = sorted(p for p in case.must_file(case.visit) if (case.visit, p) not in case.filed)
        person = waiting[0] if pick >= len(PEOPLE) and waiting else PEOPLE[pick % len(PEOPLE)]
        stage, round_ = case.visits[-1]
        if earlier and case.visit > 1:
            stage, round_ = case.visits[max(0, case.visit - 1 - earlier)]
        filing = Filing.zero(
            Filer(person, OFFICE, StaffKind.PROSECUTOR), StageObligation(case_id, stage, round_)
        )
        outcome = self.attempt(lambda conn: self.gate.file(conn, filing))

        if case.closed:
            assert isinstance(outcome, CaseClosedError), outcome
        elif (stage, round_) != (case.stage, case.round):
            assert isinstance(outcome, WrongStageError), outcome
        elif person not in case.roles_during(case.visit):
            assert isinstance(outcome, NotOnCaseError), outcome
        elif (case.visit, person) in case.filed:
            assert isinstance(outcome, DuplicateFilingError), outcome
        else:
            assert not isinstance(outcome, Exception), outcome
            case.filed.add((case.visit, person))

    @rule(case_id=cases)
    def file_for_everyone_waiting(self, case_id: str) -> None:
        """File for each person the model expects the gate to wait for, one transaction each."""
        case = self.model[case_id]
        for person in sorted(case.must_file(case.visit)):
            if (case.visit, person) not in case.filed:
                self.file(case_id, PEOPLE.index(person), 0)

    @rule(case_id=cases, pick=st.integers(0, 11))
    def check(self, case_id: str, pick: int) -> None:
        case = self.model[case_id]
        to_stage = self.pick_stage(case, pick)
        with self.engine.begin() as conn:
            decision = self.gate.check(conn, case_id, to_stage)

        assert as_list(decision) == case.expected_blockers(to_stage)
        assert (decision.from_stage, decision.from_round) == (case.stage, case.round)
        assert decision.to_round == case.to_round(to_stage)

    @rule(case_id=cases, pick=st.integers(0, 11))
    def advance(self, case_id: str, pick: int) -> None:
        case = self.model[case_id]
        self.move(case_id, case, self.pick_stage(case, pick), closing=False)

    @rule(case_id=cases)
    def close(self, case_id: str) -> None:
        case = self.model[case_id]
        self.move(case_id, case, case.rules.closed, closing=True)

    def move(self, case_id: str, case: ModelCase, to_stage: str, *, closing: bool) -> None:
        """Check, then advance in the same transaction, and compare both with the model."""
        expected = case.expected_blockers(to_stage)
        with self.engine.begin() as conn:
            checked = self.gate.check(conn, case_id, to_stage)
            try:
                if closing:
                    moved: Decision | ThreeregsError = self.gate.close(conn, case_id)
                else:
                    moved = self.gate.advance(conn, case_id, to_stage)
            except ThreeregsError as exc:
                moved = exc

        assert as_list(checked) == expected
        assert checked.allowed == isinstance(moved, Decision), moved
        if isinstance(moved, Decision):
            assert moved.blockers == ()
            case.enter(to_stage)
            return
        codes = {code for code, _ in expected}
        if BlockerCode.CASE_CLOSED in codes:
            assert isinstance(moved, CaseClosedError), moved
            return
        if codes & {BlockerCode.TRANSITION_NOT_ALLOWED, BlockerCode.ROUND_LIMIT}:
            assert isinstance(moved, ForbiddenTransitionError), moved
        else:
            assert type(moved) is GateBlockedError, moved
        assert isinstance(moved, GateBlockedError)
        assert as_list(moved.decision) == expected

    def attempt(self, action: Any) -> ThreeregsError | object:
        """Run *action* in a transaction of its own; return its result or gate error."""
        try:
            with self.engine.begin() as conn:
                return action(conn)
        except ThreeregsError as exc:
            return exc

    # --- invariants --------------------------------------------------------

    @invariant()
    def no_visit_left_with_filing_missing(self) -> None:
        with self.engine.connect() as conn:
            assert self.find_violations(conn, list(self.model)) == []

    @invariant()
    def model_left_no_visit_with_filing_missing(self) -> None:
        for case in self.model.values():
            for visit in range(1, case.visit):
                missing = {p for p in case.must_file(visit) if (visit, p) not in case.filed}
                assert missing == set(), (visit, missing)

    @invariant()
    def tables_match_model(self) -> None:
        ids = list(self.model)
        with self.engine.connect() as conn:
            cases = conn.execute(sa.select(cases_table).where(cases_table.c.case_id.in_(ids))).all()
            visits = conn.execute(
                sa.select(visits_table).where(visits_table.c.case_id.in_(ids))
            ).all()
            assignments = conn.execute(
                sa.select(assignments_table).where(assignments_table.c.case_id.in_(ids))
            ).all()
            filings = conn.execute(
                sa.select(filings_table).where(filings_table.c.case_id.in_(ids))
            ).all()

        assert {r.case_id: (r.stage, r.round, r.visit, bool(r.closed)) for r in cases} == {
            case_id: (case.stage, case.round, case.visit, case.closed)
            for case_id, case in self.model.items()
        }
        assert sorted((r.case_id, r.visit, r.stage, r.round) for r in visits) == sorted(
            (case_id, number, stage, round_)
            for case_id, case in self.model.items()
            for number, (stage, round_) in enumerate(case.visits, start=1)
        )
        assert Counter(
            (r.case_id, r.person_id, r.role, r.from_visit, r.to_visit) for r in assignments
        ) == Counter(
            (case_id, a.person, a.role, a.from_visit, a.to_visit)
            for case_id, case in self.model.items()
            for a in case.assignments
        )
        assert {(r.case_id, r.visit, r.person_id) for r in filings} == {
            (case_id, visit, person)
            for case_id, case in self.model.items()
            for visit, person in case.filed
        }
        for row in filings:
            assert (row.stage, row.round) == self.model[row.case_id].visits[row.visit - 1]


def test_gate_machine(engine: sa.Engine, gate: StageGate, visit_violations: FindViolations) -> None:
    bound = {"engine": engine, "gate": gate, "find_violations": staticmethod(visit_violations)}
    machine = type("BoundGateMachine", (GateMachine,), bound)
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None),
    )
