"""Registration of the threeregs strategies with hypothesis, run when hypothesis is imported.

hypothesis calls :func:`_register_strategies` through the ``hypothesis`` entry
point group, so ``st.from_type(threeregs.Filing)`` works in any test suite that
has threeregs installed. The registration is lazy: it imports only the value
classes, and the strategy modules load the first time a test resolves one of
these types.

Importing this module imports the ``threeregs`` package first, whose names
load lazily, so ``import hypothesis`` imports neither SQLAlchemy nor
cryptography (``test_importing_hypothesis_skips_sqlalchemy`` checks it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import SearchStrategy


def _resolver(module: str, function: str) -> Callable[[type[Any]], SearchStrategy[Any]]:
    """Return a function that builds the strategy ``module.function()`` when first asked."""

    def resolve(thing: type[Any]) -> SearchStrategy[Any]:
        strategy: SearchStrategy[Any] = getattr(importlib.import_module(module), function)()
        return strategy

    return resolve


def _register_strategies() -> None:
    """Register a strategy for each threeregs value type with ``st.register_type_strategy``."""
    # A function, not st.deferred: register_type_strategy checks whether a
    # strategy is empty, which evaluates a deferred strategy at once
    # (hypothesis 6.170) and would import the strategy modules here.
    from hypothesis import strategies as st  # noqa: PLC0415 - hypothesis is still importing

    from threeregs._model import (  # noqa: PLC0415 - only when hypothesis asks
        Filer,
        Filing,
        Intervener,
        MonthlyObligation,
        Record,
        StageObligation,
    )
    from threeregs.policy._policy import TomlPolicy  # noqa: PLC0415
    from threeregs.routing._directory import Directory, Office  # noqa: PLC0415

    strategies = "threeregs.testing._strategies"
    policies = "threeregs.testing._policies"
    for value_type, module, function in (
        (Intervener, strategies, "interveners"),
        (Record, strategies, "records"),
        (Filer, strategies, "filers"),
        (StageObligation, strategies, "stage_obligations"),
        (MonthlyObligation, strategies, "monthly_obligations"),
        (Filing, strategies, "filings"),
        (Office, strategies, "offices"),
        (Directory, strategies, "directories"),
        (TomlPolicy, policies, "policies"),
    ):
        st.register_type_strategy(value_type, _resolver(module, function))
