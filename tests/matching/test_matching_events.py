"""System-detected events turned into clues."""

from __future__ import annotations

import datetime as dt

import pytest
from matching_builders import at, stage_filing, window

from threeregs._errors import ValidationError
from threeregs.matching import (
    ClueSource,
    EventKind,
    IntervenerDetails,
    MatchInput,
    SystemEvent,
    UnreportedIntervention,
    clue_from_event,
    clues_from_events,
    kind_label,
)

LAWYER = IntervenerDetails("李明", "华夏律师事务所", "律师")


def event(event_id: str = "visit-1", **changes: object) -> SystemEvent:
    values: dict[str, object] = {
        "event_id": event_id,
        "kind": EventKind.LAWYER_VISIT,
        "case_id": "case-1",
        "occurred_at": at(3),
        "actor": LAWYER,
        "person_id": "p1",
        "detail": "接待室登记",
    }
    values.update(changes)
    return SystemEvent(**values)  # type: ignore[arg-type]


def test_clue_from_event():
    clue = clue_from_event(event())

    assert clue.clue_id == "event:visit-1"
    assert clue.source is ClueSource.SYSTEM_EVENT
    assert clue.event_kind is EventKind.LAWYER_VISIT
    assert clue.case_id == "case-1"
    assert clue.person_id == "p1"
    assert clue.intervener == LAWYER
    assert clue.occurred_from == clue.occurred_to == at(3)
    assert clue.description == "接待室登记"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_becomes_a_clue(kind):
    clue = clue_from_event(event(kind=kind.value, person_id=None))

    assert clue.event_kind is kind
    assert clue.person_id is None


def test_same_event_gives_same_clue():
    assert clue_from_event(event()) == clue_from_event(event())


def test_clues_from_events_skips_repeats():
    events = [event("a"), event("b", kind=EventKind.LEADER_COMMENT), event("a")]

    clues = list(clues_from_events(events))

    assert [c.clue_id for c in clues] == ["event:a", "event:b"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "x" * 59),
        ("event_id", "bad id"),
        ("kind", "phone_tap"),
        ("actor", "李明"),
        ("occurred_at", dt.datetime(2024, 3, 3)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_event_rejects_invalid_field(field, value):
    with pytest.raises(ValidationError) as caught:
        event(**{field: value})

    assert caught.value.field == field


@pytest.mark.parametrize("kind", list(EventKind))
def test_event_kind_labels(kind):
    assert kind_label(kind, "en") != kind_label(kind, "zh_CN")


def test_event_clue_found_by_rule():
    filings = [stage_filing("f1", "p1", "case-1", "accept", day=5)]
    data = MatchInput(filings, [clue_from_event(event())], [window("case-1", "accept", 0, 6)])

    findings = list(UnreportedIntervention().find(data))

    assert [(f.filing_id, f.clue_id) for f in findings] == [("f1", "event:visit-1")]
