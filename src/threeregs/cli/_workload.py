"""A synthetic workload calibrated to published figures, for the demo.

The shares below are computed from the published counts (2021 Q1 records by
level: 270 / 1,293 / 7,176 / 31,267; direct reports by destination: 514
supreme, 1,121 provincial, 2,389 municipal) and the statistical buckets
(routine inquiry about 95 %, improper interference about 1.5 %, off-hours or
off-premises contact about 3.5 %). About 4 % of stage filings carry records:
3.5 million filings in 2021 against roughly 175 thousand records.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._model import Filer, Filing, Intervener, Record, StageObligation
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind
from threeregs.routing._directory import Level

if TYPE_CHECKING:
    from collections.abc import Sequence

    from threeregs.policy._policy import LineRules
    from threeregs.routing._directory import Directory, Office

#: Records by the level of the filer's office, 2021 Q1.
LEVEL_WEIGHTS: Final = {
    Level.SUPREME: 270,
    Level.PROVINCIAL: 1293,
    Level.MUNICIPAL: 7176,
    Level.BASIC: 31267,
}
#: Direct reports by destination level.
DIRECT_WEIGHTS: Final = {Level.SUPREME: 514, Level.PROVINCIAL: 1121, Level.MUNICIPAL: 2389}
NONZERO_SHARE: Final = 0.04
#: Share of non-zero filings sent as direct reports (an estimate: 4,024 direct
#: reports against about 175 thousand records a year).
DIRECT_SHARE: Final = 0.03
BUSINESS_LINES: Final = {"criminal": 70, "civil_administrative": 15, "public_interest": 15}

_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘"
_GIVEN: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌宇浩凯"
_UNITS: Final = (
    ("某区人民政府", "副区长", IntervenerRole.LEADING_CADRE),
    ("某市公安局", "科长", IntervenerRole.INTERNAL_PERSONNEL),
    ("某律师事务所", "律师", IntervenerRole.LAWYER),
    ("", "当事人亲属", IntervenerRole.SPECIAL_RELATIONSHIP),
    ("某司法鉴定所", "鉴定人", IntervenerRole.INTERMEDIARY),
    ("某区人民检察院", "副检察长", IntervenerRole.INTERNAL_PERSONNEL),
    ("", "同学", IntervenerRole.ACQUAINTANCE),
)
_CONTENT: Final = {
    Bucket.ROUTINE_INQUIRY: "来电询问案件办理进度，未提出具体要求。承办人告知依法办理。",
    Bucket.IMPROPER_INTERFERENCE: (
        "要求对犯罪嫌疑人从轻处理，并表示可以安排见面。承办人当即拒绝并记录。"
    ),
    Bucket.OFF_HOURS_CONTACT: "下班后在小区门口偶遇辩护律师，对方欲谈论案情，承办人未予回应。",
}


def person_name(rng: random.Random) -> str:
    """Return a random two- or three-character Chinese name."""
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(_SURNAMES) + given


@attrs.frozen
class Handler:
    """A member of staff on a demo case."""

    person_id: str
    role: str
    staff_kind: StaffKind


@attrs.frozen
class DemoCase:
    """A demo case: its office, line, handlers, stages and when it starts."""

    case_id: str
    office: Office
    business_line: str
    handlers: tuple[Handler, ...]
    path: tuple[str, ...]
    #: When the case is accepted; each stage then lasts a few days to weeks.
    start: dt.datetime


class SimulatedClock:
    """A clock the demo moves forward by hand. This class is mutable."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def pick_offices(directory: Directory, count: int, rng: random.Random) -> list[Office]:
    """Choose *count* filer offices with the published shares by level."""
    by_level = {level: directory.by_level(level) for level in Level}
    levels = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()), k=count)
    return [rng.choice(by_level[level]) for level in levels]


def stage_path(rules: LineRules, rng: random.Random) -> tuple[str, ...]:
    """Walk the line's transitions from the first stage to the closing stage.

    Returns the stages after the first one, in order. Returns to an earlier
    stage are taken at random but never beyond the policy's round limits.
    """
    path: list[str] = []
    stage = rules.initial
    visits = {stage: 1}
    while stage != rules.closed:
        options = [
            target
            for target in rules.transitions.get(stage, ())
            if visits.get(target, 0) < rules.max_rounds.get(target, 99)
        ]
        # Prefer moving forward; closing early is rarer than in real life so
        # that the demo shows more stages.
        weights = [1 if target == rules.closed and len(options) > 1 else 4 for target in options]
        stage = rng.choices(options, weights=weights)[0]
        visits[stage] = visits.get(stage, 0) + 1
        path.append(stage)
    return tuple(path)


