"""Opening an inbox, as a ratio to the raw primitives, and its memory as it grows.

Run: python benchmarks/bench_inbox.py [--filings 5000] [--memory 1000000] [--db URL]

Seals one-record anytime records of a basic office into an SQLite
file, then opens the basic office's inbox with Inbox.open_all (read, HPKE,
AES-GCM, canonical parsing, access log) and compares it in the same run with
the raw work on the same envelopes: one HPKE decryption of the slot and one
AES-GCM decryption of the payload each, on bytes already in memory.

With --memory N, the sealed envelopes are also copied under new filing ids
until the inbox contains N / 10 and then N of them, and a fresh process opens
the whole inbox each time and reports its peak RSS (VmHWM) and its rate.
Every copy opens like the original, so the work per filing is the same.

It also times the rewrap job (threeregs.store.rewrap_office) after issuing
a new key version for the office, against one HPKE decryption and one HPKE
encryption of each envelope's slot in memory, once per repeat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import threeregs
from threeregs.crypto import AnchorSigner, MemoryKeyStore, PassphraseKeyStore, parse_header
from threeregs.crypto._envelope import _derive, _slot_bytes, _slot_info
from threeregs.crypto._keystore import MIN_COST
from threeregs.routing import Directory, Level
from threeregs.store import _tables as t
from threeregs.store import (
    create_tables,
    issue_key,
    rewrap_office,
    save_directory,
    use_immediate_transactions,
)

OFFICE = "330106"
#: Protects the key store file that the child process of --memory reads.
PASSPHRASE = "inbox benchmark"


def fill(engine: sa.Engine, count: int) -> tuple[MemoryKeyStore, AnchorSigner]:
    signer, keystore, directory = AnchorSigner.generate(), MemoryKeyStore(), Directory.national()
    with engine.begin() as conn:
        save_directory(conn, directory)
        for office in directory.chain(OFFICE):
            issue_key(conn, signer, keystore, office.code, level=office.level)
    gate = threeregs.StageGate(anchor=signer.anchor, directory=directory)
    record = threeregs.Record(
        "P1",
        "inquiry",
        "routine_inquiry",
        threeregs.Intervener("张伟", "某区人民政府", "副区长", "leading_cadre"),
        dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        "phone",
        "来电询问案件办理进度，未提出具体要求。" * 10,
    )
    with engine.begin() as conn:
        for i in range(count):
            filer = threeregs.Filer(f"p{i % 50}", OFFICE, "prosecutor")
            gate.file(conn, threeregs.Filing(filer, None, records=(record,)))
    return keystore, signer


def open_inbox(engine: sa.Engine, keystore: MemoryKeyStore) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        inbox = threeregs.Inbox(OFFICE, keystore, reader="bench")
        for _item in inbox.open_all(conn):
            pass
    return time.perf_counter() - started


def raw(envelopes: list[bytes], keystore: MemoryKeyStore) -> float:
    key = keystore.keys_for(OFFICE)[1]
    started = time.perf_counter()
    for data in envelopes:
        header = parse_header(data)
        slot = header.slot_for(OFFICE)
        assert slot is not None
        core_hash = hashlib.sha256(header.core).digest()
        info = _slot_info(core_hash, slot.index, OFFICE.encode().ljust(16, b"\0"), 1)
        data_key = header.suite.hpke.decrypt(
            _slot_bytes(data, header, slot.index), key.private_key, info=info
        )
        payload_key, _, nonce = _derive(data_key, header.envelope_id)
        AESGCM(payload_key).decrypt(nonce, data[-header.padded_length - 16 :], header.core)
    return time.perf_counter() - started


def rewrap_job(engine: sa.Engine, keystore: MemoryKeyStore, signer: AnchorSigner) -> float:
    """Issue a new key version for the office and time the job that moves every slot to it."""
    with engine.begin() as conn:
        issue_key(conn, signer, keystore, OFFICE, level=int(Level.BASIC))
    started = time.perf_counter()
    rewrap_office(engine, OFFICE, keystore, signer.anchor)
    return time.perf_counter() - started


def raw_rewrap(envelopes: list[bytes], keystore: MemoryKeyStore) -> float:
    """Time one HPKE decryption and one HPKE encryption of each envelope's office slot."""
    keys = keystore.keys_for(OFFICE)
    newest = keys[max(keys)]
    public = newest.private_key.public_key()
    started = time.perf_counter()
    for data in envelopes:
        header = parse_header(data)
        slot = header.slot_for(OFFICE)
        assert slot is not None
        core_hash = hashlib.sha256(header.core).digest()
        office = OFFICE.encode().ljust(16, b"\0")
        info = _slot_info(core_hash, slot.index, office, slot.key_version)
        data_key = header.suite.hpke.decrypt(
            _slot_bytes(data, header, slot.index), keys[slot.key_version].private_key, info=info
        )
        new_info = _slot_info(core_hash, slot.index, office, newest.key_version)
        header.suite.hpke.encrypt(data_key, public, info=new_info)
    return time.perf_counter() - started


