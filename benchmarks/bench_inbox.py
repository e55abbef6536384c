"""Opening an inbox, as a ratio to the raw primitives, and its memory as it grows.

Run: python benchmarks/bench_inbox.py [--filings 5000]

Seals one-record anytime records of a basic office into an SQLite
file, then opens the basic office's inbox with Inbox.open_all (read, HPKE,
AES-GCM, canonical parsing, access log) and compares it in the same run with
the raw work on the same envelopes: one HPKE decryption of the slot and one
AES-GCM decryption of the payload each, on bytes already in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import threeregs
from threeregs.crypto import AnchorSigner, MemoryKeyStore, parse_header
from threeregs.crypto._envelope import _derive, _slot_bytes, _slot_info
from threeregs.routing import Directory
from threeregs.store import _tables as t
from threeregs.store import create_tables, issue_key, save_directory, use_immediate_transactions

OFFICE = "330106"


def fill(engine: sa.Engine, count: int) -> MemoryKeyStore:
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
    return keystore


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filings", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inbox.sqlite3"
        engine = use_immediate_transactions(sa.create_engine(f"sqlite:///{path}"))
        create_tables(engine)
        keystore = fill(engine, args.filings)
        with engine.connect() as conn:
            envelopes = [bytes(row[0]) for row in conn.execute(sa.select(t.envelopes.c.envelope))]
        library = statistics.median(open_inbox(engine, keystore) for _ in range(args.repeats))
        primitives = statistics.median(raw(envelopes, keystore) for _ in range(args.repeats))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"{args.filings} filings: inbox {args.filings / library:,.0f} filings/s, "
        f"raw primitives {args.filings / primitives:,.0f}/s, ratio {library / primitives:.2f}"
    )
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
