"""Hypothesis strategies for people, offices, records, obligations and filings.

Every strategy builds values that the filing model accepts, and values that
:meth:`threeregs.StageGate.file` stores when the filer's office and its chain
have keys: records whose provision, conduct and bucket fit together,
interveners whose unit matches their role, and timezone-aware UTC timestamps
that never lie in the future. Text comes from the word lists in
:mod:`threeregs.testing._words`, so generated values read like real ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import TYPE_CHECKING, Final, TypeVar

from hypothesis import strategies as st

from threeregs._errors import ValidationError
from threeregs._model import (
    MAX_RECORDS,
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
    Conduct,
    IntervenerRole,
    Manner,
    Provision,
    StaffKind,
)
from threeregs.routing._directory import Directory, Level, Office
from threeregs.testing import _words as words

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The Three Provisions took effect in 2015, so no record is older.
EARLIEST: Final = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: How long before its filing a generated record happened, at most. It is the
#: default policy's deadline for records other than unexpected contacts.
RECORD_LAG: Final = dt.timedelta(days=30)
#: Basic offices of the national directory, for filers and case numbers when
#: no directory is given.
SAMPLE_OFFICE_CODES: Final = ("330106", "330108", "320106", "440106", "110105")
#: Stage codes of the default policy's criminal line, for stage obligations.
SAMPLE_STAGES: Final = (
    "accept", "arrest_review", "prosecution_review", "supplementary_investigation",
    "indictment", "trial_support", "closed",
)  # fmt: skip

#: Intervener roles that each provision covers.
ROLES_BY_PROVISION: Final = {
    Provision.P1: (IntervenerRole.LEADING_CADRE,),
    Provision.P2: (IntervenerRole.INTERNAL_PERSONNEL,),
    Provision.P3: (
        IntervenerRole.PARTY,
        IntervenerRole.LAWYER,
        IntervenerRole.SPECIAL_RELATIONSHIP,
        IntervenerRole.INTERMEDIARY,
        IntervenerRole.ACQUAINTANCE,
    ),
}
# Manners that leave no place worth recording.
_REMOTE_MANNERS: Final = frozenset(
    {Manner.PHONE, Manner.MESSAGE, Manner.LETTER, Manner.ORGANISATION_DOCUMENT}
)
_INSPECTION_POSITIONS: Final = ("检务督察部检察官", "检务督察部主任")
_LEADER_POSITIONS: Final = ("部主任", "副检察长", "检察长")


_DAY: Final = dt.timedelta(days=1)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValidationError(name, value, "expected a timezone-aware datetime (use datetime.UTC)")
    return value.astimezone(dt.UTC)


# --- time --------------------------------------------------------------------


def utc_datetimes(
    *, min_value: dt.datetime | None = None, max_value: dt.datetime | None = None
) -> st.SearchStrategy[dt.datetime]:
    """Generate timezone-aware UTC datetimes from *min_value* to *max_value*.

    The bounds default to 2015-01-01 and the moment the strategy is created,
    so no value lies in the future. Shrinks toward *max_value*, the most
    recent time.
    """
    low = EARLIEST if min_value is None else _aware("min_value", min_value)
    high = _utcnow() if max_value is None else _aware("max_value", max_value)
    if low > high:
        raise ValidationError("min_value", low, f"lies after max_value {high.isoformat()}")
    # Whole days and the time within a day are drawn apart, so that a strategy
    # built later in the same day makes the same choices: hypothesis reports
    # data generation that depends on the clock as flaky.
    days = st.integers(min_value=0, max_value=(high - low).days)
    within_day = st.integers(min_value=0, max_value=_DAY // _MICROSECOND - 1)
    return st.builds(
        lambda back, micros: max(high - dt.timedelta(days=back, microseconds=micros), low),
        days,
        within_day,
    )


def monthly_obligations(
    *, min_month: str = "2015-01", max_month: str | None = None
) -> st.SearchStrategy[MonthlyObligation]:
    """Generate duties to file the monthly return for a month up to the current one.

    Months are ``YYYY-MM``; *max_month* defaults to the current month in UTC.
    Shrinks toward *max_month*.
    """
    first = MonthlyObligation(min_month).month
    last = MonthlyObligation(max_month or _utcnow().strftime("%Y-%m")).month
    low = int(first[:4]) * 12 + int(first[5:]) - 1
    high = int(last[:4]) * 12 + int(last[5:]) - 1
    if low > high:
        raise ValidationError("min_month", min_month, f"lies after max_month {last}")
    return st.integers(min_value=0, max_value=high - low).map(
        lambda back: MonthlyObligation(f"{(high - back) // 12:04d}-{(high - back) % 12 + 1:02d}")
    )


# --- people ------------------------------------------------------------------


def person_ids() -> st.SearchStrategy[str]:
    """Generate staff numbers such as ``P004217``. Shrinks toward ``P000001``."""
    return st.integers(min_value=1, max_value=999_999).map("P{:06d}".format)


def person_names() -> st.SearchStrategy[str]:
    """Generate Chinese personal names: a surname and one or two given-name characters.

    About one name in eight has a two-character surname such as 欧阳.
    Shrinks toward 王伟.
    """
    surnames = st.sampled_from(words.SURNAMES + words.COMPOUND_SURNAMES)
    given_names = st.lists(st.sampled_from(words.GIVEN_NAME_CHARACTERS), min_size=1, max_size=2)
    return st.builds(lambda surname, chars: surname + "".join(chars), surnames, given_names)


def _combine(*parts: Sequence[str]) -> tuple[str, ...]:
    """Return every concatenation of one word from each part, first words first."""
    return tuple("".join(words_) for words_ in itertools.product(*parts))


# Each role's units and positions are whole lists, so that drawing one is a
# single choice whatever the role. Draws of the same length for every role
# let hypothesis shrink toward the first role and the first word of each list.
_PRIVATE_UNITS: Final = _combine(words.PLACE_NAMES, words.LAW_FIRM_WORDS, words.PRIVATE_UNITS)
_CADRE_UNITS: Final = _combine(words.PLACE_NAMES, words.CADRE_UNITS)
_UNITS_BY_ROLE: Final = {
    IntervenerRole.LEADING_CADRE: _CADRE_UNITS,
    IntervenerRole.INTERNAL_PERSONNEL: _combine(words.PLACE_NAMES, words.JUDICIAL_UNITS),
    IntervenerRole.PARTY: (*_PRIVATE_UNITS, ""),
    IntervenerRole.LAWYER: _combine(words.PLACE_NAMES, words.LAW_FIRM_WORDS, ("律师事务所",)),
    IntervenerRole.SPECIAL_RELATIONSHIP: ("", *_PRIVATE_UNITS),
    IntervenerRole.INTERMEDIARY: _combine(
        words.PLACE_NAMES, words.LAW_FIRM_WORDS, words.INTERMEDIARY_UNITS
    ),
    IntervenerRole.ACQUAINTANCE: ("", *_PRIVATE_UNITS, *_CADRE_UNITS),
}
_PROCURATORATE_UNITS: Final = _combine(words.PLACE_NAMES, (words.PROCURATORATE_UNIT,))
_POSITIONS_BY_ROLE: Final = {
    IntervenerRole.LEADING_CADRE: words.CADRE_POSITIONS,
    IntervenerRole.INTERNAL_PERSONNEL: words.JUDICIAL_POSITIONS,
    IntervenerRole.PARTY: words.PRIVATE_POSITIONS,
    IntervenerRole.LAWYER: words.LAWYER_POSITIONS,
    IntervenerRole.SPECIAL_RELATIONSHIP: ("", *words.PRIVATE_POSITIONS),
    IntervenerRole.INTERMEDIARY: words.INTERMEDIARY_POSITIONS,
    IntervenerRole.ACQUAINTANCE: ("", *words.PRIVATE_POSITIONS, *words.CADRE_POSITIONS),
}


def _unit_list(role: IntervenerRole | None, *, procuratorate: bool) -> tuple[str, ...]:
    if procuratorate:
        return _PROCURATORATE_UNITS
    if role is not None:
        return _UNITS_BY_ROLE[IntervenerRole(role)]
    return tuple(dict.fromkeys(u for r in IntervenerRole for u in _UNITS_BY_ROLE[r]))


def _position_list(role: IntervenerRole | None, *, procuratorate: bool) -> tuple[str, ...]:
    if procuratorate:
        return words.PROCURATORATE_POSITIONS
    if role is not None:
        return _POSITIONS_BY_ROLE[IntervenerRole(role)]
    return tuple(dict.fromkeys(p for r in IntervenerRole for p in _POSITIONS_BY_ROLE[r]))


def units(
    *, role: IntervenerRole | None = None, procuratorate: bool = False
) -> st.SearchStrategy[str]:
    """Generate the name of a unit that an intervener in *role* typically works for.

    With *procuratorate* the unit is a procuratorate. Parties, relatives and
    acquaintances may have no unit (the empty string). Shrinks toward
    杭州市人民政府, or toward the role's first unit.
    """
    return st.sampled_from(_unit_list(role, procuratorate=procuratorate))


def positions(
    *, role: IntervenerRole | None = None, procuratorate: bool = False
) -> st.SearchStrategy[str]:
    """Generate a position that an intervener in *role* typically holds.

    With *procuratorate* the position is one in a procuratorate. Relatives
    and acquaintances may have none (the empty string). Shrinks toward
    副局长, or toward the role's first position.
    """
    return st.sampled_from(_position_list(role, procuratorate=procuratorate))


@st.composite
def _interveners(
    draw: st.DrawFn,
    *,
    roles: Sequence[IntervenerRole],
    procuratorate_staff: bool | None,
    own_office_leader: bool | None,
    own_office_inspection: bool | None,
) -> Intervener:
    role = draw(st.sampled_from(roles))
    name = draw(person_names())
    flags = [draw(st.booleans()) for _ in range(3)]

    insider = role in (IntervenerRole.LEADING_CADRE, IntervenerRole.INTERNAL_PERSONNEL)
    staff = procuratorate_staff
    if staff is None:
        staff = flags[0] and insider
    # Only a member of a procuratorate is drawn as a leader or an inspector
    # of the filer's own office, unless the caller fixes the flag.
    leader = own_office_leader
    if leader is None:
        leader = flags[1] and staff
    inspection = own_office_inspection
    if inspection is None:
        inspection = flags[2] and staff and not leader

    if inspection:
        position = draw(st.sampled_from(_INSPECTION_POSITIONS))
    elif leader:
        position = draw(st.sampled_from(_LEADER_POSITIONS))
    else:
        position = draw(positions(role=role, procuratorate=staff))
    return Intervener(
        name=name,
        unit=draw(units(role=role, procuratorate=staff)),
        position=position,
        role=role,
        procuratorate_staff=staff,
        own_office_leader=leader,
        own_office_inspection=inspection,
    )


def interveners(
    *,
    role: IntervenerRole | None = None,
    procuratorate_staff: bool | None = None,
    own_office_leader: bool | None = None,
    own_office_inspection: bool | None = None,
) -> st.SearchStrategy[Intervener]:
    """Generate an intervener with a Chinese name and a unit and position that fit the role.

    Each option fixes that field; ``None`` draws it. Only procuratorate staff
    are drawn as leaders or inspectors of the filer's own office. Shrinks
    toward 王伟, 副局长 of 杭州市人民政府, a leading cadre with every flag false.
    """
    if role is not None:
        roles: Sequence[IntervenerRole] = (IntervenerRole(role),)
    elif procuratorate_staff:
        roles = (IntervenerRole.LEADING_CADRE, IntervenerRole.INTERNAL_PERSONNEL)
    else:
        roles = tuple(IntervenerRole)
    return _interveners(
        roles=roles,
        procuratorate_staff=procuratorate_staff,
        own_office_leader=own_office_leader,
        own_office_inspection=own_office_inspection,
    )


def filers(
    *,
    office_codes: Sequence[str] = SAMPLE_OFFICE_CODES,
    staff_kinds: Sequence[StaffKind] = tuple(StaffKind),
) -> st.SearchStrategy[Filer]:
    """Generate a member of staff of one of *office_codes* who files.

    Shrinks toward prosecutor ``P000001`` of the first office code.
    """
    if not office_codes:
        raise ValidationError("office_codes", office_codes, "list at least one office code")
    if not staff_kinds:
        raise ValidationError("staff_kinds", staff_kinds, "list at least one staff kind")
    return st.builds(
        Filer,
        person_id=person_ids(),
        office_code=st.sampled_from(office_codes),
        staff_kind=st.sampled_from(staff_kinds),
    )


# --- offices -----------------------------------------------------------------


@st.composite
def _directories(draw: st.DrawFn, *, max_offices: int, full_chain: bool) -> Directory:
    provinces = list(words.PROVINCES)
    if full_chain:
        first = draw(st.sampled_from([p for p in provinces if not p[2]]))
        rest = draw(st.lists(st.sampled_from(provinces), unique=True, max_size=2))
        chosen = [first, *(p for p in rest if p != first)]
    else:
        chosen = draw(st.lists(st.sampled_from(provinces), unique=True, max_size=3))

    # Depth-first order puts every parent before its children, so cutting the
    # list at max_offices still leaves a tree, and the first full chain of
    # four offices comes first.
    offices = [Office(code="000000", name="最高人民检察院", level=Level.SUPREME)]
    for index, (prefix, name, municipality) in enumerate(chosen):
        province_code = f"{prefix}0000"
        offices.append(
            Office(
                code=province_code,
                name=f"{name}人民检察院",
                level=Level.PROVINCIAL,
                parent_code="000000",
            )
        )
        if municipality:
            # A municipality's district offices sit directly under its office.
            offices.extend(_district_offices(draw, f"{prefix}01", name, province_code, 0))
            continue
        need = 1 if full_chain and index == 0 else 0
        cities = draw(
            st.lists(st.sampled_from(words.CITIES[prefix]), unique=True, min_size=need, max_size=2)
        )
        for city_index, (city_prefix, city_name) in enumerate(cities):
            city_code = f"{city_prefix}00"
            offices.append(
                Office(
                    code=city_code,
                    name=f"{city_name}人民检察院",
                    level=Level.MUNICIPAL,
                    parent_code=province_code,
                )
            )
            min_districts = need if city_index == 0 else 0
            offices.extend(
                _district_offices(draw, city_prefix, city_name, city_code, min_districts)
            )
    return Directory(offices[:max_offices])


def _district_offices(
    draw: st.DrawFn, prefix: str, city_name: str, parent_code: str, min_size: int
) -> list[Office]:
    numbers = draw(
        st.lists(
            st.integers(min_value=0, max_value=len(words.DISTRICTS) - 1),
            unique=True,
            min_size=min_size,
            max_size=3,
        )
    )
    return [
        Office(
            code=f"{prefix}{number + 1:02d}",
            name=f"{city_name}{words.DISTRICTS[number]}人民检察院",
            level=Level.BASIC,
            parent_code=parent_code,
        )
        for number in numbers
    ]


def directories(*, max_offices: int = 16, full_chain: bool = False) -> st.SearchStrategy[Directory]:
    """Generate small office directories: the supreme office and a few provinces below it.

    Codes follow GB/T 2260 (``330000`` for a province, ``330100`` for its
    capital, ``330106`` for a district). District offices of municipalities
    such as Beijing sit directly under the provincial office, as in the
    national directory. With *full_chain* at least one basic office has a
    municipal, a provincial and the supreme office above it. Shrinks toward
    the supreme office alone, or toward one full chain.
    """
    lowest = 4 if full_chain else 1
    if max_offices < lowest:
        raise ValidationError(
            "max_offices", max_offices, f"must be at least {lowest} for this directory"
        )
    return _directories(max_offices=max_offices, full_chain=full_chain)


def offices(
    *, directory: Directory | None = None, levels: Sequence[Level] = tuple(Level)
) -> st.SearchStrategy[Office]:
    """Generate an office at one of *levels*, from *directory* or a generated one.

    Shrinks toward the lowest-level office with the smallest code.
    """
    if directory is None:
        return directories(full_chain=True).flatmap(
            lambda generated: offices(directory=generated, levels=levels)
        )
    candidates = sorted(
        (office for office in directory if office.level in levels),
        key=lambda office: (-office.level, office.code),
    )
    if not candidates:
        raise ValidationError("levels", levels, "the directory has no office at these levels")
    return st.sampled_from(candidates)


# --- records, obligations and filings ----------------------------------------


_T = TypeVar("_T")
_MAX_BUCKETS: Final = max(len(buckets) for buckets in BUCKETS_BY_CONDUCT.values())
_MAX_TEMPLATES: Final = max(len(texts) for texts in words.CONTENT_BY_CONDUCT.values())


def _pick(draw: st.DrawFn, options: Sequence[_T], width: int) -> _T:
    """Draw one of *options* with one choice out of *width*, however many options there are.

    ``sampled_from`` makes no choice for a single option, and hypothesis
    shrinks toward fewer choices first, so options lists of different
    lengths would pull shrinking toward whichever conduct has one bucket.
    """
    return options[draw(st.integers(min_value=0, max_value=width - 1)) % len(options)]


def _attachment_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@st.composite
def _records(
    draw: st.DrawFn,
    provision: Provision | None,
    intervener: st.SearchStrategy[Intervener] | None,
    occurred_at: st.SearchStrategy[dt.datetime],
) -> Record:
    chosen = provision if provision is not None else draw(st.sampled_from(Provision))

    # Enum order, not set order, so that shrinking is stable across runs.
    conduct = draw(st.sampled_from([c for c in Conduct if c in CONDUCT_BY_PROVISION[chosen]]))
    bucket = _pick(draw, sorted(BUCKETS_BY_CONDUCT[conduct]), _MAX_BUCKETS)
    person = draw(
        intervener
        if intervener is not None
        else st.sampled_from(ROLES_BY_PROVISION[chosen]).flatmap(lambda r: interveners(role=r))
    )

    manner = draw(st.sampled_from(Manner))
    place = draw(st.sampled_from(words.PLACES))
    if manner in _REMOTE_MANNERS:
        place = ""
    person_text = f"{person.unit}{person.position}{person.name}"
    template = _pick(draw, words.CONTENT_BY_CONDUCT[conduct.value], _MAX_TEMPLATES)
    content = template.format(name=person_text)
    attachments = draw(
        st.lists(st.binary(min_size=1, max_size=64).map(_attachment_digest), max_size=2)
    )

    return Record(
        provision=chosen,
        conduct=conduct,
        bucket=bucket,
        intervener=person,
        occurred_at=draw(occurred_at),
        manner=manner,
        content=content,
        place=place,
        response=draw(st.sampled_from(words.RESPONSES)),
        attachments=tuple(attachments),
    )


def records(
    *,
    provision: Provision | None = None,
    intervener: st.SearchStrategy[Intervener] | None = None,
    occurred_at: st.SearchStrategy[dt.datetime] | None = None,
) -> st.SearchStrategy[Record]:
    """Generate a record whose provision, conduct category and bucket fit together.

    The intervener's role follows the provision (a leading cadre for P1,
    judicial personnel for P2, an outsider for P3) unless *intervener* gives
    another strategy. *occurred_at* defaults to :func:`utc_datetimes`.
    Shrinks toward a routine inquiry in person by a leading cadre.
    """
    when = occurred_at if occurred_at is not None else utc_datetimes()
    return _records(provision, intervener, when)


def case_ids(*, office_codes: Sequence[str] = SAMPLE_OFFICE_CODES) -> st.SearchStrategy[str]:
    """Generate case numbers such as ``330106-2024-0173``: office, year, sequence number.

    Shrinks toward the first office's case 0001 of the current year.
    """
    if not office_codes:
        raise ValidationError("office_codes", office_codes, "list at least one office code")
    this_year = _utcnow().year
    return st.builds(
        lambda office, back, number: f"{office}-{this_year - back}-{number:04d}",
        st.sampled_from(office_codes),
        st.integers(min_value=0, max_value=this_year - EARLIEST.year),
        st.integers(min_value=1, max_value=9999),
    )


def stage_obligations(
    *,
    case_id: st.SearchStrategy[str] | None = None,
    stages: Sequence[str] = SAMPLE_STAGES,
    max_round: int = 3,
) -> st.SearchStrategy[StageObligation]:
    """Generate duties to file for one round of one stage of a case.

    Shrinks toward round 1 of the first of *stages*.
    """
    if not stages:
        raise ValidationError("stages", stages, "list at least one stage code")
    if not 1 <= max_round <= 99:
        raise ValidationError("max_round", max_round, "expected a whole number from 1 to 99")
    return st.builds(
        StageObligation,
        case_id=case_id if case_id is not None else case_ids(),
        stage=st.sampled_from(stages),
        round=st.integers(min_value=1, max_value=max_round),
    )


def _levels_above(office_code: str, directory: Directory | None) -> tuple[Level, ...]:
    if directory is None:
        return (Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME)
    return tuple(office.level for office in directory.chain(office_code)[1:])


@st.composite
def _filings(
    draw: st.DrawFn,
    *,
    filer: st.SearchStrategy[Filer],
    obligation: st.SearchStrategy[Obligation],
    min_records: int,
    max_records: int,
    directory: Directory | None,
    direct_reports: bool,
    filed_at: st.SearchStrategy[dt.datetime],
) -> Filing:
    who = draw(filer)
    duty = draw(obligation)
    when = draw(filed_at)
    fewest = min_records
    if duty is None:
        if max_records == 0:
            raise ValidationError(
                "max_records",
                0,
                "an anytime record contains at least one record, so set max_records to 1 or more",
            )
        fewest = max(fewest, 1)

    levels = _levels_above(who.office_code, directory) if direct_reports else ()
    direct_to = draw(st.one_of(st.none(), st.sampled_from(levels))) if levels else None
    # A record about the own office's inspection department must go upward
    # under the default policy, which is only possible with a level above.
    inspection = None if levels else False
    # Records happen shortly before they are filed, never before 2015.
    lag = st.integers(min_value=0, max_value=RECORD_LAG // dt.timedelta(seconds=1)).map(
        lambda seconds: max(when - dt.timedelta(seconds=seconds), EARLIEST)
    )
    provisions = st.sampled_from(Provision)
    count = draw(st.integers(min_value=fewest, max_value=max_records))
    items = []
    for _ in range(count):
        provision = draw(provisions)
        roles = st.sampled_from(ROLES_BY_PROVISION[provision])
        person = roles.flatmap(lambda r: interveners(role=r, own_office_inspection=inspection))
        items.append(draw(_records(provision, person, lag)))
    if direct_to is None and any(r.intervener.own_office_inspection for r in items):
        direct_to = levels[0]
    return Filing(who, duty, records=tuple(items), direct_to=direct_to, filed_at=when)


def filings(
    *,
    filer: st.SearchStrategy[Filer] | None = None,
    obligation: st.SearchStrategy[Obligation] | None = None,
    min_records: int = 0,
    max_records: int = 3,
    directory: Directory | None = None,
    direct_reports: bool = True,
    filed_at: st.SearchStrategy[dt.datetime] | None = None,
) -> st.SearchStrategy[Filing]:
    """Generate filings: stage reports, monthly returns and anytime records, zero or not.

    *obligation* draws what the filing meets, ``None`` meaning an anytime
    record; the default mixes all three kinds. Anytime records always contain
    at least one record. Given a *directory*, filers come from its offices
    and direct reports go to a level in the filer's chain, so the gate can
    route every filing. Records that name the own office's inspection
    department are made direct reports, as the default policy requires.
    Shrinks toward a zero monthly return for the current month, filed to
    the own office.
    """
    if not 0 <= min_records <= max_records <= MAX_RECORDS:
        raise ValidationError(
            "max_records",
            (min_records, max_records),
            f"expected 0 <= min_records <= max_records <= {MAX_RECORDS}",
        )
    if filer is None:
        codes = (
            SAMPLE_OFFICE_CODES
            if directory is None
            else [o.code for o in sorted(directory, key=lambda o: (-o.level, o.code))]
        )
        filer = filers(office_codes=codes)
    if obligation is None:
        kinds: list[st.SearchStrategy[Obligation]] = [stage_obligations(), monthly_obligations()]
        if max_records > 0:
            kinds.append(st.none())
        obligation = st.one_of(kinds)
    return _filings(
        filer=filer,
        obligation=obligation,
        min_records=min_records,
        max_records=max_records,
        directory=directory,
        direct_reports=direct_reports,
        filed_at=filed_at if filed_at is not None else utc_datetimes(),
    )
