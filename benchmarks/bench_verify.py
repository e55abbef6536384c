"""Benchmark sequencing, verifying and proving the filing log against plain hashlib.

Run it from the repository root::

    python benchmarks/bench_verify.py [--entries N] [--deep-entries M] [--db URL]

Set-up inserts synthetic envelope rows in bulk (random filing ids and
digests, no encryption), which the library's sequencer then appends to the
log. Timed:

- sequence: ``threeregs.store.sequence`` over the N envelope rows, in one
  transaction.
- verify: ``verify(deep=False)`` over the N entries. It checks the tree,
  every entry's leaf and position, every envelope row's presence and stored
  digest, the cached subtrees and the unsequenced envelopes. The baseline is
  hashlib SHA-256 of the same leaf and node bytes held in memory: N leaf
  hashes and N - 1 node hashes.
- verify (deep): ``verify(deep=True)`` over M entries whose envelope rows
  hold structurally valid 8 KiB envelopes, against hashlib SHA-256 of the
  same leaf and node bytes plus the header core and payload of every
  envelope (what ``content_digest`` hashes).
- read: the same pages of log rows and envelope columns that the quick
  verify reads, with the same statements and cursor options, fetched
  through the driver without any check, to show how much of its time the
  database takes.
- proof: ``inclusion_proof`` of a random entry plus ``verify_inclusion``.
- memory: peak RSS of a fresh process that only runs ``verify(deep=False)``,
  for a log of N / 10 entries and one of N entries.

The design targets are 1 M entries verified in at most 10 s, at most 3
times the hashlib time, and a peak RSS that grows by at most 10 % from
100 k to 1 M entries. The 10 s target applies to the log check. The deep
check hashes about 8 KiB per entry, which alone takes hashlib several
seconds per million, so only its ratio is compared with a target. The
database defaults to an SQLite file in a temporary directory; a server URL
is used as it is, and its threeregs tables are dropped first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

# Run from a source checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from threeregs._model import Receipt
from threeregs.crypto import SIZE_CLASSES
from threeregs.store import (
    CheckpointSigner,
    create_tables,
    drop_tables,
    inclusion_proof,
    sequence,
    use_immediate_transactions,
    verify,
    verify_inclusion,
)
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TARGET_RATIO = 3.0
TARGET_SECONDS_PER_MILLION = 10.0
INSERT_BATCH = 20_000
ENVELOPE_SLOTS = 4
SLOT_LENGTH = 4 + 80


def synthetic_envelope(filing_id: bytes) -> bytes:
    """Return bytes that parse as a four-slot envelope with an 8 KiB payload class.

    Nothing in it is encrypted: ``content_digest`` only checks the structure
    before hashing, which is all the deep verify needs.
    """
    padded = SIZE_CLASSES[0]
    core = b"".join(
        [
            b"TRE\x01\x01",
            filing_id,
            bytes([ENVELOPE_SLOTS]),
            struct.pack(">I", padded),
            os.urandom(32),
            *(code.ljust(16, b"\x00") for code in (b"330106", b"330100", b"330000", b"000000")),
        ]
    )
    slots = b"".join(struct.pack(">I", 1) + os.urandom(80) for _ in range(ENVELOPE_SLOTS))
    return core + slots + os.urandom(padded + 16)


def envelope_rows(count: int, *, deep: bool) -> Iterator[list[dict[str, Any]]]:
    """Yield synthetic envelope rows in batches."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    batch = []
    for number in range(count):
        filing_id = os.urandom(16)
        envelope = synthetic_envelope(filing_id) if deep else b""
        if deep:
            core_end = 58 + 16 * ENVELOPE_SLOTS
            digest = hashlib.sha256(envelope[:core_end] + envelope[-SIZE_CLASSES[0] - 16 :])
        else:
            digest = hashlib.sha256(filing_id)
        row = {
            "filing_id": filing_id.hex(),
            "digest": digest.hexdigest(),
            "received_at": start + dt.timedelta(seconds=number),
            "envelope": envelope,
        }
        for slot in range(t.SLOTS):
            row[f"slot{slot}_office"] = "330106" if slot == 0 else None
            row[f"slot{slot}_version"] = 1 if slot == 0 else None
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(engine: sa.Engine, count: int, *, deep: bool) -> float:
    """Insert *count* envelope rows and sequence them; return the sequencing time."""
    drop_tables(engine)
    create_tables(engine)
    for batch in envelope_rows(count, deep=deep):
        with engine.begin() as conn:
            conn.execute(sa.insert(t.envelopes), batch)
    started = time.perf_counter()
    with engine.begin() as conn:
        appended = sequence(conn)
    elapsed = time.perf_counter() - started
    assert appended == count, (appended, count)
    if engine.dialect.name == "postgresql":
        # Collect the statistics that autovacuum collects after a bulk load,
        # because autovacuum may be off on a test server. Without them,
        # PostgreSQL 15 sorted each page of envelope rows it read.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE threeregs_envelopes, threeregs_log")
    return elapsed


