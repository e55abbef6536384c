"""The public names of threeregs.testing, loaded on first use."""

from __future__ import annotations

import pytest
from kit_support import run_python

import threeregs.testing

EXPORTED = [
    "CaseLifecycle",
    "GateInvariantError",
    "GateMachine",
    "GateViolation",
    "ViolationCode",
    "assert_gate_invariant",
    "case_ids",
    "case_lifecycles",
    "directories",
    "example_session",
    "example_transaction",
    "filers",
    "filings",
    "find_gate_violations",
    "interveners",
    "monthly_obligations",
    "offices",
    "person_ids",
    "person_names",
    "policies",
    "positions",
    "records",
    "stage_obligations",
    "units",
    "utc_datetimes",
]


def test_all_pinned() -> None:
    assert threeregs.testing.__all__ == EXPORTED


@pytest.mark.parametrize("name", EXPORTED)
def test_name_resolves(name: str) -> None:
    value = getattr(threeregs.testing, name)

    assert value.__module__.startswith("threeregs.testing._")
    assert name in dir(threeregs.testing)


def test_unknown_name_raises() -> None:
    with pytest.raises(AttributeError, match="no attribute 'gate_machine'"):
        threeregs.testing.gate_machine  # noqa: B018 - the attribute access is the test


def test_import_is_lazy() -> None:
    code = (
        "import sys, threeregs.testing\n"
        "heavy = [m for m in sys.modules if m in ('hypothesis.stateful',) "
        "or m.startswith('threeregs.testing._') and m != 'threeregs.testing._hypothesis_hook']\n"
        "print(','.join(sorted(heavy)))\n"
    )
    result = run_python("-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
