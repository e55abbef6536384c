"""Benchmark the stage gate's check, advance and file against hand-written work.

Run it from the repository root::

    python benchmarks/bench_gate.py [--url URL] [--cases N] [--repeats R]

The database defaults to an SQLite file in a temporary directory. A server
URL (PostgreSQL, MariaDB) is used as it is, and its threeregs tables are
dropped and created first, so point it at a database kept for benchmarks.

Each operation is timed next to the work it cannot avoid, in the same
connection and the same repeat, and the table shows the ratio of the two
medians. Every repeat runs N calls on N prepared cases in one transaction and
rolls it back, so every repeat starts from the same rows.

- check: ``StageGate.check`` on a case with three people assigned and one
  filing, against the same SELECT written as SQL text (the join of case,
  assignments and stage filings with the count of earlier visits), fetching
  the same rows. Target: 1 statement and at most 1.5 times the SELECT.
- advance: ``StageGate.advance`` of a case whose filings are complete,
  against its four statements written as SQL text: the same SELECT, the
  INSERT of the decision, the conditional UPDATE of the case and the INSERT
  of the new visit. Target: at most 4 statements.
- file: ``StageGate.file`` of a zero report for a stage, from an office with
  a chain of four offices. The raw work is 4 HPKE encryptions of a 32-byte
  key, 1 AES-256-GCM encryption of the 8 KiB padded payload and 1 INSERT of
  an envelope of the same size as SQL text. Target: at most 4 statements and
  at most 1.5 times the raw work. The gate remembers the office keys it read
  for an earlier filing, so after the untimed warm-up round it seals without
  reading them. The row "keys read" times the same filing through a new gate
  for every call, which reads the keys first. Monthly returns and anytime
  records are timed and their statements counted as well.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event;
BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import statistics
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cryptography
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Manner,
    MonthlyObligation,
    Provision,
    Record,
    StaffKind,
    StageGate,
    StageObligation,
)
from threeregs.crypto import SIZE_CLASSES, AnchorSigner, OfficeKeyPair, Suite
from threeregs.routing import Directory, Level, Office
from threeregs.store import _tables as t
from threeregs.store import (
    add_office_key,
    create_tables,
    drop_tables,
    save_directory,
    use_immediate_transactions,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

OFFICES = (
    ("000000", "最高人民检察院", Level.SUPREME, None),
    ("330000", "浙江省人民检察院", Level.PROVINCIAL, "000000"),
    ("330100", "杭州市人民检察院", Level.MUNICIPAL, "330000"),
    ("330106", "杭州市西湖区人民检察院", Level.BASIC, "330100"),
)
OFFICE = "330106"
PEOPLE = (("p1", "handler"), ("p2", "co_handler"), ("p3", "clerk"))
TARGET_RATIO = 1.5
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)

CHECK_SQL = """
SELECT c.case_id, c.business_line, c.office_code, c.stage, c.round, c.visit, c.closed,
       c.version, a.person_id, a.role, s.person_id AS filed,
       (SELECT count(*) FROM threeregs_visits v
        WHERE v.case_id = c.case_id AND v.stage = :to_stage) AS prior_visits
FROM threeregs_cases c
LEFT OUTER JOIN threeregs_assignments a
  ON a.case_id = c.case_id AND a.from_visit <= c.visit
 AND (a.to_visit IS NULL OR a.to_visit >= c.visit)
LEFT OUTER JOIN threeregs_stage_filings s
  ON s.case_id = c.case_id AND s.visit = c.visit AND s.person_id = a.person_id
WHERE c.case_id = :case_id
"""
DECISION_SQL = """
INSERT INTO threeregs_decisions (case_id, from_stage, from_round, to_stage, allowed,
    blockers, inputs, policy_version, policy_hash, decided_at)
VALUES (:case_id, :from_stage, :from_round, :to_stage, :allowed, :blockers, :inputs,
    :policy_version, :policy_hash, :at)
"""
MOVE_SQL = """
UPDATE threeregs_cases SET stage = :to_stage, round = 1, visit = visit + 1,
    version = version + 1
WHERE case_id = :case_id AND version = :version
"""
VISIT_SQL = """
INSERT INTO threeregs_visits (case_id, visit, stage, round, entered_at)
VALUES (:case_id, :visit, :to_stage, 1, :at)
"""
ENVELOPE_SQL = """
INSERT INTO threeregs_envelopes (filing_id, digest, received_at,
    slot0_office, slot1_office, slot2_office, slot3_office,
    slot0_version, slot1_version, slot2_version, slot3_version, envelope)
