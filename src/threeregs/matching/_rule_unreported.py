"""Built-in rule: an intervention that a clue reports but the filings do not."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._errors import ValidationError
from threeregs._i18n import N_
from threeregs.matching._facts import FilingFacts, FilingKind, StageWindow
from threeregs.matching._findings import Contribution, Finding
from threeregs.matching._names import IntervenerKey, IntervenerMatch, intervener_similarity
from threeregs.matching._rule import BuiltinRule, format_period

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from threeregs.matching._clues import Clue
    from threeregs.matching._facts import RecordFacts
    from threeregs.matching._input import MatchInput

_NO_MATCH: Final = IntervenerMatch(name=0.0, unit=None, position=None, overall=0.0)


@attrs.frozen
class _Candidate:
    filing: FilingFacts
    window: StageWindow
    share: float


class UnreportedIntervention(BuiltinRule):
    """Flag a filing that should name an intervener a clue reports, but does not.

    A clue reports that someone intervened in case C at a time, or within a period.
    The stage windows of C place that time in one or more stage rounds, and
    the filings for those rounds are the candidates (only the person the
    clue names, when it names one). The intervention counts as reported when
    a candidate filing, or an anytime or monthly record of the same people
    dated within ``slack`` of the clue's period, names an intervener whose
    overall similarity (:func:`intervener_similarity`) reaches
    ``match_threshold``. Otherwise every candidate gets a finding scored

        share of the clue period inside the window
        × person factor (1 when the clue names the person, else 1/√k for k filers)
        × case factor (1 when the clue names the case, else 1/c for c candidate cases)
        × (1 for a zero report, else min(1, 0.5 × (1 − s) / (1 − match_threshold))
           with s the best similarity among its records)

    and findings below ``min_score`` are left out.
    """

    rule_name = "unreported_intervention"
    title = N_("Unreported intervention")

    def __init__(
        self,
        *,
        match_threshold: float = 0.75,
        min_score: float = 0.2,
        slack: dt.timedelta = dt.timedelta(days=3),
    ) -> None:
        if not 0.0 < match_threshold < 1.0:
            raise ValidationError(
                "match_threshold", match_threshold, "expected a number between 0 and 1"
            )
        self.match_threshold = match_threshold
        self.min_score = min_score
        self.slack = slack

    def _gap(self, similarity: float) -> float:
        # Every intervener below the threshold counts as not reported, so the
        # factor is at least 0.5 there, and 1 when the best match is at most
        # halfway to the threshold.
        return min(1.0, 0.5 * (1.0 - similarity) / (1.0 - self.match_threshold))

    def find(self, data: MatchInput) -> Iterator[Finding]:
        """Return a finding for each candidate filing that leaves out a clue's intervention."""
        for clue in data.clues:
            yield from self._check_clue(clue, data)

    def _candidates(self, clue: Clue, data: MatchInput) -> list[_Candidate]:
        start, end = clue.occurred_from, clue.occurred_to
        found: list[_Candidate] = []
        if clue.case_id is not None:
            for window, share in data.windows_overlapping(clue.case_id, start, end):
                found.extend(
                    _Candidate(facts, window, share)
                    for facts in data.stage_filings(clue.case_id, window.stage, window.round)
                    if clue.person_id is None or facts.person_id == clue.person_id
                )
            return found

        assert clue.person_id is not None
        for facts in data.person_filings(clue.person_id):
            if facts.kind is not FilingKind.STAGE or facts.case_id is None or facts.stage is None:
                continue
            own = data.window(facts.case_id, facts.stage, facts.round)
            share = own.overlap(start, end) if own is not None else 0.0
            if own is not None and share > 0.0:
                found.append(_Candidate(facts, own, share))
        return found

    def _other_records(
        self, clue: Clue, people: Iterable[str], data: MatchInput
    ) -> Iterator[IntervenerKey]:
        """Yield the interveners of anytime and monthly records dated near the clue."""
        low, high = clue.occurred_from - self.slack, clue.occurred_to + self.slack
        for person in people:
            for record in data.records_outside_stages(person, low, high):
                yield record.intervener

    def _check_clue(self, clue: Clue, data: MatchInput) -> Iterator[Finding]:
        candidates = self._candidates(clue, data)
        if not candidates:
            return
        people = sorted({c.filing.person_id for c in candidates})
        target = clue.intervener.key if clue.intervener is not None else None

        if target is not None:
            reported = [r.intervener for c in candidates for r in c.filing.records]
            reported.extend(self._other_records(clue, people, data))
            if any(
                intervener_similarity(target, other).overall >= self.match_threshold
                for other in reported
            ):
                return

        person_factor = 1.0 if clue.person_id is not None else 1.0 / math.sqrt(len(people))
        cases = {c.filing.case_id for c in candidates}
        case_factor = 1.0 if clue.case_id is not None else 1.0 / len(cases)
        for candidate in candidates:
            finding = self._finding(clue, candidate, target, person_factor, case_factor)
            if finding is not None:
                yield finding

    def _finding(
        self,
        clue: Clue,
        candidate: _Candidate,
        target: IntervenerKey | None,
        person_factor: float,
        case_factor: float,
    ) -> Finding | None:
        facts = candidate.filing
        if target is None and not facts.is_zero:
            # Without an intervener to look for, any record in the window will do.
            return None
        best, best_key = (
            _best_match(target, facts.records) if target is not None else (_NO_MATCH, None)
        )
        gap = 1.0 if facts.is_zero else self._gap(best.overall)
        score = candidate.share * person_factor * case_factor * gap
        if score < self.min_score:
            return None

        contributions = _contributions(
            clue,
            candidate,
            target,
            best=best,
            best_key=best_key,
            person_factor=person_factor,
            case_factor=case_factor,
        )
        return Finding(
            self.rule_name,
            round(min(1.0, score), 6),
            filing_id=facts.filing_id,
            clue_id=clue.clue_id,
            person_id=facts.person_id,
            office_code=facts.office_code,
            case_id=facts.case_id,
            intervener=target.display_name if target is not None else None,
            contributions=contributions,
        )


