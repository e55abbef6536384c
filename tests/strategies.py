"""Hypothesis strategies for the filing model, with realistic Chinese text.

The strategies build only valid values: records whose provision, conduct and
bucket fit together, timestamps between 2015 and 2025 with every record
before its filing, and text within the model's limits. They shrink toward
short text, the first member of each vocabulary and zero reports.
"""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import strategies as st

from threeregs._model import (
    MAX_CONTENT,
    Filer,
    Filing,
    Intervener,
    MonthlyObligation,
    Obligation,
    Record,
    StageObligation,
)
from threeregs._vocabulary import (
    BUCKETS_BY_CONDUCT,
    CONDUCT_BY_PROVISION,
    IntervenerRole,
    Manner,
    Provision,
    StaffKind,
)
from threeregs.routing import Level

# Common characters of case records, so that generated text looks like what
# prosecutors write and exercises multi-byte UTF-8 in the canonical form.
COMMON_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
    "两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重"
    "案件检察院审查起诉逮捕当事人律师领导干部过问说情请托打听案情通风报信宴请礼品借款接触交往记录"
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
UNITS = (
    "某市人民政府办公室",
    "某区公安分局",
    "某县人民法院",
    "某市人民检察院第二检察部",
    "某律师事务所",
    "某资产评估有限公司",
    "某国有企业集团",
    "",
)
POSITIONS = ("副局长", "主任", "科长", "律师", "副院长", "总经理", "检察官助理", "")
PLACES = ("办公室", "检察院接待室", "某酒店", "电话联系", "某茶楼包间", "")
PUNCTUATION = "，。、；：？！“”（）"
STAGES = ("accept", "arrest_review", "prosecution_review", "indictment", "trial_support")
OFFICE_CODES = ("330106", "330102", "330100", "330000", "110105", "110000", "000000")

_START = dt.datetime(2015, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds with timezones=
_END = dt.datetime(2025, 12, 31)  # noqa: DTZ001 - same as above


def chinese_text(*, min_size: int = 1, max_size: int = 200) -> st.SearchStrategy[str]:
    """Generate Chinese text of common characters, punctuation and digits.

    Shrinks toward a single common character.
    """
    alphabet = st.sampled_from(COMMON_HANZI + PUNCTUATION + string.digits)
    return st.text(alphabet, min_size=min_size, max_size=max_size).filter(lambda s: s.strip())


def multiline_chinese_text(*, min_size: int = 1, max_size: int = 600) -> st.SearchStrategy[str]:
    """Generate Chinese text that may contain line breaks and tabs."""
    alphabet = st.sampled_from(COMMON_HANZI + PUNCTUATION + string.digits + "\n\t ")
    return st.text(alphabet, min_size=min_size, max_size=max_size).filter(lambda s: s.strip())


@st.composite
def person_names(draw: st.DrawFn) -> str:
    """Generate a Chinese personal name: a surname and one or two given characters."""
    surname = draw(st.sampled_from(SURNAMES))
    given = draw(st.text(st.sampled_from(COMMON_HANZI), min_size=1, max_size=2))
    return surname + given


def utc_datetimes() -> st.SearchStrategy[dt.datetime]:
    """Generate aware UTC datetimes from 2015 to 2025, with microseconds."""
    return st.datetimes(min_value=_START, max_value=_END, timezones=st.just(dt.UTC))


@st.composite
def interveners(draw: st.DrawFn) -> Intervener:
    """Generate an intervener with a Chinese name, unit and position."""
    return Intervener(
        name=draw(person_names()),
        unit=draw(st.sampled_from(UNITS)),
        position=draw(st.sampled_from(POSITIONS)),
        role=draw(st.sampled_from(IntervenerRole)),
        procuratorate_staff=draw(st.booleans()),
        own_office_leader=draw(st.booleans()),
        own_office_inspection=draw(st.booleans()),
    )


@st.composite
def records(
    draw: st.DrawFn,
    *,
    occurred_before: dt.datetime | None = None,
    max_content: int = 600,
) -> Record:
    """Generate a record whose provision, conduct and bucket fit together.

    *occurred_before* bounds the time of the intervention (the filing time).
    """
    provision = draw(st.sampled_from(Provision))
    conduct = draw(st.sampled_from(sorted(CONDUCT_BY_PROVISION[provision])))
    bucket = draw(st.sampled_from(sorted(BUCKETS_BY_CONDUCT[conduct])))
    if occurred_before is None:
        occurred_at = draw(utc_datetimes())
    else:
        back = draw(st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)))
        occurred_at = max(occurred_before - back, _START.replace(tzinfo=dt.UTC))
    digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
    return Record(
        provision=provision,
        conduct=conduct,
        bucket=bucket,
        intervener=draw(interveners()),
        occurred_at=occurred_at,
        manner=draw(st.sampled_from(Manner)),
        content=draw(multiline_chinese_text(max_size=min(max_content, MAX_CONTENT))),
        place=draw(st.sampled_from(PLACES)),
        response=draw(st.one_of(st.just(""), multiline_chinese_text(max_size=100))),
        attachments=tuple(draw(st.lists(digests, max_size=3))),
    )


