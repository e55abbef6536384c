"""The public names of the matching subsystem."""

from __future__ import annotations

import threeregs.matching
import threeregs.matching.conformance
import threeregs.matching.hookspecs


def test_matching_exports():
    assert threeregs.matching.__all__ == [
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
    for name in threeregs.matching.__all__:
        assert hasattr(threeregs.matching, name), name


def test_hookspecs_exports():
    assert threeregs.matching.hookspecs.__all__ == [
        "PROJECT_NAME",
        "hookimpl",
        "hookspec",
        "threeregs_matching_rules",
    ]
    assert threeregs.matching.hookspecs.PROJECT_NAME == "threeregs"


def test_conformance_exports():
    assert threeregs.matching.conformance.__all__ == ["check_plugin", "check_rule", "sample_input"]
