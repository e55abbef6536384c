from __future__ import annotations

import csv
import io
import itertools
from importlib import resources
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeregs._errors import UnknownOfficeError, ValidationError
from threeregs.routing import Directory, Level, Office

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "code,name,level,parent_code\n"
SMALL = (
    HEADER
    + "000000,最高人民检察院,supreme,\n"
    + "330000,浙江省人民检察院,provincial,000000\n"
    + "330100,杭州市人民检察院,municipal,330000\n"
    + "330106,杭州市西湖区人民检察院,basic,330100\n"
    + "330102,杭州市上城区人民检察院,basic,330100\n"
    + "110000,北京市人民检察院,provincial,000000\n"
    + "110105,北京市朝阳区人民检察院,basic,110000\n"
)


def load(text: str, source: str = "offices.csv") -> Directory:
    return Directory.from_csv(io.StringIO(text), source=source)


def office(code: str, level: Level, parent_code: str | None) -> Office:
    return Office(code=code, name=f"{code}人民检察院", level=level, parent_code=parent_code)


# --- the national directory ---------------------------------------------


@pytest.fixture(scope="module")
def national() -> Directory:
    return Directory.national()


def test_national_size(national: Directory) -> None:
    assert len(national) > 3000


def test_national_one_supreme(national: Directory) -> None:
    supreme = national.by_level(Level.SUPREME)
    assert len(supreme) == 1
    assert supreme[0].code == "000000"
    assert supreme[0].name == "最高人民检察院"
    assert supreme[0].parent_code is None
    assert national.supreme == supreme[0]


def test_national_provincial_offices(national: Directory) -> None:
    provincial = national.by_level(Level.PROVINCIAL)
    assert len(provincial) == 32
    assert all(office.parent_code == "000000" for office in provincial)
    assert national.get("660000").name == "新疆生产建设兵团人民检察院"
    assert national.get("110000").name == "北京市人民检察院"


def test_national_basic_chains_end_at_supreme(national: Directory) -> None:
    basic = national.by_level(Level.BASIC)
    assert len(basic) > 2500
    for office in basic:
        chain = national.chain(office.code)
        assert chain[0] == office
        assert chain[-1].level is Level.SUPREME
        levels = [member.level for member in chain]
        assert levels == sorted(levels, reverse=True)
        assert len(set(levels)) == len(levels)


def test_national_names_end_with_procuratorate(national: Directory) -> None:
    for office in national:
        assert office.name.endswith("人民检察院"), office


def test_national_names_unique(national: Directory) -> None:
    names = [office.name for office in national]
    assert len(set(names)) == len(names)


def test_national_sample_chains(national: Directory) -> None:
    def names(code: str) -> list[str]:
        return [office.name for office in national.chain(code)]

    assert names("330106") == [
        "杭州市西湖区人民检察院",
        "杭州市人民检察院",
        "浙江省人民检察院",
        "最高人民检察院",
    ]
    # Districts of a province-level municipality attach to the provincial office.
    assert names("110105") == ["北京市朝阳区人民检察院", "北京市人民检察院", "最高人民检察院"]
    assert names("429004") == ["湖北省仙桃市人民检察院", "湖北省人民检察院", "最高人民检察院"]
    assert names("659001") == [
        "新疆生产建设兵团石河子市人民检察院",
        "新疆生产建设兵团人民检察院",
        "最高人民检察院",
    ]


def test_national_excludes_divisions_without_procuratorate(national: Directory) -> None:
    for code in ("110100", "500200", "710000", "810000", "820000", "990000"):
        assert code not in national


def test_national_is_cached() -> None:
    assert Directory.national() is Directory.national()


def test_shipped_csv_is_sorted_with_lf() -> None:
    data = (resources.files("threeregs.routing") / "data" / "offices.csv").read_bytes()
    assert b"\r" not in data
    assert data.endswith(b"\n")
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "code,name,level,parent_code"
    codes = [line.split(",", 1)[0] for line in lines[1:]]
    assert codes == sorted(codes)


# --- Level and Office ------------------------------------------------------


@pytest.mark.parametrize("level", list(Level))
def test_level_parse_lowercase_names(level: Level) -> None:
    assert Level.parse(level.name.lower()) is level


