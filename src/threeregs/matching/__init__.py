"""Cross-checking opened filings with clues to find untruthful, late or selective filing.

An inspection department opens the filings addressed to it, projects them to
:class:`FilingFacts`, reads clues (:func:`read_clues`, :func:`clue_from_event`)
and stage windows (:func:`stage_windows`), and runs the matching rules of a
:class:`RuleRegistry` on a :class:`MatchInput`. Rules come from plugins:
the built-in ones and any installed in the entry-point group ``threeregs``
(hook specifications in :mod:`threeregs.matching.hookspecs`).
"""

from threeregs.matching._builtin import builtin_rules
from threeregs.matching._clue_import import (
    CHINA_STANDARD_TIME,
    parse_clues_csv,
    parse_clues_json,
    parse_clues_jsonl,
    read_clues,
)
from threeregs.matching._clues import Clue, ImportResult, IntervenerDetails, RejectedRow
from threeregs.matching._events import SystemEvent, clue_from_event, clues_from_events
from threeregs.matching._facts import (
    FilingFacts,
    FilingKind,
    RecordFacts,
    StageWindow,
    derive_windows,
    facts_from_filing,
    facts_from_filings,
    stage_windows,
)
from threeregs.matching._files import iter_filing_facts, read_filing_facts, read_windows_csv
from threeregs.matching._findings import (
    Contribution,
    Finding,
    MatchResult,
    Phase,
    PluginProblem,
)
from threeregs.matching._input import MatchInput
from threeregs.matching._kinds import ClueSource, EventKind, kind_label
from threeregs.matching._names import (
    COMPOUND_SURNAMES,
    IntervenerKey,
    IntervenerMatch,
    NameKey,
    fold_text,
    intervener_key,
    intervener_similarity,
    name_key,
    name_similarity,
    normalise_position,
    normalise_unit,
    split_surname,
)
from threeregs.matching._output import (
    field_label,
    render_table,
    result_to_dict,
    write_csv,
    write_json,
)
from threeregs.matching._registry import ENTRY_POINT_GROUP, RuleRegistry, run_rules
from threeregs.matching._rule import MatchingRule
from threeregs.matching._rule_late import LateFiling
from threeregs.matching._rule_recurring import RecurringIntervener
from threeregs.matching._rule_unreported import UnreportedIntervention
from threeregs.matching._rule_zero_runs import ZeroRunByOffice, ZeroRunByPerson

__all__ = [
    "CHINA_STANDARD_TIME",
    "COMPOUND_SURNAMES",
    "ENTRY_POINT_GROUP",
    "Clue",
    "ClueSource",
    "Contribution",
    "EventKind",
    "FilingFacts",
    "FilingKind",
    "Finding",
    "ImportResult",
    "IntervenerDetails",
    "IntervenerKey",
    "IntervenerMatch",
    "LateFiling",
    "MatchInput",
    "MatchResult",
    "MatchingRule",
    "NameKey",
    "Phase",
    "PluginProblem",
    "RecordFacts",
    "RecurringIntervener",
    "RejectedRow",
    "RuleRegistry",
    "StageWindow",
    "SystemEvent",
    "UnreportedIntervention",
    "ZeroRunByOffice",
    "ZeroRunByPerson",
    "builtin_rules",
    "clue_from_event",
    "clues_from_events",
    "derive_windows",
    "facts_from_filing",
    "facts_from_filings",
    "field_label",
    "fold_text",
    "intervener_key",
    "intervener_similarity",
    "iter_filing_facts",
    "kind_label",
    "name_key",
    "name_similarity",
    "normalise_position",
    "normalise_unit",
    "parse_clues_csv",
    "parse_clues_json",
    "parse_clues_jsonl",
    "read_clues",
    "read_filing_facts",
    "read_windows_csv",
    "render_table",
    "result_to_dict",
    "run_rules",
    "split_surname",
    "stage_windows",
    "write_csv",
    "write_json",
]
