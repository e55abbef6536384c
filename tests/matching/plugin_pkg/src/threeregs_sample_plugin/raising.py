"""A plugin whose rule raises while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from threeregs.matching.hookspecs import hookimpl

if TYPE_CHECKING:
    from threeregs.matching import MatchingRule, MatchInput


class ExplodingRule:
    name = "sample.exploding"

    def label(self, locale: str) -> str:
        return "exploding"

    def find(self, data: MatchInput) -> NoReturn:
        msg = "the sample rule failed on purpose"
        raise RuntimeError(msg)


@hookimpl
def threeregs_matching_rules() -> list[MatchingRule]:
    return [ExplodingRule()]