VALUES (:filing_id, :digest, :at, '330106', '330100', '330000', '000000', 1, 1, 1, 1, :envelope)
"""


def timed_text(sql: str, *names: str) -> sa.TextClause:
    """Return SQL text whose datetime parameters *names* are bound as the library binds them."""
    return sa.text(sql).bindparams(*(sa.bindparam(name, type_=t.Time) for name in names))


@attrs.frozen
class Result:
    name: str
    statements: float
    library: float | None = None
    raw: float | None = None
    target: str = ""

    @property
    def ratio(self) -> float | None:
        if self.library is None or self.raw is None:
            return None
        return self.library / self.raw


class Bench:
    """A database with offices, keys and prepared cases, and the timing helpers."""

    def __init__(self, engine: sa.Engine, cases: int, repeats: int) -> None:
        self.engine = engine
        self.cases = cases
        self.repeats = repeats
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

        signer = AnchorSigner.generate()
        directory = Directory(
            Office(code=code, name=name, level=level, parent_code=parent)
            for code, name, level, parent in OFFICES
        )
        self.gate = StageGate(anchor=signer.anchor, directory=directory)
        now = dt.datetime.now(dt.UTC)
        self.publics = []
        with engine.begin() as conn:
            save_directory(conn, directory)
            for office in directory:
                pair = OfficeKeyPair.generate(office.code)
                self.publics.append(pair.private_key.public_key())
                certified = signer.certify_pair(
                    pair,
                    level=int(office.level),
                    not_before=now - dt.timedelta(days=1),
                    not_after=now + dt.timedelta(days=30),
                )
                add_office_key(conn, certified, anchor=signer.anchor)

    def _record(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            self.statements.append(statement)

    def open_cases(self, prefix: str, *, filed: tuple[str, ...]) -> list[str]:
        """Open N cases at acceptance with PEOPLE assigned and *filed* people's reports stored."""
        ids = [f"{prefix}-{number}" for number in range(self.cases)]
        with self.engine.begin() as conn:
            for case_id in ids:
                self.gate.open_case(conn, case_id, business_line="criminal", office_code=OFFICE)
                for person, role in PEOPLE:
                    self.gate.assign(conn, case_id, person, role=role)
                for person in filed:
                    self.gate.file(conn, zero_report(person, case_id))
        return ids

    def run(self, calls: Callable[[sa.Connection], None]) -> tuple[float, int]:
        """Run *calls* in a transaction that is rolled back; return seconds and statements."""
        with self.engine.connect() as conn:
            conn.begin()
            del self.statements[:]
            start = time.perf_counter()
            calls(conn)
            elapsed = time.perf_counter() - start
            count = len(self.statements)
            conn.rollback()
        return elapsed, count

    def compare(
        self,
        library: Callable[[sa.Connection], None],
        raw: Callable[[sa.Connection], None] | None,
    ) -> tuple[float, float | None, float]:
        """Return the median seconds per call of *library* and *raw*, and statements per call."""
        # An untimed round warms the caches of SQLAlchemy, the trust anchor, the
        # gate's remembered office keys and the database.
        self.run(library)
        if raw is not None:
            self.run(raw)
        library_times, raw_times, counts = [], [], []
        for _ in range(self.repeats):
            elapsed, count = self.run(library)
            library_times.append(elapsed / self.cases)
            counts.append(count / self.cases)
            if raw is not None:
                raw_times.append(self.run(raw)[0] / self.cases)
        raw_time = statistics.median(raw_times) if raw_times else None
        return statistics.median(library_times), raw_time, max(counts)


def zero_report(person: str, case_id: str, stage: str = "accept") -> Filing:
    return Filing.zero(Filer(person, OFFICE, StaffKind.PROSECUTOR), StageObligation(case_id, stage))


def bench_check(bench: Bench) -> Result:
    ids = bench.open_cases("check", filed=("p1",))
    query = sa.text(CHECK_SQL)

    def library(conn: sa.Connection) -> None:
        for case_id in ids:
            bench.gate.check(conn, case_id, "prosecution_review")

    def raw(conn: sa.Connection) -> None:
        for case_id in ids:
            conn.execute(query, {"case_id": case_id, "to_stage": "prosecution_review"}).all()

    library_time, raw_time, count = bench.compare(library, raw)
    return Result("check", count, library_time, raw_time, "1 statement, ≤ 1.5")


def bench_advance(bench: Bench) -> Result:
    people = tuple(person for person, _ in PEOPLE)
    ids = bench.open_cases("advance", filed=people)
    check, decision = sa.text(CHECK_SQL), timed_text(DECISION_SQL, "at")
    move, visit = sa.text(MOVE_SQL), timed_text(VISIT_SQL, "at")
    policy = bench.gate.policy

    def library(conn: sa.Connection) -> None:
        for case_id in ids:
            bench.gate.advance(conn, case_id, "prosecution_review")

    def raw(conn: sa.Connection) -> None:
        for case_id in ids:
            rows = conn.execute(check, {"case_id": case_id, "to_stage": "prosecution_review"})
            first, *_ = rows.all()
            now = dt.datetime.now(dt.UTC)
            inputs = {"assigned": {p: [r] for p, r in PEOPLE}, "filed": list(people)}
            conn.execute(
                decision,
                {
                    "case_id": case_id,
                    "from_stage": first.stage,
                    "from_round": first.round,
                    "to_stage": "prosecution_review",
                    "allowed": True,
                    "blockers": "[]",
                    "inputs": json.dumps(inputs, sort_keys=True),
                    "policy_version": policy.version,
                    "policy_hash": policy.content_hash,
                    "at": now,
                },
            )
            params = {"case_id": case_id, "to_stage": "prosecution_review"}
            conn.execute(move, {**params, "version": first.version})
            conn.execute(visit, {**params, "visit": first.visit + 1, "at": now})

    library_time, raw_time, count = bench.compare(library, raw)
    return Result("advance", count, library_time, raw_time, "≤ 4 statements")


