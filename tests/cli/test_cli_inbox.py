"""``threeregs inbox``: list, open and export the filings addressed to one office."""

from __future__ import annotations

import datetime as dt
import json
import stat
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cli_support import CASE, CHAIN, PERSON, describe, error_line, invoke

if TYPE_CHECKING:
    from pathlib import Path

    from cli_support import Workspace


def _rows_by_filing(output: str) -> dict[str, list[str]]:
    """Return the cells of each row of the inbox table, keyed by filing id."""
    rows = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]
    return {row[0]: row for row in rows}


# --- inbox list ----------------------------------------------------------


def test_list_own_office(workspace: Workspace) -> None:
    result = invoke("inbox", "list", *workspace.inbox(), CHAIN[0])

    rows = _rows_by_filing(result.stdout)
    assert result.exit_code == 0, describe(result)
    assert set(rows) == {workspace.zero_report, workspace.record}
    # Columns: filing, received, kind, filer, records, outcome.
    assert rows[workspace.zero_report][2:] == ["stage filing", PERSON, "0", "opened"]
    assert rows[workspace.record][2:] == ["anytime record", PERSON, "1", "opened"]
    assert result.stdout.splitlines()[-1] == "2 opened, 0 decoys skipped, 0 failed, 0 lack a key"


def test_list_higher_office_sees_decoys(workspace: Workspace) -> None:
    without_decoys = invoke("inbox", "list", *workspace.inbox(), CHAIN[1])
    with_decoys = invoke("inbox", "list", *workspace.inbox(), "--all", CHAIN[1])

    assert without_decoys.exit_code == 0, describe(without_decoys)
    assert _rows_by_filing(without_decoys.stdout) == {}
    assert (
        without_decoys.stdout.splitlines()[-1]
        == "0 opened, 2 decoys skipped, 0 failed, 0 lack a key"
    )
    assert [row[-1] for row in _rows_by_filing(with_decoys.stdout).values()] == ["decoy", "decoy"]


def test_list_without_office_key(workspace: Workspace, tmp_path: Path) -> None:
    empty_store = tmp_path / "empty.trks"
    invoke("keys", "init", "--keystore", str(empty_store))
    options = ("--db", workspace.db_url, "--keystore", str(empty_store), "--reader", "r")

    listed = invoke("inbox", "list", *options, CHAIN[0])
    opened = invoke("inbox", "open", *options, CHAIN[0], workspace.record)

    assert listed.exit_code == 1, describe(listed)
    assert [row[-1] for row in _rows_by_filing(listed.stdout).values()] == [
        "key version 1 missing"
    ] * 2
    assert listed.stdout.splitlines()[-1] == "0 opened, 0 decoys skipped, 0 failed, 2 lack a key"
    assert opened.exit_code == 1, describe(opened)
    assert opened.stdout == "key version 1 missing\n"


# --- inbox open ----------------------------------------------------------


def test_open_record(workspace: Workspace) -> None:
    result = invoke("inbox", "open", *workspace.inbox(), CHAIN[0], workspace.record)

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, describe(result)
    assert lines[0] == f"filing {workspace.record}"
    assert lines[1] == f"filer {PERSON} ({CHAIN[0]}), anytime record"
    assert lines[2].startswith("1. Judicial staff's contacts with parties")
    assert lines[2].endswith("· Routine inquiry")
    assert lines[3].split() == ["张伟", "浙江某律师事务所", "律师"]
    assert lines[5].strip() == "询问案件进展"


def test_open_zero_report(workspace: Workspace) -> None:
    result = invoke("inbox", "open", *workspace.inbox(), CHAIN[0], workspace.zero_report)

    assert result.exit_code == 0, describe(result)
    assert result.stdout.splitlines() == [
        f"filing {workspace.zero_report}",
        f"filer {PERSON} ({CHAIN[0]}), stage filing",
        "zero report",
    ]


def test_open_decoy_at_higher_office(workspace: Workspace) -> None:
    result = invoke("inbox", "open", *workspace.inbox(), CHAIN[2], workspace.record)

    assert result.exit_code == 0, describe(result)
    assert result.stdout == "decoy\n"


def test_open_unknown_filing(workspace: Workspace) -> None:
    result = invoke("inbox", "open", *workspace.inbox(), CHAIN[0], "0" * 32)

    assert f"no filing '{'0' * 32}' has a slot for office '330106'" in error_line(result, 3)


def _access_log(db_url: str) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT office_code, reader, filing_id FROM threeregs_access_log ORDER BY id")
        ).all()
    engine.dispose()
    return [(row.office_code, row.reader, row.filing_id) for row in rows]


def test_open_writes_access_log(own_workspace: Workspace) -> None:
    before = len(_access_log(own_workspace.db_url))

    invoke(
        "inbox", "open", *own_workspace.inbox(reader="inspector-3"), CHAIN[0], own_workspace.record
    )
    invoke(
        "inbox", "open", *own_workspace.inbox(reader="inspector-4"), CHAIN[1], own_workspace.record
    )

    # Opening a decoy is logged too, so the log does not tell where a filing went.
    assert _access_log(own_workspace.db_url)[before:] == [
        (CHAIN[0], "inspector-3", own_workspace.record),
        (CHAIN[1], "inspector-4", own_workspace.record),
    ]


