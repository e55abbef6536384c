"""Generated policies parse and connect, and lifecycles move only where a policy allows."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from threeregs import Filer, Filing, StaffKind, StageGate, StageObligation, ValidationError
from threeregs.policy import TomlPolicy, default_policy
from threeregs.testing import (
    CaseLifecycle,
    assert_gate_invariant,
    case_lifecycles,
    example_transaction,
    policies,
)

FAST = settings(max_examples=25)
# hypothesis generates the simplest choices first. For policies they are also
# the shrink target, because no other choice makes a policy with fewer
# choices, so one generated example shows it without a slow shrink.
SIMPLEST = settings(database=None, max_examples=1, phases=[Phase.generate])


def reaches(policy: TomlPolicy, line: str, start: str, goal: str) -> bool:
    transitions = policy.line(line).transitions
    seen, todo = {start}, [start]
    while todo:
        for target in transitions.get(todo.pop(), ()):
            if target == goal:
                return True
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return start == goal


@FAST
@given(policies())
def test_policies_connect_every_stage(policy: TomlPolicy) -> None:
    assert policy.roles
    for name, rules in policy.lines.items():
        assert rules.stages[0] == rules.initial
        assert rules.closed == "closed"
        for stage in rules.stages:
            assert reaches(policy, name, rules.initial, stage)
            assert stage not in rules.transitions.get(stage, ())
            assert rules.roles_that_file(stage) <= policy.roles


@FAST
@given(policies(max_lines=1, max_stages=3, max_roles=1))
def test_policies_respect_limits(policy: TomlPolicy) -> None:
    (rules,) = policy.lines.values()
    assert 2 <= len(rules.stages) <= 3
    assert len(policy.roles) == 1


def test_policies_shrink() -> None:
    policy = find(policies(), lambda _: True, settings=SIMPLEST)

    assert list(policy.lines) == ["criminal"]
    rules = policy.lines["criminal"]
    assert rules.stages == ("accept", "closed")
    assert rules.transitions == {"accept": ("closed",)}
    assert policy.roles == frozenset({"handler"})
    assert rules.roles_that_file("accept") == frozenset({"handler"})
    assert not rules.max_rounds


@pytest.mark.parametrize(
    ("option", "value"), [("max_lines", 0), ("max_stages", 1), ("max_roles", 0)]
)
def test_policies_reject_bad_limits(option: str, value: int) -> None:
    with pytest.raises(ValidationError, match=option):
        policies(**{option: value})


def assert_valid_lifecycle(policy: TomlPolicy, lifecycle: CaseLifecycle) -> None:
    rules = policy.line(lifecycle.business_line)
    assert lifecycle.stages[0] == rules.initial
    assert len(lifecycle.rounds) == len(lifecycle.stages)
    for from_stage, to_stage in lifecycle.moves:
        assert rules.allows(from_stage, to_stage)
    counts: Counter[str] = Counter()
    for stage, round_ in zip(lifecycle.stages, lifecycle.rounds, strict=True):
        counts[stage] += 1
        assert round_ == counts[stage]
        assert round_ <= rules.max_rounds.get(stage, 99)
    assert lifecycle.closed == (not rules.transitions.get(lifecycle.stages[-1]))


@FAST
@given(case_lifecycles())
def test_lifecycles_follow_default_policy(lifecycle: CaseLifecycle) -> None:
    assert_valid_lifecycle(default_policy(), lifecycle)


@FAST
@given(st.data())
def test_lifecycles_follow_generated_policy(data: st.DataObject) -> None:
    policy = data.draw(policies())
    lifecycle = data.draw(case_lifecycles(policy, max_moves=6))

    assert len(lifecycle.moves) <= 6
    assert_valid_lifecycle(policy, lifecycle)


@FAST
@given(case_lifecycles(business_line="criminal", max_moves=30))
def test_lifecycles_respect_round_limits(lifecycle: CaseLifecycle) -> None:
    assert lifecycle.business_line == "criminal"
    assert lifecycle.stages.count("supplementary_investigation") <= 2


def test_lifecycles_shrink_to_initial_stage() -> None:
    lifecycle = find(
        case_lifecycles(), lambda _: True, settings=settings(database=None, max_examples=1)
    )
    assert lifecycle.moves == ()
    assert lifecycle.rounds == (1,)


def test_lifecycles_reject_unknown_line() -> None:
    from threeregs.policy import UnknownBusinessLineError

    with pytest.raises(UnknownBusinessLineError):
        case_lifecycles(business_line="traffic")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lifecycle=case_lifecycles(max_moves=8))
def test_gate_lets_lifecycle_through(
    engine: sa.Engine, gate: StageGate, lifecycle: CaseLifecycle
) -> None:
    # Each example runs in its own transaction, rolled back afterwards, so
    # the function-scoped fixtures serve every example.
    with example_transaction(engine) as conn:
        gate.open_case(conn, "C-1", business_line=lifecycle.business_line, office_code="330106")
        gate.assign(conn, "C-1", "P000001", role="handler")
        filer = Filer("P000001", "330106", StaffKind.PROSECUTOR)
        for (from_stage, to_stage), round_ in zip(lifecycle.moves, lifecycle.rounds, strict=False):
            obligation = StageObligation("C-1", from_stage, round_)
            gate.file(conn, Filing.zero(filer, obligation))
            gate.advance(conn, "C-1", to_stage)

        state = gate.case(conn, "C-1")
        assert (state.stage, state.round) == (lifecycle.stages[-1], lifecycle.rounds[-1])
        assert state.closed == lifecycle.closed
        assert_gate_invariant(conn, gate.policy)