@st.composite
def filers(draw: st.DrawFn) -> Filer:
    """Generate a filer of one of a few real office codes."""
    return Filer(
        person_id=draw(st.from_regex(r"P[0-9]{6}", fullmatch=True)),
        office_code=draw(st.sampled_from(OFFICE_CODES)),
        staff_kind=draw(st.sampled_from(StaffKind)),
    )


@st.composite
def obligations(draw: st.DrawFn) -> Obligation:
    """Generate a stage obligation, a monthly obligation or none (an anytime record)."""
    kind = draw(st.sampled_from(("stage", "monthly", "anytime")))
    if kind == "stage":
        return StageObligation(
            case_id=draw(st.from_regex(r"[0-9]{4}-[A-Z]{2}-[0-9]{1,5}", fullmatch=True)),
            stage=draw(st.sampled_from(STAGES)),
            round=draw(st.integers(min_value=1, max_value=3)),
        )
    if kind == "monthly":
        year = draw(st.integers(min_value=2019, max_value=2025))
        month = draw(st.integers(min_value=1, max_value=12))
        return MonthlyObligation(month=f"{year:04d}-{month:02d}")
    return None


@st.composite
def filings(
    draw: st.DrawFn,
    *,
    min_records: int = 0,
    max_records: int = 3,
    max_content: int = 600,
) -> Filing:
    """Generate a filing with *min_records* to *max_records* records.

    Shrinks toward a zero report for a stage, filed to the filer's own office.
    """
    filed_at = draw(utc_datetimes())
    count = draw(st.integers(min_value=min_records, max_value=max_records))
    items = tuple(
        draw(records(occurred_before=filed_at, max_content=max_content)) for _ in range(count)
    )
    filing_id = draw(st.binary(min_size=16, max_size=16)).hex()
    supersedes = draw(
        st.one_of(
            st.none(),
            st.binary(min_size=16, max_size=16).map(bytes.hex).filter(lambda s: s != filing_id),
        )
    )
    return Filing(
        draw(filers()),
        draw(obligations()),
        records=items,
        direct_to=draw(st.sampled_from((None, Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME))),
        supersedes=supersedes,
        filed_at=filed_at,
        filing_id=filing_id,
        policy_version=draw(st.sampled_from((None, "default-1", "zhejiang-2024.2"))),
    )


def zero_filings() -> st.SearchStrategy[Filing]:
    """Generate zero reports."""
    return filings(max_records=0)


def nonzero_filings(*, max_records: int = 3) -> st.SearchStrategy[Filing]:
    """Generate filings with at least one record."""
    return filings(min_records=1, max_records=max_records)
