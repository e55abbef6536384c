"""The conformance kit catches rules that break the contract, and passes good ones."""

from __future__ import annotations

import random
import types

import pytest

from threeregs._errors import ConformanceError
from threeregs.matching import Contribution, Finding, MatchInput, builtin_rules
from threeregs.matching._builtin import threeregs_matching_rules
from threeregs.matching.conformance import check_plugin, check_rule, sample_input
from threeregs.matching.hookspecs import hookimpl


class Good:
    """Flags every zero report, with a score from the filing's position in time."""

    name = "test.good"

    def label(self, locale: str) -> str:
        return {"zh_CN": "测试规则"}.get(locale, "test rule")

    def find(self, data: MatchInput) -> list[Finding]:
        return [
            Finding(self.name, 0.5, filing_id=f.filing_id, contributions=(Contribution("x", 1.0),))
            for f in data.current
            if f.is_zero
        ]


class WrongName(Good):
    name = "Wrong Name"


class NoLabel(Good):
    def label(self, locale: str) -> str:
        return ""


class FailsOnEmpty(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding(self.name, 0.5, filing_id=data.filings[0].filing_id)]


class InventsIds(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding(self.name, 0.5, filing_id="invented", clue_id="made-up")]


class OtherRule(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding("someone.else", 0.5)] if data.filings else []


class Random(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding(self.name, random.random())] if data.filings else []


class OrderDependent(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        if not data.filings:
            return []
        return [Finding(self.name, 0.5, filing_id=data.filings[0].filing_id)]


class Duplicates(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding(self.name, 0.5)] * 2 if data.filings else []


class NotFindings(Good):
    def find(self, data: MatchInput) -> list[object]:  # type: ignore[override]
        return [{"rule": self.name, "score": 0.5}] if data.filings else []


class ScoreOutOfRange(Good):
    def find(self, data: MatchInput) -> list[Finding]:
        finding = Finding(self.name, 0.5)
        object.__setattr__(finding, "score", 1.5)
        return [finding] if data.filings else []


def test_good_rule_conforms():
    check_rule(Good())


@pytest.mark.parametrize("rule", builtin_rules(), ids=lambda rule: rule.name)
def test_builtin_rules_conform(rule):
    check_rule(rule)


def test_builtin_plugin_conforms():
    plugin = types.SimpleNamespace(threeregs_matching_rules=threeregs_matching_rules)

    check_plugin(plugin)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (WrongName(), "expected a rule name"),
        (NoLabel(), "label('zh_CN') returned ''"),
        (FailsOnEmpty(), "raised IndexError on empty input"),
        (InventsIds(), "references filing 'invented'"),
        (InventsIds(), "references clue 'made-up'"),
        (OtherRule(), "names rule 'someone.else'"),
        (Random(), "other findings when run again"),
        (OrderDependent(), "reversed"),
        (Duplicates(), "the same finding twice"),
        (NotFindings(), "which is not a Finding"),
        (ScoreOutOfRange(), "outside [0, 1]"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else "",
)
def test_broken_rule_fails(rule, message):
    with pytest.raises(ConformanceError) as caught:
        check_rule(rule)

    assert any(message in failure for failure in caught.value.failures), caught.value.failures
    assert isinstance(caught.value, AssertionError)


def test_not_a_rule():
    with pytest.raises(ConformanceError) as caught:
        check_rule(object())

    assert "needs a name" in caught.value.failures[0]


def test_own_inputs_checked():
    class OnlyOnBigInputs(Good):
        def find(self, data: MatchInput) -> list[Finding]:
            if len(data.filings) > 100:
                raise ValueError("too many filings")
            return super().find(data)

    big = MatchInput(sample_input().filings * 3)

    check_rule(OnlyOnBigInputs())
    with pytest.raises(ConformanceError) as caught:
        check_rule(OnlyOnBigInputs(), inputs=[big])

    assert "input #1" in caught.value.failures[0]


def test_plugin_without_rules_fails():
    @hookimpl
    def threeregs_matching_rules() -> list[object]:
        return []

    with pytest.raises(ConformanceError) as caught:
        check_plugin(types.SimpleNamespace(threeregs_matching_rules=threeregs_matching_rules))

    assert "provides no rules" in str(caught.value)


def test_sample_input_has_every_kind_of_case():
    data = sample_input()

    assert any(f.is_zero for f in data.filings)
    assert any(f.supersedes for f in data.filings)
    assert any(c.person_id is None for c in data.clues)
    assert any(c.case_id is None for c in data.clues)
    assert any(c.intervener is None for c in data.clues)
