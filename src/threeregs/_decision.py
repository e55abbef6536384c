"""Gate decisions: whether a case may leave its stage, and every reason why not."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any, Final

import attrs

from threeregs import _i18n
from threeregs._i18n import N_

if TYPE_CHECKING:
    from collections.abc import Mapping


class BlockerCode(enum.StrEnum):
    """Reason code of a gate blocker."""

    MISSING_FILING = "missing_filing"
    NO_FILER_ASSIGNED = "no_filer_assigned"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    ROUND_LIMIT = "round_limit"
    CASE_CLOSED = "case_closed"


class NoteCode(enum.StrEnum):
    """Explanations attached to a decision that are not blockers."""

    NO_FILING_RULE = "no_filing_rule"
    ALL_FILED = "all_filed"


_MESSAGES: Final[Mapping[str, str]] = {
    BlockerCode.MISSING_FILING: N_(
        "{person} ({role}) has not filed a report or zero report for stage {stage}, round {round}"
    ),
    BlockerCode.NO_FILER_ASSIGNED: N_(
        "nobody in a role that must file for stage {stage} has been assigned to the case"
    ),
    BlockerCode.TRANSITION_NOT_ALLOWED: N_(
        "the policy does not allow a case to move from stage {stage} to stage {to_stage}"
    ),
    BlockerCode.ROUND_LIMIT: N_("stage {to_stage} may be entered at most {limit} times"),
    BlockerCode.CASE_CLOSED: N_("the case is closed"),
    NoteCode.NO_FILING_RULE: N_(
        "no role must file for stage {stage} under policy {policy}, so nobody has to file"
    ),
    NoteCode.ALL_FILED: N_("everyone who must file for stage {stage}, round {round} has filed"),
}


def _sorted_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(params.items()))


def _render(code: str, params: Mapping[str, Any], locale: str) -> str:
    values = dict(params)
    for key in ("stage", "to_stage"):
        if key in values:
            values[key] = _i18n.stage_label(str(values[key]), locale)
    if "role" in values:
        values["role"] = _i18n.role_label(str(values["role"]), locale)
    return _i18n.gettext(_MESSAGES[code], locale).format(**values)


@attrs.frozen
class Blocker:
    """One reason a case cannot leave its stage.

    ``params`` holds the values named in the message (``person``, ``role``,
    ``stage``, ``round`` and so on).
    """

    code: BlockerCode
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_sorted_params)

    @property
    def person_id(self) -> str | None:
        """The person who has to act, when the blocker names one."""
        value = self.params.get("person")
        return None if value is None else str(value)

    def message(self, locale: str = "zh_CN") -> str:
        """Return the blocker as a sentence in *locale* (``zh_CN`` or ``en``)."""
        return _render(self.code, self.params, _i18n.normalise_locale(locale))

    @property
    def messages(self) -> dict[str, str]:
        """The message in every supported locale."""
        return {locale: self.message(locale) for locale in _i18n.SUPPORTED_LOCALES}


@attrs.frozen
class Note:
    """An explanation attached to a decision, such as why nobody had to file."""

    code: NoteCode
    params: Mapping[str, Any] = attrs.field(factory=dict, converter=_sorted_params)

    def message(self, locale: str = "zh_CN") -> str:
        """Return the note as a sentence in *locale*."""
        return _render(self.code, self.params, _i18n.normalise_locale(locale))


@attrs.frozen
class Decision:
    """The gate's answer to "may case *case_id* move to *to_stage* now?"."""

    case_id: str
    from_stage: str
    from_round: int
    to_stage: str
    to_round: int
    blockers: tuple[Blocker, ...]
    notes: tuple[Note, ...]
    policy_version: str
    policy_hash: str
    decided_at: dt.datetime
    #: The case row version the decision was made on.
    case_version: int = attrs.field(repr=False)
    #: Who had to file and who had filed, for replaying the decision.
    inputs: Mapping[str, Any] = attrs.field(repr=False, eq=False, factory=dict)

    @property
    def allowed(self) -> bool:
        """Whether the case may move."""
        return not self.blockers

    def __bool__(self) -> bool:
        return self.allowed

    def messages(self, locale: str = "zh_CN") -> list[str]:
        """Return every blocker and note as sentences in *locale*."""
        return [b.message(locale) for b in self.blockers] + [n.message(locale) for n in self.notes]
