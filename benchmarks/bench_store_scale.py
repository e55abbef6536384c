"""Storage size and filing throughput on a server database, for the scaling notes.

Run: python benchmarks/bench_store_scale.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test

Works in its own schema (PostgreSQL) or its own tables (other dialects, which
it drops first), files stage reports with 1 and several worker threads, each
filing and advancing one case per transaction, and prints transactions per
second and the bytes per stored envelope including indexes.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time

import sqlalchemy as sa

import threeregs
from threeregs.crypto import AnchorSigner, MemoryKeyStore
from threeregs.routing import Directory
from threeregs.store import issue_key, metadata, save_directory

SCHEMA = "threeregs_scale_bench"


def build(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    metadata.drop_all(engine)
    metadata.create_all(engine)
    return engine


def run(engine: sa.Engine, gate: threeregs.StageGate, cases: int, workers: int, tag: str) -> float:
    with engine.begin() as conn:
        for i in range(cases):
            case_id = f"{tag}-{i}"
            gate.open_case(conn, case_id, business_line="criminal", office_code="330106")
            gate.assign(conn, case_id, f"{tag}-p{i}", role="handler")

    def work(start: int) -> None:
        for i in range(start, cases, workers):
            case_id = f"{tag}-{i}"
            filer = threeregs.Filer(f"{tag}-p{i}", "330106", "prosecutor")
            with engine.begin() as conn:
                gate.file(
                    conn, threeregs.Filing.zero(filer, threeregs.StageObligation(case_id, "accept"))
                )
                gate.advance(conn, case_id, "prosecution_review")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return cases / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    engine = build(args.url)
    signer, keystore, directory = AnchorSigner.generate(), MemoryKeyStore(), Directory.national()
    with engine.begin() as conn:
        save_directory(conn, directory)
        for office in directory.chain("330106"):
            issue_key(conn, signer, keystore, office.code, level=office.level)
    gate = threeregs.StageGate(anchor=signer.anchor, directory=directory)

    python = platform.python_version()
    print(f"machine: {os.cpu_count()} cores, Python {python}, {engine.dialect.name}")
    one = run(engine, gate, args.cases, 1, "a")
    many = run(engine, gate, args.cases, args.workers, "b")
    workers = args.workers
    print(f"file + advance per transaction: {one:.0f}/s with 1 worker, {many:.0f}/s with {workers}")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            size = conn.exec_driver_sql(
                "SELECT pg_total_relation_size('threeregs_envelopes')"
            ).scalar_one()
            count = conn.exec_driver_sql("SELECT count(*) FROM threeregs_envelopes").scalar_one()
        per_row = size / count
        print(f"envelope table: {per_row:.0f} bytes per filing including indexes and TOAST")
        print(f"a national year of 3.5 M filings: {per_row * 3.5e6 / 2**30:.1f} GiB of envelopes")
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {SCHEMA} CASCADE")
    else:
        metadata.drop_all(engine)


if __name__ == "__main__":
    main()
