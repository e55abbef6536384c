"""The ``threeregs match`` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import stat

import pytest
from click.testing import CliRunner

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Manner,
    Provision,
    Record,
    StaffKind,
    StageObligation,
)
from threeregs._canonical import filing_to_dict
from threeregs.cli import main

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CLUES = (
    "clue_id,source,person_id,case_id,intervener_name,intervener_unit,occurred_from\n"
    "c1,petition,p1,case-1,王建国,某区政法委,2024-03-03\n"
    "c2,信访,p1,case-1,張偉,朝阳区政法委,2024-03-07\n"
    "c3,rumour,p1,case-1,李四,,2024-03-07\n"
)
WINDOWS = (
    "case_id,stage,round,start,end\n"
    "case-1,accept,1,2024-03-01T00:00:00Z,2024-03-05T12:00:00Z\n"
    "case-1,prosecution_review,1,2024-03-05T12:00:00Z,\n"
)


@pytest.fixture
def files(tmp_path):
    filer = Filer("p1", "110105", StaffKind.PROSECUTOR)
    record = Record(
        Provision.P1,
        Conduct.PLEADING,
        Bucket.IMPROPER_INTERFERENCE,
        Intervener("张伟", "北京市朝阳区政法委", "副书记", IntervenerRole.LEADING_CADRE),
        T0 + 6 * DAY,
        Manner.PHONE,
        "电话说情",
    )
    filings = [
        Filing.zero(filer, StageObligation("case-1", "accept"), filed_at=T0 + 4 * DAY),
        Filing(
            filer,
            StageObligation("case-1", "prosecution_review"),
            records=(record,),
            filed_at=T0 + 20 * DAY,
        ),
    ]
    lines = []
    for filing in filings:
        line = filing_to_dict(filing)
        line["received_at"] = line["filed_at"]
        lines.append(json.dumps(line, ensure_ascii=False))
    paths = {
        "clues": tmp_path / "clues.csv",
        "filings": tmp_path / "filings.jsonl",
        "windows": tmp_path / "windows.csv",
    }
    paths["clues"].write_text(CLUES, encoding="utf-8")
    paths["filings"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["windows"].write_text(WINDOWS, encoding="utf-8")
    paths["accept_id"] = filings[0].filing_id  # type: ignore[assignment]
    return paths


def invoke(*arguments: object, lang: str = "en"):
    runner = CliRunner(env={"COLUMNS": "300"})
    return runner.invoke(main, ["--lang", lang, "match", *map(str, arguments)])


def test_match_json(files):
    result = invoke(
        files["clues"],
        files["filings"],
        "--windows",
        files["windows"],
        "--format",
        "json",
        "--no-plugins",
    )

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    findings = document["findings"]
    assert [(f["rule"], f["clue_id"], f["filing_id"]) for f in findings] == [
        ("unreported_intervention", "c1", files["accept_id"])
    ]
    assert "line 4: clue rejected: invalid source 'rumour'" in result.stderr
    assert "findings: 1; rules run: 5; clues read: 2, rejected: 1; filings: 2" in result.stderr


def test_match_table_in_chinese(files):
    result = invoke(
        files["clues"], files["filings"], "--windows", files["windows"], "--no-plugins", lang="zh"
    )

    assert result.exit_code == 1
    assert "干预过问未如实报告" in result.stdout
    assert "线索被拒收" in result.stderr


def test_match_csv_to_file(files, tmp_path):
    output = tmp_path / "findings.csv"

    result = invoke(
        files["clues"],
        files["filings"],
        "--format",
        "csv",
        "--output",
        output,
        "--rules",
        "unreported_intervention",
        "--no-plugins",
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "Rule"
    assert rows[1][-1] == "unreported_intervention"
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_match_no_findings_exit_zero(files):
    result = invoke(files["clues"], files["filings"], "--rules", "late_filing", "--no-plugins")

    assert result.exit_code == 0, result.output


def test_match_min_score(files):
    result = invoke(
        files["clues"],
        files["filings"],
        "--windows",
        files["windows"],
        "--min-score",
        "1",
        "--format",
        "json",
        "--no-plugins",
    )

    assert [f["score"] for f in json.loads(result.stdout)["findings"]] == [1.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clues": "missing.csv"}, "no such clue file"),
        ({"filings": "missing.jsonl"}, "no such filings file"),
        ({"clues": "bad.csv"}, "unknown column 'colour'"),
        ({"rules": "no_such_rule"}, "no plugin provides the rule 'no_such_rule'"),
        ({"rules": ","}, "name at least one rule"),
        ({"offset": "8"}, "expected an offset such as +08:00"),
    ],
)
def test_match_input_errors(files, tmp_path, change, message):
    (tmp_path / "bad.csv").write_text("clue_id,source,occurred_from,colour\n", encoding="utf-8")
    clues = tmp_path / change["clues"] if "clues" in change else files["clues"]
    filings = tmp_path / change["filings"] if "filings" in change else files["filings"]
    extra = []
    if "rules" in change:
        extra += ["--rules", change["rules"]]
    if "offset" in change:
        extra += ["--utc-offset", change["offset"]]

    result = invoke(clues, filings, *extra, "--no-plugins")

    assert result.exit_code == 3
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_match_strict(files):
    result = invoke(files["clues"], files["filings"], "--strict", "--no-plugins")

    assert result.exit_code == 3
    assert "rows rejected: 1; the first is on line 4" in result.stderr


def test_match_loads_installed_plugins(files, sample_plugin_installed):
    result = invoke(files["clues"], files["filings"], "--format", "json", "--min-score", "0")

    document = json.loads(result.stdout)
    assert "sample.repeated_clues" in [rule["rule"] for rule in document["rules"]]
    assert "plugin sample_broken failed (load)" in result.stderr
    assert result.exit_code == 1


def test_match_warns_about_empty_filings(files, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")

    result = invoke(files["clues"], empty, "--no-plugins")
    quiet = CliRunner(env={"COLUMNS": "300"}).invoke(
        main, ["--lang", "en", "--quiet", "match", str(files["clues"]), str(empty), "--no-plugins"]
    )

    assert result.exit_code == 0, result.output
    assert "the filings file contains no filings" in result.stderr
    assert "the filings file contains no filings" in quiet.stderr


def test_match_says_nothing_extra_with_filings(files):
    result = invoke(files["clues"], files["filings"], "--no-plugins")

    assert "contains no filings" not in result.stderr
