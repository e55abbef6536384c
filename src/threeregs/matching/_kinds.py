"""Vocabularies of the matching subsystem: where clues come from, what the host saw."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final

from threeregs import _i18n
from threeregs._i18n import N_

if TYPE_CHECKING:
    from collections.abc import Mapping


class ClueSource(enum.StrEnum):
    """Where a clue comes from."""

    #: A case or lead referred by a discipline-inspection body.
    DISCIPLINE_REFERRAL = "discipline_referral"
    #: A petition, letter or visit from a party or the public (信访).
    PETITION = "petition"
    #: Something the host's software saw by itself (see :class:`EventKind`).
    SYSTEM_EVENT = "system_event"
    OTHER = "other"


class EventKind(enum.StrEnum):
    """What the host's software saw that may call for a record."""

    #: A lawyer's visit to a handler of the case was logged.
    LAWYER_VISIT = "lawyer_visit"
    #: A party or a party's relative visited a handler of the case.
    PARTY_VISIT = "party_visit"
    #: Someone outside the case team opened the case file.
    FILE_ACCESS_OUTSIDE_TEAM = "file_access_outside_team"
    #: A leader wrote a comment or instruction on the case.
    LEADER_COMMENT = "leader_comment"


_LABELS: Final[Mapping[enum.Enum, str]] = {
    ClueSource.DISCIPLINE_REFERRAL: N_("Discipline-inspection referral"),
    ClueSource.PETITION: N_("Petition, letter or visit"),
    ClueSource.SYSTEM_EVENT: N_("Detected by the case-handling system"),
    ClueSource.OTHER: N_("Other source"),
    EventKind.LAWYER_VISIT: N_("Lawyer's visit"),
    EventKind.PARTY_VISIT: N_("Visit by a party or relative"),
    EventKind.FILE_ACCESS_OUTSIDE_TEAM: N_("Case file opened by someone outside the case team"),
    EventKind.LEADER_COMMENT: N_("Leader's comment on the case"),
}


def kind_label(value: ClueSource | EventKind, locale: str = _i18n.DEFAULT_LOCALE) -> str:
    """Return the display label of a clue source or event kind in *locale*."""
    return _i18n.gettext(_LABELS[value], locale)
