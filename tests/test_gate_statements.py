"""SQL statements per gate call: check issues one, advance and file at most four.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event.
Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is not
counted, because the host decides it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from statement_counting import counting
from threeregs import Filing, GateBlockedError, MonthlyObligation, StageGate, StageObligation

if TYPE_CHECKING:
    from conftest import MakeFiler, MakeStageReport
    from threeregs import Record

CASE = "C-1"
OFFICE = "330106"


@pytest.fixture
def case(engine: sa.Engine, gate: StageGate) -> str:
    """Open C-1 with four people on it and warm up the connection pool."""
    with engine.begin() as conn:
        gate.open_case(conn, CASE, business_line="criminal", office_code=OFFICE)
        for person, role in (("p1", "handler"), ("p2", "co_handler"), ("p3", "clerk")):
            gate.assign(conn, CASE, person, role=role)
        gate.assign(conn, CASE, "p4", role="assistant")
        gate.check(conn, CASE, "prosecution_review")
    return CASE


def test_check_is_one_statement(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        with counting(engine) as blocked:
            decision = gate.check(conn, case, "prosecution_review")
        for person in ("p1", "p2", "p3", "p4"):
            gate.file(conn, stage_zero(person, case, "accept"))
        with counting(engine) as allowed:
            assert gate.check(conn, case, "prosecution_review").allowed
        with counting(engine) as forbidden:
            assert not gate.check(conn, case, "indictment").allowed

    assert len(decision.blockers) == 4
    assert len(blocked) == 1
    assert len(allowed) == 1
    assert len(forbidden) == 1


def test_check_through_session_is_one_statement(
    engine: sa.Engine, gate: StageGate, case: str
) -> None:
    with Session(engine) as session, session.begin():
        gate.case(session, case)
        with counting(engine) as statements:
            gate.check(session, case, "prosecution_review")

    assert len(statements) == 1


def test_advance_at_most_four_statements(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        with counting(engine) as blocked, pytest.raises(GateBlockedError):
            gate.advance(conn, case, "prosecution_review")
        for person in ("p1", "p2", "p3", "p4"):
            gate.file(conn, stage_zero(person, case, "accept"))
        with counting(engine) as moved:
            gate.advance(conn, case, "prosecution_review")

    assert len(blocked) <= 4
    assert len(moved) <= 4


def test_file_at_most_four_statements(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    stage_zero: MakeStageReport,
    lawyer_contact: Record,
) -> None:
    first = stage_zero("p1", case, "accept")
    monthly = Filing.zero(filer("p1"), MonthlyObligation("2026-10"))
    filings = {
        "stage": first,
        "stage amendment": Filing(
            filer("p1"),
            StageObligation(case, "accept"),
            records=(lawyer_contact,),
            supersedes=first.filing_id,
        ),
        "monthly": monthly,
        "monthly amendment": Filing(
            filer("p1"),
            MonthlyObligation("2026-10"),
            records=(lawyer_contact,),
            supersedes=monthly.filing_id,
        ),
        "anytime": Filing(filer("p1"), None, records=(lawyer_contact,)),
        "refiled": first,
        "direct report": Filing(
            filer("p2"), StageObligation(case, "accept"), direct_to="provincial"
        ),
    }
    counts = {}
    with engine.begin() as conn:
        for name, filing in filings.items():
            with counting(engine) as statements:
                gate.file(conn, filing)
            counts[name] = len(statements)

    over = {name: count for name, count in counts.items() if count > 4}
    assert over == {}
    assert counts["anytime"] <= counts["stage"]


def test_directory_loaded_once(
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    stage_zero: MakeStageReport,
) -> None:
    """A gate without a directory reads it from the database on its first filing only."""
    loading = StageGate(anchor=gate.anchor)
    with engine.begin() as conn:
        with counting(engine) as first:
            loading.file(conn, stage_zero("p1", case, "accept"))
        with counting(engine) as second:
            loading.file(conn, stage_zero("p2", case, "accept"))

    offices = re.compile(r"\bthreeregs_offices\b")
    assert len([s for s in first if offices.search(s)]) == 1
    assert [s for s in second if offices.search(s)] == []
    assert len(second) <= 4
