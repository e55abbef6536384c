"""Report types of :func:`~threeregs.store.verify`: problem kinds, their messages and findings.

:class:`ProblemKind` names each kind of finding and :class:`Problem` renders
one as a sentence in zh_CN or English. :class:`VerifyReport` is the outcome
of a run. ``_Findings`` collects problems during the run, keeping at most
:data:`MAX_PROBLEMS`, and ``_reading_order`` sorts them for the report.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any, Final

import attrs

from threeregs import _i18n
from threeregs._i18n import N_

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Problems kept in a report; the rest are only counted.
MAX_PROBLEMS: Final = 1000


class ProblemKind(enum.StrEnum):
    """Kind of problem that :func:`verify` reports."""

    ENTRY_MISSING = "entry_missing"
    ENVELOPE_DELETED = "envelope_deleted"
    ENVELOPE_ALTERED = "envelope_altered"
    ENVELOPE_UNREADABLE = "envelope_unreadable"
    DIGEST_ALTERED = "digest_altered"
    RECEIPT_TIME_ALTERED = "receipt_time_altered"
    ENTRY_ALTERED = "entry_altered"
    ENTRIES_SWAPPED = "entries_swapped"
    ENTRIES_MOVED = "entries_moved"
    ROLLED_BACK = "rolled_back"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_FORK = "checkpoint_fork"
    CHECKPOINT_INVALID = "checkpoint_invalid"
    OTHER_LOG = "other_log"
    HEAD_ALTERED = "head_altered"
    NODE_ALTERED = "node_altered"
    NOT_IN_LOG = "not_in_log"
    ROW_MALFORMED = "row_malformed"


# Message ids by kind, and by variant where one kind has several wordings.
_MESSAGES: Final[Mapping[str, str]] = {
    "entry_missing": N_("log entry {first} is missing: its row was deleted from the log"),
    "entry_missing_range": N_(
        "log entries {first} to {last} are missing: their rows were deleted from the log"
    ),
    "envelope_deleted": N_("log entry {index} (filing {filing_id}): the envelope was deleted"),
    "envelope_altered": N_(
        "log entry {index} (filing {filing_id}): the envelope was altered, its content no "
        "longer matches the digest in the log"
    ),
    "envelope_unreadable": N_(
        "log entry {index} (filing {filing_id}): the envelope was altered, it is no longer a "
        "valid envelope"
    ),
    "digest_altered": N_(
        "log entry {index} (filing {filing_id}): the digest stored with the envelope was altered"
    ),
    "receipt_time_altered": N_(
        "log entry {index} (filing {filing_id}): the receipt time stored with the envelope was "
        "altered"
    ),
    "entry_altered": N_(
        "log entry {index} (filing {filing_id}): the log row was altered, its leaf does not "
        "match its leaf hash or filing id"
    ),
    "entries_swapped": N_("log entries {first} and {second} were swapped"),
    "entries_moved": N_(
        "log entry {first} holds the leaf of entry {from_first}: the entries were reordered"
    ),
    "entries_moved_range": N_(
        "log entries {first} to {last} hold the leaves of entries {from_first} to {from_last}: "
        "entries were deleted, inserted or renumbered"
    ),
    "rolled_back": N_(
        "the log has {size} entries, but the checkpoint signed by office {office} at {time} "
        "has {checkpoint_size}: the log was rolled back (for example restored from an old "
        "backup) or truncated"
    ),
    "checkpoint_mismatch": N_(
        "the log does not match the checkpoint of size {size} signed by office {office} at "
        "{time}: the first difference lies in entries {first} to {last}"
    ),
    "checkpoint_fork": N_(
        "two signed checkpoints of size {size} have different root hashes: the log was forked"
    ),
    "checkpoint_unparsable": N_("stored checkpoint {row} is not a valid checkpoint"),
    "checkpoint_bad_signature": N_(
        "stored checkpoint {row} (size {size}) has a signature that does not verify: it was "
        "forged or altered"
    ),
    "other_log": N_(
        "the checkpoint of size {size} signed at {time} belongs to log {expected}, but this "
        "database holds log {actual}"
    ),
    "head_altered": N_(
        "the log head row records {head_size} entries and a root that the {size} entries do "
        "not give: the head row was altered"
    ),
    "node_altered": N_(
        "the stored subtree hash at level {level}, index {index} is missing or does not match "
        "the entries: inclusion proofs that use it fail"
    ),
    "not_in_log": N_(
        "the envelope of filing {filing_id} (received {time}) is not in the log although the "
        "sequencer ran at {sequenced}: it was inserted after sequencing, or its log entry was "
        "deleted"
    ),
    "row_malformed": N_(
        "envelope row {seq} has a malformed filing id or digest, so it cannot be in the log"
    ),
}


def _display_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@attrs.frozen
class Problem:
    """One finding of :func:`verify`.

    ``params`` contains the entries and values the message names: ``index``,
    ``first`` and ``last`` are log indices, ``filing_id`` a filing id.
    """

    kind: ProblemKind
    params: Mapping[str, Any] = attrs.field(factory=dict)
    variant: str | None = attrs.field(default=None, kw_only=True)

    def message(self, locale: str = _i18n.DEFAULT_LOCALE) -> str:
        """Return the finding as a sentence in *locale*."""
        msgid = _MESSAGES[self.variant or self.kind.value]
        values = {
            key: _display_time(value) if isinstance(value, dt.datetime) else value
            for key, value in self.params.items()
        }
        return _i18n.gettext(msgid, locale).format(**values)

    def __str__(self) -> str:
        return self.message("en")


@attrs.frozen
class VerifyReport:
    """The outcome of :func:`verify`."""

    #: The log id from the head row, or None before the first sequencing.
    log_id: str | None
    #: Number of entries streamed, and the root hash they give.
    tree_size: int
    root: bytes = attrs.field(repr=lambda b: b.hex()[:16] + "...")
    #: Checkpoints whose root was compared with the log (trusted and stored).
    checkpoints_checked: int
    problems: tuple[Problem, ...]
    #: Problems found beyond :data:`MAX_PROBLEMS`, counted but not kept.
    problems_omitted: int
    #: Envelopes not in the log that are newer than the last complete sequencer run.
    pending: int
    oldest_pending: dt.datetime | None
    #: Stored checkpoints skipped because their key is not in the key list.
    unknown_key_checkpoints: int
    deep: bool

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not self.problems and not self.problems_omitted


class _Findings:
    """Problems collected while streaming, capped at :data:`MAX_PROBLEMS`."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.omitted = 0
        self.structural = False

    def add(self, kind: ProblemKind, variant: str | None = None, **params: Any) -> None:
        if kind in _STRUCTURAL:
            self.structural = True
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(kind, params, variant=variant))
        else:
            self.omitted += 1


_STRUCTURAL: Final = frozenset(
    {
        ProblemKind.ENTRY_MISSING,
        ProblemKind.ENTRY_ALTERED,
        ProblemKind.ENTRIES_MOVED,
        ProblemKind.ENTRIES_SWAPPED,
    }
)


_GLOBAL: Final = (
    ProblemKind.OTHER_LOG,
    ProblemKind.CHECKPOINT_INVALID,
    ProblemKind.CHECKPOINT_FORK,
    ProblemKind.ROLLED_BACK,
    ProblemKind.CHECKPOINT_MISMATCH,
    ProblemKind.HEAD_ALTERED,
)


def _reading_order(problem: Problem) -> tuple[int, int]:
    """Sort key: checkpoint and log-wide findings, then entries by index, then the rest."""
    if problem.kind in _GLOBAL:
        return 0, _GLOBAL.index(problem.kind)
    if problem.kind in (ProblemKind.NOT_IN_LOG, ProblemKind.ROW_MALFORMED):
        return 2, 0
    if problem.kind is ProblemKind.NODE_ALTERED:
        return 3, 0
    return 1, int(problem.params.get("index", problem.params.get("first", 0)))