def hashlib_baseline(engine: sa.Engine, *, deep: bool) -> float:
    """Time SHA-256 of the leaf and node bytes (and envelope bytes when *deep*) in memory."""
    with engine.connect() as conn:
        leaves = [bytes(row[0]) for row in conn.execute(sa.select(t.log_entries.c.leaf))]
        envelopes = []
        if deep:
            core_end = 58 + 16 * ENVELOPE_SLOTS
            for (envelope,) in conn.execute(sa.select(t.envelopes.c.envelope)):
                data = bytes(envelope)
                envelopes.append((data[:core_end], data[-SIZE_CLASSES[0] - 16 :]))
    sha256 = hashlib.sha256
    started = time.perf_counter()
    level = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    for core, payload in envelopes:
        sha256(core + payload).digest()
    return time.perf_counter() - started


def time_reading(engine: sa.Engine) -> float:
    """Time reading what the quick verify reads, page by page, without checking it."""
    log, e = t.log_entries, t.envelopes
    pages = sa.select(log.c.log_index, log.c.filing_id, log.c.leaf, log.c.leaf_hash, log.c.seq)
    pages = pages.where(log.c.log_index > sa.bindparam("last", -1)).order_by(log.c.log_index)
    ranges = sa.select(e.c.filing_id, e.c.digest).order_by(e.c.seq)
    ranges = ranges.where(e.c.seq.between(sa.bindparam("low", 0), sa.bindparam("high", 0)))
    page_sql, page_arguments = _compiled(engine, pages.limit(2000))
    range_sql, range_arguments = _compiled(engine, ranges)
    # The same cursor options as the library: psycopg's binary format.
    options = {"binary": True} if engine.dialect.driver == "psycopg" else {}
    started = time.perf_counter()
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor(**options)  # type: ignore[union-attr]
        last = -1
        while True:
            cursor.execute(page_sql, page_arguments(last=last))
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            seqs = [row[4] for row in rows]
            cursor.execute(range_sql, range_arguments(low=min(seqs), high=max(seqs)))
            cursor.fetchall()
        cursor.close()
    return time.perf_counter() - started


def _compiled(engine: sa.Engine, statement: sa.Select[Any]) -> tuple[str, Callable[..., Any]]:
    """Compile *statement* for the engine's driver, returning its SQL and a parameter builder."""
    compiled = statement.compile(dialect=engine.dialect)
    defaults = compiled.construct_params()
    order = compiled.positiontup

    def arguments(**values: Any) -> Any:
        params = {**defaults, **values}
        return params if order is None else tuple(params[name] for name in order)

    return str(compiled), arguments


def time_verify(engine: sa.Engine, *, deep: bool) -> tuple[float, Any]:
    started = time.perf_counter()
    with engine.begin() as conn:
        report = verify(conn, deep=deep)
    elapsed = time.perf_counter() - started
    assert report.ok, report.problems[:5]
    return elapsed, report


