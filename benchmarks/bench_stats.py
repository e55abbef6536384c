"""Benchmark the statistics queries over a national year, and the memory of a streaming import.

Run it from the repository root, with a PostgreSQL server for the first part::

    python benchmarks/bench_stats.py [--db URL] [--filings N] [--memory-sizes 100000,1000000]

Part 1, queries. Bulk-loads N synthetic opened filings (default 3.5 M, a
national year) into the statistics tables with ``COPY``. Their filers are
spread over the 3,216 offices of the shipped directory. About 96 % are zero
reports, and there are about 150 k intervention records and 4 k direct
reports. The load is timed on its own. Then it times every table that ``threeregs stats`` can print
(records, filings and zero reports by level per quarter; records by office,
provision, conduct category, bucket and intervener; direct reports) and a
summary return of one office, each against a hand-written ``GROUP BY`` of
the same rows run through the same connection. The design target is the
whole set in at most 10 s.

Part 2, memory. For each size in ``--memory-sizes`` a fresh Python process
builds that many ``Filing`` values one at a time, streams them through
``import_opened`` and tabulates them, then reports its peak RSS. The design
target is a peak RSS growth of at most 10 % from 100 k to 1 M filings.

The statistics tables are dropped and created again in the schema
``threeregs_bench`` of the database at the URL, so that a test run on the
same database (the default URL is the test database of the project's CI)
and the benchmark do not drop each other's tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threeregs import Filer, Filing, Intervener, MonthlyObligation, Record, StageObligation
from threeregs._vocabulary import BUCKETS_BY_CONDUCT, CONDUCT_BY_PROVISION, Provision
from threeregs.routing import Directory, Level
from threeregs.stats import (
    Dimension,
    Measure,
    Period,
    create_stats_tables,
    drop_stats_tables,
    import_opened,
    stat_facts,
    stat_records,
    summarise,
    tabulate,
)
from threeregs.stats._periods import CHINA_STANDARD_TIME

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "threeregs_bench"
TARGET_SECONDS = 10.0
TARGET_MEMORY_GROWTH = 0.10
YEAR = 2021
# Shares of the synthetic year, close to the published picture.
RECORD_SHARE = 0.04
DIRECT_SHARE = 0.0012
SEED = 20210101
FACT_COLUMNS = [column.name for column in stat_facts.columns]
RECORD_COLUMNS = [column.name for column in stat_records.columns]


def _categories() -> list[tuple[str, str, str]]:
    combos = []
    for provision in Provision:
        for conduct in sorted(CONDUCT_BY_PROVISION[provision]):
            combos.extend(
                (provision.value, conduct.value, bucket.value)
                for bucket in sorted(BUCKETS_BY_CONDUCT[conduct])
            )
    return combos


def synthetic_rows(count: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Yield ``(fact row, record rows)`` for *count* filings of one year."""
    rng = random.Random(SEED)
    offices = list(Directory.national())
    chains = {office.code: Directory.national().chain(office.code) for office in offices}
    categories = _categories()
    start = dt.datetime(YEAR, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    for index in range(count):
        office = rng.choice(offices)
        filed_at = start + dt.timedelta(seconds=rng.randrange(365 * 86_400))
        local = filed_at.astimezone(CHINA_STANDARD_TIME)
        roll = rng.random()
        records = 0
        direct_to = None
        kind = "stage"
        recipient = office.code
        if roll < DIRECT_SHARE and office.level is not Level.SUPREME:
            above = chains[office.code][1:]
            target = rng.choice(above)
            direct_to, recipient, kind, records = int(target.level), target.code, "anytime", 1
        elif roll < RECORD_SHARE:
            records = 1 if rng.random() < 0.9 else rng.randint(2, 4)
        elif roll < RECORD_SHARE + 0.08:
            kind = "monthly"
        filing_id = f"{index:032x}"
        fact = (
            filing_id,
            office.code,
            int(office.level),
            f"p{index % 200_000}",
            recipient,
            kind,
            records == 0,
            records,
            direct_to,
            None,
            False,
            filed_at.astimezone(dt.UTC).replace(tzinfo=None),
            local.year,
            (local.month - 1) // 3 + 1,
            local.month,
            local.year * 100 + local.month,
        )
        rows = []
        for position in range(records):
            provision, conduct, bucket = rng.choice(categories)
            rows.append(
                (
                    filing_id,
                    position,
                    provision,
                    conduct,
                    bucket,
                    "lawyer",
                    "phone",
                    rng.random() < 0.1,
                    False,
                    filed_at.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1),
                    # The filing's columns that record rows repeat.
                    *fact[2:3],
                    recipient,
                    kind,
                    False,
                    *fact[12:],
                )
            )
        yield fact, rows


