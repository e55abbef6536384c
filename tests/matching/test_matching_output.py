"""Findings as a table, CSV and JSON, in Simplified Chinese and English."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from rich.console import Console

from threeregs import _i18n
from threeregs.matching import (
    Contribution,
    Finding,
    MatchResult,
    Phase,
    PluginProblem,
    builtin_rules,
    field_label,
    render_table,
    result_to_dict,
    write_csv,
    write_json,
)
from threeregs.matching._output import FIELD_LABELS

CJK = re.compile(r"[\u4e00-\u9fff]")
LABELS = {"unreported_intervention": "Unreported intervention"}
RESULT = MatchResult(
    findings=(
        Finding(
            "unreported_intervention",
            0.875,
            filing_id="f1",
            clue_id="c1",
            person_id="p1",
            office_code="330106",
            case_id="k1",
            intervener="王建国",
            contributions=(
                Contribution("zero_report", 1.0),
                Contribution("intervener_name", 1.0, expected="王建国"),
                Contribution("time", 0.875, expected="2024-03-08T00:00Z", observed="accept #1"),
            ),
        ),
    ),
    rules=("unreported_intervention",),
    problems=(PluginProblem("acme", Phase.LOAD, "ImportError: no module named acme_deps"),),
)


@pytest.mark.parametrize("code", sorted(FIELD_LABELS))
def test_field_labels_in_both_locales(code):
    chinese = field_label(code, "zh_CN")

    assert field_label(code, "en") == FIELD_LABELS[code]
    assert CJK.search(chinese), chinese


def test_unknown_field_label_unchanged():
    assert field_label("plugin_field", "zh_CN") == "plugin_field"


def test_table_in_chinese():
    console = Console(file=io.StringIO(), width=300, color_system=None)

    render_table(RESULT, console, locale="zh_CN", rule_labels={"unreported_intervention": "未报"})

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "规则" in text
    assert "未报" in text
    assert "零报告" in text
    assert "参照 2024-03-08T00:00Z，实际 accept #1" in text


def test_table_in_english():
    console = Console(file=io.StringIO(), width=300, color_system=None)

    render_table(RESULT, console, locale="en", rule_labels=LABELS)

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Intervener" in text
    assert "Unreported intervention" in text
    assert "Time and stage 0.88: expected 2024-03-08T00:00Z, observed accept #1" in text


def test_narrow_console_gets_blocks():
    console = Console(file=io.StringIO(), width=80, color_system=None)
    two = MatchResult(findings=RESULT.findings * 2, rules=RESULT.rules)

    render_table(two, console, locale="zh_CN", rule_labels={"unreported_intervention": "未报"})

    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert all(len(line) <= 80 for line in lines)
    assert not any("┃" in line for line in lines)
    assert lines[0].startswith("1. 未报  分值 0.88")
    assert sum(line.startswith("2. 未报") for line in lines) == 1
    assert sum(line.startswith("过问干预人") and "王建国" in line for line in lines) == 2
    assert any("参照 2024-03-08T00:00Z，实际 accept #1" in line for line in lines)


def test_narrow_console_skips_empty_fields():
    bare = Finding("unreported_intervention", 0.5, clue_id="c9")
    console = Console(file=io.StringIO(), width=80, color_system=None)

    render_table(MatchResult(findings=(bare,), rules=RESULT.rules), console, locale="en")

    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Clue" in text
    assert "c9" in text
    assert "Filing" not in text
    assert "Case" not in text


@pytest.mark.parametrize(("locale", "heading"), [("zh_CN", "规则"), ("en", "Rule")])
def test_csv(locale, heading):
    stream = io.StringIO()

    write_csv(RESULT, stream, locale=locale, rule_labels=LABELS)

    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0][0] == heading
    assert len(rows) == 2
    assert rows[1][1] == "0.88"
    assert rows[1][2:8] == ["f1", "c1", "p1", "330106", "k1", "王建国"]
    assert rows[1][-1] == "unreported_intervention"
    assert rows[1][-2].count("; ") == 2


def test_json_codes_stable_labels_localised():
    chinese = result_to_dict(RESULT, locale="zh_CN")
    english = result_to_dict(RESULT, locale="en", rule_labels=LABELS)

    assert chinese["findings"][0]["contributions"][0]["field"] == "zero_report"
    assert chinese["findings"][0]["contributions"][0]["label"] == "零报告"
    assert english["findings"][0]["contributions"][0]["label"] == "Zero report"
    assert english["findings"][0]["rule_label"] == "Unreported intervention"
    assert english["problems"] == [
        {
            "plugin": "acme",
            "phase": "load",
            "rule": None,
            "message": "ImportError: no module named acme_deps",
        }
    ]


def test_write_json_round_trips():
    stream = io.StringIO()

    write_json(RESULT, stream, locale="en")

    assert json.loads(stream.getvalue()) == result_to_dict(RESULT, locale="en")


def test_rule_titles_translated():
    for rule in builtin_rules():
        assert CJK.search(rule.label("zh_CN"))
        assert rule.label("en") == _i18n.gettext(rule.label("en"), "en")
