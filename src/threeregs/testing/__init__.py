"""Test helpers for applications that embed threeregs.

The package contains hypothesis strategies that generate valid people,
offices, records, filings, policies and case lifecycles. It also contains
:func:`assert_gate_invariant`, which checks that no case in a database got
past the stage gate, and :class:`GateMachine`, a state machine that a host
subclasses to drive its own case-handling code. :func:`example_transaction`
and :func:`example_session` roll each hypothesis example back.

Names load on first use. hypothesis imports this package through its plugin
entry point, and loading lazily keeps that import from pulling in
``hypothesis.stateful`` and the database-bound modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threeregs.testing._invariant import (
        GateInvariantError,
        GateViolation,
        ViolationCode,
        assert_gate_invariant,
        find_gate_violations,
    )
    from threeregs.testing._machine import GateMachine
    from threeregs.testing._policies import CaseLifecycle, case_lifecycles, policies
    from threeregs.testing._strategies import (
        case_ids,
        directories,
        filers,
        filings,
        interveners,
        monthly_obligations,
        offices,
        person_ids,
        person_names,
        positions,
        records,
        stage_obligations,
        units,
        utc_datetimes,
    )
    from threeregs.testing._transactions import example_session, example_transaction

_MODULES = {
    "threeregs.testing._invariant": (
        "GateInvariantError",
        "GateViolation",
        "ViolationCode",
        "assert_gate_invariant",
        "find_gate_violations",
    ),
    "threeregs.testing._machine": ("GateMachine",),
    "threeregs.testing._policies": ("CaseLifecycle", "case_lifecycles", "policies"),
    "threeregs.testing._strategies": (
        "case_ids",
        "directories",
        "filers",
        "filings",
        "interveners",
        "monthly_obligations",
        "offices",
        "person_ids",
        "person_names",
        "positions",
        "records",
        "stage_obligations",
        "units",
        "utc_datetimes",
    ),
    "threeregs.testing._transactions": ("example_session", "example_transaction"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