def bench_engine(url: str) -> sa.Engine:
    """Return an engine whose connections work in the benchmark's own schema."""
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    return sa.create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})


def load(engine: sa.Engine, count: int) -> dict[str, float]:
    """Recreate the statistics tables and COPY *count* synthetic filings into them."""
    drop_stats_tables(engine)
    create_stats_tables(engine)
    started = time.perf_counter()
    facts = records = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        fact_copy = f"COPY {stat_facts.name} ({', '.join(FACT_COLUMNS)}) FROM STDIN"
        pending: list[tuple[Any, ...]] = []
        with cursor.copy(fact_copy) as copy:  # type: ignore[attr-defined]
            for fact, rows in synthetic_rows(count):
                copy.write_row(fact)
                pending.extend(rows)
                facts += 1
        record_copy = f"COPY {stat_records.name} ({', '.join(RECORD_COLUMNS)}) FROM STDIN"
        with cursor.copy(record_copy) as copy:  # type: ignore[attr-defined]
            for row in pending:
                copy.write_row(row)
                records += 1
        raw.commit()
    finally:
        raw.close()
    loaded = time.perf_counter() - started
    with engine.connect() as conn:
        conn.execute(sa.text(f"ANALYZE {stat_facts.name}"))
        conn.execute(sa.text(f"ANALYZE {stat_records.name}"))
        conn.commit()
    return {"filings": facts, "records": records, "load_seconds": loaded}


def _best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


RAW_FACTS = (
    "SELECT year, quarter, level, {value} FROM threeregs_stat_facts "
    "WHERE superseded IS false {extra} GROUP BY year, quarter, level"
)
RAW_RECORDS = (
    "SELECT year, quarter, {column}, count(*) FROM threeregs_stat_records "
    "WHERE superseded IS false AND kind <> 'monthly' GROUP BY year, quarter, {column}"
)