def time_proofs(engine: sa.Engine, count: int, proofs: int) -> float:
    """Return the mean time of one inclusion proof and its verification."""
    signer = CheckpointSigner.generate("330106")
    with engine.begin() as conn:
        head = conn.execute(sa.select(t.log_head)).one()
        checkpoint = signer.sign(
            log_id=head.log_id,
            tree_size=head.size,
            root=bytes(head.root),
            at=dt.datetime.now(dt.UTC),
        )
        indices = random.sample(range(count), min(proofs, count))
        rows = conn.execute(
            sa.select(t.envelopes.c.filing_id, t.envelopes.c.digest, t.envelopes.c.received_at)
            .join(t.log_entries, t.log_entries.c.filing_id == t.envelopes.c.filing_id)
            .where(t.log_entries.c.log_index.in_(indices))
        ).all()
        receipts = [Receipt(r.filing_id, r.digest, r.received_at) for r in rows]
        started = time.perf_counter()
        for receipt in receipts:
            proof = inclusion_proof(conn, receipt.filing_id, tree_size=checkpoint.tree_size)
            assert verify_inclusion(receipt, proof, checkpoint)
        return (time.perf_counter() - started) / len(receipts)


def verify_only(url: str) -> None:
    """Run one quick verify in this process and print its peak RSS in KiB."""
    engine = use_immediate_transactions(sa.create_engine(url))
    with engine.begin() as conn:
        report = verify(conn, deep=False)
    assert report.ok, report.problems[:5]
    # ru_maxrss keeps the parent's peak across fork and exec on Linux, so
    # read this process's own high-water mark where /proc provides it.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                print(line.split()[1])
                return
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def peak_rss(url: str) -> float:
    """Return the peak RSS, in MiB, of a fresh process that verifies the log at *url*."""
    output = subprocess.run(
        [sys.executable, __file__, "--verify-only", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(output.split()[-1]) / 1024


def machine(engine: sa.Engine) -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with engine.connect() as conn:
        server = conn.dialect.server_version_info
    version = ".".join(str(part) for part in server or ())
    return (
        f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
        f"{engine.dialect.name} {version}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="log size for verify")
    parser.add_argument(
        "--deep-entries", type=int, default=20_000, help="log size for the deep verify"
    )
    parser.add_argument("--proofs", type=int, default=200, help="inclusion proofs to time")
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--verify-only", metavar="URL", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.verify_only:
        verify_only(options.verify_only)
        return

    with tempfile.TemporaryDirectory() as folder:
        url = options.db or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = use_immediate_transactions(sa.create_engine(url))
        print(f"machine: {machine(engine)}")
        print()
        header = (
            f"{'operation':<14} {'entries':>9} {'library s':>10} {'hashlib s':>10} "
            f"{'ratio':>6}  target met"
        )
        print(header)
        print("-" * len(header))

        small = max(1, options.entries // 10)
        fill(engine, small, deep=False)
        small_rss = peak_rss(url)

        for deep, count in ((False, options.entries), (True, options.deep_entries)):
            sequencing = fill(engine, count, deep=deep)
            raw = hashlib_baseline(engine, deep=deep)
            elapsed, _ = time_verify(engine, deep=deep)
            ratio = elapsed / raw
            per_million = elapsed * 1_000_000 / count
            met = ratio <= TARGET_RATIO and (deep or per_million <= TARGET_SECONDS_PER_MILLION)
            name = "verify (deep)" if deep else "verify"
            print(
                f"{'sequence':<14} {count:>9,} {sequencing:>10.2f} {'':>10} {'':>6}  "
                f"{count / sequencing:,.0f} entries/s"
            )
            print(
                f"{name:<14} {count:>9,} {elapsed:>10.2f} {raw:>10.2f} {ratio:>6.2f}  "
                f"{'yes' if met else 'no'} ({per_million:.1f} s per million)"
            )
            if not deep:
                reading = time_reading(engine)
                print(
                    f"{'read':<14} {count:>9,} {reading:>10.2f} {'':>10} {'':>6}  "
                    "the rows the quick verify reads, no checks"
                )
                proof = time_proofs(engine, count, options.proofs)
                large_rss = peak_rss(url)
                print(
                    f"{'proof':<14} {count:>9,} {proof * 1000:>9.2f}m {'':>10} {'':>6}  "
                    "inclusion_proof + verify_inclusion, per proof"
                )
        growth = (large_rss / small_rss - 1) * 100
        print()
        print(
            f"peak RSS of verify alone: {small_rss:,.1f} MiB for {small:,} entries, "
            f"{large_rss:,.1f} MiB for {options.entries:,} entries ({growth:+.1f} %, "
            f"target ≤ 10 %: {'met' if growth <= 10 else 'not met'})"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
