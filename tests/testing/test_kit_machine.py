"""GateMachine passes on the plain gate and catches host mistakes with its built-in checks."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy.orm import Session

from threeregs import Receipt
from threeregs.testing import GateMachine, example_transaction

if TYPE_CHECKING:
    from collections.abc import Iterable
    from contextlib import AbstractContextManager

    from threeregs import Filing, StageGate

Conn = sa.Connection | Session

PASSING = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FAILING = settings(
    PASSING, max_examples=30, derandomize=True, phases=[Phase.generate], report_multiple_bugs=False
)


def plain_machine(engine: sa.Engine, gate: StageGate) -> type[GateMachine]:
    """Build a GateMachine that calls the gate directly, as every hook does by default."""

    class PlainMachine(GateMachine):
        def connect(self) -> AbstractContextManager[Conn]:
            return example_transaction(engine)

        def make_gate(self) -> StageGate:
            return gate

    return PlainMachine


def test_plain_gate_passes(engine: sa.Engine, gate: StageGate) -> None:
    run_state_machine_as_test(plain_machine(engine, gate), settings=PASSING)


def test_connect_required(gate: StageGate) -> None:
    class Unconnected(GateMachine):
        def make_gate(self) -> StageGate:
            return gate

    with pytest.raises(NotImplementedError, match=r"Unconnected must override connect\(\)"):
        run_state_machine_as_test(Unconnected, settings=FAILING)


def test_make_gate_required(engine: sa.Engine) -> None:
    class Gateless(GateMachine):
        def connect(self) -> AbstractContextManager[Conn]:
            return example_transaction(engine)

    with pytest.raises(NotImplementedError, match=r"override make_gate\(\)"):
        run_state_machine_as_test(Gateless, settings=FAILING)


def test_case_unknown_to_gate_caught(engine: sa.Engine, gate: StageGate) -> None:
    class Forgetful(plain_machine(engine, gate)):  # type: ignore[misc]
        def host_open_case(
            self, conn: Conn, case_id: str, *, business_line: str, office_code: str
        ) -> None:
            pass

    with pytest.raises(AssertionError, match="did not open case 'GM-1' with the gate"):
        run_state_machine_as_test(Forgetful, settings=FAILING)


def test_host_only_case_caught(engine: sa.Engine, gate: StageGate) -> None:
    class Extra(plain_machine(engine, gate)):  # type: ignore[misc]
        def host_case_ids(self, conn: Conn) -> Iterable[str]:
            return ["HOST-7"]

    with pytest.raises(AssertionError, match="host has case 'HOST-7'"):
        run_state_machine_as_test(Extra, settings=FAILING)


def test_assignment_outside_gate_caught(engine: sa.Engine, gate: StageGate) -> None:
    class LocalTeams(plain_machine(engine, gate)):  # type: ignore[misc]
        def host_assign(self, conn: Conn, case_id: str, person_id: str, *, role: str) -> None:
            pass

    with pytest.raises(AssertionError, match="host_assign did not assign"):
        run_state_machine_as_test(LocalTeams, settings=FAILING)


def test_filing_outside_gate_caught(engine: sa.Engine, gate: StageGate) -> None:
    class Unsealed(plain_machine(engine, gate)):  # type: ignore[misc]
        def host_file(self, conn: Conn, filing: Filing) -> Receipt:
            return Receipt(filing.filing_id, "0" * 64, dt.datetime.now(dt.UTC))

    with pytest.raises(AssertionError, match="the gate has no filing of"):
        run_state_machine_as_test(Unsealed, settings=FAILING)


def test_stage_mismatch_caught(engine: sa.Engine, gate: StageGate) -> None:
    class Stuck(plain_machine(engine, gate)):  # type: ignore[misc]
        def host_stage(self, conn: Conn, case_id: str) -> str | None:
            # A host that never updates its own stage after the first one.
            return self.policy.line(self.gate.case(conn, case_id).business_line).initial

    with pytest.raises(AssertionError, match=r"without StageGate\.advance"):
        run_state_machine_as_test(Stuck, settings=FAILING)
