"""Findings for people: a terminal table, CSV and JSON, in Simplified Chinese or English."""

from __future__ import annotations

import csv
import json
from typing import IO, TYPE_CHECKING, Any, Final

from rich.rule import Rule
from rich.table import Table

from threeregs import _i18n
from threeregs._i18n import N_

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from threeregs.matching._findings import Contribution, Finding, MatchResult

#: Message id of the display label of each contribution field of the built-in rules.
FIELD_LABELS: Final[Mapping[str, str]] = {
    "zero_report": N_("Zero report"),
    "intervener_name": N_("Intervener's name"),
    "intervener_unit": N_("Intervener's unit"),
    "intervener_position": N_("Intervener's position"),
    "time": N_("Time and stage"),
    "person": N_("Person concerned"),
    "case": N_("Case"),
    "window_estimated": N_("Stage window estimated from the filings"),
    "occurred_at": N_("Time of the intervention"),
    "deadline": N_("Filing deadline"),
    "overdue_days": N_("Days overdue"),
    "run_length": N_("Zero reports in a row, of all filings"),
    "peer_rate": N_("Share of filings with records, peers and own"),
    "run_chance": N_("Chance of such a run at the peers' share"),
    "robust_z": N_("Robust z-score against the peers' median run"),
    "run_period": N_("Period of the run, in days"),
    "distinct_cases": N_("Cases naming the intervener"),
    "distinct_filers": N_("Filers naming the intervener"),
    "name_variants": N_("Spellings of the name"),
    "record_mentions": N_("Records naming the intervener"),
    "clue_mentions": N_("Clues naming the intervener"),
}

_COLUMNS: Final = (
    ("rule", N_("Rule")),
    ("score", N_("Score")),
    ("filing_id", N_("Filing")),
    ("clue_id", N_("Clue")),
    ("person_id", N_("Person")),
    ("office_code", N_("Office")),
    ("case_id", N_("Case")),
    ("intervener", N_("Intervener")),
    ("why", N_("Why")),
)
#: Narrowest console, in columns, that gets the findings as one table.
WIDE_TABLE: Final = 160
_RULE_CODE: Final = N_("Rule code")
_BOTH: Final = N_("{field} {score}: expected {expected}, observed {observed}")
_OBSERVED: Final = N_("{field} {score}: {observed}")
_EXPECTED: Final = N_("{field} {score}: expected {expected}")
_BARE: Final = N_("{field} {score}")


def field_label(code: str, locale: str = _i18n.DEFAULT_LOCALE) -> str:
    """Return the display label of a contribution field; an unknown code is returned unchanged."""
    msgid = FIELD_LABELS.get(code)
    return code if msgid is None else _i18n.gettext(msgid, locale)


def describe_contribution(contribution: Contribution, locale: str = _i18n.DEFAULT_LOCALE) -> str:
    """Describe one contribution in a line: field, score, expected and observed values."""
    if contribution.expected and contribution.observed:
        template = _BOTH
    elif contribution.observed:
        template = _OBSERVED
    elif contribution.expected:
        template = _EXPECTED
    else:
        template = _BARE
    return _i18n.gettext(template, locale).format(
        field=field_label(contribution.field, locale),
        score=f"{contribution.score:.2f}",
        expected=contribution.expected,
        observed=contribution.observed,
    )


def _cells(finding: Finding, labels: Mapping[str, str], locale: str, separator: str) -> list[str]:
    return [
        labels.get(finding.rule, finding.rule),
        f"{finding.score:.2f}",
        finding.filing_id or "",
        finding.clue_id or "",
        finding.person_id or "",
        finding.office_code or "",
        finding.case_id or "",
        finding.intervener or "",
        separator.join(describe_contribution(c, locale) for c in finding.contributions),
    ]


def render_table(
    result: MatchResult,
    console: Console,
    *,
    locale: str = _i18n.DEFAULT_LOCALE,
    rule_labels: Mapping[str, str] | None = None,
) -> None:
    """Print the findings of *result* on a rich *console*.

    A console at least 160 columns wide gets one table with a row per
    finding. A narrower one, such as an 80-column terminal, gets one block
    per finding with a labelled line per field, because nine columns would
    leave each too narrow to read.
    """
    labels = rule_labels or {}
    headings = [_i18n.gettext(heading, locale) for _key, heading in _COLUMNS]
    if console.width >= WIDE_TABLE:
        table = Table(show_lines=True)
        for heading in headings:
            table.add_column(heading, overflow="fold")
        for finding in result.findings:
            table.add_row(*_cells(finding, labels, locale, "\n"))
        console.print(table)
        return

    for number, finding in enumerate(result.findings, start=1):
        rule, score, *details = _cells(finding, labels, locale, "\n")
        console.print(Rule(f"{number}. {rule}  {headings[1]} {score}", align="left"))
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True, style="bold")
        block.add_column(overflow="fold")
        for heading, value in zip(headings[2:], details, strict=True):
            if value:
                block.add_row(heading, value)
        console.print(block)


def write_csv(
    result: MatchResult,
    stream: IO[str],
    *,
    locale: str = _i18n.DEFAULT_LOCALE,
    rule_labels: Mapping[str, str] | None = None,
) -> None:
    """Write the findings of *result* as CSV with a header row in *locale*.

    The last column contains the rule code, which does not depend on the locale.
    """
    labels = rule_labels or {}
    writer = csv.writer(stream, lineterminator="\n")
    headings = [_i18n.gettext(heading, locale) for _key, heading in _COLUMNS]
    writer.writerow([*headings, _i18n.gettext(_RULE_CODE, locale)])
    for finding in result.findings:
        writer.writerow([*_cells(finding, labels, locale, "; "), finding.rule])


def result_to_dict(
    result: MatchResult,
    *,
    locale: str = _i18n.DEFAULT_LOCALE,
    rule_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Convert *result* to plain JSON types, with display labels in *locale*.

    Keys and codes are stable; the ``label`` and ``text`` values are in *locale*.
    """
    labels = rule_labels or {}
    return {
        "locale": locale,
        "rules": [{"rule": name, "label": labels.get(name, name)} for name in result.rules],
        "findings": [
            {
                "rule": finding.rule,
                "rule_label": labels.get(finding.rule, finding.rule),
                "score": finding.score,
                "filing_id": finding.filing_id,
                "clue_id": finding.clue_id,
                "person_id": finding.person_id,
                "office_code": finding.office_code,
                "case_id": finding.case_id,
                "intervener": finding.intervener,
                "contributions": [
                    {
                        "field": c.field,
                        "label": field_label(c.field, locale),
                        "score": c.score,
                        "expected": c.expected,
                        "observed": c.observed,
                        "text": describe_contribution(c, locale),
                    }
                    for c in finding.contributions
                ],
            }
            for finding in result.findings
        ],
        "problems": [
            {
                "plugin": problem.plugin,
                "phase": problem.phase.value,
                "rule": problem.rule,
                "message": problem.message,
            }
            for problem in result.problems
        ],
    }


def write_json(
    result: MatchResult,
    stream: IO[str],
    *,
    locale: str = _i18n.DEFAULT_LOCALE,
    rule_labels: Mapping[str, str] | None = None,
) -> None:
    """Write *result* as one JSON document (see :func:`result_to_dict`)."""
    document = result_to_dict(result, locale=locale, rule_labels=rule_labels)
    json.dump(document, stream, ensure_ascii=False, indent=2, sort_keys=True)
    stream.write("\n")
