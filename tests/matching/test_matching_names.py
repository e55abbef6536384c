"""Name, unit and position normalisation, and tolerant comparison."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threeregs.matching import (
    fold_text,
    intervener_key,
    intervener_similarity,
    name_key,
    name_similarity,
    normalise_position,
    normalise_unit,
    split_surname,
)

# Pairs of traditional and simplified characters common in names and units.
TRADITIONAL_SIMPLIFIED = [
    ("張", "张"),
    ("偉", "伟"),
    ("劉", "刘"),
    ("陳", "陈"),
    ("歐", "欧"),
    ("陽", "阳"),
    ("馬", "马"),
    ("諸", "诸"),
    ("區", "区"),
    ("國", "国"),
    ("華", "华"),
    ("麗", "丽"),
    ("檢", "检"),
    ("察", "察"),
    ("院", "院"),
    ("鄭", "郑"),
    ("龍", "龙"),
    ("東", "东"),
]


def similarity(a: str, b: str) -> float:
    return name_similarity(name_key(a), name_key(b))


# --- folding -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("張偉", "张伟"),
        ("歐陽脩", "欧阳修"),
        ("  张 伟 ", "张伟"),
        ("ＺＨＡＮＧ　Wei", "zhangwei"),
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("北京市朝陽區人民檢察院", "北京市朝阳区人民检察院"),
        ("", ""),
    ],
)
def test_fold_text_examples(text, expected):
    assert fold_text(text) == expected


@given(st.text(max_size=30))
def test_fold_text_idempotent(text):
    once = fold_text(text)

    assert fold_text(once) == once


@given(st.lists(st.sampled_from(TRADITIONAL_SIMPLIFIED), min_size=1, max_size=6), st.data())
def test_traditional_simplified_invariance(pairs, data):
    simplified = "".join(s for _, s in pairs)
    mixed = "".join(t if data.draw(st.booleans()) else s for t, s in pairs)

    assert fold_text(mixed) == fold_text(simplified)
    assert name_key(mixed) == name_key(simplified)
    assert normalise_unit(mixed) == normalise_unit(simplified)


@given(st.text(max_size=20))
def test_name_key_of_folded_name_unchanged(text):
    assert name_key(fold_text(text)).text == name_key(text).text


@given(st.text(max_size=40))
def test_normalise_unit_idempotent(text):
    once = normalise_unit(text)

    assert normalise_unit(once) == once


@given(st.text(max_size=30))
def test_normalise_position_idempotent(text):
    once = normalise_position(text)

    assert normalise_position(once) == once


# --- surnames and pinyin -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "surname", "given"),
    [
        ("欧阳修", "欧阳", "修"),
        ("司马光", "司马", "光"),
        ("诸葛亮", "诸葛", "亮"),
        ("上官婉儿", "上官", "婉儿"),
        ("张伟", "张", "伟"),
        ("欧阳", "欧", "阳"),
        ("马", "马", ""),
    ],
)
def test_split_surname(name, surname, given):
    assert split_surname(name) == (surname, given)


def test_compound_surname_from_traditional():
    key = name_key("歐陽脩")

    assert key.surname == "欧阳"
    assert key.given == "修"
    assert key.pinyin == "ouyangxiu"


def test_transliterated_name_has_no_surname():
    key = name_key("阿依古丽·买买提")

    assert key.surname == ""
    assert key.given == "阿依古丽买买提"


@pytest.mark.parametrize(
    ("name", "pinyin"),
    [
        ("曾国藩", "zengguofan"),
        ("单雄信", "shanxiongxin"),
        ("解缙", "xiejin"),
        ("仇英", "qiuying"),
        ("长孙无忌", "zhangsunwuji"),
        ("尉迟恭", "yuchigong"),
        ("吕布", "lvbu"),
    ],
)
def test_surname_reading(name, pinyin):
    assert name_key(name).pinyin == pinyin


def test_pinyin_of_whole_name_not_per_character():
    # 朝阳 as a phrase reads zhaoyang, while 朝 alone defaults to chao.
    assert name_key("李朝阳").pinyin == "lizhaoyang"


@pytest.mark.parametrize("romanised", ["Zeng Guofan", "ZENG GUOFAN", "Guofan Zeng", "zeng-guofan"])
def test_romanised_name_matches_chinese(romanised):
    assert similarity(romanised, "曾国藩") >= 0.9


def test_romanised_lv_matches_u_umlaut():
    assert similarity("Lü Bu", "吕布") >= 0.9


# --- tolerant comparison ---------------------------------------------------


def test_traditional_name_equals_simplified():
    assert similarity("張偉", "张伟") == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("欧阳修", "欧阳秀"),  # homophone picked by an input method
        ("张伟", "张玮"),
        ("zhang wei", "zhang wie"),  # transposed letters in a romanised name
    ],
)
def test_typos_within_tolerance(a, b):
    assert similarity(a, b) >= 0.8


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("王建国", "王建华"),
        ("张伟", "李四"),
        ("欧阳修", "司马光"),
        ("王己", "汪以"),
    ],
)
def test_different_names_below_tolerance(a, b):
    assert similarity(a, b) < 0.75


def test_pinyin_collision_is_not_an_exact_match():
    # 张伟 and 章伟 sound the same but may be different people.
    homophone = similarity("张伟", "章伟")

    assert 0.75 <= homophone < 1.0


def test_homophone_other_unit_differs():
    a = intervener_key("张伟", "北京市朝阳区人民检察院")
    b = intervener_key("章伟", "华夏科技股份有限公司")

    assert intervener_similarity(a, b).overall < 0.75


def test_homophone_same_unit_matches():
    a = intervener_key("张伟", "北京市朝阳区人民检察院")
    b = intervener_key("章伟", "朝阳区检察院")

    assert intervener_similarity(a, b).overall >= 0.75


def test_empty_name_matches_nothing():
    assert similarity("", "张伟") == 0.0
    assert similarity("", "") == 0.0


@given(st.text(max_size=10), st.text(max_size=10))
def test_similarity_symmetric_and_bounded(a, b):
    forward = similarity(a, b)

    assert forward == similarity(b, a)
    assert 0.0 <= forward <= 1.0


@pytest.mark.parametrize(
    ("name", "surname", "title"),
    [
        ("王局长", "王", "局长"),
        ("欧阳副书记", "欧阳", "副书记"),
        ("陈总", "陈", "总"),
        ("李明", "李", ""),
    ],
)
def test_surname_and_title(name, surname, title):
    key = name_key(name)

    assert (key.surname, key.title) == (surname, title)


def test_title_matches_full_name():
    titled = intervener_key("王局长")
    full = intervener_key("王建国", "某区公安分局", "副局长")
    other_position = intervener_key("王建国", "某区委", "书记")
    other_surname = intervener_key("李建国", "某区公安分局", "副局长")

    assert intervener_similarity(titled, full).overall >= 0.75
    assert intervener_similarity(titled, other_position).overall < 0.75
    assert intervener_similarity(titled, other_surname).overall < 0.2
    assert similarity("王局长", "Wang Jianguo") == 0.85


# --- units and positions -------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("北京市朝阳区人民检察院", "北京朝阳检察院"),
        ("朝阳区检察院", "朝阳检察院"),
        ("北京市市场监督管理局", "北京市场监督管理局"),
        ("新疆维吾尔自治区人民检察院", "新疆检察院"),
        ("华夏科技股份有限公司", "华夏科技"),
        ("华夏科技有限责任公司", "华夏科技"),
        ("北京市华夏律师事务所", "北京华夏律所"),
        ("中华人民共和国最高人民检察院", "最高检察院"),
        ("公安部", "公安部"),
        ("有限公司", "有限公司"),
    ],
)
def test_normalise_unit(unit, expected):
    assert normalise_unit(unit) == expected


def test_unit_short_form_matches_long_form():
    a = intervener_key("张伟", "北京市朝阳区人民检察院")
    b = intervener_key("张伟", "朝阳区检察院")

    match = intervener_similarity(a, b)

    assert match.unit is not None
    assert match.unit >= 0.85


def test_positions_in_any_order():
    assert normalise_position("党组书记、检察长") == normalise_position("检察长兼党组书记")
    assert normalise_position("王科长同志") == "王科长"


def test_missing_unit_leaves_name_alone():
    a = intervener_key("张伟", "北京市朝阳区人民检察院")
    b = intervener_key("张伟")

    match = intervener_similarity(a, b)

    assert match.unit is None
    assert match.overall == 1.0


def test_same_name_other_unit_lowers_overall():
    a = intervener_key("张伟", "北京市朝阳区人民检察院", "副检察长")
    b = intervener_key("张伟", "华夏律师事务所", "律师")

    assert intervener_similarity(a, b).overall < 0.75
