"""The built-in rules on hand-made filings and clues."""

from __future__ import annotations

import math

import pytest
from matching_builders import anytime_filing, clue, record, stage_filing, window

from threeregs._vocabulary import IntervenerRole
from threeregs.matching import (
    FilingFacts,
    LateFiling,
    MatchInput,
    RecurringIntervener,
    UnreportedIntervention,
    ZeroRunByOffice,
    ZeroRunByPerson,
)
from threeregs.matching._rule_zero_runs import longest_zero_run, run_chance
from threeregs.routing import Directory

WINDOWS = [
    window("k1", "accept", 0, 5),
    window("k1", "prosecution_review", 5, 15),
    window("k1", "indictment", 15, None),
]


def unreported(filings, clues, windows=WINDOWS, **options):
    data = MatchInput(filings, clues, windows)
    return sorted(UnreportedIntervention(**options).find(data), key=lambda f: f.sort_key())


# --- unreported intervention ---------------------------------------------


def test_unreported_zero_report_in_window():
    filings = [
        stage_filing("f-accept", "p1", "k1", "accept", day=4),
        stage_filing("f-review", "p1", "k1", "prosecution_review", day=14),
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国", unit="某区政法委")]

    (finding,) = unreported(filings, clues)

    assert finding.rule == "unreported_intervention"
    assert finding.filing_id == "f-review"
    assert finding.clue_id == "c1"
    assert finding.score == 1.0
    assert finding.person_id == "p1"
    assert finding.case_id == "k1"
    assert finding.intervener == "王建国"
    fields = {c.field: c for c in finding.contributions}
    assert fields["zero_report"].score == 1.0
    assert fields["time"].score == 1.0
    assert fields["time"].observed.startswith("prosecution_review #1")
    assert fields["person"].expected == "p1"


def test_unreported_other_intervener_named():
    filings = [
        stage_filing(
            "f1",
            "p1",
            "k1",
            "prosecution_review",
            day=14,
            records=(record("李四", "某律师事务所", day=7),),
        )
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国", unit="某区政法委")]

    (finding,) = unreported(filings, clues)

    assert finding.filing_id == "f1"
    assert finding.score > 0.8
    fields = {c.field: c for c in finding.contributions}
    assert "zero_report" not in fields
    assert fields["intervener_name"].expected == "王建国"
    assert fields["intervener_name"].observed == "李四"


@pytest.mark.parametrize(
    ("reported", "unit"),
    [
        ("王建国", "某区政法委"),
        ("王建國", "某区政法委员会"),  # traditional characters, unit written in full
        ("王建国", ""),  # no unit given in the filing
        ("王剑国", "某区政法委"),  # a homophone typed by an input method
    ],
)
def test_reported_intervener_gives_no_finding(reported, unit):
    filings = [
        stage_filing(
            "f1", "p1", "k1", "prosecution_review", day=14, records=(record(reported, unit, day=8),)
        )
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国", unit="某区政法委")]

    assert unreported(filings, clues) == []


def test_reported_in_adjacent_stage_gives_no_finding():
    # The clue period spans two stages, and the filer recorded it in the first.
    filings = [
        stage_filing("f1", "p1", "k1", "accept", day=4, records=(record("王建国", day=4),)),
        stage_filing("f2", "p1", "k1", "prosecution_review", day=14),
    ]
    clues = [clue("c1", day=3, to_day=7, case="k1", person="p1", name="王建国")]

    assert unreported(filings, clues) == []


def test_reported_in_anytime_record_gives_no_finding():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        anytime_filing("a1", "p1", day=9, records=(record("王建国", day=8.5),)),
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国")]

    assert unreported(filings, clues) == []


def test_anytime_record_far_from_clue_does_not_count():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        anytime_filing("a1", "p1", day=40, records=(record("王建国", day=40),)),
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国")]

    assert [f.filing_id for f in unreported(filings, clues)] == ["f1"]


def test_clue_outside_every_window_gives_no_finding():
    filings = [stage_filing("f1", "p1", "k1", "accept", day=4)]
    clues = [clue("c1", day=-3, case="k1", person="p1", name="王建国")]

    assert unreported(filings, clues) == []


def test_clue_for_other_person_or_case():
    filings = [stage_filing("f1", "p1", "k1", "prosecution_review", day=14)]
    clues = [
        clue("c1", day=8, case="k1", person="p2", name="王建国"),
        clue("c2", day=8, case="k2", person="p1", name="王建国"),
    ]

    assert unreported(filings, clues) == []


def test_clue_without_person_spreads_over_case_team():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        stage_filing("f2", "p2", "k1", "prosecution_review", day=14),
    ]
    clues = [clue("c1", day=8, case="k1", name="王建国")]

    findings = unreported(filings, clues)

    assert sorted(f.filing_id for f in findings) == ["f1", "f2"]
    assert all(f.score == pytest.approx(2**-0.5, abs=1e-6) for f in findings)


def test_clue_without_person_reported_by_one_filer():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        stage_filing(
            "f2", "p2", "k1", "prosecution_review", day=14, records=(record("王建国", day=8),)
        ),
    ]
    clues = [clue("c1", day=8, case="k1", name="王建国")]

    assert unreported(filings, clues) == []


def test_clue_without_case_uses_person_windows():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        stage_filing("f2", "p1", "k2", "accept", day=30),
    ]
    windows = [*WINDOWS, window("k2", "accept", 20, 31)]
    clues = [clue("c1", day=8, person="p1", name="王建国")]

    (finding,) = unreported(filings, clues, windows)

    assert finding.filing_id == "f1"
    assert "case" in {c.field for c in finding.contributions}


