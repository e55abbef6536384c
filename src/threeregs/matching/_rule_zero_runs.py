"""Built-in rules: long runs of zero reports by a person or an office, against their peers.

Most stage filings are zero reports, so a run of zero reports means little on
its own: with records in 4 % of filings, a run of 50 is ordinary in a year of
filings. These rules therefore ask how likely the longest run of a person or
an office would be if they recorded interventions as often as their peers
do. Let *p* be the peer rate, the share of the peers' stage and monthly
filings that contain a record, *n* the number of filings and *L* the longest
run of zero reports. The expected number of runs of at least *L* is then
``(1 − p)^L × (1 + (n − L) × p)``, and the chance of at least one such run
is ``1 − exp(−expected)`` (the Poisson approximation for runs). A run is
flagged when that chance is at most ``alpha``.

The score is ``0.5 × log(chance) / log(alpha)``, capped at 1: 0.5 at
``alpha`` and 1 at ``alpha²``. Contributions also show the peers' median
run and a robust z-score, ``(run − median) / (1.4826 × MAD)``, for readers
used to comparing with the median.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._errors import ValidationError
from threeregs._i18n import N_
from threeregs.matching._facts import FilingKind
from threeregs.matching._findings import Contribution, Finding
from threeregs.matching._rule import BuiltinRule, format_period

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from threeregs.matching._facts import FilingFacts
    from threeregs.matching._input import MatchInput

# Scales the median absolute deviation to the standard deviation of a normal
# distribution.
_MAD_SCALE: Final = 1.4826
_DAY: Final = 86400.0


@attrs.frozen
class Run:
    """The longest run of consecutive zero reports (the maximum) in a sequence of filings.

    ``total`` and ``with_records`` count the stage and monthly filings of the
    whole sequence.
    """

    length: int
    first: FilingFacts | None
    last: FilingFacts | None
    total: int
    with_records: int

    @property
    def days(self) -> float:
        """Days from the first to the last zero report of the run."""
        if self.first is None or self.last is None:
            return 0.0
        return (self.last.filed_at - self.first.filed_at).total_seconds() / _DAY


def longest_zero_run(filings: Iterable[FilingFacts]) -> Run:
    """Find the longest run of consecutive zero reports among stage and monthly filings.

    *filings* must be in the order they were filed. Anytime records are
    skipped, because they do not meet a duty to file.
    """
    best_length = 0
    best_first: FilingFacts | None = None
    best_last: FilingFacts | None = None
    length, total, with_records = 0, 0, 0
    first: FilingFacts | None = None
    for facts in filings:
        if facts.kind is FilingKind.ANYTIME:
            continue
        total += 1
        if facts.records:
            with_records += 1
            length, first = 0, None
            continue
        length += 1
        if first is None:
            first = facts
        if length > best_length:
            best_length, best_first, best_last = length, first, facts
    return Run(best_length, best_first, best_last, total, with_records)


def run_chance(length: int, total: int, rate: float) -> float:
    """Return the chance of a run of at least *length* zero reports among *total* filings.

    Each filing contains a record with probability *rate*, independently.
    """
    if length <= 0 or rate <= 0.0:
        return 1.0
    if rate >= 1.0:
        return 0.0
    expected = (1.0 - rate) ** length * (1.0 + max(total - length, 0) * rate)
    return -math.expm1(-expected)


def expected_longest_run(total: int, rate: float) -> float:
    """Return the typical longest run of zero reports among *total* filings at *rate*."""
    if rate <= 0.0 or total * rate <= 1.0:
        return float(total)
    if rate >= 1.0:
        return 0.0
    return min(float(total), math.log(total * rate) / -math.log1p(-rate))


@attrs.frozen
class _Group:
    """The filings and runs of one peer group."""

    label: str
    total: int
    with_records: int
    median: float
    scale: float

    @classmethod
    def of(cls, label: str, runs: Sequence[Run]) -> _Group:
        lengths = [run.length for run in runs]
        median = statistics.median(lengths)
        mad = statistics.median(abs(length - median) for length in lengths)
        return cls(
            label,
            sum(run.total for run in runs),
            sum(run.with_records for run in runs),
            median,
            max(_MAD_SCALE * mad, 1.0),
        )

    def rate_without(self, run: Run) -> float:
        """Return the share of the other members' filings that contain a record."""
        total = self.total - run.total
        return (self.with_records - run.with_records) / total if total > 0 else 0.0


def _choose_groups(
    runs: Mapping[str, Run],
    office_of: Mapping[str, str],
    data: MatchInput,
    *,
    min_peers: int,
    by_office: bool,
) -> dict[str, _Group]:
    """Choose each subject's peers: its office, else offices of its level, else everyone."""
    if not runs:
        return {}
    by_level: dict[object, list[Run]] = {}
    by_own_office: dict[str, list[Run]] = {}
    for subject, run in runs.items():
        office = office_of[subject]
        by_level.setdefault(data.level_of(office), []).append(run)
        by_own_office.setdefault(office, []).append(run)
    everyone = _Group.of("all", list(runs.values()))
    level_groups = {
        level: _Group.of(f"level:{getattr(level, 'name', '').lower()}", group)
        for level, group in by_level.items()
        if level is not None and len(group) > min_peers
    }
    office_groups = {
        office: _Group.of(f"office:{office}", group)
        for office, group in by_own_office.items()
        if by_office and len(group) > min_peers
    }
    return {
        subject: office_groups.get(office_of[subject])
        or level_groups.get(data.level_of(office_of[subject]))
        or everyone
        for subject in runs
    }


