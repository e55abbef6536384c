"""The example host passes the kit's GateMachine, and its broken variants fail it.

The machine drives the host's own service layer: opening, staffing,
reporting and moving go through :class:`example_host.CaseService`, and a
host rule closes cases with the host's close button. After every step the
kit compares the host's ``stage`` column with the gate's stage and checks the
gate invariant on the threeregs tables.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from example_host import Base, CaseService, HostCase
from example_host.broken import ClerkClosingService, ForcedMoveService
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import rule, run_state_machine_as_test
from sqlalchemy.orm import Session

from threeregs import GateBlockedError
from threeregs.testing import GateMachine, example_session

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from contextlib import AbstractContextManager

    from threeregs import Filing, Receipt, StageGate

# Each step talks to the database, so a step may take longer than hypothesis's
# default deadline on a busy machine.
PASSING = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Runs that must fail are derandomized, so every run tries the same examples,
# and skip shrinking, which would replay dozens of examples on the database.
FAILING = settings(
    PASSING,
    max_examples=40,
    derandomize=True,
    phases=[Phase.generate],
    report_multiple_bugs=False,
)


@pytest.fixture
def host_engine(engine: sa.Engine) -> Iterator[sa.Engine]:
    """Return the test engine with the host's tables created next to the threeregs tables."""
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)


def session_of(conn: sa.Connection | Session) -> Session:
    assert isinstance(conn, Session), "the example host works on ORM sessions"
    return conn


def host_machine(
    engine: sa.Engine, gate: StageGate, service_class: type[CaseService] = CaseService
) -> type[GateMachine]:
    """Build a GateMachine that drives the example host's service layer."""
    service = service_class(gate)

    class HostMachine(GateMachine):
        def connect(self) -> AbstractContextManager[sa.Connection | Session]:
            return example_session(engine)

        def make_gate(self) -> StageGate:
            return gate

        def host_open_case(
            self, conn: sa.Connection | Session, case_id: str, *, business_line: str,
            office_code: str,
        ) -> None:  # fmt: skip
            service.register_case(
                session_of(conn),
                case_id,
                title=f"案件 {case_id}",
                business_line=business_line,
                office_code=office_code,
            )

        def host_assign(
            self, conn: sa.Connection | Session, case_id: str, person_id: str, *, role: str
        ) -> None:
            service.add_staff(session_of(conn), case_id, person_id, role=role)

        def host_unassign(
            self, conn: sa.Connection | Session, case_id: str, person_id: str, *, role: str
        ) -> None:
            service.remove_staff(session_of(conn), case_id, person_id, role=role)

        def host_file(self, conn: sa.Connection | Session, filing: Filing) -> Receipt:
            return service.submit_report(session_of(conn), filing)

        def host_advance(self, conn: sa.Connection | Session, case_id: str, to_stage: str) -> None:
            service.move_case(session_of(conn), case_id, to_stage)

        def host_stage(self, conn: sa.Connection | Session, case_id: str) -> str | None:
            case = session_of(conn).get(HostCase, case_id)
            return None if case is None else case.stage

        def host_case_ids(self, conn: sa.Connection | Session) -> Iterable[str]:
            return session_of(conn).scalars(sa.select(HostCase.case_id)).all()

        @rule(case_id=GateMachine.case_ids)
        def close_case(self, case_id: str) -> None:
            """Press the host's close button, which the gate may refuse."""
            if self.gate.case(self.conn, case_id).closed:
                return
            with contextlib.suppress(GateBlockedError):
                service.close_case(session_of(self.conn), case_id)

    return HostMachine


@pytest.mark.usefixtures("host_engine")
def test_host_keeps_the_gate(engine: sa.Engine, gate: StageGate) -> None:
    run_state_machine_as_test(host_machine(engine, gate), settings=PASSING)

    # Every example ran in a transaction that was rolled back.
    with engine.connect() as conn:
        host_cases = conn.execute(sa.select(sa.func.count()).select_from(HostCase)).scalar_one()
    assert host_cases == 0


@pytest.mark.usefixtures("host_engine")
def test_closing_without_gate_caught(engine: sa.Engine, gate: StageGate) -> None:
    machine = host_machine(engine, gate, ClerkClosingService)

    with pytest.raises(AssertionError, match=r"without StageGate\.advance") as caught:
        run_state_machine_as_test(machine, settings=FAILING)

    assert "for the host but in" in str(caught.value)


@pytest.mark.usefixtures("host_engine")
def test_forced_move_caught(engine: sa.Engine, gate: StageGate) -> None:
    machine = host_machine(engine, gate, ForcedMoveService)

    with pytest.raises(AssertionError, match="but the gate blocks that move"):
        run_state_machine_as_test(machine, settings=FAILING)
