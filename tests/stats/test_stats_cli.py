"""The ``threeregs stats`` command."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from stats_data import fact, insert_facts

from threeregs.cli import main

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def stats_db(stats_engine: sa.Engine) -> str:
    """Return the URL of a statistics database with two quarters of filings."""
    rows = [
        fact(level=4, year=2022, month=1, record_count=20),
        fact(level=4, year=2022, month=2, record_count=0),
        fact(level=3, year=2022, month=4, record_count=5),
        fact(level=4, year=2022, month=5, record_count=10),
        fact(level=4, year=2022, month=5, record_count=1, kind="anytime", direct_to=2),
        fact(level=4, year=2021, month=2, record_count=4),
    ]
    with stats_engine.begin() as conn:
        insert_facts(conn, rows)
    return stats_engine.url.render_as_string(hide_password=False)


def _run(*args: str) -> tuple[int, str, str]:
    # A wide terminal keeps labels on one line.
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_table_in_english(stats_db: str) -> None:
    code, out, _ = _run("--lang", "en", "stats", "--stats-db", stats_db)

    assert code == 0
    assert "Records by level, per quarter" in out
    assert "Basic procuratorate" in out
    assert "2022-Q2" in out


def test_table_in_chinese(stats_db: str) -> None:
    code, out, _ = _run("--lang", "zh", "stats", "--stats-db", stats_db)

    assert code == 0
    assert "基层院" in out


def test_csv_by_month(stats_db: str) -> None:
    code, out, _ = _run(
        "--lang", "en", "stats", "--stats-db", stats_db, "--period", "month", "--format", "csv"
    )

    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert {(r["period"], r["key"]): r["count"] for r in rows}["2022-05", "basic"] == "11"


def test_json_direct_reports(stats_db: str) -> None:
    code, out, _ = _run(
        "--lang", "en", "stats", "--stats-db", stats_db, "--by", "direct", "--format", "json"
    )

    document = json.loads(out)
    assert code == 0
    assert document["measure"] == "filings"
    assert [r["count"] for r in document["rows"] if r["period"] == "2022-Q2"] == [0, 1, 0, 1]


def test_year_on_year_for_span(stats_db: str) -> None:
    code, out, _ = _run(
        "--lang",
        "en",
        "stats",
        "--stats-db",
        stats_db,
        "--period",
        "span",
        "--from",
        "2022-01",
        "--to",
        "2022-03",
        "--format",
        "json",
    )

    rows = {(r["period"], r["key"]): r for r in json.loads(out)["rows"]}
    assert code == 0
    assert rows["2022-01..2022-03", "total"]["count"] == 20
    assert rows["2021-01..2021-03", "total"]["count"] == 4
    assert rows["2022-01..2022-03", "total"]["year_on_year_percent"] == 400.0


def test_output_file_and_chart(stats_db: str, tmp_path: Path) -> None:
    output = tmp_path / "table.csv"
    chart = tmp_path / "trend.png"

    code, out, err = _run(
        "--lang",
        "en",
        "stats",
        "--stats-db",
        stats_db,
        "--format",
        "csv",
        "--output",
        str(output),
        "--chart",
        str(chart),
    )

    assert code == 0
    assert out == ""
    assert output.read_text(encoding="utf-8").startswith("period,key,label,count")
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert str(chart) in err


def test_stats_db_from_environment(stats_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREEREGS_STATS_DB", stats_db)

    code, out, _ = _run("--lang", "en", "stats", "--format", "csv")

    assert code == 0
    assert out.startswith("period,")


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2022-13"],
        ["--period", "span", "--from", "2022-01"],
        ["--by", "provision", "--measure", "filings"],
    ],
)
def test_invalid_input_exits_3(stats_db: str, args: list[str]) -> None:
    code, _, err = _run("--lang", "en", "stats", "--stats-db", stats_db, *args)

    assert code == 3
    assert "error:" in err


def test_missing_tables_exit_3(tmp_path: Path) -> None:
    code, _, err = _run("--lang", "en", "stats", "--stats-db", f"sqlite:///{tmp_path / 'empty.db'}")

    assert code == 3
    assert "threeregs inbox import-stats" in err


def test_unknown_choice_is_usage_error(stats_db: str) -> None:
    code, _, _ = _run("stats", "--stats-db", stats_db, "--by", "colour")

    assert code == 2


def test_from_shows_changes_against_earlier_periods(stats_db: str) -> None:
    code, out, _ = _run(
        "--lang",
        "en",
        "stats",
        "--stats-db",
        stats_db,
        "--from",
        "2022-04",
        "--to",
        "2022-06",
        "--format",
        "json",
    )

    rows = json.loads(out)["rows"]
    assert code == 0
    assert {row["period"] for row in rows} == {"2022-Q2"}
    assert rows[-1]["count"] == 16
    assert rows[-1]["period_on_period_percent"] == -20.0
