"""The built-in rules, registered as an internal plugin like any installed one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threeregs.matching._rule_late import LateFiling
from threeregs.matching._rule_recurring import RecurringIntervener
from threeregs.matching._rule_unreported import UnreportedIntervention
from threeregs.matching._rule_zero_runs import ZeroRunByOffice, ZeroRunByPerson
from threeregs.matching.hookspecs import hookimpl

if TYPE_CHECKING:
    from threeregs.matching._rule import MatchingRule


def builtin_rules() -> list[MatchingRule]:
    """Return the built-in rules with their default settings."""
    return [
        LateFiling(),
        RecurringIntervener(),
        UnreportedIntervention(),
        ZeroRunByOffice(),
        ZeroRunByPerson(),
    ]


@hookimpl
def threeregs_matching_rules() -> list[MatchingRule]:
    """Provide the built-in rules."""
    return builtin_rules()
