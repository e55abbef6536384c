"""Normalisation and tolerant comparison of interveners' names, units and positions.

Clues and filings spell the same person in different ways: traditional or
simplified characters, a homophone typed by a pinyin input method, a
romanised name, a unit written in full (北京市朝阳区人民检察院) or short
(朝阳区检察院). Every text is folded the same way on both sides before it is
compared:

* Unicode NFKC and case folding, so full-width letters and digits match ASCII;
* traditional to simplified Chinese, character by character with OpenCC's
  ``t2s`` table, so that the folding never depends on the surrounding text;
* spaces and punctuation dropped (the middle dot of ``阿依古丽·买买提`` too).

A name also gets a pinyin key: the toneless pinyin of the whole name from
pypinyin. Some characters are read differently as surnames (曾 is *zeng*, not
*ceng*), so the surname's reading comes from a table of such surnames.
Compound surnames (欧阳, 司马, 诸葛 …) are split off as one surname.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

import attrs
import opencc
from rapidfuzz import fuzz

__all__ = [
    "COMPOUND_SURNAMES",
    "TITLES",
    "IntervenerKey",
    "IntervenerMatch",
    "NameKey",
    "fold_text",
    "intervener_key",
    "intervener_similarity",
    "name_key",
    "name_similarity",
    "normalise_position",
    "normalise_unit",
    "split_surname",
    "text_similarity",
]

#: Two-character surnames, which are split off whole. The list covers the
#: compound surnames of the classical surname lists that are still in use.
COMPOUND_SURNAMES: Final = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
        "长孙", "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里",
        "呼延", "闻人", "澹台", "公冶", "太史", "申屠", "钟离", "万俟", "赫连", "拓跋",
        "第五", "濮阳", "淳于", "单于", "仲孙", "东郭", "司空", "司寇", "羊舌", "微生",
        "梁丘", "左丘", "东门", "谷梁", "段干", "宰父", "亓官", "乐正", "壤驷", "漆雕",
        "公良", "巫马", "公西", "颛孙", "子车", "鲜于", "闾丘", "公羊", "夹谷", "汝鄢",
    }
)  # fmt: skip

#: Toneless readings of surnames whose reading as a surname differs from the
#: reading pypinyin gives the character on its own or in a phrase.
_SURNAME_READINGS: Final = {
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "仇": ("qiu",),
    "朴": ("piao",),
    "查": ("zha",),
    "区": ("ou",),
    "盖": ("ge",),
    "乐": ("yue",),
    "缪": ("miao",),
    "覃": ("qin",),
    "翟": ("zhai",),
    "秘": ("bi",),
    "召": ("shao",),
    "员": ("yun",),
    "繁": ("po",),
    "黑": ("he",),
    "种": ("chong",),
    "折": ("she",),
    "句": ("gou",),
    "隗": ("wei",),
    "长孙": ("zhang", "sun"),
    "万俟": ("mo", "qi"),
    "尉迟": ("yu", "chi"),
    "单于": ("chan", "yu"),
    "澹台": ("tan", "tai"),
    "乐正": ("yue", "zheng"),
}

_BASE_TITLES: Final = (
    "局长", "书记", "主任", "院长", "检察长", "庭长", "科长", "处长", "部长", "厅长", "县长",
    "区长", "市长", "省长", "主席", "经理", "总经理", "董事长", "律师", "老师", "总",
)  # fmt: skip
#: Titles by which people are often named in place of their given name (王局长,
#: 李副书记), longest first so that 总经理 is found before 经理.
TITLES: Final = tuple(
    sorted(
        {*_BASE_TITLES, *(f"副{title}" for title in _BASE_TITLES[:16])},
        key=lambda title: (-len(title), title),
    )
)

# Similarity of two Chinese names with the same pinyin but different
# characters: often a homophone picked by an input method, but also often a
# different person (张伟 and 章伟).
_HOMOPHONE: Final = 0.85
# Similarity of a romanised name and a Chinese name with the same pinyin.
_ROMANISED: Final = 0.95
# Similarity of a surname and title (王局长) and a full name with that surname;
# the unit and position then decide.
_TITLED: Final = 0.85

_T2S = opencc.OpenCC("t2s.json")
_WORD_BREAK = re.compile(r"[\s\-_.,·]+")
_MIDDLE_DOT = re.compile(r"[·•・‧．.]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

# Administrative divisions at the start of a unit name: 北京市 朝阳区 …; the
# suffix is dropped so that 北京市朝阳区检察院 and 北京朝阳检察院 agree. Long
# alternatives come first because 自治区 ends in 区.
_DIVISION = re.compile(
    r"(?P<place>[\u4e00-\u9fff]{2,6}?)"
    r"(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|自治县|自治旗"
    r"|地区|省|市|区|县|州|旗|盟)"
)
# Long forms that carry no distinguishing information, replaced by the short form.
_UNIT_REPLACEMENTS: Final = (
    ("中华人民共和国", ""),
    ("中国共产党", "中共"),
    ("人民代表大会常务委员会", "人大常委会"),
    ("人民代表大会", "人大"),
    ("政治协商会议", "政协"),
    ("人民检察院", "检察院"),
    ("人民法院", "法院"),
    ("人民政府", "政府"),
    ("律师事务所", "律所"),
)
# Legal-form suffixes of companies: 某某科技有限公司, 某某科技股份有限公司 and
# 某某科技 name the same company.
_COMPANY_SUFFIX = re.compile(r"(?:集团)?(?:股份)?(?:有限责任|有限)?公司$")
_POSITION_NOISE: Final = ("同志", "先生", "女士")
_POSITION_SEPARATORS = re.compile(r"[、,，/;；|]|兼")


def _fold_char(char: str) -> str:
    converted: str = _T2S.convert(char)
    return converted


@functools.lru_cache(maxsize=65536)
def _fold_han(char: str) -> str:
    """Fold one character to its simplified form, following the table to a fixed point."""
    seen = [char]
    current = char
    for _ in range(4):
        following = _fold_char(current)
        if following == current or following in seen:
            break
        seen.append(following)
        current = following
    return current


def _is_kept(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _fold_once(text: str) -> str:
    # NFKC before case folding maps compatibility letters (ᴬ) to letters that
    # have a case, and NFKC after it recomposes what case folding decomposed.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    kept = [_fold_han(char) if _HAN.match(char) else char for char in folded if _is_kept(char)]
    # Dropping a mark can bring two characters together that NFKC composes.
    return unicodedata.normalize("NFKC", "".join(kept))


@functools.lru_cache(maxsize=262144)
def fold_text(text: str) -> str:
    """Fold *text* for comparison: NFKC, case folding, simplified characters, no punctuation.

    Letters and digits are kept, everything else is dropped. Folding is
    repeated until the text no longer changes (at most four times), so that
    ``fold_text(fold_text(x)) == fold_text(x)``.
    """
    result = _fold_once(text)
    for _ in range(3):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result


def split_surname(folded_name: str) -> tuple[str, str]:
    """Split a folded Chinese name into surname and given name.

    A name of three or more characters that starts with a compound surname
    loses both characters; other Chinese names lose the first character. A
    name that does not start with a Chinese character has no surname.
    """
    if not folded_name or not _HAN.match(folded_name[0]):
        return "", folded_name
    if len(folded_name) >= 3 and folded_name[:2] in COMPOUND_SURNAMES:
        return folded_name[:2], folded_name[2:]
    return folded_name[:1], folded_name[1:]


@attrs.frozen
class NameKey:
    """The comparison keys of one name."""

    #: The folded name (see :func:`fold_text`).
    text: str
    #: Toneless pinyin of the whole name, without separators (``ouyangxiu``).
    pinyin: str
    surname: str
    given: str
    #: Whether the name has no Chinese characters (a romanised or foreign name).
    latin: bool
    #: For a romanised name of two words, the words in the other order.
    alternate: str = ""
    #: The title of a name written as surname and title (``局长`` of ``王局长``).
    title: str = ""
    #: Toneless pinyin of the surname (``ouyang``), or the surname of a romanised name.
    surname_pinyin: str = ""


def _pinyin(text: str) -> list[str]:
    # pypinyin loads its phrase dictionary on import (0.5 s on the benchmark
    # machine), so it is imported for the first name, not with the package.
    import pypinyin  # noqa: PLC0415

    syllables: list[str] = pypinyin.lazy_pinyin(text)
    return syllables


def _latin_to_pinyin(text: str) -> str:
    # Input methods and pypinyin write ü as v.
    return text.replace("ü", "v")


@functools.lru_cache(maxsize=262144)
def name_key(name: str) -> NameKey:
    """Build the comparison keys of a person's *name*."""
    folded = fold_text(name)
    if not folded:
        return NameKey(text="", pinyin="", surname="", given="", latin=False)
    if not _HAN.search(folded):
        words = [fold_text(word) for word in _WORD_BREAK.split(name)]
        words = [_latin_to_pinyin(word) for word in words if word]
        latin = "".join(words)
        # A romanised Chinese name may be written surname first or last.
        alternate = words[-1] + "".join(words[:-1]) if len(words) == 2 else ""
        surname = words[0] if len(words) > 1 else ""
        return NameKey(
            text=latin,
            pinyin=latin,
            surname=surname,
            given="".join(words[1:]) if len(words) > 1 else latin,
            latin=True,
            alternate=alternate,
            surname_pinyin=surname,
        )

    # A transliterated name (阿依古丽·买买提) is written with a middle dot and
    # has no Chinese surname to split off.
    surname, given = ("", folded) if _MIDDLE_DOT.search(name) else split_surname(folded)
    title = ""
    if surname:
        surname, given, title = _split_title(folded, surname, given)
    syllables = _pinyin(folded)
    reading = _SURNAME_READINGS.get(surname)
    if reading is not None and len(syllables) >= len(reading):
        syllables[: len(reading)] = reading
    pinyin = _latin_to_pinyin("".join(syllables).lower())
    surname_pinyin = _latin_to_pinyin("".join(syllables[: len(surname)]).lower())
    return NameKey(
        text=folded,
        pinyin=pinyin,
        surname=surname,
        given=given,
        latin=False,
        title=title,
        surname_pinyin=surname_pinyin,
    )


