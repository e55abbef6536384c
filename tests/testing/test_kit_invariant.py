"""assert_gate_invariant finds cases that got past the gate, reading the tables only.

A history the gate wrote itself passes. The failing histories are written the
way a host bypassing the gate would leave them: a visit recorded, or a case
row changed, without :meth:`StageGate.advance`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from threeregs import Filer, Filing, StaffKind, StageGate, StageObligation
from threeregs.policy import TomlPolicy, default_policy
from threeregs.store import metadata
from threeregs.testing import (
    GateInvariantError,
    GateViolation,
    ViolationCode,
    assert_gate_invariant,
    example_transaction,
    find_gate_violations,
)
from threeregs.testing._invariant import MESSAGE_LIMIT

if TYPE_CHECKING:
    from collections.abc import Iterator

CASE = "C-1"
OFFICE = "330106"
cases = metadata.tables["threeregs_cases"]
visits = metadata.tables["threeregs_visits"]


@pytest.fixture
def conn(engine: sa.Engine, gate: StageGate) -> Iterator[sa.Connection]:
    """Yield a connection in a transaction, opened after the gate fixture stored the keys."""
    with example_transaction(engine) as connection:
        yield connection


def zero(person: str, stage: str, round_: int = 1, case_id: str = CASE) -> Filing:
    filer = Filer(person, OFFICE, StaffKind.PROSECUTOR)
    return Filing.zero(filer, StageObligation(case_id, stage, round_))


def record_visit(conn: sa.Connection, stage: str, *, case_id: str = CASE) -> None:
    """Move a case to *stage* by writing the tables, as a host bypassing the gate might."""
    state = conn.execute(sa.select(cases).where(cases.c.case_id == case_id)).one()
    prior = conn.execute(
        sa.select(sa.func.count())
        .select_from(visits)
        .where(visits.c.case_id == case_id, visits.c.stage == stage)
    ).scalar_one()
    conn.execute(
        visits.insert().values(
            case_id=case_id,
            visit=state.visit + 1,
            stage=stage,
            round=prior + 1,
            entered_at=dt.datetime.now(dt.UTC),
        )
    )
    conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id)
        .values(stage=stage, round=prior + 1, visit=state.visit + 1)
    )


def open_with_handler(conn: sa.Connection, gate: StageGate, case_id: str = CASE) -> None:
    gate.open_case(conn, case_id, business_line="criminal", office_code=OFFICE)
    gate.assign(conn, case_id, "P000001", role="handler")


def test_gate_history_passes(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.assign(conn, CASE, "P000002", role="clerk")
    gate.file(conn, zero("P000001", "accept"))
    gate.file(conn, zero("P000002", "accept"))
    gate.advance(conn, CASE, "prosecution_review")
    gate.unassign(conn, CASE, "P000002")
    gate.file(conn, zero("P000001", "prosecution_review"))
    gate.file(conn, zero("P000002", "prosecution_review"))
    gate.advance(conn, CASE, "supplementary_investigation")
    gate.advance(conn, CASE, "prosecution_review")

    assert find_gate_violations(conn) == []
    assert_gate_invariant(conn, default_policy())


def test_empty_database_passes(conn: sa.Connection) -> None:
    assert_gate_invariant(conn)


def test_missing_filing_found(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.assign(conn, CASE, "P000002", role="co_handler")
    gate.file(conn, zero("P000001", "accept"))
    record_visit(conn, "prosecution_review")

    with pytest.raises(GateInvariantError) as caught:
        assert_gate_invariant(conn)

    assert caught.value.violations == (
        GateViolation(
            ViolationCode.MISSING_FILING,
            case_id=CASE,
            visit=1,
            stage="accept",
            round=1,
            to_stage="prosecution_review",
            person_id="P000002",
            role="co_handler",
        ),
    )
    message = str(caught.value)
    assert "1 breach of the stage gate invariant" in message
    assert "'P000002' (co_handler) had not filed" in message


def test_released_person_still_counts(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.assign(conn, CASE, "P000002", role="clerk")
    gate.unassign(conn, CASE, "P000002")
    gate.file(conn, zero("P000001", "accept"))
    record_visit(conn, "prosecution_review")

    violations = find_gate_violations(conn)

    assert [(v.code, v.person_id) for v in violations] == [
        (ViolationCode.MISSING_FILING, "P000002")
    ]


def test_current_visit_not_checked(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.assign(conn, CASE, "P000002", role="clerk")

    assert find_gate_violations(conn) == []


def test_no_filer_assigned_found(conn: sa.Connection, gate: StageGate) -> None:
    gate.open_case(conn, CASE, business_line="criminal", office_code=OFFICE)
    record_visit(conn, "prosecution_review")

    (violation,) = find_gate_violations(conn)

    assert violation.code is ViolationCode.NO_FILER_ASSIGNED
    assert "nobody in a role that must file" in str(violation)


def test_stage_without_filers_passes(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.file(conn, zero("P000001", "accept"))
    gate.advance(conn, CASE, "prosecution_review")
    gate.file(conn, zero("P000001", "prosecution_review"))
    gate.advance(conn, CASE, "supplementary_investigation")
    # Nobody in the office files while the case is back with the investigators.
    record_visit(conn, "prosecution_review")

    assert find_gate_violations(conn) == []


def test_forbidden_transition_found(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.file(conn, zero("P000001", "accept"))
    record_visit(conn, "trial_support")

    (violation,) = find_gate_violations(conn)

    assert violation.code is ViolationCode.TRANSITION_NOT_ALLOWED
    assert (violation.stage, violation.to_stage) == ("accept", "trial_support")


def test_round_limit_found(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    gate.file(conn, zero("P000001", "accept"))
    gate.advance(conn, CASE, "prosecution_review")
    for round_ in (1, 2, 3):
        gate.file(conn, zero("P000001", "prosecution_review", round_))
        if round_ < 3:
            gate.advance(conn, CASE, "supplementary_investigation")
            gate.advance(conn, CASE, "prosecution_review")
    record_visit(conn, "supplementary_investigation")
    record_visit(conn, "prosecution_review")

    codes = [v.code for v in find_gate_violations(conn)]

    assert codes.count(ViolationCode.ROUND_LIMIT) == 2


def test_case_row_out_of_sync(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    conn.execute(cases.update().where(cases.c.case_id == CASE).values(stage="indictment"))

    (violation,) = find_gate_violations(conn)

    assert violation.code is ViolationCode.CASE_OUT_OF_SYNC
    assert "stage 'indictment'" in str(violation)


def test_case_ids_limit_the_check(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate, "C-1")
    open_with_handler(conn, gate, "C-2")
    record_visit(conn, "prosecution_review", case_id="C-2")

    assert find_gate_violations(conn, case_ids=["C-1"]) == []
    assert [v.case_id for v in find_gate_violations(conn, case_ids=["C-1", "C-2"])] == ["C-2"]


def test_policy_decides_who_files(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    record_visit(conn, "prosecution_review")
    lenient = TomlPolicy.from_text(
        """
        [policy]
        name = "lenient"
        version = "1"
        [roles]
        known = ["handler"]
        [lines.criminal]
        stages = ["accept", "prosecution_review", "closed"]
        initial = "accept"
        closed = "closed"
        filers = []
        [lines.criminal.transitions]
        accept = ["prosecution_review"]
        prosecution_review = ["closed"]
        """
    )

    assert find_gate_violations(conn, lenient) == []
    assert find_gate_violations(conn)


def test_message_lists_first_violations(conn: sa.Connection, gate: StageGate) -> None:
    open_with_handler(conn, gate)
    for number in range(MESSAGE_LIMIT + 2):
        gate.assign(conn, CASE, f"P{number + 10:06d}", role="clerk")
    record_visit(conn, "prosecution_review")

    with pytest.raises(GateInvariantError) as caught:
        assert_gate_invariant(conn)

    assert len(caught.value.violations) == MESSAGE_LIMIT + 3
    assert str(caught.value).endswith("... and 3 more")
    assert isinstance(caught.value, AssertionError)