def grow(engine: sa.Engine, total: int) -> None:
    """Copy the stored envelopes under new filing ids until there are *total*."""
    e = t.envelopes
    columns = [c for c in e.columns if c.name != "seq"]
    with engine.connect() as conn:
        originals = [row._asdict() for row in conn.execute(sa.select(*columns))]
        have = conn.execute(sa.select(sa.func.count()).select_from(e)).scalar_one()
    with engine.begin() as conn:
        while have < total:
            count = min(5000, total - have)
            batch = []
            for i in range(count):
                row = dict(originals[(have + i) % len(originals)])
                row["filing_id"] = uuid.uuid4().hex
                batch.append(row)
            conn.execute(sa.insert(e), batch)
            have += count


def open_only(url: str, keystore_path: str) -> None:
    """Open the whole inbox in this process; print the count, seconds and VmHWM in KiB."""
    engine = sa.create_engine(url)
    keystore = PassphraseKeyStore.open(keystore_path, PASSPHRASE)
    started = time.perf_counter()
    count = 0
    with engine.begin() as conn:
        for _item in threeregs.Inbox(OFFICE, keystore, reader="bench").open_all(conn):
            count += 1
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss keeps the parent's peak across fork and exec on Linux, so
    # read this process's own high-water mark where /proc provides it.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    print(count, elapsed, peak)


def measure_memory(engine: sa.Engine, folder: Path, keystore: MemoryKeyStore, total: int) -> None:
    keys = folder / "inbox.keys"
    PassphraseKeyStore(keys, PASSPHRASE, keystore.all_keys(), cost=MIN_COST).save()
    url = engine.url.render_as_string(hide_password=False)
    peaks = []
    for size in (total // 10, total):
        grow(engine, size)
        output = subprocess.run(
            [sys.executable, __file__, "--open-only", url, str(keys)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        count, elapsed, peak = int(output[0]), float(output[1]), int(output[2]) / 1024
        peaks.append(peak)
        print(
            f"inbox of {count:,} filings: {count / elapsed:,.0f} filings/s, peak RSS {peak:.1f} MiB"
        )
    print(f"peak RSS growth from {total // 10:,} to {total:,}: {peaks[1] / peaks[0] - 1:+.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filings", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", type=int, metavar="N", help="also measure memory up to N")
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of a database whose threeregs tables may be dropped "
        "(default: an SQLite file in a temporary directory)",
    )
    parser.add_argument("--open-only", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open_only:
        open_only(*args.open_only)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'inbox.sqlite3'}"
        engine = use_immediate_transactions(sa.create_engine(url))
        t.metadata.drop_all(engine)
        create_tables(engine)
        keystore, signer = fill(engine, args.filings)
        with engine.connect() as conn:
            envelopes = [bytes(row[0]) for row in conn.execute(sa.select(t.envelopes.c.envelope))]
        library = statistics.median(open_inbox(engine, keystore) for _ in range(args.repeats))
        primitives = statistics.median(raw(envelopes, keystore) for _ in range(args.repeats))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{engine.dialect.name}"
        )
        print(
            f"{args.filings} filings: inbox {args.filings / library:,.0f} filings/s, "
            f"raw primitives {args.filings / primitives:,.0f}/s, ratio {library / primitives:.2f}"
        )
        print(f"peak RSS {peak:.0f} MiB")
        jobs, raws = [], []
        for _ in range(args.repeats):
            with engine.connect() as conn:
                current = [bytes(r[0]) for r in conn.execute(sa.select(t.envelopes.c.envelope))]
            raws.append(raw_rewrap(current, keystore))
            jobs.append(rewrap_job(engine, keystore, signer))
        job, primitives = statistics.median(jobs), statistics.median(raws)
        print(
            f"rewrap job: {args.filings / job:,.0f} slots/s, raw primitives "
            f"{args.filings / primitives:,.0f}/s, ratio {job / primitives:.2f}"
        )
        if args.memory:
            measure_memory(engine, Path(folder), keystore, args.memory)
        t.metadata.drop_all(engine)


if __name__ == "__main__":
    main()
