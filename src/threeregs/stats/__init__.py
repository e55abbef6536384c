"""Statistics on the inspection side: counts, shares, summary and monthly returns.

Counts by provision, category, bucket, zero report or route exist only after
a filing is opened, so they are kept in an inspection-side database that the
inspection department controls, never in the host database. The flow:

1. :func:`create_stats_tables` on the inspection-side engine;
2. :func:`import_opened` with the items of :meth:`threeregs.Inbox.open_all`;
3. :func:`tabulate` for tables by level, office, provision, conduct category,
   statistical bucket, procuratorate staff or not, and direct reports;
4. :func:`summarise`, :func:`aggregate_returns` and :func:`sign_summary` to
   send counts up the hierarchy of offices.
"""

from __future__ import annotations

from threeregs.stats._arithmetic import percent_change, share_percent, shares
from threeregs.stats._import import ImportSummary, import_opened
from threeregs.stats._monthly import (
    MonthlyIndexRow,
    OverdueReturn,
    ReturnState,
    monthly_return_records,
    overdue_returns,
    read_monthly_index,
)
from threeregs.stats._periods import CHINA_STANDARD_TIME, Period
from threeregs.stats._query import (
    Cell,
    Change,
    Dimension,
    KeyChange,
    Measure,
    StatTable,
    tabulate,
)
from threeregs.stats._summary import (
    ReturnStatus,
    SignedSummary,
    SummaryCount,
    SummaryReturn,
    aggregate_returns,
    missing_returns,
    parse_summary,
    sign_summary,
    summarise,
    summary_table,
    verify_summary,
)
from threeregs.stats._tables import (
    create_stats_tables,
    drop_stats_tables,
    stat_facts,
    stat_records,
    stats_metadata,
)

__all__ = [
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