def test_clue_window_partly_in_stage_lowers_score():
    filings = [stage_filing("f1", "p1", "k1", "accept", day=4)]
    clues = [clue("c1", day=3, to_day=7, case="k1", person="p1", name="王建国")]

    (finding,) = unreported(filings, clues)

    assert finding.score == pytest.approx(0.5)


def test_clue_without_intervener_flags_only_zero_reports():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        stage_filing(
            "f2", "p2", "k1", "prosecution_review", day=14, records=(record("李四", day=8),)
        ),
    ]
    clues = [clue("c1", day=8, case="k1")]

    assert [f.filing_id for f in unreported(filings, clues)] == ["f1"]


def test_amended_filing_is_judged_by_its_amendment():
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=14),
        stage_filing(
            "f2",
            "p1",
            "k1",
            "prosecution_review",
            day=20,
            records=(record("王建国", day=8),),
            supersedes="f1",
        ),
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国")]

    assert unreported(filings, clues) == []


def test_windows_estimated_without_visits():
    filings = [
        stage_filing("f1", "p1", "k1", "accept", day=4),
        stage_filing("f2", "p1", "k1", "prosecution_review", day=14),
    ]
    clues = [clue("c1", day=8, case="k1", person="p1", name="王建国")]

    (finding,) = unreported(filings, clues, windows=[])

    assert finding.filing_id == "f2"
    assert "window_estimated" in {c.field for c in finding.contributions}


# --- late filing ---------------------------------------------------------


def test_late_record_flagged():
    late = record("王建国", day=1, deadline_days=3)
    on_time = record("李四", day=10, deadline_days=3)
    filings = [
        stage_filing("f1", "p1", "k1", "prosecution_review", day=12, records=(late, on_time))
    ]

    (finding,) = LateFiling().find(MatchInput(filings))

    assert finding.filing_id == "f1"
    assert finding.intervener == "王建国"
    # Eight days late with three allowed: 0.5 + 0.5 * 8 / 11.
    assert finding.score == pytest.approx(0.5 + 0.5 * 8 / 11, abs=1e-6)
    fields = {c.field: c for c in finding.contributions}
    assert fields["overdue_days"].observed == "8.0"