def make_cases(
    directory: Directory,
    lines: dict[str, LineRules],
    count: int,
    rng: random.Random,
    *,
    first: dt.datetime,
    last: dt.datetime,
) -> list[DemoCase]:
    """Build *count* demo cases with one to three handlers each.

    Each case starts at a random time between *first* and *last*.
    """
    cases = []
    names = list(BUSINESS_LINES)
    for index, office in enumerate(pick_offices(directory, count, rng)):
        line = rng.choices(names, weights=list(BUSINESS_LINES.values()))[0]
        handlers = [
            Handler(f"{office.code}-p{rng.randrange(40):02d}", "handler", StaffKind.PROSECUTOR)
        ]
        if rng.random() < 0.6:
            handlers.append(
                Handler(f"{office.code}-a{rng.randrange(40):02d}", "assistant", StaffKind.ASSISTANT)
            )
        if rng.random() < 0.3:
            handlers.append(
                Handler(f"{office.code}-c{rng.randrange(20):02d}", "clerk", StaffKind.CLERK)
            )
        cases.append(
            DemoCase(
                case_id=f"{office.code}-{line[:3].upper()}-{index + 1:05d}",
                office=office,
                business_line=line,
                handlers=tuple(handlers),
                path=stage_path(lines[line], rng),
                start=first + (last - first) * rng.random(),
            )
        )
    return cases


def make_record(
    rng: random.Random,
    occurred_at: dt.datetime,
    *,
    bucket: Bucket | None = None,
    name: str | None = None,
) -> Record:
    """Build one realistic record; *bucket* defaults to the published shares."""
    chosen = (
        bucket
        or rng.choices(
            [Bucket.ROUTINE_INQUIRY, Bucket.IMPROPER_INTERFERENCE, Bucket.OFF_HOURS_CONTACT],
            weights=[95.0, 1.5, 3.5],
        )[0]
    )
    unit, position, role = rng.choice(_UNITS)
    if chosen is Bucket.OFF_HOURS_CONTACT:
        provision, conduct = Provision.P3, Conduct.CONTACT
        unit, position, role = "某律师事务所", "律师", IntervenerRole.LAWYER
    elif chosen is Bucket.ROUTINE_INQUIRY:
        provision = Provision.P2 if role is IntervenerRole.INTERNAL_PERSONNEL else Provision.P1
        conduct = Conduct.INQUIRY
    else:
        provision = Provision.P2 if role is IntervenerRole.INTERNAL_PERSONNEL else Provision.P1
        conduct = rng.choice([Conduct.PLEADING, Conduct.PRESSING_VIEW, Conduct.ARRANGING_MEETING])
    return Record(
        provision=provision,
        conduct=conduct,
        bucket=chosen,
        intervener=Intervener(
            name=name or person_name(rng),
            unit=unit,
            position=position,
            role=role,
            procuratorate_staff="检察院" in unit,
        ),
        occurred_at=occurred_at,
        manner=rng.choice(list(Manner)[:3]),
        content=_CONTENT[chosen],
        place="办公室" if chosen is not Bucket.OFF_HOURS_CONTACT else "小区门口",
    )


def stage_filing(
    rng: random.Random,
    case: DemoCase,
    handler: Handler,
    stage: str,
    round_: int,
    *,
    now: dt.datetime,
    chain_levels: Sequence[Level],
) -> Filing:
    """Build the filing one handler makes for one stage round."""
    filer = Filer(handler.person_id, case.office.code, handler.staff_kind)
    obligation = StageObligation(case.case_id, stage, round_)
    if rng.random() >= NONZERO_SHARE:
        return Filing.zero(filer, obligation, filed_at=now)
    records = (make_record(rng, now - dt.timedelta(hours=rng.randrange(1, 48))),)
    direct = None
    upper = [level for level in chain_levels if level in DIRECT_WEIGHTS]
    if upper and rng.random() < DIRECT_SHARE:
        direct = rng.choices(upper, weights=[DIRECT_WEIGHTS[level] for level in upper])[0]
    return Filing(filer, obligation, records=records, direct_to=direct, filed_at=now)
