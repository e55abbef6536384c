"""System-detected events: what the host's software detects, turned into clues.

The host reports events as they happen (a lawyer's visit logged at the
reception desk, someone outside the case team opening the case file, a
leader's comment on the case) and keeps them with its own data. When the
inspection department runs the matching rules, :func:`clues_from_events`
turns the events into clues of source ``system_event``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._checks import MAX_ID
from threeregs._errors import ValidationError
from threeregs._model import MAX_CONTENT
from threeregs.matching import _fields
from threeregs.matching._clues import Clue, IntervenerDetails
from threeregs.matching._kinds import ClueSource, EventKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: Prefix of the clue id made from an event id.
CLUE_ID_PREFIX: Final = "event:"


def _check_event_id(instance: SystemEvent, attribute: attrs.Attribute[str], value: object) -> None:
    _fields.check_id("event_id", value)
    if isinstance(value, str) and len(value) > MAX_ID - len(CLUE_ID_PREFIX):
        raise ValidationError(
            "event_id",
            value,
            f"event ids are at most {MAX_ID - len(CLUE_ID_PREFIX)} characters, so that the "
            f"clue id {CLUE_ID_PREFIX}<event_id> fits in {MAX_ID}",
        )


@attrs.frozen
class SystemEvent:
    """One event the host's software saw that may call for a record.

    ``actor`` is who visited, opened the file or commented; ``person_id`` is
    the member of staff who should have recorded it (the handler who was
    visited, the owner of the file), if the host can name them.
    """

    event_id: str = attrs.field(validator=_check_event_id)
    kind: EventKind = _fields.member(EventKind)  # noqa: RUF009 - builds an attrs field
    case_id: str = _fields.identifier()
    occurred_at: dt.datetime = _fields.timestamp()  # noqa: RUF009 - builds an attrs field
    actor: IntervenerDetails = _fields.instance(IntervenerDetails)  # noqa: RUF009 - builds an attrs field
    person_id: str | None = _fields.identifier(optional=True)
    detail: str = _fields.text(MAX_CONTENT, allow_empty=True, multiline=True, keyword=True)


def clue_from_event(event: SystemEvent) -> Clue:
    """Turn a system-detected event into a clue of source ``system_event``.

    The clue id is ``event:<event_id>``, so reporting the same event twice
    gives the same clue.
    """
    return Clue(
        f"{CLUE_ID_PREFIX}{event.event_id}",
        ClueSource.SYSTEM_EVENT,
        event.occurred_at,
        person_id=event.person_id,
        case_id=event.case_id,
        intervener=event.actor,
        description=event.detail,
        event_kind=event.kind,
    )


def clues_from_events(events: Iterable[SystemEvent]) -> Iterator[Clue]:
    """Turn events into clues, skipping an event id already seen."""
    seen: set[str] = set()
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        yield clue_from_event(event)
