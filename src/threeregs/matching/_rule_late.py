"""Built-in rule: a record filed after the policy's deadline for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threeregs._i18n import N_
from threeregs.matching._findings import Contribution, Finding
from threeregs.matching._rule import BuiltinRule, format_time

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator, Sequence

    from threeregs.matching._facts import FilingFacts, RecordFacts
    from threeregs.matching._input import MatchInput


def _first_filed(
    record: RecordFacts, facts: FilingFacts, chain: Sequence[FilingFacts]
) -> dt.datetime:
    """Return when *record* was first filed, looking through the filings *facts* amends.

    An amendment repeats the records of the filing it amends, and a repeated
    record was filed on time if it first appeared on time.
    """
    first = facts.filed_at
    for earlier in chain:
        for other in earlier.records:
            if (
                other.occurred_at == record.occurred_at
                and other.intervener.name.text == record.intervener.name.text
            ):
                first = min(first, earlier.filed_at)
    return first


class LateFiling(BuiltinRule):
    """Flag each record filed after the deadline the policy sets for it.

    The deadline comes from :meth:`threeregs.policy.Policy.record_deadline`
    when the filings are projected (``RecordFacts.due_at``). The score grows
    with the delay: ``0.5 + 0.5 * overdue / (overdue + allowed)``, where
    *allowed* is the time the policy gives; a record one full allowance late
    scores 0.75.
    """

    rule_name = "late_filing"
    title = N_("Late filing")

    def find(self, data: MatchInput) -> Iterator[Finding]:
        """Return a finding for every late record of the current filings."""
        for facts in data.current:
            if not facts.records:
                continue
            chain = data.amended_chain(facts) if facts.supersedes is not None else []
            for record in facts.records:
                filed = _first_filed(record, facts, chain) if chain else facts.filed_at
                if filed <= record.due_at:
                    continue
                yield self._finding(facts, record, filed)

    def _finding(self, facts: FilingFacts, record: RecordFacts, filed: dt.datetime) -> Finding:
        overdue = (filed - record.due_at).total_seconds()
        allowed = max((record.due_at - record.occurred_at).total_seconds(), 1.0)
        score = 0.5 + 0.5 * overdue / (overdue + allowed)
        days = overdue / 86400
        return Finding(
            self.rule_name,
            round(score, 6),
            filing_id=facts.filing_id,
            person_id=facts.person_id,
            office_code=facts.office_code,
            case_id=facts.case_id,
            intervener=record.intervener.display_name,
            contributions=(
                Contribution(
                    "occurred_at", 1.0, expected="", observed=format_time(record.occurred_at)
                ),
                Contribution(
                    "deadline",
                    round(score, 6),
                    expected=format_time(record.due_at),
                    observed=format_time(filed),
                ),
                Contribution("overdue_days", round(score, 6), observed=f"{days:.1f}"),
            ),
        )