@pytest.mark.parametrize("text", ["Basic", "BASIC", " basic", "4", "", "county"])
def test_level_parse_rejects_other_text(text: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Level.parse(text)
    assert excinfo.value.field == "level"
    assert excinfo.value.value == text
    assert "supreme, provincial, municipal, basic" in str(excinfo.value)


def test_level_order_puts_supreme_highest() -> None:
    assert Level.SUPREME < Level.PROVINCIAL < Level.MUNICIPAL < Level.BASIC


@pytest.mark.parametrize("code", ["1", "330106", "host-office_17", "A" * 16])
def test_office_accepts_host_codes(code: str) -> None:
    assert office(code, Level.BASIC, "000000").code == code


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "A" * 17}, "code"),
        ({"code": "33 01"}, "code"),
        ({"code": "杭州"}, "code"),
        ({"code": 330106}, "code"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": " 杭州市人民检察院"}, "name"),
        ({"name": "杭州市\n人民检察院"}, "name"),
        ({"name": "检" * 65}, "name"),
        ({"level": 4}, "level"),
        ({"level": "basic"}, "level"),
        ({"parent_code": "bad code"}, "parent_code"),
        ({"parent_code": None}, "parent_code"),
        ({"parent_code": "330106"}, "parent_code"),
        ({"level": Level.SUPREME}, "parent_code"),
    ],
)
def test_office_rejects_invalid_fields(changes: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "code": "330106",
        "name": "杭州市西湖区人民检察院",
        "level": Level.BASIC,
        "parent_code": "330100",
    }
    arguments.update(changes)
    with pytest.raises(ValidationError) as excinfo:
        Office(**arguments)  # type: ignore[arg-type]
    assert excinfo.value.field == field


def test_office_name_at_maximum_length() -> None:
    name = "检" * 64
    assert Office(code="1", name=name, level=Level.SUPREME).name == name


# --- Directory -------------------------------------------------------------


def test_directory_lookups() -> None:
    directory = load(SMALL)
    assert len(directory) == 7
    assert "330106" in directory
    assert "999999" not in directory
    assert 330106 not in directory
    assert directory.get("330100").name == "杭州市人民检察院"
    assert [o.code for o in directory.children("330100")] == ["330102", "330106"]
    assert [o.code for o in directory.children("000000")] == ["110000", "330000"]
    assert directory.children("330106") == ()
    assert [o.code for o in directory.by_level(Level.BASIC)] == ["110105", "330102", "330106"]


def test_directory_iterates_in_code_order() -> None:
    codes = [o.code for o in load(SMALL)]
    assert codes == sorted(codes)
    assert codes[0] == "000000"


def test_directory_unknown_code() -> None:
    directory = load(SMALL)
    for lookup in (directory.get, directory.chain, directory.children):
        with pytest.raises(UnknownOfficeError) as excinfo:
            lookup("999999")
        assert "'999999'" in str(excinfo.value)
        assert "check" in str(excinfo.value)
        assert isinstance(excinfo.value, LookupError)


def test_directory_is_immutable() -> None:
    directory = load(SMALL)
    with pytest.raises(AttributeError):
        directory._offices = {}
    with pytest.raises(AttributeError):
        del directory._supreme
    assert len(directory) == 7


def test_directory_from_offices_names_position() -> None:
    offices = [
        office("000000", Level.SUPREME, None),
        office("330000", Level.PROVINCIAL, "000000"),
        office("330100", Level.MUNICIPAL, "339900"),
    ]
    with pytest.raises(ValidationError) as excinfo:
        Directory(offices)
    assert excinfo.value.field == "offices[2].parent_code"
    assert excinfo.value.value == "339900"


def test_directory_empty() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Directory([])
    assert excinfo.value.field == "offices"
    assert "supreme" in excinfo.value.reason


def test_directory_from_offices_duplicate_code() -> None:
    offices = [
        office("000000", Level.SUPREME, None),
        office("330000", Level.PROVINCIAL, "000000"),
        office("330000", Level.PROVINCIAL, "000000"),
    ]
    with pytest.raises(ValidationError) as excinfo:
        Directory(offices)
    assert excinfo.value.field == "offices[2].code"
    assert "offices[1].code" in excinfo.value.reason


# --- CSV errors name the line -----------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("330107,杭州市拱墅区人民检察院,county,330100", "level", "expected one of"),
        ("330107,杭州市拱墅区人民检察院,basic,339900", "parent_code", "no office"),
        ("330106,杭州市西湖区人民检察院,basic,330100", "code", "offices.csv:5:code"),
        ("330107,杭州市拱墅区人民检察院,basic,", "parent_code", "needs the code"),
        ("330107,,basic,330100", "name", "non-empty"),
        ("33 0107,杭州市拱墅区人民检察院,basic,330100", "code", "expected 1 to 16"),
        ("330107,杭州市拱墅区人民检察院,provincial,330100", "parent_code", "not above"),
        ("100000,另一个最高人民检察院,supreme,", "level", "second supreme"),
    ],
)
def test_csv_bad_row_names_line(row: str, field: str, reason: str) -> None:
    text = SMALL + row + "\n"
    bad_line = text.count("\n")
    with pytest.raises(ValidationError) as excinfo:
        load(text)
    assert excinfo.value.field == f"offices.csv:{bad_line}:{field}"
    assert reason in excinfo.value.reason
    assert f"offices.csv:{bad_line}:{field}" in str(excinfo.value)