def _split_title(folded: str, surname: str, given: str) -> tuple[str, str, str]:
    """Recognise a name written as surname and title, such as 王局长 or 欧阳副书记."""
    for title in TITLES:
        if not folded.endswith(title):
            continue
        head = folded[: -len(title)]
        if len(head) == 1 or head in COMPOUND_SURNAMES:
            return head, "", title
    return surname, given, ""


@functools.lru_cache(maxsize=65536)
def normalise_unit(unit: str) -> str:
    """Normalise a unit name: folded, no division suffixes, no ``人民`` or company forms.

    ``北京市朝阳区人民检察院`` becomes ``北京朝阳检察院``, and
    ``华夏科技股份有限公司`` becomes ``华夏科技``.
    """
    text = fold_text(unit)
    for long_form, short_form in _UNIT_REPLACEMENTS:
        text = text.replace(long_form, short_form)

    # Strip up to three leading divisions (province, prefecture, county).
    head: list[str] = []
    rest = text
    for _ in range(3):
        match = _DIVISION.match(rest)
        if match is None or match.end() == len(rest):
            break
        head.append(match.group("place"))
        rest = rest[match.end() :]
    text = "".join(head) + rest

    stripped = _COMPANY_SUFFIX.sub("", text)
    return stripped or text


@functools.lru_cache(maxsize=65536)
def normalise_position(position: str) -> str:
    """Normalise a position: folded, without courtesy words, parts in sorted order.

    ``党组书记、检察长`` and ``检察长兼党组书记`` both become ``党组书记|检察长``.
    """
    text = unicodedata.normalize("NFKC", position)
    for word in _POSITION_NOISE:
        text = text.replace(word, "")
    parts = {fold_text(part) for part in _POSITION_SEPARATORS.split(text)}
    return "|".join(sorted(part for part in parts if part))


