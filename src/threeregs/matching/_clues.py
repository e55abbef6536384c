"""Clues: what the inspection side learns from outside the filings."""

from __future__ import annotations

import datetime as dt

import attrs

from threeregs._errors import ValidationError
from threeregs._model import MAX_CONTENT, MAX_NAME, MAX_POSITION, MAX_UNIT
from threeregs.matching import _fields
from threeregs.matching._kinds import ClueSource, EventKind
from threeregs.matching._names import IntervenerKey, intervener_key


@attrs.frozen
class IntervenerDetails:
    """The intervener a clue describes: name, unit and position."""

    name: str = _fields.text(MAX_NAME)
    unit: str = _fields.text(MAX_UNIT, allow_empty=True)
    position: str = _fields.text(MAX_POSITION, allow_empty=True)

    @property
    def key(self) -> IntervenerKey:
        """The normalised comparison keys (cached per distinct name, unit and position)."""
        return intervener_key(self.name, self.unit, self.position)


def _check_details(
    instance: Clue, attribute: attrs.Attribute[IntervenerDetails | None], value: object
) -> None:
    if value is not None and not isinstance(value, IntervenerDetails):
        raise ValidationError("intervener", value, "expected IntervenerDetails or None")


@attrs.frozen
class Clue:
    """One clue: someone may have intervened in a case, or contacted a member of staff.

    ``occurred_from`` and ``occurred_to`` bound the time of the intervention;
    they are equal for a point in time. ``person_id`` is the member of staff
    who should have recorded it, when the clue names them. A clue names a
    person, a case or both.
    """

    clue_id: str = _fields.identifier()
    source: ClueSource = _fields.member(ClueSource)  # noqa: RUF009 - builds an attrs field
    occurred_from: dt.datetime = _fields.timestamp()  # noqa: RUF009 - builds an attrs field
    occurred_to: dt.datetime = attrs.field(
        default=attrs.Factory(lambda self: self.occurred_from, takes_self=True),
        converter=_fields.to_utc,
        kw_only=True,
    )
    person_id: str | None = _fields.identifier(optional=True)
    person_name: str = _fields.text(MAX_NAME, allow_empty=True, keyword=True)
    case_id: str | None = _fields.identifier(optional=True)
    intervener: IntervenerDetails | None = attrs.field(
        default=None, validator=_check_details, kw_only=True
    )
    description: str = _fields.text(MAX_CONTENT, allow_empty=True, multiline=True, keyword=True)
    #: What the host saw, for a clue made by :func:`clue_from_event`.
    event_kind: EventKind | None = _fields.member(EventKind, optional=True)  # noqa: RUF009 - builds an attrs field

    def __attrs_post_init__(self) -> None:
        _fields.check_timestamp("occurred_to", self.occurred_to)
        if self.occurred_to < self.occurred_from:
            raise ValidationError(
                "occurred_to",
                self.occurred_to.isoformat(),
                f"lies before occurred_from {self.occurred_from.isoformat()}",
            )
        if self.person_id is None and self.case_id is None:
            raise ValidationError(
                "person_id", None, "a clue must name the person concerned, the case or both"
            )

    @property
    def is_point(self) -> bool:
        """Whether the clue gives a point in time rather than a window."""
        return self.occurred_from == self.occurred_to


@attrs.frozen
class RejectedRow:
    """A row of a clue file that could not become a clue, and why."""

    #: Line of the file on which the row starts, counting from 1.
    line: int
    reason: str
    #: The row's clue id, when it could be read.
    clue_id: str | None = None


@attrs.frozen
class ImportResult:
    """The clues read from one file, and the rows that were rejected."""

    source: str
    clues: tuple[Clue, ...]
    rejected: tuple[RejectedRow, ...] = ()