def test_csv_cycle_names_line() -> None:
    text = (
        HEADER
        + "000000,最高人民检察院,supreme,\n"
        + "330000,浙江省人民检察院,provincial,000000\n"
        + "330100,杭州市人民检察院,municipal,330106\n"
        + "330106,杭州市西湖区人民检察院,basic,330100\n"
    )
    with pytest.raises(ValidationError) as excinfo:
        load(text)
    assert excinfo.value.field == "offices.csv:4:parent_code"
    assert "cycle" in excinfo.value.reason
    assert "330100 -> 330106 -> 330100" in excinfo.value.reason


def test_csv_wrong_field_count() -> None:
    with pytest.raises(ValidationError) as excinfo:
        load(SMALL + "330107,杭州市拱墅区人民检察院,basic\n")
    assert excinfo.value.field == "offices.csv:9"
    assert "found 3" in excinfo.value.reason


def test_csv_missing_column() -> None:
    with pytest.raises(ValidationError) as excinfo:
        load("code,name,level\n000000,最高人民检察院,supreme\n")
    assert excinfo.value.field == "offices.csv:1"
    assert "parent_code" in excinfo.value.reason


def test_csv_empty_file() -> None:
    with pytest.raises(ValidationError) as excinfo:
        load("", source="host.csv")
    assert excinfo.value.field == "host.csv:1"
    assert "header" in excinfo.value.reason


def test_csv_line_numbers_count_quoted_line_breaks() -> None:
    text = (
        "code,name,level,parent_code,note\n"
        + '000000,最高人民检察院,supreme,,"two\nlines"\n'
        + "\n"
        + "330000,浙江省人民检察院,regional,000000,\n"
    )
    with pytest.raises(ValidationError) as excinfo:
        load(text)
    assert excinfo.value.field == "offices.csv:5:level"


def test_csv_extra_columns_and_blank_lines() -> None:
    text = "note,parent_code,level,name,code\nroot,,supreme,最高人民检察院,000000\n\n"
    text += "x,000000,provincial,浙江省人民检察院,330000\n"
    directory = load(text)
    assert directory.get("330000").parent_code == "000000"
    assert len(directory) == 2


def test_csv_from_path_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "host-offices.csv"
    path.write_bytes(("\ufeff" + SMALL + "1,x,basic,2\n").encode("utf-8"))
    with pytest.raises(ValidationError) as excinfo:
        Directory.from_csv(path)
    assert excinfo.value.field == "host-offices.csv:9:parent_code"

    path.write_bytes(("\ufeff" + SMALL).encode("utf-8"))
    assert len(Directory.from_csv(path)) == 7
    assert len(Directory.from_csv(str(path), source="hosts")) == 7


def test_csv_stream_with_bom() -> None:
    assert len(load("\ufeff" + SMALL)) == 7


# --- properties of random trees -------------------------------------------------


@st.composite
def office_trees(draw: st.DrawFn) -> list[Office]:
    """Draw offices forming one tree, in random order."""
    size = draw(st.integers(min_value=1, max_value=25))
    codes = draw(
        st.lists(
            st.from_regex(r"[0-9A-Za-z_-]{1,16}", fullmatch=True),
            min_size=size,
            max_size=size,
            unique=True,
        )
    )
    offices = [office(codes[0], Level.SUPREME, None)]
    for code in codes[1:]:
        parent = draw(st.sampled_from([o for o in offices if o.level is not Level.BASIC]))
        level = draw(st.sampled_from([level for level in Level if level > parent.level]))
        offices.append(office(code, level, parent.code))
    return draw(st.permutations(offices))


@given(office_trees())
def test_random_tree_chains_end_at_root(offices: list[Office]) -> None:
    directory = Directory(offices)
    root = next(o for o in offices if o.level is Level.SUPREME)
    assert directory.supreme == root
    for member in offices:
        chain = directory.chain(member.code)
        assert chain[0] == member
        assert chain[-1] == root
        for lower, upper in itertools.pairwise(chain):
            assert lower.parent_code == upper.code
            assert upper.level < lower.level


@given(office_trees())
def test_random_tree_children_cover_all(offices: list[Office]) -> None:
    directory = Directory(offices)
    children = [child for member in directory for child in directory.children(member.code)]
    assert sorted(child.code for child in children) == sorted(
        o.code for o in offices if o.parent_code is not None
    )
    assert [o.code for o in directory] == sorted(o.code for o in offices)


@given(office_trees())
def test_random_tree_csv_round_trip(offices: list[Office]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "name", "level", "parent_code"])
    for member in offices:
        writer.writerow(
            [member.code, member.name, member.level.name.lower(), member.parent_code or ""]
        )
    directory = load(buffer.getvalue())
    assert list(directory) == list(Directory(offices))
