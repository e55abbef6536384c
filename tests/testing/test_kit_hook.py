"""hypothesis resolves the threeregs types through the strategies the kit registers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kit_support import entry_point_installed, run_python

from threeregs import Filer, Filing, Intervener, MonthlyObligation, Record, StageObligation
from threeregs.policy import TomlPolicy
from threeregs.routing import Directory, Office
from threeregs.testing._hypothesis_hook import _register_strategies

# The modules that registration must not import: the strategies load on the
# first st.from_type call, and nothing loads the machine or the database helpers.
LAZY_MODULES = (
    "hypothesis.stateful",
    "threeregs.testing._strategies",
    "threeregs.testing._policies",
    "threeregs.testing._machine",
    "threeregs.testing._invariant",
    "threeregs.testing._transactions",
)
LIST_LOADED = (
    "import sys, hypothesis\n"
    f"print(','.join(m for m in {LAZY_MODULES!r} if m in sys.modules))\n"
    "print('threeregs.testing._hypothesis_hook' in sys.modules)\n"
)

TYPES = (Intervener, Record, Filer, StageObligation, MonthlyObligation, Filing, Office, Directory)


@pytest.mark.parametrize("value_type", TYPES, ids=lambda t: t.__name__)
def test_from_type_draws(value_type: type) -> None:
    _register_strategies()

    @settings(max_examples=5, database=None)
    @given(st.from_type(value_type))
    def draws(value: object) -> None:
        assert isinstance(value, value_type)

    draws()


def test_from_type_draws_policies() -> None:
    _register_strategies()

    @settings(max_examples=3, database=None)
    @given(st.from_type(TomlPolicy))
    def draws(policy: TomlPolicy) -> None:
        assert policy.lines

    draws()


def test_importing_hypothesis_stays_light() -> None:
    result = run_python("-c", LIST_LOADED)

    assert result.returncode == 0, result.stderr
    loaded, _ = result.stdout.splitlines()
    assert loaded == ""


@pytest.mark.skipif(
    not entry_point_installed("hypothesis"),
    reason="threeregs is not installed, so hypothesis cannot find its entry point",
)
def test_entry_point_registers_on_import() -> None:
    code = (
        "import hypothesis.strategies as st, threeregs\n"
        "from hypothesis.strategies._internal.types import _global_type_lookup\n"
        "print(threeregs.Filing in _global_type_lookup)\n"
    )
    result = run_python("-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.skipif(
    not entry_point_installed("hypothesis"),
    reason="threeregs is not installed, so importing hypothesis does not import it",
)
def test_importing_hypothesis_skips_sqlalchemy() -> None:
    result = run_python("-c", "import sys, hypothesis; print('sqlalchemy' in sys.modules)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