def bench_file(bench: Bench) -> list[Result]:
    ids = bench.open_cases("file", filed=())
    insert = timed_text(ENVELOPE_SQL, "at")
    suite = Suite.X25519.hpke
    block = bytes(SIZE_CLASSES[0])
    info = os.urandom(70)
    # The header core of a four-slot envelope: 58 bytes and 16 per office code.
    core = os.urandom(58 + 16 * len(bench.publics))

    # The filings are built once: building them is the host's work. Every
    # repeat is rolled back, so the same filings can be stored again.
    reports = [zero_report("p1", case_id) for case_id in ids]

    def library(conn: sa.Connection) -> None:
        for report in reports:
            bench.gate.file(conn, report)

    def raw(conn: sa.Connection) -> None:
        for _ in ids:
            data_key = os.urandom(32)
            slots = [
                struct.pack(">I", 1) + suite.encrypt(data_key, public, info=info)
                for public in bench.publics
            ]
            body = AESGCM(data_key).encrypt(os.urandom(12), block, core)
            envelope = core + b"".join(slots) + body
            conn.execute(
                insert,
                {
                    "filing_id": uuid.uuid4().hex,
                    "digest": hashlib.sha256(envelope).hexdigest(),
                    "at": dt.datetime.now(dt.UTC),
                    "envelope": envelope,
                },
            )

    library_time, raw_time, count = bench.compare(library, raw)
    results = [Result("file (stage)", count, library_time, raw_time, "≤ 4 statements, ≤ 1.5")]

    def keys_read(conn: sa.Connection) -> None:
        anchor, policy = bench.gate.anchor, bench.gate.policy
        directory = bench.gate.directory(conn)
        for report in reports:
            # A new gate remembers no keys; it shares the anchor's verified certificates.
            StageGate(anchor=anchor, directory=directory, policy=policy).file(conn, report)

    library_time, raw_time, count = bench.compare(keys_read, raw)
    results.append(
        Result("file (stage, keys read)", count, library_time, raw_time, "≤ 4 statements")
    )

    record = Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener("张伟", "某律师事务所", "律师", IntervenerRole.LAWYER),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        manner=Manner.PHONE,
        content="询问案件进展",
    )

    returns = [
        Filing.zero(Filer(f"m{number}", OFFICE, StaffKind.PROSECUTOR), MonthlyObligation("2026-10"))
        for number in range(bench.cases)
    ]
    records = [
        Filing(Filer(f"a{number}", OFFICE, StaffKind.PROSECUTOR), None, records=(record,))
        for number in range(bench.cases)
    ]
    for name, filings in (("file (monthly)", returns), ("file (anytime)", records)):

        def calls(conn: sa.Connection, filings: list[Filing] = filings) -> None:
            for filing in filings:
                bench.gate.file(conn, filing)

        library_time, _, count = bench.compare(calls, None)
        results.append(Result(name, count, library_time, None, "≤ 4 statements"))
    return results


def machine(engine: sa.Engine) -> str:
    """Describe the machine, the database and the software versions behind the numbers."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with engine.connect() as conn:
        server = engine.dialect.server_version_info
        driver = engine.dialect.driver
        conn.rollback()
    version = ".".join(str(part) for part in server or ())
    return (
        f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
        f"cryptography {cryptography.__version__}; {engine.dialect.name} {version} via {driver}"
    )


@contextlib.contextmanager
def database(url: str | None) -> Iterator[sa.Engine]:
    """Yield an engine on fresh threeregs tables, in a temporary SQLite file by default."""
    with tempfile.TemporaryDirectory() as directory:
        engine = use_immediate_transactions(
            sa.create_engine(url or f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        )
        drop_tables(engine)
        create_tables(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def print_table(results: list[Result]) -> None:
    """Print the results as a Markdown table."""
    print("| operation | statements | library µs | raw µs | ratio | target |")
    print("|---|---|---|---|---|---|")
    for result in results:
        library = "-" if result.library is None else f"{result.library * 1e6:,.0f}"
        raw = "-" if result.raw is None else f"{result.raw * 1e6:,.0f}"
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}"
        print(
            f"| {result.name} | {result.statements:g} | {library} | {raw} | {ratio} "
            f"| {result.target} |"
        )


def main() -> None:
    """Run the comparisons and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--url", help="SQLAlchemy URL of the database (default: a temporary SQLite file)"
    )
    parser.add_argument("--cases", type=int, default=300, help="calls per timed repeat")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per operation")
    options = parser.parse_args()

    with database(options.url) as engine:
        bench = Bench(engine, options.cases, options.repeats)
        print(f"machine: {machine(engine)}")
        print(f"{options.cases} calls x {options.repeats} repeats, medians per call")
        print()
        results = [bench_check(bench), bench_advance(bench), *bench_file(bench)]
        print_table(results)


if __name__ == "__main__":
    main()
