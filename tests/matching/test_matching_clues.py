"""Clue values and clue files: CSV, JSON arrays and JSON lines."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threeregs._errors import ClueImportError, ThreeregsError, ValidationError
from threeregs.matching import (
    CHINA_STANDARD_TIME,
    Clue,
    ClueSource,
    ImportResult,
    IntervenerDetails,
    parse_clues_csv,
    parse_clues_json,
    parse_clues_jsonl,
    read_clues,
)

HEADER = (
    "clue_id,source,person_id,case_id,intervener_name,intervener_unit,occurred_from,occurred_to\n"
)
UTC = dt.UTC


# --- the value -----------------------------------------------------------


def test_clue_point_in_time():
    moment = dt.datetime(2024, 3, 5, 6, 30, tzinfo=UTC)

    clue = Clue("c1", "petition", moment, case_id="case-1")

    assert clue.source is ClueSource.PETITION
    assert clue.occurred_to == moment
    assert clue.is_point


def test_clue_stores_utc():
    moment = dt.datetime(2024, 3, 5, 14, 30, tzinfo=CHINA_STANDARD_TIME)

    clue = Clue("c1", ClueSource.PETITION, moment, person_id="p1")

    assert clue.occurred_from.utcoffset() == dt.timedelta(0)
    assert clue.occurred_from == moment


def test_clue_needs_person_or_case():
    with pytest.raises(ValidationError) as caught:
        Clue("c1", ClueSource.OTHER, dt.datetime(2024, 3, 5, tzinfo=UTC))

    assert caught.value.field == "person_id"


def test_clue_window_must_not_end_before_start():
    start = dt.datetime(2024, 3, 5, tzinfo=UTC)

    with pytest.raises(ValidationError) as caught:
        Clue("c1", ClueSource.OTHER, start, occurred_to=start - dt.timedelta(hours=1), case_id="k")

    assert caught.value.field == "occurred_to"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("clue_id", "has space"),
        ("source", "rumour"),
        ("occurred_from", dt.datetime(2024, 3, 5)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_clue_rejects_invalid_field(field, value):
    arguments = {
        "clue_id": "c1",
        "source": ClueSource.PETITION,
        "occurred_from": dt.datetime(2024, 3, 5, tzinfo=UTC),
    }
    arguments[field] = value

    with pytest.raises(ValidationError) as caught:
        Clue(**arguments, case_id="case-1")

    assert caught.value.field == field


def test_intervener_details_need_name():
    with pytest.raises(ValidationError) as caught:
        IntervenerDetails("  ", "某单位")

    assert caught.value.field == "name"


# --- CSV -----------------------------------------------------------------


def test_csv_good_and_bad_rows_with_line_numbers():
    text = (
        HEADER
        + "c1,petition,p1,case-1,张伟,朝阳区检察院,2024-03-05T14:30:00+08:00,\n"
        + "c2,rumour,p1,case-1,张伟,,2024-03-05,\n"
        + '"c3",discipline_referral,,case-2,"王建国","某区,政法委",2024-03-06,2024-03-08\n'
        + "c4,other,,,李四,,2024-03-06,\n"
        + "c5,petition,p2,,李四,,not a time,\n"
        + "c1,petition,p3,,李四,,2024-03-07,\n"
        + "c7,petition,p3\n"
    )

    result = parse_clues_csv(text, source="clues.csv")

    assert [c.clue_id for c in result.clues] == ["c1", "c3"]
    assert [(r.line, r.clue_id) for r in result.rejected] == [
        (3, "c2"),
        (5, "c4"),
        (6, "c5"),
        (7, "c1"),
        (8, "c7"),
    ]
    reasons = [r.reason for r in result.rejected]
    assert "unknown source" in reasons[0]
    assert "person" in reasons[1]
    assert "ISO 8601" in reasons[2]
    assert "repeats the row on line 2" in reasons[3]
    assert "expected 8 fields" in reasons[4]


def test_csv_multiline_field_keeps_line_numbers():
    text = (
        "clue_id,source,case_id,occurred_from,description\n"
        'c1,petition,case-1,2024-03-05,"first line\nsecond line\nthird line"\n'
        "c2,rumour,case-1,2024-03-05,\n"
    )

    result = parse_clues_csv(text)

    assert result.clues[0].description == "first line\nsecond line\nthird line"
    assert [r.line for r in result.rejected] == [5]


def test_csv_times_and_dates():
    text = HEADER + "c1,petition,p1,,,,2024-03-05,\nc2,petition,p1,,,,2024-03-05 09:00,2024-03-06\n"

    first, second = parse_clues_csv(text).clues

    assert first.occurred_from == dt.datetime(2024, 3, 4, 16, tzinfo=UTC)
    assert first.occurred_to == dt.datetime(2024, 3, 5, 15, 59, 59, 999999, tzinfo=UTC)
    assert second.occurred_from == dt.datetime(2024, 3, 5, 1, tzinfo=UTC)
    assert second.occurred_to == dt.datetime(2024, 3, 6, 15, 59, 59, 999999, tzinfo=UTC)


def test_csv_timezone_option():
    result = parse_clues_csv(HEADER + "c1,petition,p1,,,,2024-03-05T09:00,\n", timezone=UTC)

    assert result.clues[0].occurred_from == dt.datetime(2024, 3, 5, 9, tzinfo=UTC)


def test_csv_intervener_fields():
    text = (
        "clue_id,source,case_id,occurred_from,intervener_name,intervener_unit,"
        "intervener_position,description,person_name\n"
        "c1,petition,case-1,2024-03-05,張偉,北京市朝阳区人民检察院,副检察长,信访人反映,李四\n"
        "c2,petition,case-1,2024-03-05,,某单位,,,\n"
    )

    result = parse_clues_csv(text)

    clue = result.clues[0]
    assert clue.intervener == IntervenerDetails("張偉", "北京市朝阳区人民检察院", "副检察长")
    assert clue.intervener.key.name.text == "张伟"
    assert clue.description == "信访人反映"
    assert clue.person_name == "李四"
    assert result.rejected[0].line == 3
    assert "intervener_name" in result.rejected[0].reason


@pytest.mark.parametrize("label", ["信访", "Petition, letter or visit", "PETITION"])
def test_csv_source_by_label(label):
    result = parse_clues_csv(HEADER + f'c1,"{label}",p1,,,,2024-03-05,\n')

    assert result.clues[0].source is ClueSource.PETITION


def test_csv_bom_and_blank_lines():
    text = "\ufeff" + HEADER + "\n" + "c1,petition,p1,,,,2024-03-05,\n\n"

    result = parse_clues_csv(text)

    assert len(result.clues) == 1
    assert result.rejected == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header row"),
        ("\n\n", "no header row"),
        ("clue_id,source\n", "occurred_from"),
        ("clue_id,source,occurred_from,colour\n", "unknown column 'colour'"),
        ("clue_id,source,occurred_from,source\n", "appears twice"),
    ],
)
def test_csv_unreadable_header(text, message):
    with pytest.raises(ClueImportError) as caught:
        parse_clues_csv(text, source="clues.csv")

    assert message in str(caught.value)
    assert str(caught.value).startswith("clues.csv: ")


def test_csv_header_only_gives_no_clues():
    result = parse_clues_csv(HEADER)

    assert result == ImportResult("<string>", (), ())


def test_strict_import_carries_rejected_rows():
    text = HEADER + "c1,petition,p1,,,,2024-03-05,\nc2,rumour,p1,,,,2024-03-05,\n"

    with pytest.raises(ClueImportError) as caught:
        parse_clues_csv(text, source="clues.csv", strict=True)

    assert [row.line for row in caught.value.rejected] == [3]
    assert "line 3" in str(caught.value)


# --- JSON ----------------------------------------------------------------


def test_json_array_line_numbers():
    text = """[
  {"clue_id": "c1", "source": "petition", "person_id": "p1",
   "occurred_from": "2024-03-05"},
  {"clue_id": "c2", "source": "petition",
   "occurred_from": "2024-03-05", "case_id": 1234},
  ["not", "an", "object"],
  {"clue_id": "c4", "source": "petition", "occurred_from": "2024-03-05", "colour": "red"},
  {"clue_id": "c5", "source": "petition", "occurred_from": 20240305, "person_id": "p1"}
]
"""

    result = parse_clues_json(text, source="clues.json")

    assert [c.clue_id for c in result.clues] == ["c1", "c2"]
    assert result.clues[1].case_id == "1234"
    assert [(r.line, r.clue_id) for r in result.rejected] == [(6, None), (7, "c4"), (8, "c5")]
    assert "unknown field" in result.rejected[1].reason


def test_json_empty_array():
    assert parse_clues_json(" [ ] ").clues == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"clues": []}',
        "[",
        '[{"clue_id": "c1"},',
        '[{"clue_id": "c1"} {"clue_id": "c2"}]',
        "[] []",
        "[" * 100000,
    ],
)
def test_json_unreadable(text):
    with pytest.raises(ClueImportError) as caught:
        parse_clues_json(text, source="clues.json")

    assert str(caught.value).startswith("clues.json: ")


def test_jsonl_bad_line_is_rejected_row():
    text = (
        '{"clue_id": "c1", "source": "petition", "case_id": "k1", "occurred_from": "2024-03-05"}\n'
        "\n"
        "{not json}\n"
        '{"clue_id": "c3", "source": "petition", "occurred_from": "2024-03-05"}\n'
    )

    result = parse_clues_jsonl(text)

    assert [c.clue_id for c in result.clues] == ["c1"]
    assert [r.line for r in result.rejected] == [3, 4]


# --- files ---------------------------------------------------------------


def test_read_clues_by_suffix(tmp_path):
    csv_file = tmp_path / "clues.csv"
    csv_file.write_text(HEADER + "c1,petition,p1,,,,2024-03-05,\n", encoding="utf-8")
    json_file = tmp_path / "clues.json"
    json_file.write_text(
        json.dumps(
            [
                {
                    "clue_id": "c1",
                    "source": "petition",
                    "person_id": "p1",
                    "occurred_from": "2024-03-05",
                }
            ]
        ),
        encoding="utf-8",
    )
    lines_file = tmp_path / "clues.ndjson"
    lines_file.write_text(json_file.read_text(encoding="utf-8")[1:-1] + "\n", encoding="utf-8")

    results = [read_clues(path) for path in (csv_file, json_file, lines_file)]

    assert all(len(result.clues) == 1 for result in results)
    assert results[0].source == str(csv_file)


def test_read_clues_gb18030(tmp_path):
    path = tmp_path / "clues.csv"
    path.write_bytes((HEADER + "c1,信访,p1,,张伟,,2024-03-05,\n").encode("gb18030"))

    result = read_clues(path)

    assert result.clues[0].intervener is not None
    assert result.clues[0].intervener.name == "张伟"


def test_read_clues_missing_file(tmp_path):
    path = tmp_path / "missing.csv"

    with pytest.raises(ClueImportError) as caught:
        read_clues(path)

    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)


def test_read_clues_unknown_format(tmp_path):
    path = tmp_path / "clues.xlsx"
    path.write_bytes(b"PK")

    with pytest.raises(ClueImportError) as caught:
        read_clues(path)

    assert ".xlsx" in str(caught.value)


def test_read_clues_explicit_format(tmp_path):
    path = tmp_path / "clues.txt"
    path.write_text(HEADER + "c1,petition,p1,,,,2024-03-05,\n", encoding="utf-8")

    assert len(read_clues(path, format="csv").clues) == 1


# --- properties ----------------------------------------------------------

_FIELD_TEXT = st.one_of(
    st.sampled_from(["", "c1", "petition", "p1", "2024-03-05", "2024-13-40", "张伟", '"', ","]),
    st.text(max_size=12),
)


def _check_result(result: ImportResult) -> None:
    assert isinstance(result, ImportResult)
    for row in result.rejected:
        assert row.line >= 1
        assert row.reason


@settings(max_examples=150)
@given(st.text(max_size=300))
def test_csv_arbitrary_text(text):
    try:
        result = parse_clues_csv(text)
    except ThreeregsError:
        return
    _check_result(result)


@settings(max_examples=150)
@given(st.lists(st.lists(_FIELD_TEXT, max_size=9), max_size=6))
def test_csv_arbitrary_rows_under_valid_header(rows):
    text = HEADER + "\n".join(",".join(cells) for cells in rows)

    try:
        result = parse_clues_csv(text)
    except ThreeregsError:
        return
    _check_result(result)
    # The csv module ends a line at \n, \r or \r\n.
    lines = text.count("\n") + text.count("\r") + 1
    assert len(result.clues) + len(result.rejected) <= lines
    assert all(row.line <= lines for row in result.rejected)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _FIELD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_FIELD_TEXT, inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=150)
@given(st.lists(_JSON, max_size=5))
def test_json_arbitrary_values(values):
    text = json.dumps(values, ensure_ascii=False)

    try:
        result = parse_clues_json(text)
    except ThreeregsError:
        return
    _check_result(result)
    assert len(result.clues) + len(result.rejected) == len(values)


@settings(max_examples=150)
@given(st.text(max_size=300))
def test_json_arbitrary_text(text):
    for parse in (parse_clues_json, parse_clues_jsonl):
        try:
            result = parse(text)
        except ThreeregsError:
            continue
        _check_result(result)
