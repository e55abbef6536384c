"""example_transaction and example_session undo every example, commits included."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from threeregs import StageGate, ValidationError
from threeregs.store import metadata
from threeregs.testing import example_session, example_transaction

cases = metadata.tables["threeregs_cases"]


def case_count(bind: sa.Engine | sa.Connection) -> int:
    query = sa.select(sa.func.count()).select_from(cases)
    if isinstance(bind, sa.Engine):
        with bind.connect() as conn:
            return conn.execute(query).scalar_one()
    return bind.execute(query).scalar_one()


def test_engine_transaction_rolled_back(engine: sa.Engine, gate: StageGate) -> None:
    with example_transaction(engine) as conn:
        gate.open_case(conn, "C-1", business_line="criminal", office_code="330106")
        assert case_count(conn) == 1

    assert case_count(engine) == 0


def test_rolled_back_after_error(engine: sa.Engine, gate: StageGate) -> None:
    def open_and_fail() -> None:
        with example_transaction(engine) as conn:
            gate.open_case(conn, "C-1", business_line="criminal", office_code="330106")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        open_and_fail()

    assert case_count(engine) == 0


def test_savepoint_keeps_outer_rows(engine: sa.Engine, gate: StageGate) -> None:
    with example_transaction(engine) as outer:
        gate.open_case(outer, "C-1", business_line="criminal", office_code="330106")

        with example_transaction(outer) as inner:
            assert inner is outer
            gate.open_case(inner, "C-2", business_line="criminal", office_code="330106")
            assert case_count(inner) == 2

        assert case_count(outer) == 1
        assert outer.in_transaction()

    assert case_count(engine) == 0


def test_idle_connection_gets_transaction(engine: sa.Engine, gate: StageGate) -> None:
    with engine.connect() as conn:
        with example_transaction(conn) as same:
            gate.open_case(same, "C-1", business_line="criminal", office_code="330106")
        assert not conn.in_transaction()

    assert case_count(engine) == 0


def test_session_commit_stays_inside(engine: sa.Engine, gate: StageGate) -> None:
    with example_session(engine) as session:
        gate.open_case(session, "C-1", business_line="criminal", office_code="330106")
        session.commit()
        gate.open_case(session, "C-2", business_line="criminal", office_code="330106")
        session.rollback()
        assert case_count(session.connection()) == 1

    assert case_count(engine) == 0


def test_session_factory_options_kept(engine: sa.Engine) -> None:
    factory = sessionmaker(expire_on_commit=False, autoflush=False)

    with example_session(engine, session_factory=factory) as session:
        assert isinstance(session, Session)
        assert session.autoflush is False
        assert session.expire_on_commit is False


def test_rejects_other_binds() -> None:
    with (
        pytest.raises(ValidationError, match="Engine or Connection"),
        example_transaction(
            "sqlite://"  # type: ignore[arg-type]
        ),
    ):
        pass


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(number=st.integers(min_value=1, max_value=5))
def test_examples_start_empty(engine: sa.Engine, gate: StageGate, number: int) -> None:
    with example_transaction(engine) as conn:
        assert case_count(conn) == 0
        for index in range(number):
            gate.open_case(conn, f"C-{index}", business_line="criminal", office_code="330106")
        assert case_count(conn) == number
