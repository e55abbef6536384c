"""Built-in rule: an intervener who recurs across cases or filers."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Final

import attrs

from threeregs._i18n import N_
from threeregs._vocabulary import IntervenerRole
from threeregs.matching._findings import Contribution, Finding
from threeregs.matching._names import IntervenerKey, intervener_similarity
from threeregs.matching._rule import BuiltinRule

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator, Sequence

    from threeregs.matching._input import MatchInput

#: At most this many names are listed in a contribution.
_LISTED: Final = 5


@attrs.frozen
class _Mention:
    """One place an intervener is named: a record of a filing, or a clue."""

    key: IntervenerKey
    case_id: str | None
    person_id: str | None
    filing_id: str | None
    clue_id: str | None
    when: dt.datetime


class _Clusters:
    """Union-find over the distinct interveners of one block."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


class RecurringIntervener(BuiltinRule):
    """Flag an intervener named in records or clues of many cases, or by many filers.

    Mentions are blocked by the pinyin key of the name, so only names that
    sound alike are compared. Within a block, distinct interveners whose
    overall similarity reaches ``match_threshold`` are taken to be one
    person. An intervener is flagged when named in at least ``min_cases``
    cases or by at least ``min_filers`` people. The score is
    ``1 − 0.5 ** (e + 1)``, where *e* is the larger excess over those
    thresholds.

    Records whose intervener has a role in ``ignore_roles`` are skipped: by
    default lawyers, who meet prosecutors on many cases in the ordinary
    course of their work.
    """

    rule_name = "recurring_intervener"
    title = N_("Recurring intervener")

    def __init__(
        self,
        *,
        min_cases: int = 3,
        min_filers: int = 3,
        match_threshold: float = 0.8,
        ignore_roles: frozenset[IntervenerRole] = frozenset({IntervenerRole.LAWYER}),
        max_block: int = 200,
    ) -> None:
        self.min_cases = min_cases
        self.min_filers = min_filers
        self.match_threshold = match_threshold
        self.ignore_roles = ignore_roles
        self.max_block = max_block

    def _mentions(self, data: MatchInput) -> dict[str, list[_Mention]]:
        blocks: dict[str, list[_Mention]] = {}
        for facts in data.current:
            for record in facts.records:
                if record.role in self.ignore_roles or not record.intervener.name.pinyin:
                    continue
                mention = _Mention(
                    record.intervener,
                    facts.case_id,
                    facts.person_id,
                    facts.filing_id,
                    None,
                    facts.filed_at,
                )
                blocks.setdefault(record.intervener.name.pinyin, []).append(mention)
        for clue in data.clues:
            if clue.intervener is None:
                continue
            key = clue.intervener.key
            if not key.name.pinyin:
                continue
            mention = _Mention(
                key, clue.case_id, clue.person_id, None, clue.clue_id, clue.occurred_from
            )
            blocks.setdefault(key.name.pinyin, []).append(mention)
        return blocks

    def find(self, data: MatchInput) -> Iterator[Finding]:
        """Return a finding for each intervener who recurs across cases or filers."""
        for _pinyin, mentions in sorted(self._mentions(data).items()):
            for cluster in self._cluster(mentions):
                finding = self._finding(cluster)
                if finding is not None:
                    yield finding

    def _cluster(self, mentions: Sequence[_Mention]) -> list[list[_Mention]]:
        """Group the mentions of one block into interveners taken to be one person."""
        distinct: dict[tuple[str, str, str], list[_Mention]] = {}
        for mention in mentions:
            name = mention.key
            distinct.setdefault((name.name.text, name.unit, name.position), []).append(mention)
        keys = sorted(distinct)
        clusters = _Clusters(len(keys))
        if len(keys) <= self.max_block:
            for i in range(len(keys)):
                for j in range(i + 1, len(keys)):
                    first, second = distinct[keys[i]][0].key, distinct[keys[j]][0].key
                    if intervener_similarity(first, second).overall >= self.match_threshold:
                        clusters.union(i, j)
        else:
            # NOTE: a block this large (a very common name) is only merged on
            # equal name and unit, so spelling variants of it are not joined.
            for i in range(1, len(keys)):
                if keys[i][:2] == keys[i - 1][:2]:
                    clusters.union(i - 1, i)

        grouped: dict[int, list[_Mention]] = {}
        for index, key in enumerate(keys):
            grouped.setdefault(clusters.find(index), []).extend(distinct[key])
        return [grouped[root] for root in sorted(grouped)]

    def _finding(self, cluster: Sequence[_Mention]) -> Finding | None:
        cases = sorted({m.case_id for m in cluster if m.case_id is not None})
        filers = sorted({m.person_id for m in cluster if m.person_id is not None})
        if len(cases) < self.min_cases and len(filers) < self.min_filers:
            return None

        excess = max(len(cases) - self.min_cases, len(filers) - self.min_filers, 0)
        score = 1.0 - 0.5 ** (excess + 1)
        names = Counter(m.key.display_name for m in cluster)
        display = min(names, key=lambda name: (-names[name], name))
        units = sorted({m.key.unit for m in cluster if m.key.unit})
        in_filings = [m for m in cluster if m.filing_id is not None]
        latest = max(in_filings, key=lambda m: (m.when, m.filing_id or "")) if in_filings else None
        clue_ids = sorted(m.clue_id for m in cluster if m.clue_id is not None)
        return Finding(
            self.rule_name,
            round(score, 6),
            filing_id=latest.filing_id if latest is not None else None,
            clue_id=clue_ids[0] if clue_ids else None,
            intervener=display,
            contributions=(
                Contribution(
                    "distinct_cases",
                    round(min(1.0, len(cases) / (2 * self.min_cases)), 6),
                    expected=f"< {self.min_cases}",
                    observed=str(len(cases)),
                ),
                Contribution(
                    "distinct_filers",
                    round(min(1.0, len(filers) / (2 * self.min_filers)), 6),
                    expected=f"< {self.min_filers}",
                    observed=str(len(filers)),
                ),
                Contribution(
                    "name_variants",
                    1.0 / len(names),
                    observed=", ".join(sorted(names)[:_LISTED]),
                ),
                Contribution("intervener_unit", 1.0, observed=", ".join(units[:_LISTED])),
                Contribution("record_mentions", 1.0, observed=str(len(in_filings))),
                Contribution("clue_mentions", 1.0, observed=str(len(clue_ids))),
            ),
        )