def queries(engine: sa.Engine) -> list[dict[str, Any]]:
    """Time every table of ``threeregs stats`` against a hand-written GROUP BY."""
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "records by level",
            {"by": Dimension.LEVEL},
            RAW_FACTS.format(value="sum(record_count)", extra="AND kind <> 'monthly'"),
        ),
        (
            "filings by level",
            {"by": Dimension.LEVEL, "measure": Measure.FILINGS},
            RAW_FACTS.format(value="count(*)", extra=""),
        ),
        (
            "zero reports by level",
            {"by": Dimension.LEVEL, "measure": Measure.ZERO_REPORTS},
            RAW_FACTS.format(value="count(*)", extra="AND is_zero"),
        ),
        (
            "records by office",
            {"by": Dimension.OFFICE},
            "SELECT year, quarter, office_code, sum(record_count) FROM threeregs_stat_facts "
            "WHERE superseded IS false AND kind <> 'monthly' GROUP BY year, quarter, office_code",
        ),
        (
            "direct reports",
            {"by": Dimension.DIRECT},
            "SELECT year, quarter, direct_to, count(*) FROM threeregs_stat_facts "
            "WHERE superseded IS false AND direct_to IS NOT NULL GROUP BY year, quarter, direct_to",
        ),
        (
            "records by provision",
            {"by": Dimension.PROVISION},
            RAW_RECORDS.format(column="provision"),
        ),
        ("records by conduct", {"by": Dimension.CONDUCT}, RAW_RECORDS.format(column="conduct")),
        ("records by bucket", {"by": Dimension.BUCKET}, RAW_RECORDS.format(column="bucket")),
        (
            "records by intervener",
            {"by": Dimension.STAFF},
            RAW_RECORDS.format(column="procuratorate_staff"),
        ),
    ]
    results = []
    with engine.connect() as conn:
        for name, options, raw in cases:
            library = _best(lambda options=options: tabulate(conn, **options))
            hand = _best(lambda raw=raw: conn.execute(sa.text(raw)).all())
            results.append({"query": name, "library_s": library, "raw_s": hand})
        busiest = conn.execute(
            sa.text(
                "SELECT recipient_code FROM threeregs_stat_facts GROUP BY recipient_code "
                "ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        directory = Directory.national()
        seconds = _best(lambda: summarise(conn, busiest, f"{YEAR}", directory=directory))
        results.append(
            {"query": f"summary return of {busiest}", "library_s": seconds, "raw_s": None}
        )
    return results


# --- memory ----------------------------------------------------------------


def _filings(count: int) -> Iterator[Filing]:
    rng = random.Random(SEED)
    basic = [office.code for office in Directory.national().by_level(Level.BASIC)]
    record = Record(
        "P2",
        "inquiry",
        "routine_inquiry",
        Intervener("某", "某院", "", "internal_personnel", procuratorate_staff=True),
        dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC),
        "phone",
        "询问进展",
    )
    start = dt.datetime(YEAR, 1, 2, tzinfo=dt.UTC)
    for index in range(count):
        filer = Filer(f"p{index % 50_000}", rng.choice(basic), "prosecutor")
        filed_at = start + dt.timedelta(seconds=index % (360 * 86_400))
        if index % 25 == 0:
            yield Filing(filer, None, records=(record,), filed_at=filed_at)
        elif index % 12 == 0:
            yield Filing.zero(
                filer, MonthlyObligation(f"{YEAR}-{filed_at.month:02d}"), filed_at=filed_at
            )
        else:
            yield Filing.zero(filer, StageObligation(f"C-{index}", "accept"), filed_at=filed_at)


def memory_child(url: str, count: int) -> None:
    """Import *count* filings and tabulate them in this process; print peak RSS as JSON."""
    engine = bench_engine(url)
    drop_stats_tables(engine)
    create_stats_tables(engine)
    directory = Directory.national()
    started = time.perf_counter()
    with engine.begin() as conn:
        summary = import_opened(conn, _filings(count), directory)
    imported = time.perf_counter() - started
    with engine.connect() as conn:
        table = tabulate(conn, Dimension.LEVEL, period=Period.MONTH, measure=Measure.FILINGS)
    assert sum(cell.count for cell in table.cells) == count
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "filings": summary.imported,
                "import_seconds": imported,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


def memory(url: str, sizes: list[int]) -> list[dict[str, Any]]:
    """Run :func:`memory_child` in a fresh process for each size."""
    results = []
    for size in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--db", url, "--memory-child", str(size)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("THREEREGS_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--filings", type=int, default=3_500_000)
    parser.add_argument("--memory-sizes", default="100000,1000000")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    arguments = parser.parse_args()

    if arguments.memory_child is not None:
        memory_child(arguments.db, arguments.memory_child)
        return

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    if not arguments.db.startswith("postgresql"):
        parser.error("the benchmark needs PostgreSQL, because it loads with COPY")
    engine = bench_engine(arguments.db)
    version = engine.connect().execute(sa.text("SHOW server_version")).scalar_one()
    print(f"database: PostgreSQL {version}")

    if not arguments.skip_queries:
        loaded = load(engine, arguments.filings)
        print(
            f"load: {loaded['filings']:,} filings and {loaded['records']:,} records "
            f"by COPY in {loaded['load_seconds']:.1f} s"
        )
        results = queries(engine)
        total = sum(item["library_s"] for item in results)
        for item in results:
            raw = item["raw_s"]
            ratio = f"{item['library_s'] / raw:.2f}x" if raw else "-"
            raw_text = f"{raw:.3f} s" if raw else "-"
            print(f"  {item['query']:<32} {item['library_s']:.3f} s   raw {raw_text:>9}   {ratio}")
        verdict = "met" if total <= TARGET_SECONDS else "MISSED"
        print(f"all tables: {total:.2f} s (target {TARGET_SECONDS:.0f} s: {verdict})")

    if not arguments.skip_memory:
        sizes = [int(size) for size in arguments.memory_sizes.split(",")]
        runs = memory(arguments.db, sizes)
        for run in runs:
            print(
                f"memory: {run['filings']:,} filings imported in {run['import_seconds']:.1f} s, "
                f"peak RSS {run['peak_rss_mib']:.1f} MiB"
            )
        if len(runs) >= 2:
            growth = runs[-1]["peak_rss_mib"] / runs[0]["peak_rss_mib"] - 1
            verdict = "met" if growth <= TARGET_MEMORY_GROWTH else "MISSED"
            print(f"peak RSS growth: {growth:+.1%} (target +{TARGET_MEMORY_GROWTH:.0%}: {verdict})")


if __name__ == "__main__":
    main()
