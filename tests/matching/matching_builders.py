"""Builders of filings, clues and windows for the matching tests."""

from __future__ import annotations

import datetime as dt

from threeregs._vocabulary import IntervenerRole
from threeregs.matching import (
    Clue,
    ClueSource,
    FilingFacts,
    FilingKind,
    IntervenerDetails,
    RecordFacts,
    StageWindow,
    intervener_key,
)

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def at(day: float) -> dt.datetime:
    return T0 + day * DAY


def record(
    name: str,
    unit: str = "",
    position: str = "",
    *,
    day: float = 1,
    deadline_days: float = 30,
    filed_day: float | None = None,
    role: IntervenerRole = IntervenerRole.LEADING_CADRE,
) -> RecordFacts:
    due = at(day + deadline_days)
    return RecordFacts(
        intervener=intervener_key(name, unit, position),
        role=role,
        occurred_at=at(day),
        due_at=due,
        late=filed_day is not None and at(filed_day) > due,
    )


def stage_filing(
    filing_id: str,
    person: str,
    case: str,
    stage: str,
    *,
    day: float,
    round_: int = 1,
    office: str = "330106",
    records: tuple[RecordFacts, ...] = (),
    supersedes: str | None = None,
) -> FilingFacts:
    return FilingFacts(
        filing_id,
        person,
        office,
        FilingKind.STAGE,
        at(day),
        case_id=case,
        stage=stage,
        round=round_,
        records=records,
        supersedes=supersedes,
    )


def anytime_filing(
    filing_id: str,
    person: str,
    *,
    day: float,
    records: tuple[RecordFacts, ...],
    office: str = "330106",
) -> FilingFacts:
    return FilingFacts(filing_id, person, office, FilingKind.ANYTIME, at(day), records=records)


def window(
    case: str, stage: str, start_day: float, end_day: float | None, round_: int = 1
) -> StageWindow:
    return StageWindow(case, stage, round_, at(start_day), None if end_day is None else at(end_day))


def clue(
    clue_id: str,
    *,
    day: float,
    to_day: float | None = None,
    case: str | None = None,
    person: str | None = None,
    name: str | None = None,
    unit: str = "",
    position: str = "",
    source: ClueSource = ClueSource.PETITION,
) -> Clue:
    return Clue(
        clue_id,
        source,
        at(day),
        occurred_to=at(to_day if to_day is not None else day),
        person_id=person,
        case_id=case,
        intervener=IntervenerDetails(name, unit, position) if name is not None else None,
    )