def text_similarity(a: str, b: str) -> float:
    """Compare two normalised texts in [0, 1], letting a short text match inside a long one.

    One text contained in the other (``朝阳检察院`` in ``北京朝阳检察院``)
    scores 0.9 when the shorter has at least three characters.
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    score = fuzz.ratio(a, b) / 100.0
    if min(len(a), len(b)) >= 3:
        score = max(score, 0.9 * fuzz.partial_ratio(a, b) / 100.0)
    return score


def name_similarity(a: NameKey, b: NameKey) -> float:
    """Compare two names in [0, 1].

    Equal folded names score 1. A name written as surname and title (王局长)
    scores 0.85 against a name with a surname of the same sound, else 0.1.
    Chinese names with the same pinyin but other characters score 0.85, a
    romanised name and a Chinese name with the same pinyin 0.95. Otherwise
    the score is the mean of the character and pinyin similarity (rapidfuzz
    ``ratio``), lowered by a fifth when both names have surnames that sound
    different.
    """
    if not a.text or not b.text:
        return 0.0
    if a.text == b.text:
        return 1.0
    if bool(a.title) != bool(b.title):
        return _titled_similarity(a, b) if a.title else _titled_similarity(b, a)
    reordered = (a.alternate and a.alternate == b.pinyin) or (
        b.alternate and b.alternate == a.pinyin
    )
    if a.pinyin == b.pinyin or reordered:
        return _ROMANISED if a.latin or b.latin else _HOMOPHONE
    if a.latin != b.latin:
        return fuzz.ratio(a.pinyin, b.pinyin) / 100.0
    score = (fuzz.ratio(a.text, b.text) + fuzz.ratio(a.pinyin, b.pinyin)) / 200.0
    if a.surname and b.surname and a.surname_pinyin != b.surname_pinyin:
        score *= 0.8
    return score


def _titled_similarity(titled: NameKey, other: NameKey) -> float:
    """Compare a surname and title (王局长) with a name that has no title."""
    surname = titled.surname_pinyin
    if other.latin:
        same = other.pinyin.startswith(surname) or other.pinyin.endswith(surname)
    else:
        same = bool(other.surname) and other.surname_pinyin == surname
    return _TITLED if same else 0.1


@attrs.frozen
class IntervenerKey:
    """The normalised comparison keys of one intervener: name, unit and position."""

    #: The name as written, for display.
    display_name: str
    name: NameKey
    #: Normalised unit (see :func:`normalise_unit`), ``""`` when not given.
    unit: str
    #: Normalised position (see :func:`normalise_position`), ``""`` when not given.
    position: str


@functools.lru_cache(maxsize=262144)
def intervener_key(name: str, unit: str = "", position: str = "") -> IntervenerKey:
    """Build the normalised keys of an intervener."""
    key = name_key(name)
    # A name such as 王局长 carries the position when none is given.
    return IntervenerKey(
        display_name=unicodedata.normalize("NFC", name).strip(),
        name=key,
        unit=normalise_unit(unit),
        position=normalise_position(position or key.title),
    )


@attrs.frozen
class IntervenerMatch:
    """Agreement of two interveners, field by field, each in [0, 1].

    ``unit`` and ``position`` are None when either side leaves the field empty.
    """

    name: float
    unit: float | None
    position: float | None
    #: The name similarity scaled by the agreement of unit and position: the
    #: name alone when neither can be compared, otherwise
    #: ``name * (0.6 + 0.4 * context)`` where context weighs unit 0.7 and
    #: position 0.3 (or whichever of them is present).
    overall: float


def intervener_similarity(a: IntervenerKey, b: IntervenerKey) -> IntervenerMatch:
    """Compare two interveners by name, unit and position."""
    name = name_similarity(a.name, b.name)
    unit = text_similarity(a.unit, b.unit) if a.unit and b.unit else None
    position = text_similarity(a.position, b.position) if a.position and b.position else None

    weights = [
        (score, weight) for score, weight in ((unit, 0.7), (position, 0.3)) if score is not None
    ]
    if not weights:
        overall = name
    else:
        context = sum(score * weight for score, weight in weights) / sum(w for _, w in weights)
        overall = name * (0.6 + 0.4 * context)
    return IntervenerMatch(name=name, unit=unit, position=position, overall=overall)
