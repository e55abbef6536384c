"""SIGKILL at random points of filing, advancing, rewrapping and sequencing leaves a whole store.

Each test starts ``_worker.py`` as a real process, kills it with SIGKILL a
random time after it reports ``ready``, and checks the store after every
kill: every envelope row is complete, no claim of a filed obligation lacks
its envelope, every stage change has its visit row, every step the worker
journaled as committed is there, and ``verify`` finds nothing wrong. Then
the interrupted job is resumed and must finish. The tests run on an SQLite
file, and also on the server database in ``THREEREGS_TEST_DATABASE_URL``
when it names one.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import threeregs
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
)
from threeregs.crypto import PassphraseKeyStore, content_digest, open_envelope, parse_header
from threeregs.store import (
    CheckpointSigner,
    create_checkpoint,
    create_tables,
    issue_key,
    latest_checkpoint,
    read_head,
    rewrap_office,
    save_directory,
    sequence,
    use_immediate_transactions,
    verify,
)
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from collections.abc import Iterator

    from threeregs.crypto import AnchorSigner
    from threeregs.routing import Directory

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_worker.py")
PASSPHRASE = "crash test passphrase"
KILLS = 3
PATH = ("accept", "prosecution_review", "indictment")


@pytest.fixture(params=["sqlite", "server"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, sa.Engine]]:
    """Yield the URL and engine of an SQLite file, or of the configured server database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        engine = use_immediate_transactions(sa.create_engine(url))
        create_tables(engine)
        yield url, engine
        engine.dispose()
        return
    url = os.environ.get("THREEREGS_TEST_DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        pytest.skip("THREEREGS_TEST_DATABASE_URL names no server database")
    yield url, request.getfixturevalue("engine")


class Crash:
    """Starts and kills workers on one database and checks what they leave."""

    def __init__(
        self,
        url: str,
        engine: sa.Engine,
        anchor_signer: AnchorSigner,
        directory: Directory,
        folder: Path,
    ) -> None:
        self.url = url
        self.engine = engine
        self.anchor_signer = anchor_signer
        self.journal = folder / "journal.txt"
        self.journal.touch()
        self.keystore = PassphraseKeyStore(folder / "keys.trks", PASSPHRASE, cost=10)
        self.signer = CheckpointSigner.generate("330000")
        self.signer.save(folder / "signer.trck", PASSPHRASE, cost=10)
        self.gate = StageGate(anchor=anchor_signer.anchor, directory=directory)
        self.random = random.Random(os.urandom(8))
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(threeregs.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
            ),
            "ANCHOR_HEX": anchor_signer.private_bytes().hex(),
            "KEYSTORE": str(self.keystore.path),
            "SIGNER": str(folder / "signer.trck"),
            "PASSPHRASE": PASSPHRASE,
        }
        with engine.begin() as conn:
            save_directory(conn, directory)
            for office in directory:
                issue_key(conn, anchor_signer, self.keystore, office.code, level=int(office.level))
        self.keystore.save()

    def kill_worker(self, operation: str, *, max_delay: float, prefix: str) -> int | None:
        """Start a worker, kill it after a random delay, and return its exit code."""
        with subprocess.Popen(
            [sys.executable, str(WORKER), operation, self.url, str(self.journal), "30", prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            ready = process.stdout.readline()
            if ready.strip() != b"ready":
                process.kill()
                process.wait()
                pytest.fail(f"worker did not start: {process.stderr.read().decode()}")
            time.sleep(self.random.uniform(0.02, max_delay))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            code = process.wait(timeout=60)
            errors = process.stderr.read().decode()
        assert code in (0, -signal.SIGKILL), errors
        return code

    def journaled(self, word: str) -> list[str]:
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        return [line.split(" ", 1)[1] for line in lines if line.startswith(word + " ")]

    def check(self, *, open_all: bool = False) -> None:
        """Check that the store holds only whole operations and every journaled one."""
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.envelopes)).all()
            for row in rows:
                data = bytes(row.envelope)
                assert content_digest(data) == row.digest, row.filing_id
                if open_all:
                    self._open(row, data)
            filing_ids = {row.filing_id for row in rows}
            assert set(self.journaled("filed")) <= filing_ids

            claims = conn.execute(sa.select(sa.func.count()).select_from(t.stage_filings)).scalar()
            assert claims <= len(rows)

            visits: dict[str, list[Any]] = {}
            for visit in conn.execute(sa.select(t.visits).order_by(t.visits.c.visit)):
                visits.setdefault(visit.case_id, []).append(visit)
            cases = {case.case_id: case for case in conn.execute(sa.select(t.cases))}
            for case in cases.values():
                assert [v.visit for v in visits[case.case_id]] == list(range(1, case.visit + 1))
                assert visits[case.case_id][-1].stage == case.stage
            for line in self.journaled("advanced"):
                case_id, stage = line.split(" ")
                assert stage in {v.stage for v in visits[case_id]}

            report = verify(conn, verify_keys=[self.signer.public_key])
            assert report.ok, report.problems
            head = read_head(conn)
            if head is not None:
                entries = conn.execute(sa.select(sa.func.count()).select_from(t.log_entries))
                assert head.size == entries.scalar()

    def _open(self, row: Any, data: bytes) -> None:
        header = parse_header(data)
        for slot in header.slots:
            assert row._mapping[f"slot{slot.index}_version"] == slot.key_version
            keys = self.keystore.keys_for(slot.office_code)
            # Raises InvalidEnvelopeError for a slot that a kill left half rewrapped.
            open_envelope(data, slot.office_code, keys)

    def file_anytime(self, count: int) -> None:
        filer = Filer("p7", "330106", StaffKind.PROSECUTOR)
        with self.engine.begin() as conn:
            for _ in range(count):
                self.gate.file(conn, _anytime(filer))

    def finish_cases(self) -> None:
        """Take every case the worker left behind on to indictment, as its host would."""
        filer = Filer("p1", "330106", StaffKind.PROSECUTOR)
        with self.engine.begin() as conn:
            open_cases = conn.execute(sa.select(t.cases.c.case_id)).scalars().all()
        for case_id in open_cases:
            with self.engine.begin() as conn:
                state = self.gate.case(conn, case_id)
                if not conn.execute(
                    sa.select(t.assignments.c.case_id).where(t.assignments.c.case_id == case_id)
                ).first():
                    self.gate.assign(conn, case_id, "p1", role="handler")
            while state.stage != PATH[-1]:
                with self.engine.begin() as conn:
                    decision = self.gate.check(conn, case_id, PATH[PATH.index(state.stage) + 1])
                    if not decision.allowed:
                        obligation = StageObligation(case_id, state.stage, state.round)
                        self.gate.file(conn, Filing.zero(filer, obligation))
                    self.gate.advance(conn, case_id, PATH[PATH.index(state.stage) + 1])
                    state = self.gate.case(conn, case_id)


