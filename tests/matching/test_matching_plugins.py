"""Plugins: discovery through entry points, run order, failures, the allow-list."""

from __future__ import annotations

import itertools
import types

import pytest
from matching_builders import clue, stage_filing, window

from threeregs._errors import PluginLoadError, RuleFailedError, UnknownRuleError
from threeregs.matching import (
    Finding,
    MatchInput,
    Phase,
    RuleRegistry,
    builtin_rules,
    run_rules,
)
from threeregs.matching.hookspecs import hookimpl

BUILTIN_NAMES = [
    "late_filing",
    "recurring_intervener",
    "unreported_intervention",
    "zero_run_office",
    "zero_run_person",
]


def data() -> MatchInput:
    filings = [
        stage_filing("f1", "p1", "k1", "accept", day=4),
        stage_filing("f2", "p2", "k2", "accept", day=4),
    ]
    clues = [
        clue("c1", day=2, case="k1", person="p1", name="王建国"),
        clue("c2", day=3, case="k1", person="p1", name="李四"),
        clue("c3", day=3, case="k2", person="p2", name="李四"),
    ]
    return MatchInput(filings, clues, [window("k1", "accept", 0, 5), window("k2", "accept", 0, 5)])


class Rule:
    """A rule with a fixed finding, named at construction."""

    def __init__(self, name: str, score: float = 0.5, **finding: object) -> None:
        self.name = name
        self.score = score
        self.finding = finding

    def label(self, locale: str) -> str:
        return self.name

    def find(self, data: MatchInput) -> list[Finding]:
        return [Finding(self.name, self.score, **self.finding)]  # type: ignore[arg-type]


def plugin(*rules: object) -> types.SimpleNamespace:
    @hookimpl
    def threeregs_matching_rules() -> list[object]:
        return list(rules)

    return types.SimpleNamespace(threeregs_matching_rules=threeregs_matching_rules)


def registry(*plugins: object) -> RuleRegistry:
    rules = RuleRegistry(builtins=False, entry_points=False)
    for number, item in enumerate(plugins):
        rules.register(item, name=f"plugin-{number}")
    return rules


# --- built-in plugin -----------------------------------------------------


def test_builtin_rules_registered_as_plugin():
    rules = RuleRegistry(entry_points=False)

    assert rules.plugin_names() == ["threeregs.builtin"]
    assert [rule.name for rule in rules.rules()] == BUILTIN_NAMES


def test_builtin_run_finds_the_unreported_clue():
    result = RuleRegistry(entry_points=False).run(data())

    assert result.rules == tuple(BUILTIN_NAMES)
    assert result.problems == ()
    assert {(f.rule, f.filing_id, f.clue_id) for f in result.findings} == {
        ("unreported_intervention", "f1", "c1"),
        ("unreported_intervention", "f1", "c2"),
        ("unreported_intervention", "f2", "c3"),
    }


def test_builtin_rule_labels_in_both_locales():
    for rule in builtin_rules():
        assert rule.label("en") != rule.label("zh_CN")


# --- order ---------------------------------------------------------------


def test_run_order_independent_of_registration_order():
    first = plugin(Rule("zeta", filing_id="f1"), Rule("alpha", filing_id="f2"))
    second = plugin(Rule("mid.rule", 0.9, clue_id="c1"))
    builtin = plugin(*builtin_rules())

    results = set()
    for order in itertools.permutations([first, second, builtin]):
        result = registry(*order).run(data())
        results.add(result.findings)
        assert result.rules == tuple(sorted(["zeta", "alpha", "mid.rule", *BUILTIN_NAMES]))

    assert len(results) == 1


def test_findings_sorted_within_rule():
    class Many:
        name = "many"

        def label(self, locale: str) -> str:
            return "many"

        def find(self, data: MatchInput) -> list[Finding]:
            return [
                Finding("many", 0.2, filing_id="f2"),
                Finding("many", 0.9, filing_id="f2"),
                Finding("many", 0.2, filing_id="f1"),
            ]

    result = registry(plugin(Many())).run(data())

    assert [(f.score, f.filing_id) for f in result.findings] == [
        (0.9, "f2"),
        (0.2, "f1"),
        (0.2, "f2"),
    ]


# --- failures ------------------------------------------------------------


def test_raising_rule_recorded_others_run():
    class Raising:
        name = "raising"

        def label(self, locale: str) -> str:
            return "raising"

        def find(self, data: MatchInput) -> list[Finding]:
            raise ZeroDivisionError("division by zero")

    result = registry(plugin(Raising(), Rule("fine", filing_id="f1"))).run(data())

    assert [f.rule for f in result.findings] == ["fine"]
    (problem,) = result.problems
    assert (problem.plugin, problem.rule, problem.phase) == ("plugin-0", "raising", Phase.RUN)
    assert "ZeroDivisionError" in problem.message
    with pytest.raises(RuleFailedError):
        result.raise_for_problems()


