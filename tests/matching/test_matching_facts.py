"""Projection of opened filings, stage windows, and the match input's indexes."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import pytest
import sqlalchemy as sa
from matching_builders import at, stage_filing, window
from sqlalchemy.orm import Session

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Manner,
    MonthlyObligation,
    Provision,
    Record,
    StaffKind,
    StageObligation,
)
from threeregs._canonical import filing_to_dict
from threeregs._errors import MatchingInputError
from threeregs.matching import (
    FilingKind,
    MatchInput,
    StageWindow,
    derive_windows,
    facts_from_filing,
    facts_from_filings,
    read_filing_facts,
    read_windows_csv,
    stage_windows,
)
from threeregs.policy import default_policy
from threeregs.store._tables import cases, metadata, visits

FILER = Filer("p1", "330106", StaffKind.PROSECUTOR)
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def make_record(name: str, occurred: dt.datetime, *, contact: bool = False) -> Record:
    if contact:
        return Record(
            Provision.P3,
            Conduct.CONTACT,
            Bucket.ROUTINE_INQUIRY,
            Intervener(name, "华夏律师事务所", "律师", IntervenerRole.LAWYER),
            occurred,
            Manner.IN_PERSON,
            "来访",
        )
    return Record(
        Provision.P1,
        Conduct.PLEADING,
        Bucket.IMPROPER_INTERFERENCE,
        Intervener(name, "朝阳区政法委", "副书记", IntervenerRole.LEADING_CADRE),
        occurred,
        Manner.PHONE,
        "电话说情",
    )


# --- projection ----------------------------------------------------------


def test_stage_filing_projection():
    records = (
        make_record("張偉", NOW - dt.timedelta(days=10)),
        make_record("李明", NOW - dt.timedelta(days=5), contact=True),
    )
    filing = Filing(
        FILER, StageObligation("case-1", "prosecution_review", 2), records=records, filed_at=NOW
    )

    facts = facts_from_filing(filing, policy=default_policy())

    assert facts.filing_id == filing.filing_id
    assert (facts.person_id, facts.office_code) == ("p1", "330106")
    assert facts.kind is FilingKind.STAGE
    assert (facts.case_id, facts.stage, facts.round) == ("case-1", "prosecution_review", 2)
    assert not facts.is_zero
    first, second = facts.records
    assert first.intervener.name.text == "张伟"
    assert first.intervener.unit == "朝阳政法委"
    assert first.role is IntervenerRole.LEADING_CADRE
    # The default policy gives 30 days for a record and 3 for an unexpected contact.
    assert first.due_at == first.occurred_at + dt.timedelta(days=30)
    assert not first.late
    assert second.due_at == second.occurred_at + dt.timedelta(days=3)
    assert second.late


def test_zero_and_other_kinds():
    zero = Filing.zero(FILER, StageObligation("case-1", "accept"), filed_at=NOW)
    monthly = Filing.zero(FILER, MonthlyObligation("2024-05"), filed_at=NOW)
    anytime = Filing(FILER, None, records=(make_record("李明", NOW),), filed_at=NOW)

    facts = facts_from_filings([zero, monthly, anytime], policy=default_policy())

    assert [f.kind for f in facts] == [FilingKind.STAGE, FilingKind.MONTHLY, FilingKind.ANYTIME]
    assert [f.is_zero for f in facts] == [True, True, False]
    assert facts[1].case_id is None


def test_projection_interns_ids():
    filings = [
        Filing.zero(FILER, StageObligation("case-" + "1", "accept"), filed_at=NOW),
        Filing.zero(FILER, StageObligation("".join(["case-", "1"]), "accept"), filed_at=NOW),
    ]

    first, second = facts_from_filings(filings, policy=default_policy())

    assert first.case_id is second.case_id
    assert first.person_id is sys.intern("p1")


# --- windows -------------------------------------------------------------


def test_window_overlap():
    stage = window("k", "accept", 2, 6)

    assert stage.overlap(at(3), at(3)) == 1.0
    assert stage.overlap(at(6), at(6)) == 0.0
    assert stage.overlap(at(2), at(2)) == 1.0
    assert stage.overlap(at(0), at(4)) == 0.5
    assert stage.overlap(at(7), at(9)) == 0.0
    assert window("k", "accept", 2, None).overlap(at(100), at(100)) == 1.0


def test_derive_windows_from_filings():
    filings = [
        stage_filing("a", "p1", "k", "accept", day=3),
        stage_filing("b", "p2", "k", "accept", day=4),
        stage_filing("c", "p1", "k", "review", day=9),
        stage_filing("d", "p1", "known", "accept", day=9),
    ]

    windows = derive_windows(filings, known_cases=["known"])

    assert [(w.stage, w.end) for w in windows] == [("accept", at(4)), ("review", at(9))]
    assert windows[1].start == at(4)
    assert all(w.derived for w in windows)


@pytest.fixture
def engine():
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine, tables=[cases, visits])
    rows = [
        ("k1", 1, "accept", 1, at(0)),
        ("k1", 2, "prosecution_review", 1, at(5)),
        ("k1", 3, "supplementary_investigation", 1, at(9)),
        ("k1", 4, "prosecution_review", 2, at(20)),
        ("k2", 1, "accept", 1, at(2)),
    ]
    with engine.begin() as conn:
        for case_id in ("k1", "k2", "k3"):
            conn.execute(
                cases.insert().values(
                    case_id=case_id,
                    business_line="criminal",
                    office_code="330106",
                    stage="accept",
                    round=1,
                    visit=1,
                    closed=False,
                    version=1,
                    opened_at=at(0),
                    policy_version="1",
                )
            )
        conn.execute(
            visits.insert(),
            [
                {"case_id": c, "visit": v, "stage": s, "round": r, "entered_at": t}
                for c, v, s, r, t in rows
            ],
        )
    yield engine
    engine.dispose()


def test_stage_windows_from_visits(engine):
    with engine.connect() as conn:
        windows = list(stage_windows(conn))

    assert windows == [
        StageWindow("k1", "accept", 1, at(0), at(5)),
        StageWindow("k1", "prosecution_review", 1, at(5), at(9)),
        StageWindow("k1", "supplementary_investigation", 1, at(9), at(20)),
        StageWindow("k1", "prosecution_review", 2, at(20), None),
        StageWindow("k2", "accept", 1, at(2), None),
    ]


def test_stage_windows_selected_cases(engine, monkeypatch):
    monkeypatch.setattr("threeregs.matching._facts.CASE_BATCH", 1)

    with engine.connect() as conn:
        windows = list(stage_windows(conn, ["k2", "k3", "k2"]))
        none = list(stage_windows(conn, []))

    assert [(w.case_id, w.stage) for w in windows] == [("k2", "accept")]
    assert none == []


def test_stage_windows_with_session_writes_nothing(engine):
    with Session(engine) as session:
        windows = list(stage_windows(session, ["k1"]))
        assert not session.new
        assert not session.dirty

    assert len(windows) == 4


def test_stage_windows_streams(engine):
    with engine.connect() as conn:
        iterator = stage_windows(conn)
        first = next(iterator)

    assert first.case_id == "k1"


# --- the match input -----------------------------------------------------


def test_match_input_indexes():
    filings = [
        stage_filing("a", "p1", "k", "accept", day=3),
        stage_filing("b", "p2", "k", "accept", day=2),
        stage_filing("c", "p1", "k", "review", day=9),
        stage_filing("d", "p1", "k", "review", day=10, supersedes="c"),
    ]
    data = MatchInput(filings, (), [window("k", "accept", 0, 5), window("k", "review", 5, None)])

    assert [f.filing_id for f in data.current] == ["a", "b", "d"]
    assert data.superseded_by == {"c": "d"}
    assert [f.filing_id for f in data.person_filings("p1")] == ["a", "d"]
    assert [f.filing_id for f in data.stage_filings("k", "accept", 1)] == ["a", "b"]
    assert data.people == ["p1", "p2"]
    assert data.window("k", "review", 1) == window("k", "review", 5, None)
    assert [w.stage for w, _ in data.windows_overlapping("k", at(4), at(6))] == [
        "accept",
        "review",
    ]
    assert data.amended_chain(filings[3]) == [filings[2]]
    assert data.filing("zz") is None
    assert data.level_of("330106") is None


# --- files ---------------------------------------------------------------


def test_read_filing_facts_from_export(tmp_path):
    filing = Filing(
        FILER,
        StageObligation("case-1", "accept"),
        records=(make_record("张伟", NOW - dt.timedelta(days=1)),),
        filed_at=NOW,
    )
    line = filing_to_dict(filing)
    line["received_at"] = "2024-06-01T00:00:01.000000Z"
    path = tmp_path / "filings.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n\n", encoding="utf-8")

    facts = read_filing_facts(path, policy=default_policy())

    assert [f.filing_id for f in facts] == [filing.filing_id]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "line 1: not valid JSON"),
        ('\n{"filing_id": "x"}\n', "line 2: not a canonical filing"),
        ("[]\n", "line 1: not a canonical filing"),
    ],
)
def test_read_filing_facts_bad_line(tmp_path, content, message):
    path = tmp_path / "filings.jsonl"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(MatchingInputError) as caught:
        read_filing_facts(path, policy=default_policy())

    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_read_filing_facts_missing(tmp_path):
    with pytest.raises(MatchingInputError) as caught:
        read_filing_facts(tmp_path / "none.jsonl", policy=default_policy())

    assert "no such filings file" in str(caught.value)


def test_read_windows_csv(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_text(
        "case_id,stage,round,start,end\n"
        "k1,accept,1,2024-03-01T08:00:00+08:00,2024-03-05\n"
        "k1,review,1,2024-03-05T00:00:00Z,\n",
        encoding="utf-8",
    )

    first, second = read_windows_csv(path)

    assert first.start == dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    assert first.end == dt.datetime(2024, 3, 4, 16, tzinfo=dt.UTC)
    assert second.end is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("case_id,stage,round,start\n", "lacks the column 'end'"),
        ("case_id,stage,round,start,end\nk1,accept,x,2024-03-01,\n", "line 2"),
        ("case_id,stage,round,start,end\nk1,accept,1,2024-03-05,2024-03-01\n", "before start"),
        ("case_id,stage,round,start,end\nk1,accept,1\n", "expected 5 fields"),
    ],
)
def test_read_windows_csv_errors(tmp_path, content, message):
    path = tmp_path / "windows.csv"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(MatchingInputError) as caught:
        read_windows_csv(path)

    assert message in str(caught.value)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_bad_input_files_are_closed_at_once(tmp_path):
    windows = tmp_path / "windows.csv"
    windows.write_text("case_id,stage,round,start,end\nk1,accept,x,2024-03-01,\n", encoding="utf-8")
    filings = tmp_path / "filings.jsonl"
    filings.write_text("{not json\n", encoding="utf-8")

    # The caught exceptions stay alive, and their tracebacks with them, so
    # only an explicit close can have released the files.
    before = _open_descriptors()
    with pytest.raises(MatchingInputError) as bad_windows:
        read_windows_csv(windows)
    with pytest.raises(MatchingInputError) as bad_filings:
        read_filing_facts(filings, policy=default_policy())
    after = _open_descriptors()

    assert after == before
    assert "line 2" in str(bad_windows.value)
    assert "line 1" in str(bad_filings.value)