def _anytime(filer: Filer) -> Filing:
    record = Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener("李某", "某律师事务所", "律师", IntervenerRole.LAWYER),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        manner=Manner.PHONE,
        content="询问案件进展",
    )
    return Filing(filer, None, records=(record,))


@pytest.fixture
def crash(
    database: tuple[str, sa.Engine],
    anchor_signer: AnchorSigner,
    small_directory: Directory,
    tmp_path: Path,
) -> Crash:
    url, engine = database
    return Crash(url, engine, anchor_signer, small_directory, tmp_path)


def test_kill_while_filing_and_advancing(crash: Crash) -> None:
    for round_number in range(KILLS):
        crash.kill_worker("gate", max_delay=0.6, prefix=f"K{round_number}")
        crash.check()

    assert crash.journaled("filed")
    crash.finish_cases()
    with crash.engine.begin() as conn:
        sequence(conn)
    crash.check()


def test_kill_while_rewrapping(crash: Crash) -> None:
    crash.file_anytime(240)
    with crash.engine.begin() as conn:
        sequence(conn)
        trusted = create_checkpoint(conn, crash.signer)
        issue_key(conn, crash.anchor_signer, crash.keystore, "330106", level=4)
    crash.keystore.save()

    for _ in range(KILLS):
        crash.kill_worker("rewrap", max_delay=0.4, prefix="R")
        crash.check(open_all=True)

    progress = rewrap_office(crash.engine, "330106", crash.keystore, crash.anchor_signer.anchor)
    assert progress.remaining == 0
    with crash.engine.begin() as conn:
        versions = conn.execute(sa.select(t.envelopes.c.slot0_version).distinct()).scalars().all()
        report = verify(conn, trusted=trusted, verify_keys=[crash.signer.public_key])
    assert versions == [2]
    assert report.ok, report.problems
    crash.check(open_all=True)


def test_kill_while_sequencing_and_signing(crash: Crash) -> None:
    crash.file_anytime(30)
    for _ in range(KILLS):
        crash.kill_worker("sequence", max_delay=1.0, prefix="S")
        crash.check()

    with crash.engine.begin() as conn:
        sequence(conn)
        previous = latest_checkpoint(conn, verify_keys=[crash.signer.public_key])
        final = create_checkpoint(conn, crash.signer, trusted=previous)
        envelopes = conn.execute(sa.select(sa.func.count()).select_from(t.envelopes)).scalar()
        report = verify(conn, trusted=final, verify_keys=[crash.signer.public_key])
    assert final.tree_size == envelopes
    assert report.ok, report.problems
    assert report.checkpoints_checked >= 1
    signed_sizes = {int(size) for size in crash.journaled("checkpoint")}
    assert all(size <= final.tree_size for size in signed_sizes)
