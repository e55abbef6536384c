"""A sample matching-rule plugin: people named by several clues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from threeregs.matching import Contribution, Finding
from threeregs.matching.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Iterator

    from threeregs.matching import MatchingRule, MatchInput

_LABELS = {"zh_CN": "多条线索涉及同一人员", "en": "Person named by several clues"}


class RepeatedClues:
    """Flag a person named by at least ``min_clues`` clues."""

    name = "sample.repeated_clues"

    def __init__(self, min_clues: int = 2) -> None:
        self.min_clues = min_clues

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def find(self, data: MatchInput) -> Iterator[Finding]:
        named: dict[str, list[str]] = {}
        for clue in data.clues:
            if clue.person_id is not None:
                named.setdefault(clue.person_id, []).append(clue.clue_id)
        for person, clue_ids in sorted(named.items()):
            if len(clue_ids) < self.min_clues:
                continue
            filings = data.person_filings(person)
            yield Finding(
                self.name,
                1.0 - 0.5 ** (len(clue_ids) - self.min_clues + 1),
                filing_id=filings[-1].filing_id if filings else None,
                clue_id=min(clue_ids),
                person_id=person,
                contributions=(Contribution("clue_count", 1.0, observed=str(len(clue_ids))),),
            )


@hookimpl
def threeregs_matching_rules() -> list[MatchingRule]:
    return [RepeatedClues()]