def test_raising_hook_recorded_others_run():
    @hookimpl
    def threeregs_matching_rules() -> list[object]:
        raise RuntimeError("cannot list rules")

    broken = types.SimpleNamespace(threeregs_matching_rules=threeregs_matching_rules)

    result = registry(broken, plugin(Rule("fine"))).run(data())

    assert result.rules == ("fine",)
    (problem,) = result.problems
    assert problem.phase is Phase.COLLECT
    assert "cannot list rules" in problem.message
    with pytest.raises(PluginLoadError):
        result.raise_for_problems()


@pytest.mark.parametrize(
    ("provided", "message"),
    [
        ("not a rule", "is not a rule"),
        (Rule("Bad Name"), "expected a rule name"),
    ],
)
def test_invalid_rule_recorded(provided, message):
    result = registry(plugin(provided, Rule("fine"))).run(data())

    assert result.rules == ("fine",)
    assert message in result.problems[0].message


def test_duplicate_rule_name_recorded():
    result = registry(plugin(Rule("same", filing_id="f1")), plugin(Rule("same", filing_id="f2")))
    run = result.run(data())

    assert [f.filing_id for f in run.findings] == ["f1"]
    assert "already provided by plugin 'plugin-0'" in run.problems[0].message


@pytest.mark.parametrize(
    ("finding", "message"),
    [
        ({"filing_id": "nope"}, "filing 'nope' is not in the input"),
        ({"clue_id": "nope"}, "clue 'nope' is not in the input"),
    ],
)
def test_invalid_findings_left_out_and_recorded(finding, message):
    result = registry(plugin(Rule("bad", **finding))).run(data())

    assert result.findings == ()
    assert message in result.problems[0].message
    assert result.problems[0].rule == "bad"


def test_registering_invalid_plugin_raises():
    @hookimpl
    def threeregs_matching_rules(unknown_argument: object) -> list[object]:
        return []

    rules = RuleRegistry(builtins=False, entry_points=False)

    with pytest.raises(PluginLoadError):
        rules.register(types.SimpleNamespace(threeregs_matching_rules=threeregs_matching_rules))


# --- allow-list and threshold --------------------------------------------


def test_allow_list_picks_rules():
    result = RuleRegistry(entry_points=False).run(
        data(), rules=["zero_run_person", "unreported_intervention"]
    )

    assert result.rules == ("unreported_intervention", "zero_run_person")
    assert {f.rule for f in result.findings} == {"unreported_intervention"}


def test_allow_list_unknown_rule():
    with pytest.raises(UnknownRuleError) as caught:
        RuleRegistry(entry_points=False).run(data(), rules=["late_filing", "no_such_rule"])

    assert "no_such_rule" in str(caught.value)
    assert "late_filing" in str(caught.value)


def test_min_score_leaves_out_low_findings():
    result = registry(plugin(Rule("low", 0.2), Rule("high", 0.8))).run(data(), min_score=0.5)

    assert [f.rule for f in result.findings] == ["high"]
    assert result.rules == ("high", "low")


# --- installed plugins ---------------------------------------------------


@pytest.mark.usefixtures("sample_plugin_installed")
def test_installed_plugin_found_through_entry_point():
    rules = RuleRegistry()

    assert rules.plugin_names() == ["sample", "sample_raising", "threeregs.builtin"]
    (problem,) = rules.problems
    assert (problem.plugin, problem.phase) == ("sample_broken", Phase.LOAD)
    assert "needs a package that is not installed" in problem.message
    assert [r.name for r in rules.rules()] == sorted(
        [*BUILTIN_NAMES, "sample.exploding", "sample.repeated_clues"]
    )


@pytest.mark.usefixtures("sample_plugin_installed")
def test_installed_plugin_end_to_end():
    result = run_rules(data())

    assert "sample.repeated_clues" in result.rules
    (repeated,) = result.by_rule("sample.repeated_clues")
    assert (repeated.person_id, repeated.clue_id, repeated.filing_id) == ("p1", "c1", "f1")
    assert {(p.plugin, p.phase) for p in result.problems} == {
        ("sample_broken", Phase.LOAD),
        ("sample_raising", Phase.RUN),
    }
    assert len(result.by_rule("unreported_intervention")) == 3


@pytest.mark.usefixtures("sample_plugin_installed")
def test_installed_plugin_allow_list():
    result = run_rules(data(), rules=["sample.repeated_clues"])

    assert result.rules == ("sample.repeated_clues",)
    assert [p.phase for p in result.problems] == [Phase.LOAD]


def test_plugin_not_found_without_distribution():
    assert "sample" not in RuleRegistry().plugin_names()
