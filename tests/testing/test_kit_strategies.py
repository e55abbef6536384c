"""The shipped strategies build valid, realistic values and shrink as documented."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from threeregs import (
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Level,
    Manner,
    MonthlyObligation,
    Provision,
    Record,
    StaffKind,
    StageObligation,
    ValidationError,
)
from threeregs._vocabulary import BUCKETS_BY_CONDUCT, CONDUCT_BY_PROVISION
from threeregs.routing import Directory, Office
from threeregs.testing import (
    case_ids,
    directories,
    filers,
    filings,
    interveners,
    monthly_obligations,
    offices,
    person_ids,
    person_names,
    positions,
    records,
    stage_obligations,
    units,
    utc_datetimes,
)
from threeregs.testing._strategies import ROLES_BY_PROVISION
from threeregs.testing._words import COMPOUND_SURNAMES, GIVEN_NAME_CHARACTERS, SURNAMES

# The strategies are cheap and well covered by a few examples each; the
# database-backed tests elsewhere draw many more of them.
FAST = settings(max_examples=25)
SHRINK = settings(database=None, max_examples=1)
HAN = re.compile(r"[\u4e00-\u9fff]+")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def smallest(strategy: st.SearchStrategy[object]) -> object:
    """Return the value *strategy* shrinks toward."""
    return find(strategy, lambda _: True, settings=SHRINK)


def assert_utc_past(value: dt.datetime) -> None:
    assert value.tzinfo is dt.UTC
    assert value <= now()


# --- time --------------------------------------------------------------------


@FAST
@given(utc_datetimes())
def test_datetimes_aware_and_past(value: dt.datetime) -> None:
    assert_utc_past(value)
    assert value.year >= 2015


@FAST
@given(st.data())
def test_datetimes_within_bounds(data: st.DataObject) -> None:
    low = dt.datetime(2019, 3, 1, tzinfo=dt.UTC)
    high = dt.datetime(2019, 3, 2, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    value = data.draw(utc_datetimes(min_value=low, max_value=high))

    assert low <= value <= high
    assert value.tzinfo is dt.UTC


def test_datetimes_shrink_to_max() -> None:
    high = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    assert smallest(utc_datetimes(max_value=high)) == high


def test_datetimes_reject_naive_bound() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        utc_datetimes(max_value=dt.datetime(2020, 1, 1))  # noqa: DTZ001 - the case under test


def test_datetimes_reject_empty_range() -> None:
    with pytest.raises(ValidationError, match="lies after"):
        utc_datetimes(min_value=now(), max_value=now() - dt.timedelta(days=1))


@FAST
@given(monthly_obligations())
def test_months_not_in_future(obligation: MonthlyObligation) -> None:
    assert "2015-01" <= obligation.month <= now().strftime("%Y-%m")


def test_months_shrink_to_current() -> None:
    assert smallest(monthly_obligations(max_month="2020-06")) == MonthlyObligation("2020-06")


def test_months_reject_empty_range() -> None:
    with pytest.raises(ValidationError, match="lies after"):
        monthly_obligations(min_month="2024-02", max_month="2024-01")


# --- people ------------------------------------------------------------------


@FAST
@given(person_names())
def test_names_realistic(name: str) -> None:
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[0]
    given_name = name[len(surname) :]

    assert surname in SURNAMES or surname in COMPOUND_SURNAMES
    assert 1 <= len(given_name) <= 2
    assert all(char in GIVEN_NAME_CHARACTERS for char in given_name)


def test_names_shrink() -> None:
    assert smallest(person_names()) == "王伟"


@FAST
@given(person_ids())
def test_person_ids_valid_filers(person_id: str) -> None:
    assert re.fullmatch(r"P\d{6}", person_id)
    Filer(person_id, "330106", StaffKind.PROSECUTOR)


@FAST
@given(st.sampled_from(IntervenerRole), st.data())
def test_units_and_positions_fit_role(role: IntervenerRole, data: st.DataObject) -> None:
    unit = data.draw(units(role=role))
    position = data.draw(positions(role=role))

    if role is IntervenerRole.LAWYER:
        assert unit.endswith("律师事务所")
    if role is IntervenerRole.LEADING_CADRE:
        assert unit
        assert position
    assert not unit.endswith("人民检察院")
    assert unit == unicodedata.normalize("NFC", unit)


@FAST
@given(units(procuratorate=True))
def test_procuratorate_units(unit: str) -> None:
    assert unit.endswith("人民检察院")


def test_units_shrink() -> None:
    assert smallest(units()) == "杭州市人民政府"
    assert smallest(positions()) == "副局长"


@FAST
@given(interveners())
def test_interveners_consistent(intervener: Intervener) -> None:
    assert intervener.procuratorate_staff == intervener.unit.endswith("人民检察院")
    if intervener.own_office_leader or intervener.own_office_inspection:
        assert intervener.procuratorate_staff
    if intervener.own_office_leader:
        assert not intervener.own_office_inspection
    assert HAN.fullmatch(intervener.name)


@FAST
@given(interveners(procuratorate_staff=True, own_office_inspection=True))
def test_interveners_fixed_flags(intervener: Intervener) -> None:
    assert intervener.procuratorate_staff
    assert intervener.own_office_inspection
    assert intervener.role in (IntervenerRole.LEADING_CADRE, IntervenerRole.INTERNAL_PERSONNEL)
    assert "检务督察" in intervener.position


def test_interveners_shrink() -> None:
    assert smallest(interveners()) == Intervener(
        name="王伟", unit="杭州市人民政府", position="副局长", role=IntervenerRole.LEADING_CADRE
    )


@FAST
@given(filers(office_codes=["330106", "110105"], staff_kinds=[StaffKind.CONTRACT]))
def test_filers_use_options(filer: Filer) -> None:
    assert filer.office_code in ("330106", "110105")
    assert filer.staff_kind is StaffKind.CONTRACT


def test_filers_shrink() -> None:
    assert smallest(filers()) == Filer("P000001", "330106", StaffKind.PROSECUTOR)


def test_filers_reject_empty_options() -> None:
    with pytest.raises(ValidationError, match="office_codes"):
        filers(office_codes=[])
    with pytest.raises(ValidationError, match="staff_kinds"):
        filers(staff_kinds=[])


# --- offices -----------------------------------------------------------------


@FAST
@given(directories())
def test_directories_are_trees(directory: Directory) -> None:
    assert directory.supreme.code == "000000"
    for office in directory:
        chain = directory.chain(office.code)
        assert chain[-1] == directory.supreme
        assert [o.level for o in chain] == sorted((o.level for o in chain), reverse=True)
        assert re.fullmatch(r"\d{6}", office.code)
        assert office.name.endswith("人民检察院")


@FAST
@given(directories(full_chain=True, max_offices=6))
def test_directories_full_chain(directory: Directory) -> None:
    assert len(directory) <= 6
    assert any(len(directory.chain(o.code)) == 4 for o in directory.by_level(Level.BASIC))


def test_directories_shrink() -> None:
    # As for policies, the simplest choices are the shrink target here.
    simplest = settings(database=None, max_examples=1, phases=[Phase.generate])
    lone = find(directories(), lambda _: True, settings=simplest)
    assert isinstance(lone, Directory)
    assert [o.code for o in lone] == ["000000"]
    chain = find(directories(full_chain=True), lambda _: True, settings=simplest)
    assert isinstance(chain, Directory)
    assert [o.code for o in chain] == ["000000", "330000", "330100", "330101"]


def test_directories_reject_small_full_chain() -> None:
    with pytest.raises(ValidationError, match="max_offices"):
        directories(max_offices=3, full_chain=True)


@FAST
@given(st.data())
def test_offices_at_levels(data: st.DataObject) -> None:
    office = data.draw(offices(levels=[Level.MUNICIPAL]))
    assert office.level is Level.MUNICIPAL


def test_offices_reject_missing_level() -> None:
    lone = Directory([Office(code="000000", name="最高人民检察院", level=Level.SUPREME)])
    with pytest.raises(ValidationError, match="no office at these levels"):
        offices(directory=lone, levels=[Level.BASIC])


# --- records and filings -----------------------------------------------------


@FAST
@given(records())
def test_records_fit_vocabulary(record: Record) -> None:
    assert record.conduct in CONDUCT_BY_PROVISION[record.provision]
    assert record.bucket in BUCKETS_BY_CONDUCT[record.conduct]
    assert record.intervener.role in ROLES_BY_PROVISION[record.provision]
    assert record.intervener.name in record.content
    assert_utc_past(record.occurred_at)


def test_records_shrink() -> None:
    record = smallest(records())

    assert isinstance(record, Record)
    assert record.provision is Provision.P1
    assert record.conduct is Conduct.INQUIRY
    assert record.manner is Manner.IN_PERSON
    assert record.intervener.role is IntervenerRole.LEADING_CADRE


@FAST
@given(case_ids())
def test_case_ids_valid(case_id: str) -> None:
    StageObligation(case_id, "accept")
    assert re.fullmatch(r"\d{6}-\d{4}-\d{4}", case_id)


def test_stage_obligations_shrink() -> None:
    year = now().year
    assert smallest(stage_obligations()) == StageObligation(f"330106-{year}-0001", "accept", 1)


def test_stage_obligations_reject_bad_round() -> None:
    with pytest.raises(ValidationError, match="max_round"):
        stage_obligations(max_round=0)


@FAST
@given(filings())
def test_filings_valid(filing: Filing) -> None:
    assert_utc_past(filing.filed_at)
    if filing.kind == "anytime":
        assert filing.records
    for record in filing.records:
        assert record.occurred_at <= filing.filed_at
        if record.intervener.own_office_inspection:
            assert filing.direct_to is not None


@FAST
@given(filings(max_records=0, obligation=stage_obligations()))
def test_zero_stage_reports(filing: Filing) -> None:
    assert filing.is_zero
    assert filing.kind == "stage"


@settings(FAST, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_filings_route_within_directory(data: st.DataObject) -> None:
    directory = data.draw(directories(full_chain=True))
    filing = data.draw(filings(directory=directory, min_records=1))

    chain = directory.chain(filing.filer.office_code)
    if filing.direct_to is not None:
        assert filing.direct_to in [o.level for o in chain[1:]]


@FAST
@given(filings(direct_reports=False, min_records=1))
def test_filings_without_direct_reports(filing: Filing) -> None:
    assert filing.direct_to is None
    assert not any(r.intervener.own_office_inspection for r in filing.records)


def test_filings_shrink() -> None:
    filing = smallest(filings())

    assert isinstance(filing, Filing)
    assert filing.is_zero
    assert filing.obligation == MonthlyObligation(now().strftime("%Y-%m"))
    assert filing.direct_to is None


def test_filings_reject_bad_counts() -> None:
    with pytest.raises(ValidationError, match="max_records"):
        filings(min_records=3, max_records=1)


def test_anytime_needs_records() -> None:
    @settings(database=None, max_examples=1, phases=[Phase.generate])
    @given(filings(obligation=st.none(), max_records=0))
    def draw_one(filing: Filing) -> None:
        pass

    with pytest.raises(ValidationError, match="anytime record"):
        draw_one()
