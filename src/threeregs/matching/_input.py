"""The input of a matching run, with the indexes the rules share."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Final, final

from threeregs.matching._facts import FilingFacts, FilingKind, StageWindow, derive_windows

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Mapping, Sequence

    from threeregs.matching._clues import Clue
    from threeregs.matching._facts import RecordFacts
    from threeregs.routing import Directory, Level

_EMPTY: Final[tuple[FilingFacts, ...]] = ()


def _sort_key(facts: FilingFacts) -> tuple[dt.datetime, str]:
    return (facts.filed_at, facts.filing_id)


@final
class MatchInput:
    """Opened filings, clues and stage windows, indexed for blocking.

    Rules never compare every filing with every clue: they look filings up by
    case, by person or by id, and windows by case. Indexes are built on
    first use and shared by every rule of a run. The input does not change
    after construction.

    Cases without any stage window in *windows* get windows estimated from
    their filings (:func:`derive_windows`). *directory*, when given, gives
    the level of each office, so that offices and people can be compared
    with peers of the same level.
    """

    __slots__ = (
        "_by_case",
        "_by_id",
        "_by_person",
        "_clue_by_id",
        "_current",
        "_other_records",
        "_superseded_by",
        "_windows_by_case",
        "clues",
        "directory",
        "filings",
        "windows",
    )

    def __init__(
        self,
        filings: Iterable[FilingFacts],
        clues: Iterable[Clue] = (),
        windows: Iterable[StageWindow] = (),
        *,
        directory: Directory | None = None,
    ) -> None:
        self.filings: tuple[FilingFacts, ...] = tuple(filings)
        self.clues: tuple[Clue, ...] = tuple(clues)
        given = tuple(windows)
        known = {window.case_id for window in given}
        self.windows: tuple[StageWindow, ...] = given + tuple(
            derive_windows(self.filings, known_cases=known)
        )
        self.directory = directory
        self._by_id: dict[str, FilingFacts] | None = None
        self._superseded_by: dict[str, str] | None = None
        self._current: tuple[FilingFacts, ...] | None = None
        self._by_case: dict[str, list[FilingFacts]] | None = None
        self._by_person: dict[str, list[FilingFacts]] | None = None
        self._other_records: dict[str, list[tuple[dt.datetime, RecordFacts]]] | None = None
        self._windows_by_case: dict[str, list[StageWindow]] | None = None
        self._clue_by_id: dict[str, Clue] | None = None

    def __repr__(self) -> str:
        return (
            f"<MatchInput {len(self.filings)} filings, {len(self.clues)} clues, "
            f"{len(self.windows)} windows>"
        )

    # --- filings ---------------------------------------------------------

    def filing(self, filing_id: str) -> FilingFacts | None:
        """Return the filing with this id, or None."""
        if self._by_id is None:
            self._by_id = {facts.filing_id: facts for facts in self.filings}
        return self._by_id.get(filing_id)

    def has_filing(self, filing_id: str) -> bool:
        """Return whether a filing with this id is in the input."""
        return self.filing(filing_id) is not None

    @property
    def superseded_by(self) -> Mapping[str, str]:
        """Map the id of each amended filing to the id of the filing that amends it."""
        if self._superseded_by is None:
            self._superseded_by = {
                facts.supersedes: facts.filing_id
                for facts in self.filings
                if facts.supersedes is not None
            }
        return self._superseded_by

    @property
    def current(self) -> tuple[FilingFacts, ...]:
        """The filings that no other filing of the input amends."""
        if self._current is None:
            amended = self.superseded_by
            self._current = tuple(f for f in self.filings if f.filing_id not in amended)
        return self._current

    def amended_chain(self, facts: FilingFacts) -> list[FilingFacts]:
        """Return the filings that *facts* amends, directly or not, newest first."""
        chain: list[FilingFacts] = []
        seen = {facts.filing_id}
        current = facts
        while current.supersedes is not None and current.supersedes not in seen:
            earlier = self.filing(current.supersedes)
            if earlier is None:
                break
            chain.append(earlier)
            seen.add(earlier.filing_id)
            current = earlier
        return chain

    def _build_groups(self) -> None:
        by_case: dict[str, list[FilingFacts]] = {}
        by_person: dict[str, list[FilingFacts]] = {}
        for facts in self.current:
            if facts.case_id is not None:
                by_case.setdefault(facts.case_id, []).append(facts)
            by_person.setdefault(facts.person_id, []).append(facts)
        for group in by_person.values():
            group.sort(key=_sort_key)
        self._by_case = by_case
        self._by_person = by_person

    def case_filings(self, case_id: str) -> Sequence[FilingFacts]:
        """Return the current stage filings of a case."""
        if self._by_case is None:
            self._build_groups()
        assert self._by_case is not None
        return self._by_case.get(case_id, _EMPTY)

    def stage_filings(self, case_id: str, stage: str, round_: int) -> list[FilingFacts]:
        """Return the current filings of one round of one stage of a case."""
        return [f for f in self.case_filings(case_id) if f.stage == stage and f.round == round_]

    def person_filings(self, person_id: str) -> Sequence[FilingFacts]:
        """Return the current filings of a person, oldest first."""
        if self._by_person is None:
            self._build_groups()
        assert self._by_person is not None
        return self._by_person.get(person_id, _EMPTY)

    def records_outside_stages(
        self, person_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[RecordFacts]:
        """Return a person's records in anytime and monthly filings dated from *start* to *end*."""
        if self._other_records is None:
            grouped: dict[str, list[tuple[dt.datetime, RecordFacts]]] = {}
            for facts in self.current:
                if facts.kind is FilingKind.STAGE:
                    continue
                entries = grouped.setdefault(facts.person_id, [])
                entries.extend((record.occurred_at, record) for record in facts.records)
            for entries in grouped.values():
                entries.sort(key=lambda entry: entry[0])
            self._other_records = grouped
        entries = self._other_records.get(person_id, [])
        low = bisect.bisect_left(entries, start, key=lambda entry: entry[0])
        high = bisect.bisect_right(entries, end, key=lambda entry: entry[0])
        return [record for _, record in entries[low:high]]

    @property
    def people(self) -> Sequence[str]:
        """The ids of everyone with a current filing, sorted."""
        if self._by_person is None:
            self._build_groups()
        assert self._by_person is not None
        return sorted(self._by_person)

    # --- windows ---------------------------------------------------------

    def case_windows(self, case_id: str) -> Sequence[StageWindow]:
        """Return the stage windows of a case, in order of start."""
        if self._windows_by_case is None:
            grouped: dict[str, list[StageWindow]] = {}
            for window in self.windows:
                grouped.setdefault(window.case_id, []).append(window)
            for group in grouped.values():
                group.sort(key=lambda w: (w.start, w.stage, w.round))
            self._windows_by_case = grouped
        return self._windows_by_case.get(case_id, ())

    def window(self, case_id: str, stage: str, round_: int) -> StageWindow | None:
        """Return the window of one round of one stage of a case, or None."""
        for window in self.case_windows(case_id):
            if window.stage == stage and window.round == round_:
                return window
        return None

    def windows_overlapping(
        self, case_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[StageWindow, float]]:
        """Return the windows of a case that overlap a period, with the share of overlap."""
        windows = self.case_windows(case_id)
        # Windows are sorted by start, so none after the period can overlap.
        stop = bisect.bisect_right(windows, end, key=lambda w: w.start)
        found = []
        for window in windows[:stop]:
            share = window.overlap(start, end)
            if share > 0.0:
                found.append((window, share))
        return found

    # --- clues and offices -----------------------------------------------

    def clue(self, clue_id: str) -> Clue | None:
        """Return the clue with this id, or None."""
        if self._clue_by_id is None:
            self._clue_by_id = {clue.clue_id: clue for clue in self.clues}
        return self._clue_by_id.get(clue_id)

    def has_clue(self, clue_id: str) -> bool:
        """Return whether a clue with this id is in the input."""
        return self.clue(clue_id) is not None

    def level_of(self, office_code: str) -> Level | None:
        """Return the level of an office, or None when the directory lists no such office."""
        if self.directory is None or office_code not in self.directory:
            return None
        return self.directory.get(office_code).level
