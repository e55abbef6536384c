"""Labelled synthetic data for the matching benchmarks.

:func:`generate` builds offices, people, cases with stage windows, stage
filings (mostly zero reports), a few anytime records, and clues, together
with the ground truth of every built-in rule. The truth is defined on the
identities of the generated interveners, never on their written names, so
the benchmark measures how well the rules see through the ways names are
written:

- interveners written in traditional characters, with a homophone typed by a
  pinyin input method, romanised, by surname and position (王副局长), with
  the unit in short form or left out;
- compound surnames (欧阳, 司马 …) and surnames read differently from their
  characters (曾, 单 …);
- decoys: a filing that names a homophone of the clue's intervener from
  another unit (张伟 versus 章伟), clues dated before the case was opened,
  clues about a person who is not on the case;
- people and offices that never record anything, among peers who do;
- interveners who recur across many cases.

Everything is drawn from one seeded ``random.Random``, so a seed gives the
same data on every machine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Final

import opencc
import pypinyin

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Manner,
    Provision,
    Record,
    StaffKind,
    StageObligation,
)
from threeregs.matching import (
    Clue,
    ClueSource,
    EventKind,
    FilingFacts,
    FilingKind,
    IntervenerDetails,
    RecordFacts,
    RecurringIntervener,
    StageWindow,
    SystemEvent,
    clue_from_event,
    facts_from_filing,
    intervener_key,
)
from threeregs.policy import default_policy
from threeregs.routing import Directory, Level

START: Final = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
HOUR: Final = dt.timedelta(hours=1)
DAY: Final = dt.timedelta(days=1)
#: How long the generated period lasts; cases still open at its end have an
#: open last window and no filing for it.
HORIZON_DAYS: Final = 365

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严武戴莫孔向汤单解仇"
)
COMPOUND: Final = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯")
GIVEN: Final = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华建国文辉力鹏宇浩凯峰斌健波宁博俊晨琳颖欣"
    "雪梅玉兰红春海林志东晓云飞龙成新永庆德金荣正"
)
#: Characters typed in place of each other by a pinyin input method.
HOMOPHONES: Final = {
    "伟": "玮炜薇维", "张": "章", "李": "黎礼", "建": "剑健", "国": "帼", "华": "桦骅",
    "明": "鸣铭", "军": "君均", "刚": "钢", "杰": "洁捷", "平": "萍苹", "丽": "莉俐",
    "芳": "方舫", "静": "婧靖", "敏": "闵珉", "涛": "韬滔", "峰": "锋枫", "斌": "彬滨",
    "波": "博", "宇": "雨羽", "林": "琳霖", "红": "虹鸿", "海": "亥", "强": "蔷",
    "文": "雯", "辉": "晖徽", "鹏": "朋", "浩": "皓昊", "凯": "恺楷", "健": "建剑",
    "俊": "骏峻", "晨": "辰臣", "颖": "莹影", "欣": "馨昕", "玉": "钰", "春": "椿",
    "志": "智致", "东": "冬", "云": "芸", "飞": "菲", "成": "诚城", "新": "鑫欣",
}  # fmt: skip
#: Surname readings for romanising; pypinyin reads these characters otherwise.
SURNAME_ROMAN: Final = {"曾": "Zeng", "单": "Shan", "解": "Xie", "仇": "Qiu"}
CITIES: Final = ("北京", "上海", "杭州", "南京", "广州", "深圳", "成都", "武汉", "长沙", "西安")
DISTRICTS: Final = ("朝阳", "海淀", "西湖", "上城", "鼓楼", "天河", "越秀", "南山", "福田", "武侯",
                    "锦江", "雨花", "江汉", "雁塔", "开福", "玄武")  # fmt: skip
FIRMS: Final = ("华夏", "金诚", "大成", "中伦", "汇业", "天元", "明德", "正义", "君合", "国浩")
INDUSTRIES: Final = ("科技", "置业", "投资", "建设", "贸易", "医药")
STAGES: Final = ("accept", "prosecution_review", "indictment", "trial_support")


@dataclasses.dataclass(frozen=True)
class Identity:
    """One generated intervener: the truth behind every written variant."""

    number: int
    surname: str
    given: str
    unit: str
    short_unit: str
    position: str
    role: IntervenerRole

    @property
    def name(self) -> str:
        return self.surname + self.given


@dataclasses.dataclass
class Truth:
    """The expected findings of each built-in rule."""

    #: (filing id, clue id) pairs the unreported-intervention rule should flag.
    unreported: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    #: (filing id, intervener as written) of every late record.
    late: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    zero_run_person: set[str] = dataclasses.field(default_factory=set)
    zero_run_office: set[str] = dataclasses.field(default_factory=set)
    #: Identity numbers of interveners named in at least three cases or by three filers.
    recurring: set[int] = dataclasses.field(default_factory=set)
    #: Identities behind the records of each filing that has records, and
    #: behind each clue.
    record_identities: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    clue_identity: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Dataset:
    filings: list[FilingFacts]
    clues: list[Clue]
    windows: list[StageWindow]
    truth: Truth
    directory: Directory
    #: Seconds spent in ``facts_from_filing`` when the filings were built as
    #: real :class:`Filing` values; 0 otherwise.
    projection_seconds: float = 0.0


@dataclasses.dataclass
class _Case:
    case_id: str
    office: str
    filers: tuple[str, ...]
    windows: list[StageWindow]
    #: Filing of each (person, window index).
    filings: dict[tuple[str, int], FilingFacts]


class _Generator:
    def __init__(self, seed: int, *, real_filings: bool) -> None:
        self.rng = random.Random(seed)
        self.real_filings = real_filings
        self.policy = default_policy()
        self.to_traditional = opencc.OpenCC("s2t.json")
        self.truth = Truth()
        self.identities: list[Identity] = []
        self.filings: list[FilingFacts] = []
        self.windows: list[StageWindow] = []
        self.cases: list[_Case] = []
        self.anytime: dict[str, list[FilingFacts]] = {}
        self.projection_seconds = 0.0

    # --- people --------------------------------------------------------

    def _unit(self, role: IntervenerRole) -> tuple[str, str, str]:
        rng = self.rng
        city, district = rng.choice(CITIES), rng.choice(DISTRICTS)
        if role is IntervenerRole.LAWYER:
            firm = rng.choice(FIRMS)
            return f"{city}市{firm}律师事务所", f"{firm}律所", "律师"
        if role is IntervenerRole.LEADING_CADRE:
            kind = rng.choice(["区委政法委员会", "区人民政府", "区人民代表大会常务委员会"])
            short = {"区委政法委员会": "区委政法委", "区人民政府": "区政府",
                     "区人民代表大会常务委员会": "区人大常委会"}[kind]  # fmt: skip
            position = rng.choice(["书记", "副书记", "区长", "副区长", "主任", "副主任"])
            return f"{city}市{district}{kind}", f"{district}{short}", position
        if role is IntervenerRole.INTERNAL_PERSONNEL:
            kind = rng.choice(["区人民检察院", "区人民法院", "区公安分局"])
            position = rng.choice(["副检察长", "庭长", "副局长", "科长", "处长"])
            return f"{city}市{district}{kind}", f"{district}{kind.replace('人民', '')}", position
        industry = rng.choice(INDUSTRIES)
        firm = rng.choice(FIRMS)
        return f"{city}{firm}{industry}有限公司", f"{firm}{industry}", "总经理"

    def _identity(self, *, surname: str | None = None, given: str | None = None) -> Identity:
        rng = self.rng
        role = rng.choices(
            [IntervenerRole.LEADING_CADRE, IntervenerRole.INTERNAL_PERSONNEL,
             IntervenerRole.LAWYER, IntervenerRole.PARTY],
            weights=[3, 3, 3, 1],
        )[0]  # fmt: skip
        if surname is None:
            surname = rng.choice(COMPOUND) if rng.random() < 0.06 else rng.choice(SURNAMES)
        if given is None:
            given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        unit, short, position = self._unit(role)
        identity = Identity(len(self.identities), surname, given, unit, short, position, role)
        self.identities.append(identity)
        return identity

    def _homophone_of(self, identity: Identity) -> Identity | None:
        """Make another person whose name sounds like *identity*'s, in another unit."""
        for index, char in enumerate(identity.given):
            options = HOMOPHONES.get(char)
            if options:
                replaced = self.rng.choice(options)
                given = identity.given[:index] + replaced + identity.given[index + 1 :]
                return self._identity(surname=identity.surname, given=given)
        options = HOMOPHONES.get(identity.surname)
        if options:
            return self._identity(surname=self.rng.choice(options), given=identity.given)
        return None

    # --- written variants ----------------------------------------------

    def _romanised(self, identity: Identity) -> str:
        surname = (
            SURNAME_ROMAN.get(identity.surname)
            or "".join(pypinyin.lazy_pinyin(identity.surname)).capitalize()
        )
        given = "".join(pypinyin.lazy_pinyin(identity.given)).capitalize()
        return f"{surname} {given}" if self.rng.random() < 0.7 else f"{given} {surname}"

    def _typo(self, name: str) -> str:
        positions = [i for i, char in enumerate(name) if char in HOMOPHONES and i > 0]
        if not positions:
            return name
        index = self.rng.choice(positions)
        return name[:index] + self.rng.choice(HOMOPHONES[name[index]]) + name[index + 1 :]

    def written(self, identity: Identity, *, variant: str | None = None) -> tuple[str, str, str]:
        """Write an identity's name, unit and position, in one of the usual variants."""
        rng = self.rng
        if variant is None:
            variant = rng.choices(
                ["plain", "traditional", "typo", "short_unit", "no_unit", "romanised", "title"],
                weights=[5, 2, 1, 2, 2, 1, 1],
            )[0]
        name, unit, position = identity.name, identity.unit, identity.position
        if variant == "traditional":
            name = self.to_traditional.convert(name)
            unit = self.to_traditional.convert(unit)
        elif variant == "typo":
            name = self._typo(name)
        elif variant == "short_unit":
            unit = identity.short_unit
        elif variant == "no_unit":
            unit, position = "", ""
        elif variant == "romanised":
            name = self._romanised(identity)
        elif variant == "title":
            # Named by surname and position, as in 王副局长.
            name, position = identity.surname + identity.position, ""
            unit = unit if rng.random() < 0.5 else ""
        return name, unit, position

    # --- filings -------------------------------------------------------

    def _filing_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def _record(self, identity: Identity, occurred: dt.datetime) -> Record:
        name, unit, position = self.written(identity)
        contact = identity.role in (IntervenerRole.LAWYER, IntervenerRole.PARTY)
        return Record(
            Provision.P3 if contact else Provision.P1,
            Conduct.CONTACT if contact else Conduct.INQUIRY,
            Bucket.ROUTINE_INQUIRY,
            Intervener(name, unit, position, identity.role),
            occurred,
            Manner.PHONE,
            "询问案件进展",
        )

    def _record_facts(
        self, identity: Identity, occurred: dt.datetime, filed: dt.datetime
    ) -> RecordFacts:
        # The same deadlines as the default policy: 3 days for a contact, else 30.
        name, unit, position = self.written(identity)
        contact = identity.role in (IntervenerRole.LAWYER, IntervenerRole.PARTY)
        due = occurred + (3 * DAY if contact else 30 * DAY)
        return RecordFacts(
            intervener=intervener_key(name, unit, position),
            role=identity.role,
            occurred_at=occurred,
            due_at=due,
            late=filed > due,
        )

    def _emit(
        self,
        person: str,
        office: str,
        filed: dt.datetime,
        records: list[tuple[Identity, dt.datetime]],
        *,
        obligation: tuple[str, str, int] | None,
    ) -> FilingFacts:
        filing_id = self._filing_id()
        if self.real_filings:
            filing = Filing(
                Filer(person, office, StaffKind.PROSECUTOR),
                StageObligation(*obligation) if obligation else None,
                records=tuple(self._record(identity, when) for identity, when in records),
                filed_at=filed,
                filing_id=filing_id,
            )
            started = time.perf_counter()
            facts = facts_from_filing(filing, policy=self.policy)
            self.projection_seconds += time.perf_counter() - started
        else:
            case_id, stage, round_ = obligation if obligation else (None, None, 0)
            facts = FilingFacts(
                filing_id,
                sys.intern(person),
                sys.intern(office),
                FilingKind.STAGE if obligation else FilingKind.ANYTIME,
                filed,
                case_id=case_id,
                stage=stage,
                round=round_,
                records=tuple(
                    self._record_facts(identity, when, filed) for identity, when in records
                ),
            )
        if records:
            self.truth.record_identities[filing_id] = [identity.number for identity, _ in records]
        for record in facts.records:
            if record.late:
                self.truth.late.add((filing_id, record.intervener.display_name))
        self.filings.append(facts)
        return facts


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes and rates of a generated data set."""

    offices: int = 30
    people_per_office: int = 12
    #: Cases each person works on; two people file for every stage of a case.
    cases_per_person: int = 60
    clues: int = 3000
    #: Share of stage filings with a record; about 4 % nationally.
    record_rate: float = 0.04
    #: Share of records filed long after the intervention.
    late_rate: float = 0.1
    silent_people: int = 6
    silent_offices: int = 2


def generate(
    settings: Settings = Settings(), *, seed: int = 20240301, real_filings: bool = False
) -> Dataset:
    """Generate a labelled data set; see the module docstring for what it holds.

    With *real_filings*, every filing is built as a :class:`Filing` and
    projected with :func:`facts_from_filing`, as the inspection side does
    after opening it. The time spent projecting is returned on the data set.
    """
    gen = _Generator(seed, real_filings=real_filings)
    world = _World(gen, settings)
    world.make_cases()
    world.make_anytime_records()
    clues = world.make_clues()
    world.label_unreported(clues)
    world.label_recurring(clues)
    return Dataset(
        gen.filings, clues, gen.windows, gen.truth, world.directory, gen.projection_seconds
    )


class _World:
    """Offices, people, interveners and cases of one data set."""

    def __init__(self, gen: _Generator, settings: Settings) -> None:
        self.gen = gen
        self.settings = settings
        rng = gen.rng
        self.directory = Directory.national()
        basic = sorted(office.code for office in self.directory.by_level(Level.BASIC))
        self.offices = rng.sample(basic, settings.offices)

        # A pool of interveners, a few of whom recur far more often than the rest.
        size = max(200, settings.offices * settings.people_per_office * 2)
        self.pool = [gen._identity() for _ in range(size)]
        frequent = set(rng.sample(range(size), max(5, size // 50)))
        self.weights = [25.0 if i in frequent else 1.0 for i in range(size)]

        self.silent_offices = set(rng.sample(self.offices, settings.silent_offices))
        self.people = {
            office: [f"{office}-p{n:02d}" for n in range(settings.people_per_office)]
            for office in self.offices
        }
        loud = [
            person
            for office in self.offices
            if office not in self.silent_offices
            for person in self.people[office]
        ]
        self.silent_people = set(rng.sample(loud, settings.silent_people))
        gen.truth.zero_run_office = set(self.silent_offices)
        gen.truth.zero_run_person = set(self.silent_people)

    def pick(self) -> Identity:
        return self.gen.rng.choices(self.pool, self.weights)[0]

    def make_cases(self) -> None:
        number = 0
        for office in self.offices:
            staff = self.people[office]
            for _ in range(len(staff) * self.settings.cases_per_person // 2):
                number += 1
                self._make_case(f"case-{number:07d}", office, staff)

    def _make_case(self, case_id: str, office: str, staff: list[str]) -> None:
        gen, rng = self.gen, self.gen.rng
        filers = tuple(rng.sample(staff, 2))
        start = START + rng.uniform(0, HORIZON_DAYS - 20) * DAY
        horizon = START + HORIZON_DAYS * DAY
        case = _Case(case_id, office, filers, [], {})
        stages = list(STAGES)
        if rng.random() < 0.15:
            # Returned for supplementary investigation: a second round of review.
            stages[2:2] = ["supplementary_investigation", "prosecution_review"]
        rounds: dict[str, int] = {}
        for index, stage in enumerate(stages):
            rounds[stage] = rounds.get(stage, 0) + 1
            end = start + rng.uniform(3, 30) * DAY
            is_open = end >= horizon or (index == len(stages) - 1 and rng.random() < 0.3)
            window = StageWindow(case_id, stage, rounds[stage], start, None if is_open else end)
            case.windows.append(window)
            gen.windows.append(window)
            if is_open:
                break
            for person in filers:
                filed = end - rng.uniform(0.01, 0.9) * DAY
                records = self._records(person, office, start, filed)
                obligation = (case_id, stage, rounds[stage])
                case.filings[(person, index)] = gen._emit(
                    person, office, filed, records, obligation=obligation
                )
            start = end
        gen.cases.append(case)

    def _records(
        self, person: str, office: str, start: dt.datetime, filed: dt.datetime
    ) -> list[tuple[Identity, dt.datetime]]:
        rng = self.gen.rng
        quiet = person in self.silent_people or office in self.silent_offices
        if quiet or rng.random() >= self.settings.record_rate:
            return []
        identity = self.pick()
        occurred = start + rng.uniform(0.0, 0.95) * (filed - start)
        if rng.random() < self.settings.late_rate:
            # Recorded long after the event, which happened before the stage.
            contact = identity.role in (IntervenerRole.LAWYER, IntervenerRole.PARTY)
            occurred = filed - ((3 if contact else 30) + rng.uniform(1, 20)) * DAY
        return [(identity, occurred)]

    def make_anytime_records(self) -> None:
        """Let a few people record a contact in an anytime record, not a stage filing."""
        gen, rng = self.gen, self.gen.rng
        for office in self.offices:
            if office in self.silent_offices:
                continue
            for person in rng.sample(self.people[office], 2):
                if person in self.silent_people:
                    continue
                identity = self.pick()
                when = START + rng.uniform(10, HORIZON_DAYS - 10) * DAY
                facts = gen._emit(person, office, when + HOUR, [(identity, when)], obligation=None)
                gen.anytime.setdefault(person, []).append(facts)

    def _clue(
        self,
        clue_id: str,
        identity: Identity,
        when: dt.datetime,
        *,
        case_id: str | None,
        person: str | None,
        variant: str | None = None,
    ) -> Clue:
        gen = self.gen
        name, unit, position = gen.written(identity, variant=variant)
        source = gen.rng.choice(
            [ClueSource.PETITION, ClueSource.DISCIPLINE_REFERRAL, ClueSource.OTHER]
        )
        gen.truth.clue_identity[clue_id] = identity.number
        return Clue(
            clue_id,
            source,
            when,
            person_id=person,
            case_id=case_id,
            intervener=IntervenerDetails(name, unit, position),
        )

    def make_clues(self) -> list[Clue]:
        """Make clues of every kind: see the module docstring."""
        gen, rng = self.gen, self.gen.rng
        closed = [case for case in gen.cases if case.filings]
        with_records = [
            (case, key, facts)
            for case in closed
            for key, facts in case.filings.items()
            if facts.records
        ]
        kinds = ["unreported", "reported", "homophone", "team", "before_case", "stranger", "event"]
        clues: list[Clue] = []
        for number in range(self.settings.clues):
            clue_id = f"clue-{number:07d}"
            kind = rng.choices(kinds, weights=[30, 30, 10, 10, 7, 5, 8])[0]
            case = rng.choice(closed)
            person = case.filers[rng.randrange(2)]
            window = case.windows[rng.randrange(len(case.filings) // 2)]
            assert window.end is not None
            when = window.start + rng.uniform(0.05, 0.95) * (window.end - window.start)
            identity = self.pick()

            if kind in ("reported", "homophone") and with_records:
                case, (person, _index), facts = rng.choice(with_records)
                recorded = gen.identities[gen.truth.record_identities[facts.filing_id][0]]
                when = facts.records[0].occurred_at + rng.uniform(-2, 2) * HOUR
                if kind == "reported":
                    identity = recorded
                else:
                    # Someone who sounds like the recorded intervener, from another unit.
                    identity = gen._homophone_of(recorded) or identity
                    when = facts.records[0].occurred_at
            elif kind == "before_case":
                when = case.windows[0].start - rng.uniform(5, 60) * DAY
            elif kind == "stranger":
                person = f"{case.office}-p99"
            elif kind == "event":
                clues.append(self._event_clue(number, identity, when, case.case_id, person))
                continue

            clues.append(
                self._clue(
                    clue_id,
                    identity,
                    when,
                    case_id=case.case_id,
                    person=None if kind == "team" else person,
                    variant="plain" if kind == "homophone" else None,
                )
            )
        return clues

    def _event_clue(
        self, number: int, identity: Identity, when: dt.datetime, case_id: str, person: str
    ) -> Clue:
        gen = self.gen
        name, unit, position = gen.written(identity)
        event = SystemEvent(
            f"visit-{number:07d}",
            gen.rng.choice(list(EventKind)),
            case_id,
            when,
            IntervenerDetails(name, unit, position),
            person_id=person,
        )
        clue = clue_from_event(event)
        gen.truth.clue_identity[clue.clue_id] = identity.number
        return clue

    def label_unreported(self, clues: list[Clue]) -> None:
        """Label, by identity, each candidate filing that leaves out a clue's intervention."""
        gen = self.gen
        by_case = {case.case_id: case for case in gen.cases}
        slack = 3 * DAY
        for clue in clues:
            case = by_case.get(clue.case_id or "")
            if case is None or clue.intervener is None:
                continue
            identity = gen.truth.clue_identity[clue.clue_id]
            candidates: list[FilingFacts] = []
            for index, window in enumerate(case.windows):
                if window.overlap(clue.occurred_from, clue.occurred_to) <= 0.0:
                    continue
                for person in case.filers:
                    facts = case.filings.get((person, index))
                    if facts is not None and clue.person_id in (None, person):
                        candidates.append(facts)
            if not candidates:
                continue
            people = {facts.person_id for facts in candidates}
            in_stage = any(
                identity in gen.truth.record_identities.get(facts.filing_id, ())
                for facts in candidates
            )
            anytime = any(
                identity in gen.truth.record_identities[other.filing_id]
                and clue.occurred_from - slack
                <= other.records[0].occurred_at
                <= clue.occurred_to + slack
                for person in people
                for other in gen.anytime.get(person, [])
            )
            if not (in_stage or anytime):
                gen.truth.unreported.update((f.filing_id, clue.clue_id) for f in candidates)

    def label_recurring(self, clues: list[Clue]) -> None:
        """Label the identities named in enough cases or by enough filers."""
        gen = self.gen
        rule = RecurringIntervener()
        cases: dict[int, set[str]] = {}
        filers: dict[int, set[str]] = {}
        for facts in gen.filings:
            for number in gen.truth.record_identities.get(facts.filing_id, []):
                if gen.identities[number].role in rule.ignore_roles:
                    continue
                if facts.case_id is not None:
                    cases.setdefault(number, set()).add(facts.case_id)
                filers.setdefault(number, set()).add(facts.person_id)
        for clue in clues:
            number = gen.truth.clue_identity[clue.clue_id]
            if clue.case_id is not None:
                cases.setdefault(number, set()).add(clue.case_id)
            if clue.person_id is not None:
                filers.setdefault(number, set()).add(clue.person_id)
        for number in set(cases) | set(filers):
            enough_cases = len(cases.get(number, ())) >= rule.min_cases
            if enough_cases or len(filers.get(number, ())) >= rule.min_filers:
                gen.truth.recurring.add(number)
