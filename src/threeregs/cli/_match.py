"""``threeregs match``: compare opened filings with clues and list the findings."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click
from rich.console import Console

from threeregs._errors import ValidationError
from threeregs.cli._app import handle_errors, main, obj
from threeregs.matching import (
    MatchInput,
    RuleRegistry,
    read_clues,
    read_filing_facts,
    read_windows_csv,
    render_table,
    write_csv,
    write_json,
)
from threeregs.policy import TomlPolicy, default_policy
from threeregs.routing import Directory

if TYPE_CHECKING:
    from collections.abc import Mapping

    from threeregs.cli._app import Context
    from threeregs.matching import ImportResult, MatchResult

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_FILE = click.Path(dir_okay=False, path_type=Path)


def _parse_offset(text: str) -> dt.timezone:
    match = _OFFSET.fullmatch(text.strip())
    if match is None or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ValidationError("--utc-offset", text, "expected an offset such as +08:00")
    sign = -1 if match.group(1) == "-" else 1
    delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return dt.timezone(sign * delta)


def _parse_rules(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValidationError("--rules", text, "name at least one rule, separated by commas")
    return names


def _rule_labels(registry: RuleRegistry, locale: str) -> Mapping[str, str]:
    labels: dict[str, str] = {}
    for rule in registry.rules():
        try:
            labels[rule.name] = rule.label(locale)
        except Exception:  # noqa: BLE001 - a plugin's label must not stop the output
            labels[rule.name] = rule.name
    return labels


def _report_rejected(ctx: Context, imported: ImportResult) -> None:
    _ = ctx._
    for row in imported.rejected:
        ctx.err.print(
            _("{path}, line {line}: clue rejected: {reason}").format(
                path=imported.source, line=row.line, reason=row.reason
            ),
            markup=False,
        )


def _write(
    result: MatchResult,
    output_format: str,
    stream: IO[str],
    ctx: Context,
    labels: Mapping[str, str],
) -> None:
    if output_format == "csv":
        write_csv(result, stream, locale=ctx.locale, rule_labels=labels)
    elif output_format == "json":
        write_json(result, stream, locale=ctx.locale, rule_labels=labels)
    else:
        console = ctx.out if stream is sys.stdout else Console(file=stream, width=200)
        render_table(result, console, locale=ctx.locale, rule_labels=labels)


@main.command("match")
@click.argument("clues_path", metavar="CLUES", type=_FILE)
@click.argument("filings_path", metavar="FILINGS", type=_FILE)
@click.option(
    "--windows",
    "windows_path",
    type=_FILE,
    help="CSV of stage windows (case_id, stage, round, start, end); without it, "
    "windows are estimated from the filings.",
)
@click.option(
    "--rules",
    "rules_text",
    metavar="NAMES",
    help="Comma-separated names of the rules to run; default: every rule.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--output", "-o", "output_path", type=_FILE, help="File to write; default: standard output."
)
@click.option(
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="Leave out findings that score lower (0 to 1).",
)
@click.option(
    "--policy",
    "policy_path",
    type=_FILE,
    help="Policy TOML file that sets record deadlines; default: the built-in policy.",
)
@click.option(
    "--clue-format",
    type=click.Choice(["csv", "json", "jsonl"]),
    help="Format of the clue file; default: from its suffix.",
)
@click.option(
    "--utc-offset",
    default="+08:00",
    show_default=True,
    help="UTC offset of clue and window times written without one.",
)
@click.option("--strict", is_flag=True, help="Fail when a clue row is rejected.")
@click.option("--no-plugins", is_flag=True, help="Run only the built-in rules.")
@handle_errors
def match(
    clues_path: Path,
    filings_path: Path,
    windows_path: Path | None,
    rules_text: str | None,
    output_format: str,
    output_path: Path | None,
    min_score: float,
    policy_path: Path | None,
    clue_format: str | None,
    utc_offset: str,
    strict: bool,
    no_plugins: bool,
) -> None:
    """Compare the opened filings in FILINGS with the clues in CLUES.

    CLUES is a CSV, JSON or JSON-lines clue file. FILINGS is a JSON-lines
    file of opened filings, as `threeregs inbox export` writes it. Exits with
    1 when there are findings or a plugin failed.
    """
    ctx = obj()
    _ = ctx._
    timezone = _parse_offset(utc_offset)
    allowed = _parse_rules(rules_text)
    policy = TomlPolicy.from_file(policy_path) if policy_path else default_policy()

    imported = read_clues(clues_path, format=clue_format, timezone=timezone, strict=strict)
    facts = read_filing_facts(filings_path, policy=policy)
    windows = read_windows_csv(windows_path, timezone=timezone) if windows_path else []

    registry = RuleRegistry(entry_points=not no_plugins)
    data = MatchInput(facts, imported.clues, windows, directory=Directory.national())
    result = registry.run(data, rules=allowed, min_score=min_score)
    labels = _rule_labels(registry, ctx.locale)
    # Rejected rows are reported only once every input has been read, so that
    # an input error remains the only line of output.
    _report_rejected(ctx, imported)

    if output_path is None:
        _write(result, output_format, sys.stdout, ctx, labels)
    else:
        encoding = "utf-8-sig" if output_format == "csv" else "utf-8"
        with output_path.open("w", encoding=encoding, newline="") as stream:
            _write(result, output_format, stream, ctx, labels)
        # Findings name interveners and filers: keep them as private as the export.
        output_path.chmod(0o600)

    for problem in result.problems:
        where = problem.rule or problem.plugin
        ctx.err.print(
            _("plugin {plugin} failed ({phase}): {message}").format(
                plugin=where, phase=problem.phase.value, message=problem.message
            ),
            markup=False,
        )
    if not ctx.quiet:
        ctx.err.print(
            _(
                "findings: {findings}; rules run: {rules}; clues read: {clues}, rejected: "
                "{rejected}; filings: {filings}"
            ).format(
                findings=len(result.findings),
                rules=len(result.rules),
                clues=len(imported.clues),
                rejected=len(imported.rejected),
                filings=len(facts),
            ),
            markup=False,
        )
    if not facts:
        # Even in quiet mode: an empty export usually means the wrong key store.
        ctx.err.print(
            _(
                "the filings file contains no filings, so no clue could be matched; check that "
                "`threeregs inbox export` opened the office's filings"
            ),
            markup=False,
        )
    if result.findings or result.problems:
        raise SystemExit(1)