def _best_match(
    target: IntervenerKey, records: Sequence[RecordFacts]
) -> tuple[IntervenerMatch, IntervenerKey | None]:
    best, best_key = _NO_MATCH, None
    for record in records:
        key = record.intervener
        match = intervener_similarity(target, key)
        if match.overall > best.overall:
            best, best_key = match, key
    return best, best_key


def _contributions(
    clue: Clue,
    candidate: _Candidate,
    target: IntervenerKey | None,
    *,
    best: IntervenerMatch,
    best_key: IntervenerKey | None,
    person_factor: float,
    case_factor: float,
) -> tuple[Contribution, ...]:
    facts, window = candidate.filing, candidate.window
    rows: list[Contribution] = []
    if facts.is_zero:
        rows.append(Contribution("zero_report", 1.0))
    if target is not None:
        observed = best_key.display_name if best_key is not None else ""
        rows.append(
            Contribution(
                "intervener_name", 1.0 - best.name, expected=target.display_name, observed=observed
            )
        )
        if best.unit is not None and best_key is not None:
            rows.append(
                Contribution(
                    "intervener_unit", 1.0 - best.unit, expected=target.unit, observed=best_key.unit
                )
            )
        if best.position is not None and best_key is not None:
            rows.append(
                Contribution(
                    "intervener_position",
                    1.0 - best.position,
                    expected=target.position,
                    observed=best_key.position,
                )
            )
    rows.append(
        Contribution(
            "time",
            round(candidate.share, 6),
            expected=format_period(clue.occurred_from, clue.occurred_to),
            observed=f"{window.stage} #{window.round} {format_period(window.start, window.end)}",
        )
    )
    if window.derived:
        # The window was estimated from the filings because the host's visits were not given.
        rows.append(Contribution("window_estimated", 1.0))
    rows.append(
        Contribution(
            "person",
            round(person_factor, 6),
            expected=clue.person_id or "",
            observed=facts.person_id,
        )
    )
    if clue.case_id is None:
        rows.append(
            Contribution("case", round(case_factor, 6), expected="", observed=facts.case_id or "")
        )
    return tuple(rows)
