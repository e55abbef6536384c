"""Output of tables: CSV, JSON, terminal tables and the trend chart, in zh_CN and en."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from rich.console import Console

from threeregs import ValidationError
from threeregs.stats import Dimension, Measure, Period, StatTable, _chart
from threeregs.stats._chart import find_cjk_font, quarterly_trend_chart
from threeregs.stats._output import CSV_COLUMNS, to_csv, to_json, to_rich

if TYPE_CHECKING:
    from pathlib import Path

LEVELS = ("supreme", "provincial", "municipal", "basic")
COUNTS = {
    "2021-Q1": (270, 1_293, 7_176, 31_267),
    "2021-Q2": (275, 1_455, 11_964, 46_093),
    "2022-Q1": (184, 1_448, 7_455, 23_246),
}


@pytest.fixture
def table() -> StatTable:
    return StatTable.from_counts(
        Dimension.LEVEL,
        Period.QUARTER,
        Measure.RECORDS,
        [
            (period, level, count)
            for period, counts in COUNTS.items()
            for level, count in zip(LEVELS, counts, strict=True)
        ],
    )


def test_csv_rows(table: StatTable) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(table, "en"))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3 * 5
    first = rows[0]
    assert (first["period"], first["key"], first["label"]) == (
        "2021-Q1",
        "supreme",
        "Supreme procuratorate",
    )
    assert (first["count"], first["share_percent"]) == ("270", "0.7")
    assert first["year_on_year_percent"] == ""
    total = rows[4]
    assert (total["key"], total["count"], total["share_percent"]) == ("total", "40006", "100.0")


def test_csv_changes(table: StatTable) -> None:
    rows = {(r["period"], r["key"]): r for r in csv.DictReader(io.StringIO(to_csv(table, "en")))}

    assert rows["2022-Q1", "total"]["year_on_year_percent"] == "-19.2"
    assert rows["2021-Q2", "total"]["period_on_period_percent"] == "49.4"
    assert rows["2022-Q1", "total"]["period_on_period_percent"] == ""


def test_csv_chinese_labels(table: StatTable) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(table, "zh_CN"))))

    assert [row["label"] for row in rows[:5]] == ["最高检", "省级院", "市级院", "基层院", "合计"]


def test_json_document(table: StatTable) -> None:
    document = json.loads(to_json(table, "en"))

    assert (document["dimension"], document["period"], document["measure"]) == (
        "level",
        "quarter",
        "records",
    )
    assert document["locale"] == "en"
    assert document["title"] == "Records by level, per quarter"
    row = document["rows"][3]
    assert row == {
        "period": "2021-Q1",
        "key": "basic",
        "label": "Basic procuratorate",
        "count": 31_267,
        "share_percent": 78.2,
        "year_on_year_percent": None,
        "period_on_period_percent": None,
    }
    assert document["rows"][-1]["year_on_year_percent"] == -19.2


def test_json_in_chinese(table: StatTable) -> None:
    document = json.loads(to_json(table, "zh_CN"))

    assert document["locale"] == "zh_CN"
    assert document["rows"][0]["label"] == "最高检"
    assert document["title"] == "记录数（按层级，按季度）"


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", ["Share (%)", "Basic procuratorate", "Total"]),
        ("zh_CN", ["占比（%）", "基层院", "合计"]),
    ],
)
def test_terminal_table(table: StatTable, locale: str, words: list[str]) -> None:
    console = Console(record=True, width=160)

    console.print(to_rich(table, locale))
    text = console.export_text()

    for word in words:
        assert word in text
    assert "31,267" in text


def test_chart_is_png(table: StatTable, tmp_path: Path) -> None:
    result = quarterly_trend_chart(table, tmp_path / "trend.png", locale="en")

    data = result.path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(result.path) as image:
        image.verify()
    with Image.open(result.path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 600
    assert (result.locale, result.fell_back) == ("en", False)


def test_chart_in_chinese(table: StatTable, tmp_path: Path) -> None:
    if find_cjk_font() is None:
        pytest.skip("no CJK font is installed; the fallback test covers this machine")

    result = quarterly_trend_chart(table, tmp_path / "trend.png", locale="zh_CN")

    assert result.locale == "zh_CN"
    assert result.font is not None
    assert not result.fell_back
    with Image.open(result.path) as image:
        assert image.format == "PNG"


def test_chart_falls_back_without_cjk_font(
    table: StatTable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine without any CJK font is simulated by hiding the font search.
    monkeypatch.setattr(_chart, "find_cjk_font", lambda: None)

    result = quarterly_trend_chart(table, tmp_path / "trend.png", locale="zh_CN")

    assert (result.locale, result.fell_back, result.font) == ("en", True, None)
    assert result.path.read_bytes().startswith(b"\x89PNG")


def test_chart_needs_quarters_by_level(tmp_path: Path) -> None:
    yearly = StatTable.from_counts(
        Dimension.LEVEL, Period.YEAR, Measure.RECORDS, [("2021", "basic", 1)]
    )

    with pytest.raises(ValidationError, match="by level per quarter"):
        quarterly_trend_chart(yearly, tmp_path / "trend.png")