def test_on_time_records_not_flagged():
    filings = [
        stage_filing("f1", "p1", "k1", "accept", day=3, records=(record("王建国", day=1),)),
        anytime_filing("a1", "p1", day=3, records=(record("李四", day=2, deadline_days=1),)),
        stage_filing("f2", "p1", "k1", "prosecution_review", day=9),
    ]

    assert list(LateFiling().find(MatchInput(filings))) == []


def test_amendment_keeps_original_filing_time():
    original = stage_filing(
        "f1", "p1", "k1", "accept", day=2, records=(record("王建国", day=1, deadline_days=3),)
    )
    amendment = stage_filing(
        "f2",
        "p1",
        "k1",
        "accept",
        day=20,
        supersedes="f1",
        records=(record("王建国", day=1, deadline_days=3), record("李四", day=2, deadline_days=3)),
    )

    findings = list(LateFiling().find(MatchInput([original, amendment])))

    assert [(f.filing_id, f.intervener) for f in findings] == [("f2", "李四")]


# --- zero runs -----------------------------------------------------------


def office_history(
    office: str, people: int, filings_each: int, *, silent: set[int] = frozenset(), prefix: str = ""
) -> list[FilingFacts]:
    """Filings of an office: every person records something every fifth filing, unless silent."""
    filings = []
    for person in range(people):
        for index in range(filings_each):
            has_record = person not in silent and index % 5 == 4
            filings.append(
                stage_filing(
                    f"{prefix}{office}-{person}-{index}",
                    f"{prefix}{office}-p{person}",
                    f"{office}-k{person}-{index}",
                    "accept",
                    day=index * 3 + person * 0.01,
                    office=office,
                    records=(record("王建国", day=index * 3),) if has_record else (),
                )
            )
    return filings


def test_person_with_long_zero_run_flagged():
    filings = office_history("330106", 10, 40, silent={7})

    (finding,) = ZeroRunByPerson().find(MatchInput(filings))

    assert finding.person_id == "330106-p7"
    assert finding.office_code == "330106"
    assert finding.filing_id == "330106-7-39"
    # 40 zero reports in a row where peers record in one filing of five:
    # a chance of 0.8 ** 40, about 1.3e-4.
    assert finding.score == pytest.approx(0.5 * math.log(0.8**40) / math.log(1e-3), abs=1e-3)
    fields = {c.field: c for c in finding.contributions}
    assert fields["run_length"].observed == "40/40"
    assert fields["run_length"].expected == "9"
    assert fields["peer_rate"].expected == "0.200 (office:330106)"
    assert fields["peer_rate"].observed == "0.000"
    assert fields["run_chance"].observed == "0.00013"
    assert fields["robust_z"].expected == "4"


def test_run_chance_examples():
    assert run_chance(40, 40, 0.2) == pytest.approx(0.8**40, rel=1e-3)
    assert run_chance(0, 40, 0.2) == 1.0
    assert run_chance(10, 40, 0.0) == 1.0
    assert run_chance(10, 40, 1.0) == 0.0
    assert run_chance(10, 1000, 0.2) > run_chance(10, 100, 0.2)


def test_person_like_peers_not_flagged():
    filings = office_history("330106", 10, 40)

    assert list(ZeroRunByPerson().find(MatchInput(filings))) == []


def test_short_silent_history_not_flagged():
    filings = office_history("330106", 10, 8, silent={7})

    assert list(ZeroRunByPerson().find(MatchInput(filings))) == []


def test_small_office_compared_with_same_level():
    big = office_history("330102", 8, 40)
    small = office_history("330106", 2, 40, silent={1})
    data = MatchInput(big + small, directory=Directory.national())

    (finding,) = ZeroRunByPerson().find(data)

    assert finding.person_id == "330106-p1"
    fields = {c.field: c for c in finding.contributions}
    assert fields["peer_rate"].expected == "0.200 (level:basic)"