# --- inbox export --------------------------------------------------------


def test_export_json_lines(workspace: Workspace, tmp_path: Path) -> None:
    output = tmp_path / "opened.jsonl"

    result = invoke("inbox", "export", *workspace.inbox(), "-o", str(output), CHAIN[0])

    assert result.exit_code == 0, describe(result)
    assert result.stdout == f"exported 2 filings to {output}\n"
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    by_id = {line["filing_id"]: line for line in lines}
    assert set(by_id) == {workspace.zero_report, workspace.record}
    assert by_id[workspace.zero_report]["records"] == []
    assert by_id[workspace.zero_report]["obligation"]["case_id"] == CASE
    assert by_id[workspace.record]["records"][0]["intervener"]["name"] == "张伟"
    assert all(line["filer"]["person_id"] == PERSON for line in lines)
    assert all(line["received_at"].endswith("Z") for line in lines)


def test_export_replaces_readable_file(workspace: Workspace, tmp_path: Path) -> None:
    output = tmp_path / "opened.jsonl"
    output.write_text("old\n", encoding="utf-8")
    output.chmod(0o644)

    result = invoke("inbox", "export", *workspace.inbox(), "-o", str(output), CHAIN[0])

    assert result.exit_code == 0, describe(result)
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "old" not in output.read_text(encoding="utf-8")


def test_export_at_higher_office_is_empty(workspace: Workspace, tmp_path: Path) -> None:
    output = tmp_path / "opened.jsonl"

    result = invoke("inbox", "export", *workspace.inbox(), "-o", str(output), CHAIN[3])

    assert result.exit_code == 0, describe(result)
    assert result.stdout == f"exported 0 filings to {output}\n"
    assert output.read_text(encoding="utf-8") == ""


def test_export_without_office_key_fails(workspace: Workspace, tmp_path: Path) -> None:
    empty_store = tmp_path / "empty.trks"
    invoke("keys", "init", "--keystore", str(empty_store))
    output = tmp_path / "opened.jsonl"
    options = ("--db", workspace.db_url, "--keystore", str(empty_store), "--reader", "r")

    result = invoke("inbox", "export", *options, "-o", str(output), CHAIN[0])

    assert result.exit_code == 1, describe(result)
    lines = result.stdout.splitlines()
    assert lines[0] == f"exported 0 filings to {output}"
    assert lines[1].startswith("0 failed and 2 lack a key in this key store")
    assert output.read_text(encoding="utf-8") == ""


def test_export_then_match_finds_hidden_intervention(workspace: Workspace, tmp_path: Path) -> None:
    # A petition reports that a leader pleaded with the handler an hour
    # before the handler filed a zero report for the accept stage.
    output = tmp_path / "opened.jsonl"
    clues = tmp_path / "clues.csv"
    invoke("inbox", "export", *workspace.inbox(), "-o", str(output), CHAIN[0])
    exported = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    [zero_report] = [line for line in exported if line["filing_id"] == workspace.zero_report]
    filed_at = dt.datetime.fromisoformat(zero_report["filed_at"])
    pleaded_at = (filed_at - dt.timedelta(hours=1)).isoformat()
    clues.write_text(
        "clue_id,source,person_id,case_id,intervener_name,intervener_unit,occurred_from\n"
        f"petition-1,petition,{PERSON},{CASE},王建国,某区人民政府,{pleaded_at}\n",
        encoding="utf-8",
    )

    result = invoke("match", str(clues), str(output), "--rules", "unreported_intervention")

    assert result.exit_code == 1, describe(result)
    assert "petition-1" in result.stdout
    assert workspace.zero_report in result.stdout
    assert "findings: 1; rules run: 1; clues read: 1, rejected: 0; filings: 2" in result.stderr


# --- inbox import-stats ----------------------------------------------------


def test_import_stats_then_tabulate(workspace: Workspace, tmp_path: Path) -> None:
    stats_url = f"sqlite:///{tmp_path / 'inspection.sqlite3'}"

    first = invoke("inbox", "import-stats", *workspace.inbox(), "--stats-db", stats_url, CHAIN[0])
    again = invoke("inbox", "import-stats", *workspace.inbox(), "--stats-db", stats_url, CHAIN[0])
    table = invoke("stats", "--stats-db", stats_url, "--by", "level", "--format", "csv")

    assert first.exit_code == 0, describe(first)
    assert first.stdout.startswith("2 filings added to the statistics database, 0 already there")
    assert again.exit_code == 0, describe(again)
    assert again.stdout.startswith("0 filings added to the statistics database, 2 already there")
    assert table.exit_code == 0, describe(table)
    assert "Basic" in table.stdout


def test_import_stats_unknown_office(workspace: Workspace, tmp_path: Path) -> None:
    stats_url = f"sqlite:///{tmp_path / 'inspection.sqlite3'}"

    result = invoke("inbox", "import-stats", *workspace.inbox(), "--stats-db", stats_url, "999999")

    assert result.exit_code == 3, describe(result)
    assert "999999" in result.stderr
