"""A worker process for the crash and soak tests, which kill it or let it run out its time.

Usage::

    python _worker.py OPERATION DATABASE_URL JOURNAL SECONDS PREFIX

The environment supplies ``ANCHOR_HEX`` (the trust anchor's private key),
and for ``rewrap`` and ``sequence`` ``KEYSTORE``, ``SIGNER`` and
``PASSPHRASE``. Operations:

``gate``
    opens cases ``PREFIX-0``, ``PREFIX-1``, ... and for each one files a zero
    report and advances, twice, then files an anytime record;
``rewrap``
    runs ``rewrap_office`` for office 330106 in small batches until it is done;
``sequence``
    files a few anytime records, sequences a few entries and now and then
    signs a checkpoint, in a loop.

Every step runs in a transaction of its own. After each commit the worker
appends a line to JOURNAL and syncs it to disk, so a line in the journal
proves the step was committed. It prints ``ready`` once it is about to start
work, and stops after SECONDS.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Intervener,
    IntervenerRole,
    Manner,
    Provision,
    Record,
    StaffKind,
    StageGate,
    StageObligation,
    StaleCaseError,
)
from threeregs.crypto import AnchorSigner, PassphraseKeyStore
from threeregs.store import (
    CheckpointSigner,
    create_checkpoint,
    load_directory,
    rewrap_office,
    sequence,
    use_immediate_transactions,
)

if TYPE_CHECKING:
    from collections.abc import Callable

OFFICE = "330106"
PATH = ("accept", "prosecution_review", "indictment")


def record() -> Record:
    return Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener("张伟", "浙江某律师事务所", "律师", IntervenerRole.LAWYER),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        manner=Manner.PHONE,
        content="询问案件进展",
    )


class Worker:
    def __init__(self, url: str, journal: str, seconds: float, prefix: str) -> None:
        self.engine = use_immediate_transactions(sa.create_engine(url))
        self.journal = open(journal, "a", encoding="utf-8")  # noqa: SIM115 - kept open on purpose
        self.deadline = time.monotonic() + seconds
        self.prefix = prefix
        self.anchor = AnchorSigner.from_bytes(bytes.fromhex(os.environ["ANCHOR_HEX"]))
        with self.engine.begin() as conn:
            directory = load_directory(conn)
        self.gate = StageGate(anchor=self.anchor.anchor, directory=directory)

    def note(self, line: str) -> None:
        self.journal.write(line + "\n")
        self.journal.flush()
        os.fsync(self.journal.fileno())

    def step(self, work: Callable[[sa.Connection], Any]) -> Any:
        """Run *work* in its own transaction, retrying lock conflicts as a host would."""
        while True:
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except (OperationalError, StaleCaseError):
                time.sleep(0.01)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def gate_loop(self) -> None:
        filer = Filer("p1", OFFICE, StaffKind.PROSECUTOR)
        number = 0
        while self.running():
            case_id = f"{self.prefix}-{number}"
            number += 1

            def open_case(conn: sa.Connection, case_id: str = case_id) -> None:
                self.gate.open_case(conn, case_id, business_line="criminal", office_code=OFFICE)
                self.gate.assign(conn, case_id, "p1", role="handler")

            self.step(open_case)
            self.note(f"opened {case_id}")
            for stage, following in itertools.pairwise(PATH):
                zero = Filing.zero(filer, StageObligation(case_id, stage))
                receipt = self.step(lambda conn, zero=zero: self.gate.file(conn, zero))
                self.note(f"filed {receipt.filing_id}")
                self.step(
                    lambda conn, case_id=case_id, following=following: self.gate.advance(
                        conn, case_id, following
                    )
                )
                self.note(f"advanced {case_id} {following}")
            anytime = Filing(filer, None, records=(record(),))
            receipt = self.step(lambda conn, anytime=anytime: self.gate.file(conn, anytime))
            self.note(f"filed {receipt.filing_id}")

    def rewrap_loop(self) -> None:
        keystore = PassphraseKeyStore.open(os.environ["KEYSTORE"], os.environ["PASSPHRASE"])
        progress = rewrap_office(self.engine, OFFICE, keystore, self.anchor.anchor, batch=4)
        self.note(f"rewrapped {progress.to_version}")

    def sequence_loop(self) -> None:
        signer = CheckpointSigner.open(os.environ["SIGNER"], os.environ["PASSPHRASE"])
        filer = Filer("p9", OFFICE, StaffKind.PROSECUTOR)
        turn = 0
        while self.running():
            turn += 1
            for _ in range(3):
                anytime = Filing(filer, None, records=(record(),))
                receipt = self.step(lambda conn, anytime=anytime: self.gate.file(conn, anytime))
                self.note(f"filed {receipt.filing_id}")
            count = self.step(lambda conn: sequence(conn, limit=5))
            self.note(f"sequenced {count}")
            if turn % 3 == 0:
                checkpoint = self.step(lambda conn: create_checkpoint(conn, signer))
                self.note(f"checkpoint {checkpoint.tree_size}")


def main() -> None:
    operation, url, journal, seconds, prefix = sys.argv[1:6]
    worker = Worker(url, journal, float(seconds), prefix)
    loops = {
        "gate": worker.gate_loop,
        "rewrap": worker.rewrap_loop,
        "sequence": worker.sequence_loop,
    }
    print("ready", flush=True)
    loops[operation]()
    worker.note("done")


if __name__ == "__main__":
    main()