class _ZeroRunRule(BuiltinRule):
    """Shared settings and scoring of the two zero-run rules."""

    def __init__(self, *, alpha: float = 1e-3, min_run: int = 10, min_peers: int = 5) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValidationError("alpha", alpha, "expected a probability between 0 and 1")
        self.alpha = alpha
        self.min_run = min_run
        self.min_peers = min_peers

    def _findings(
        self,
        runs: Mapping[str, Run],
        groups: Mapping[str, _Group],
        office_of: Mapping[str, str],
        *,
        people: bool,
    ) -> Iterator[Finding]:
        for subject, run in runs.items():
            if run.length < self.min_run or run.first is None or run.last is None:
                continue
            group = groups[subject]
            rate = group.rate_without(run)
            chance = run_chance(run.length, run.total, rate)
            if chance > self.alpha:
                continue
            score = 1.0 if chance <= 0.0 else 0.5 * math.log(chance) / math.log(self.alpha)
            yield self._finding(
                run,
                group,
                rate=rate,
                chance=chance,
                score=min(1.0, score),
                person_id=subject if people else None,
                office_code=office_of[subject],
            )

    def _finding(
        self,
        run: Run,
        group: _Group,
        *,
        rate: float,
        chance: float,
        score: float,
        person_id: str | None,
        office_code: str,
    ) -> Finding:
        assert run.first is not None
        assert run.last is not None
        z = (run.length - group.median) / group.scale
        expected = expected_longest_run(run.total, rate)
        return Finding(
            self.rule_name,
            round(score, 6),
            filing_id=run.last.filing_id,
            person_id=person_id,
            office_code=office_code,
            contributions=(
                Contribution(
                    "run_length",
                    round(min(1.0, score), 6),
                    expected=f"{expected:.0f}",
                    observed=f"{run.length}/{run.total}",
                ),
                Contribution(
                    "peer_rate",
                    round(1.0 - chance, 6),
                    expected=f"{rate:.3f} ({group.label})",
                    observed=f"{run.with_records / run.total:.3f}" if run.total else "",
                ),
                Contribution(
                    "run_chance",
                    round(1.0 - chance, 6),
                    expected=f"{self.alpha:g}",
                    observed=f"{chance:.2g}",
                ),
                Contribution(
                    "robust_z",
                    round(-math.expm1(-max(z, 0.0) / 3.0), 6),
                    expected=f"{group.median:g}",
                    observed=f"{z:.1f}",
                ),
                Contribution(
                    "run_period",
                    1.0,
                    observed=f"{format_period(run.first.filed_at, run.last.filed_at)} "
                    f"({run.days:.0f})",
                ),
            ),
        )


class ZeroRunByPerson(_ZeroRunRule):
    """Flag a person whose longest run of zero reports is unlikely at their peers' rate.

    Peers are the other people of the same office when there are more than
    ``min_peers`` of them, else the people of offices of the same level (when
    the input has a directory), else everyone. Runs shorter than ``min_run``
    filings are never flagged.
    """

    rule_name = "zero_run_person"
    title = N_("Long run of zero reports by a person")

    def find(self, data: MatchInput) -> Iterator[Finding]:
        """Return a finding for each person with an unusually long run of zero reports."""
        runs: dict[str, Run] = {}
        office_of: dict[str, str] = {}
        for person in data.people:
            filings = data.person_filings(person)
            runs[person] = longest_zero_run(filings)
            office_of[person] = filings[-1].office_code
        groups = _choose_groups(runs, office_of, data, min_peers=self.min_peers, by_office=True)
        return self._findings(runs, groups, office_of, people=True)


class ZeroRunByOffice(_ZeroRunRule):
    """Flag an office whose longest run of zero reports is unlikely at its peers' rate.

    An office's filings are those of all its staff, in the order they were
    filed. A larger office files more, so its expected longest run is
    longer, and the chance accounts for that. Peers are the offices of the same level
    when the input has a directory and there are more than ``min_peers`` of
    them, else every office.
    """

    rule_name = "zero_run_office"
    title = N_("Long run of zero reports by an office")

    def find(self, data: MatchInput) -> Iterator[Finding]:
        """Return a finding for each office with an unusually long run of zero reports."""
        by_office: dict[str, list[FilingFacts]] = {}
        for facts in data.current:
            if facts.kind is not FilingKind.ANYTIME:
                by_office.setdefault(facts.office_code, []).append(facts)
        runs: dict[str, Run] = {}
        for office, filings in by_office.items():
            filings.sort(key=lambda f: (f.filed_at, f.filing_id))
            runs[office] = longest_zero_run(filings)
        office_of = {office: office for office in runs}
        groups = _choose_groups(runs, office_of, data, min_peers=self.min_peers, by_office=False)
        return self._findings(runs, groups, office_of, people=False)
