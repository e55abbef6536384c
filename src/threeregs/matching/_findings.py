"""Findings of matching rules, problems with plugins, and the result of a run."""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, Any, Final

import attrs

from threeregs._errors import PluginLoadError, RuleFailedError, ValidationError
from threeregs.matching import _fields

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: Rule names: lowercase ASCII words joined by ``_``, optionally namespaced
#: with dots (``acme.night_visits``), at most 64 characters.
RULE_NAME: Final = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
MAX_RULE_NAME: Final = 64
#: Field codes of a contribution, the same pattern without dots.
FIELD_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,47}")


def check_rule_name(value: object) -> None:
    """Raise :class:`ValidationError` unless *value* is a valid rule name."""
    if not isinstance(value, str) or not RULE_NAME.fullmatch(value) or len(value) > MAX_RULE_NAME:
        raise ValidationError(
            "rule",
            value,
            f"expected a rule name of lowercase letters, digits, _ and dots, at most "
            f"{MAX_RULE_NAME} characters",
        )


def _score(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    _fields.unit_interval(attribute.name, value)


def _field_code(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not FIELD_NAME.fullmatch(value):
        raise ValidationError(
            "field", value, "expected a field code of lowercase letters, digits and _"
        )


def _to_float(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@attrs.frozen
class Contribution:
    """One compared field of a finding: how strongly it supports the finding, and why.

    ``expected`` is what the clue, the policy or the peers lead one to expect;
    ``observed`` is what the filings show. Both are short display texts.
    """

    field: str = attrs.field(validator=_field_code)
    score: float = attrs.field(converter=_to_float, validator=_score)
    expected: str = ""
    observed: str = ""


def _rule(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_rule_name(value)


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(attribute.name, value, "expected text or None")


def _contributions(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(c, Contribution) for c in value):
        raise ValidationError("contributions", value, "expected a tuple of Contribution")


def _to_tuple(value: Iterable[Contribution]) -> tuple[Contribution, ...]:
    return tuple(value)


@attrs.frozen
class Finding:
    """A likely case of untruthful, late or selective filing, found by one rule.

    ``score`` in [0, 1] measures how strongly the evidence points at a problem;
    ``contributions`` list each compared field. ``filing_id`` and ``clue_id``
    reference the filing and the clue the finding is about, when there is one.
    """

    rule: str = attrs.field(validator=_rule)
    score: float = attrs.field(converter=_to_float, validator=_score)
    filing_id: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    clue_id: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    person_id: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    office_code: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    case_id: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    #: Display name of the intervener the finding is about.
    intervener: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    contributions: tuple[Contribution, ...] = attrs.field(
        default=(), converter=_to_tuple, validator=_contributions, kw_only=True
    )

    def sort_key(self) -> tuple[Any, ...]:
        """Return the sort key of findings within a rule: highest score first, then by ids."""
        return (
            -self.score,
            self.filing_id or "",
            self.clue_id or "",
            self.person_id or "",
            self.office_code or "",
            self.case_id or "",
            self.intervener or "",
        )


class Phase(enum.StrEnum):
    """When a plugin problem happened."""

    #: Importing or registering the plugin.
    LOAD = "load"
    #: Asking the plugin for its rules.
    COLLECT = "collect"
    #: Running a rule.
    RUN = "run"


@attrs.frozen
class PluginProblem:
    """A plugin that failed to load, to list its rules, or whose rule failed.

    ``plugin`` is the plugin's name (its entry-point name for an installed
    plugin); ``rule`` is set when one rule is to blame.
    """

    plugin: str
    phase: Phase
    message: str
    rule: str | None = None

    def to_error(self) -> PluginLoadError | RuleFailedError:
        """Return the error that describes this problem."""
        where = (
            f"rule {self.rule!r} of plugin {self.plugin!r}"
            if self.rule
            else f"plugin {self.plugin!r}"
        )
        if self.phase is Phase.RUN:
            return RuleFailedError(f"{where} failed: {self.message}")
        return PluginLoadError(f"{where} could not be loaded: {self.message}")


@attrs.frozen
class MatchResult:
    """The findings of one run, the rules that ran, in order, and every plugin problem."""

    findings: tuple[Finding, ...]
    rules: tuple[str, ...]
    problems: tuple[PluginProblem, ...] = ()

    def by_rule(self, rule: str) -> tuple[Finding, ...]:
        """Return the findings of one rule."""
        return tuple(f for f in self.findings if f.rule == rule)

    def above(self, threshold: float) -> tuple[Finding, ...]:
        """Return the findings with a score of at least *threshold*."""
        return tuple(f for f in self.findings if f.score >= threshold)

    def raise_for_problems(self) -> None:
        """Raise the error of the first problem, if any.

        Raises:
            PluginLoadError: a plugin could not be loaded or list its rules.
            RuleFailedError: a rule raised or returned invalid findings.
        """
        if self.problems:
            raise self.problems[0].to_error()


def sorted_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Sort the findings of one rule into their documented order."""
    return sorted(findings, key=Finding.sort_key)
