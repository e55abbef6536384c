"""The public names of threeregs.stats."""

from __future__ import annotations

import threeregs.stats

EXPECTED = [
    "CHINA_STANDARD_TIME",
    "Cell",
    "Change",
    "Dimension",
    "ImportSummary",
    "KeyChange",
    "Measure",
    "MonthlyIndexRow",
    "OverdueReturn",
    "Period",
    "ReturnState",
    "ReturnStatus",
    "SignedSummary",
    "StatTable",
    "SummaryCount",
    "SummaryReturn",
    "aggregate_returns",
    "create_stats_tables",
    "drop_stats_tables",
    "import_opened",
    "missing_returns",
    "monthly_return_records",
    "overdue_returns",
    "parse_summary",
    "percent_change",
    "read_monthly_index",
    "share_percent",
    "shares",
    "sign_summary",
    "stat_facts",
    "stat_records",
    "stats_metadata",
    "summarise",
    "summary_table",
    "tabulate",
    "verify_summary",
]


def test_all_pinned() -> None:
    assert threeregs.stats.__all__ == EXPECTED


def test_all_sorted_and_importable() -> None:
    assert sorted(threeregs.stats.__all__) == threeregs.stats.__all__
    for name in threeregs.stats.__all__:
        assert getattr(threeregs.stats, name) is not None, name


def test_importing_stats_does_not_load_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, threeregs.stats, threeregs.cli; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