def test_silent_office_flagged():
    offices = ["330102", "330106", "330108", "330109", "330110", "330111", "330112"]
    filings = []
    for office in offices:
        silent = set(range(4)) if office == "330112" else set()
        filings += office_history(office, 4, 60, silent=silent)

    (finding,) = ZeroRunByOffice().find(MatchInput(filings))

    assert finding.office_code == "330112"
    assert finding.person_id is None
    fields = {c.field: c for c in finding.contributions}
    assert fields["run_length"].observed == "240/240"
    assert fields["run_period"].observed.endswith("(177)")


def test_offices_alike_not_flagged():
    filings = []
    for office in ["330102", "330106", "330108", "330109", "330110", "330111"]:
        filings += office_history(office, 4, 60)

    assert list(ZeroRunByOffice().find(MatchInput(filings))) == []


def test_anytime_records_do_not_break_a_run():
    filings = [stage_filing(f"f{i}", "p1", f"k{i}", "accept", day=i) for i in range(12)]
    filings.insert(6, anytime_filing("a1", "p1", day=5.5, records=(record("李四", day=5),)))

    run = longest_zero_run(filings)

    assert run.length == 12
    assert run.total == 12
    assert run.with_records == 0
    assert run.first is filings[0]


# --- recurring interveners -----------------------------------------------


def test_recurring_intervener_across_cases():
    filings = [
        stage_filing(
            "f1", "p1", "k1", "accept", day=2, records=(record("王建国", "某区政法委", day=1),)
        ),
        stage_filing(
            "f2", "p2", "k2", "accept", day=3, records=(record("王建國", "某区政法委员会", day=2),)
        ),
        stage_filing(
            "f3", "p3", "k3", "accept", day=4, records=(record("王剑国", "某区政法委", day=3),)
        ),
        stage_filing(
            "f4", "p4", "k4", "accept", day=5, records=(record("李四", "某区政法委", day=3),)
        ),
    ]
    clues = [clue("c1", day=6, case="k5", person="p5", name="王建国", unit="某区政法委")]

    (finding,) = RecurringIntervener().find(MatchInput(filings, clues))

    assert finding.rule == "recurring_intervener"
    assert finding.intervener == "王建国"
    assert finding.filing_id == "f3"
    assert finding.clue_id == "c1"
    fields = {c.field: c for c in finding.contributions}
    assert fields["distinct_cases"].observed == "4"
    assert fields["distinct_filers"].observed == "4"
    assert fields["name_variants"].observed == "王剑国, 王建国, 王建國"
    assert finding.score == pytest.approx(0.75)


def test_homophones_in_other_units_not_merged():
    filings = [
        stage_filing("f1", "p1", "k1", "accept", day=2, records=(record("张伟", "公安局", day=1),)),
        stage_filing(
            "f2", "p2", "k2", "accept", day=3, records=(record("章伟", "华夏科技公司", day=2),)
        ),
        stage_filing(
            "f3", "p3", "k3", "accept", day=4, records=(record("張偉", "市财政局", day=3),)
        ),
    ]

    assert list(RecurringIntervener().find(MatchInput(filings))) == []


def test_lawyers_ignored_by_default():
    filings = [
        stage_filing(
            f"f{i}",
            f"p{i}",
            f"k{i}",
            "accept",
            day=i + 1,
            records=(record("李明", "华夏律师事务所", day=i, role=IntervenerRole.LAWYER),),
        )
        for i in range(5)
    ]
    data = MatchInput(filings)

    assert list(RecurringIntervener().find(data)) == []
    assert len(list(RecurringIntervener(ignore_roles=frozenset()).find(data))) == 1


def test_recurring_in_one_case_not_flagged():
    filings = [
        stage_filing(f"f{i}", "p1", "k1", stage, day=i + 1, records=(record("王建国", day=i),))
        for i, stage in enumerate(["accept", "prosecution_review", "indictment"])
    ]

    assert list(RecurringIntervener().find(MatchInput(filings))) == []
