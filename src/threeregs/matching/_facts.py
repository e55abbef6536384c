"""The compact projection of opened filings that matching rules work on.

An inspection department opens its filings in memory and projects each one
to :class:`FilingFacts`: who filed, for which case, stage and round, and
when. For each record it keeps the normalised keys of the intervener and
whether the record was filed after the policy's deadline. The content of the records is
not kept, so a million filings fit in a few hundred megabytes, and nothing
is written back to the host database.

Stage windows say when each visit of a stage began and ended; they come from
the host's ``threeregs_visits`` table through :func:`stage_windows`.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._model import Filing, MonthlyObligation, StageObligation
from threeregs._vocabulary import IntervenerRole
from threeregs.matching._names import IntervenerKey, intervener_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from threeregs._model import Record
    from threeregs.policy import Policy

#: Number of case ids per query when :func:`stage_windows` reads selected cases.
CASE_BATCH: Final = 500
#: The earliest time, for the start of a window derived from filings.
EARLIEST: Final = dt.datetime.min.replace(tzinfo=dt.UTC)


class FilingKind(enum.StrEnum):
    """Kind of filing, after the duty it meets (its obligation)."""

    STAGE = "stage"
    MONTHLY = "monthly"
    ANYTIME = "anytime"


@attrs.frozen
class RecordFacts:
    """The facts of one record that the matching rules use."""

    intervener: IntervenerKey
    role: IntervenerRole
    occurred_at: dt.datetime
    #: The policy's deadline for filing this record.
    due_at: dt.datetime
    #: Whether the filing that contains the record was filed after ``due_at``.
    late: bool


@attrs.frozen
class FilingFacts:
    """The facts of one opened filing that the matching rules use.

    ``case_id``, ``stage`` and ``round`` are set for a stage filing only.
    Build values with :func:`facts_from_filing`; constructing them directly
    is for tests and benchmarks, and skips validation.
    """

    filing_id: str
    person_id: str
    office_code: str
    kind: FilingKind
    filed_at: dt.datetime
    case_id: str | None = attrs.field(default=None, kw_only=True)
    stage: str | None = attrs.field(default=None, kw_only=True)
    round: int = attrs.field(default=0, kw_only=True)
    records: tuple[RecordFacts, ...] = attrs.field(default=(), kw_only=True)
    #: The filing this one amends, if any.
    supersedes: str | None = attrs.field(default=None, kw_only=True)

    @property
    def is_zero(self) -> bool:
        """Whether this is a zero report (a stage or monthly filing without records)."""
        return not self.records and self.kind is not FilingKind.ANYTIME


def _record_facts(record: Record, filed_at: dt.datetime, policy: Policy) -> RecordFacts:
    person = record.intervener
    due_at = record.occurred_at + policy.record_deadline(record)
    return RecordFacts(
        intervener=intervener_key(person.name, person.unit, person.position),
        role=person.role,
        occurred_at=record.occurred_at,
        due_at=due_at,
        late=filed_at > due_at,
    )


def facts_from_filing(filing: Filing, *, policy: Policy) -> FilingFacts:
    """Project an opened *filing* to the facts the matching rules use.

    *policy* gives each record's deadline (:meth:`Policy.record_deadline`).
    Ids, office codes and stage codes are interned, so that a million
    filings share one string per person, office, case and stage.
    """
    obligation = filing.obligation
    filer = filing.filer
    records = tuple(_record_facts(r, filing.filed_at, policy) for r in filing.records)
    if isinstance(obligation, StageObligation):
        return FilingFacts(
            filing.filing_id,
            sys.intern(filer.person_id),
            sys.intern(filer.office_code),
            FilingKind.STAGE,
            filing.filed_at,
            case_id=sys.intern(obligation.case_id),
            stage=sys.intern(obligation.stage),
            round=obligation.round,
            records=records,
            supersedes=filing.supersedes,
        )
    kind = FilingKind.MONTHLY if isinstance(obligation, MonthlyObligation) else FilingKind.ANYTIME
    return FilingFacts(
        filing.filing_id,
        sys.intern(filer.person_id),
        sys.intern(filer.office_code),
        kind,
        filing.filed_at,
        records=records,
        supersedes=filing.supersedes,
    )


def facts_from_filings(filings: Iterable[Filing], *, policy: Policy) -> list[FilingFacts]:
    """Project every filing of *filings*, consuming it as a stream."""
    return [facts_from_filing(filing, policy=policy) for filing in filings]


@attrs.frozen
class StageWindow:
    """When one visit of a stage of a case began and ended.

    ``end`` is None while the case is still in the stage. A window that
    :func:`derive_windows` estimated from filings has ``derived`` set.
    """

    case_id: str
    stage: str
    round: int
    start: dt.datetime
    end: dt.datetime | None
    derived: bool = attrs.field(default=False, kw_only=True)

    def overlap(self, start: dt.datetime, end: dt.datetime) -> float:
        """Return the share of the period from *start* to *end* that lies in this window.

        A point in time (*start* equal to *end*) gives 1 when the window contains
        it and 0 otherwise.
        """
        window_end = self.end
        if start == end:
            inside = self.start <= start and (window_end is None or start < window_end)
            return 1.0 if inside else 0.0
        low = max(start, self.start)
        high = end if window_end is None else min(end, window_end)
        if high <= low:
            return 0.0
        return (high - low) / (end - start)


def stage_windows(conn: object, case_ids: Iterable[str] | None = None) -> Iterator[StageWindow]:
    """Read the stage windows of the host's cases from ``threeregs_visits``.

    *conn* is the host's SQLAlchemy ``Connection`` or ``Session``; it is only
    read. A visit ends when the next visit of the same case starts, and the
    last visit of a case has no end. The rows are streamed in order of case
    and visit, so the whole table never sits in memory. With *case_ids*, only
    those cases are read, :data:`CASE_BATCH` ids per query.
    """
    from sqlalchemy import select  # noqa: PLC0415 - core matching must not need SQLAlchemy

    from threeregs.store._tables import visits  # noqa: PLC0415 - same reason

    columns = (
        visits.c.case_id,
        visits.c.visit,
        visits.c.stage,
        visits.c.round,
        visits.c.entered_at,
    )
    base = select(*columns).order_by(visits.c.case_id, visits.c.visit)
    if case_ids is None:
        statements = [base]
    else:
        wanted = sorted(set(case_ids))
        statements = [
            base.where(visits.c.case_id.in_(wanted[i : i + CASE_BATCH]))
            for i in range(0, len(wanted), CASE_BATCH)
        ]

    for statement in statements:
        rows = conn.execute(statement.execution_options(yield_per=1000))  # type: ignore[attr-defined]
        yield from _windows_from_rows(rows)


def _windows_from_rows(
    rows: Iterable[Sequence[object]],
) -> Iterator[StageWindow]:
    """Pair each visit row with the next row of the same case."""
    previous: Sequence[object] | None = None
    for row in rows:
        if previous is not None:
            same_case = previous[0] == row[0]
            yield _window(previous, row[4] if same_case else None)
        previous = row
    if previous is not None:
        yield _window(previous, None)


def _window(row: Sequence[object], end: object) -> StageWindow:
    case_id, _visit, stage, round_, entered_at = row
    return StageWindow(
        str(case_id),
        str(stage),
        int(round_),  # type: ignore[call-overload]
        _aware(entered_at),
        None if end is None else _aware(end),
    )


def _aware(value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        msg = f"expected a datetime in threeregs_visits.entered_at, got {value!r}"
        raise TypeError(msg)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def derive_windows(
    filings: Iterable[FilingFacts], *, known_cases: Iterable[str] = ()
) -> list[StageWindow]:
    """Estimate stage windows from the stage filings of cases that have none.

    A case cannot leave a stage before its filers have filed, so the latest
    filing of a stage round approximates the end of that visit, and the
    visit before it ends where this one starts. The first visit starts at
    :data:`EARLIEST`. Cases in *known_cases* are skipped.
    """
    skip = set(known_cases)
    latest: dict[str, dict[tuple[str, int], dt.datetime]] = {}
    for facts in filings:
        if facts.kind is not FilingKind.STAGE or facts.case_id is None or facts.case_id in skip:
            continue
        assert facts.stage is not None
        rounds = latest.setdefault(facts.case_id, {})
        key = (facts.stage, facts.round)
        current = rounds.get(key)
        if current is None or facts.filed_at > current:
            rounds[key] = facts.filed_at

    windows: list[StageWindow] = []
    for case_id in sorted(latest):
        ordered = sorted(latest[case_id].items(), key=lambda item: (item[1], item[0]))
        start = EARLIEST
        for (stage, round_), end in ordered:
            windows.append(StageWindow(case_id, stage, round_, start, end, derived=True))
            start = end
    return windows
