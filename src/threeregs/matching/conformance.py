"""Conformance kit for matching rules, for plugin authors to call in their own tests.

::

    from threeregs.matching.conformance import check_plugin, check_rule

    def test_rule_conforms():
        check_rule(NightVisits())

    def test_plugin_conforms():
        check_plugin(acme_rules.plugin)

A rule conforms when its name is valid, it has labels in both locales, it
raises nothing on empty input or on the sample input, it returns only
:class:`~threeregs.matching.Finding` values of its own name that reference
filings and clues of the input, with scores in [0, 1], never the same finding
twice, and the same findings for the same input whatever the order of the
filings, clues and windows. Failures raise
:class:`~threeregs.ConformanceError` listing every failed check; it is an
``AssertionError``, so pytest reports it as a failed assertion.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Final

from threeregs._errors import ConformanceError, PluginLoadError, ValidationError
from threeregs._vocabulary import IntervenerRole
from threeregs.matching._clues import Clue, IntervenerDetails
from threeregs.matching._facts import FilingFacts, FilingKind, RecordFacts, StageWindow
from threeregs.matching._findings import Finding, check_rule_name
from threeregs.matching._input import MatchInput
from threeregs.matching._kinds import ClueSource
from threeregs.matching._names import intervener_key
from threeregs.matching._registry import RuleRegistry
from threeregs.matching._rule import MatchingRule

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["check_plugin", "check_rule", "sample_input"]

_START: Final = dt.datetime(2024, 3, 1, 1, 0, tzinfo=dt.UTC)
_STAGES: Final = ("accept", "prosecution_review", "indictment")


def _record(name: str, unit: str, occurred: dt.datetime, filed: dt.datetime) -> RecordFacts:
    due = occurred + dt.timedelta(days=3)
    return RecordFacts(
        intervener=intervener_key(name, unit, ""),
        role=IntervenerRole.LEADING_CADRE,
        occurred_at=occurred,
        due_at=due,
        late=filed > due,
    )


def sample_input() -> MatchInput:
    """Build a small input on which the built-in rules find something.

    Two offices, ten people, twelve cases of three stages each, mostly zero
    reports, a few records (one of them late and one amended), and clues
    from each source: some whose intervention was recorded, some not.
    """
    filings: list[FilingFacts] = []
    windows: list[StageWindow] = []
    day = dt.timedelta(days=1)
    for case in range(12):
        case_id = f"case-{case:02d}"
        office = "330106" if case % 2 else "330102"
        person = f"p{case % 10:02d}"
        opened = _START + case * 7 * day
        for index, stage in enumerate(_STAGES):
            start = opened + index * 10 * day
            end = start + 10 * day if index < len(_STAGES) - 1 else None
            windows.append(StageWindow(case_id, stage, 1, start, end))
            filed = start + 9 * day
            records: tuple[RecordFacts, ...] = ()
            if case % 4 == 0 and stage == "prosecution_review":
                occurred = start + (8 if case == 4 else 1) * day
                records = (_record("張偉", "北京市朝阳区人民检察院", occurred, filed),)
            filings.append(
                FilingFacts(
                    f"{case:02d}{index:02d}".ljust(32, "0"),
                    person,
                    office,
                    FilingKind.STAGE,
                    filed,
                    case_id=case_id,
                    stage=stage,
                    round=1,
                    records=records,
                )
            )
    amended = filings[3]
    filings.append(
        FilingFacts(
            "f" * 32,
            amended.person_id,
            amended.office_code,
            FilingKind.STAGE,
            amended.filed_at + day,
            case_id=amended.case_id,
            stage=amended.stage,
            round=amended.round,
            records=(_record("李四", "杭州市公安局", amended.filed_at - day, amended.filed_at),),
            supersedes=amended.filing_id,
        )
    )
    filings.append(
        FilingFacts(
            "a" * 32,
            "p01",
            "330106",
            FilingKind.ANYTIME,
            _START + 40 * day,
            records=(_record("欧阳修", "", _START + 39 * day, _START + 40 * day),),
        )
    )

    clues = [
        Clue(
            "clue-1",
            ClueSource.PETITION,
            _START + 12 * day,
            person_id="p01",
            case_id="case-01",
            intervener=IntervenerDetails("王建国", "某区政法委", "副书记"),
        ),
        Clue(
            "clue-2",
            ClueSource.DISCIPLINE_REFERRAL,
            _START + 11 * day,
            occurred_to=_START + 13 * day,
            case_id="case-00",
            intervener=IntervenerDetails("张伟", "朝阳区检察院"),
        ),
        Clue(
            "clue-3",
            ClueSource.SYSTEM_EVENT,
            _START + 39 * day,
            person_id="p01",
            intervener=IntervenerDetails("歐陽修"),
        ),
        Clue(
            "clue-4",
            ClueSource.OTHER,
            _START + 30 * day,
            case_id="case-03",
            description="no intervener named",
        ),
    ]
    return MatchInput(filings, clues, windows)


def _reordered(data: MatchInput) -> MatchInput:
    """Return the same input with filings, clues and windows in reverse order."""
    given = [w for w in data.windows if not w.derived]
    return MatchInput(
        reversed(data.filings), reversed(data.clues), reversed(given), directory=data.directory
    )


def _finding_problems(rule_name: str, findings: list[Any], data: MatchInput) -> list[str]:
    problems: list[str] = []
    seen: set[Finding] = set()
    for finding in findings:
        if not isinstance(finding, Finding):
            problems.append(f"find() returned {finding!r}, which is not a Finding")
            continue
        if finding.rule != rule_name:
            problems.append(f"a finding names rule {finding.rule!r} instead of {rule_name!r}")
        if not (isinstance(finding.score, float) and 0.0 <= finding.score <= 1.0):
            problems.append(f"a finding has score {finding.score!r}, outside [0, 1]")
        if finding.filing_id is not None and not data.has_filing(finding.filing_id):
            problems.append(f"a finding references filing {finding.filing_id!r}, not in the input")
        if finding.clue_id is not None and not data.has_clue(finding.clue_id):
            problems.append(f"a finding references clue {finding.clue_id!r}, not in the input")
        for contribution in finding.contributions:
            score = contribution.score
            if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                problems.append(
                    f"contribution {contribution.field!r} has score {score!r}, outside [0, 1]"
                )
        if finding in seen:
            problems.append(f"find() returned the same finding twice: {finding!r}")
        seen.add(finding)
    return problems


def _run(rule: MatchingRule, data: MatchInput, what: str, failures: list[str]) -> list[Any] | None:
    try:
        return list(rule.find(data))
    except Exception as exc:  # noqa: BLE001 - the kit reports whatever the rule raises
        failures.append(f"find() raised {type(exc).__name__} on {what}: {exc}")
        return None


def _sorted(findings: list[Any]) -> list[Any]:
    if not all(isinstance(f, Finding) for f in findings):
        return findings
    return sorted(findings, key=lambda f: (f.sort_key(), repr(f)))


def _check_inputs(rule: MatchingRule, name: str, data: MatchInput, what: str) -> list[str]:
    failures: list[str] = []
    first = _run(rule, data, what, failures)
    if first is None:
        return failures
    failures.extend(f"{problem} ({what})" for problem in _finding_problems(name, first, data))

    second = _run(rule, data, f"{what}, second run", failures)
    if second is not None and _sorted(second) != _sorted(first):
        failures.append(f"find() gave other findings when run again on {what}")
    reordered = _run(rule, _reordered(data), f"{what} in reverse order", failures)
    if reordered is not None and _sorted(reordered) != _sorted(first):
        failures.append(
            f"find() gave other findings on {what} with filings, clues and windows reversed"
        )
    return failures


def check_rule(rule: object, *, inputs: Iterable[MatchInput] = ()) -> None:
    """Check that *rule* meets the contract of a matching rule.

    The rule runs on empty input, on :func:`sample_input` and on each of
    *inputs* (a plugin author's own cases).

    Raises:
        ConformanceError: listing every failed check.
    """
    label = getattr(rule, "name", repr(rule))
    name = label if isinstance(label, str) else repr(label)
    if not isinstance(rule, MatchingRule):
        raise ConformanceError(name, ["the rule needs a name, a label(locale) and a find(data)"])

    failures: list[str] = []
    try:
        check_rule_name(rule.name)
    except ValidationError as exc:
        failures.append(str(exc))
    for locale in ("zh_CN", "en"):
        try:
            text = rule.label(locale)
        except Exception as exc:  # noqa: BLE001 - the kit reports whatever the rule raises
            failures.append(f"label({locale!r}) raised {type(exc).__name__}: {exc}")
            continue
        if not isinstance(text, str) or not text.strip():
            failures.append(f"label({locale!r}) returned {text!r}, not a display name")

    empty = MatchInput(())
    found = _run(rule, empty, "empty input", failures)
    if found is not None:
        failures.extend(
            f"{problem} (empty input)" for problem in _finding_problems(name, found, empty)
        )
    for number, data in enumerate([sample_input(), *inputs]):
        what = "the sample input" if number == 0 else f"input #{number}"
        failures.extend(_check_inputs(rule, name, data, what))
    if failures:
        raise ConformanceError(name, failures)


def check_plugin(plugin: object, *, inputs: Iterable[MatchInput] = ()) -> None:
    """Register *plugin* on its own and check each of its rules with :func:`check_rule`.

    Raises:
        ConformanceError: the plugin provides no rules, a rule could not be
            collected, or a rule fails its checks.
    """
    registry = RuleRegistry(builtins=False, entry_points=False)
    try:
        registry.register(plugin)
    except PluginLoadError as exc:
        raise ConformanceError(repr(plugin), [str(exc)]) from None
    pairs, problems = registry.collect()
    failures = [problem.message for problem in problems]
    if not pairs and not failures:
        failures.append("the plugin provides no rules through threeregs_matching_rules")
    if failures:
        raise ConformanceError(repr(plugin), failures)
    cases = list(inputs)
    for _plugin, rule in pairs:
        check_rule(rule, inputs=cases)
