"""Several processes file, advance, sequence and sign on PostgreSQL at once; nothing is lost.

Runs only when ``THREEREGS_TEST_DATABASE_URL`` names a PostgreSQL database,
because concurrent writers are what the server database is for. Three
workers open cases, file and advance, two more file, sequence and sign
checkpoints, all for :data:`SECONDS`. Afterwards every filing a worker
journaled as committed is stored, the log contains each envelope exactly once
at indices 0 to n - 1, and ``verify`` finds nothing wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

import threeregs
from threeregs.crypto import PassphraseKeyStore
from threeregs.store import (
    CheckpointSigner,
    create_checkpoint,
    issue_key,
    latest_checkpoint,
    save_directory,
    sequence,
    verify,
)
from threeregs.store import _tables as t

if TYPE_CHECKING:
    from threeregs.crypto import AnchorSigner
    from threeregs.routing import Directory

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_worker.py")
SECONDS = 15
PASSPHRASE = "soak test passphrase"


@pytest.fixture
def server_url() -> str:
    url = os.environ.get("THREEREGS_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the soak test runs on PostgreSQL (THREEREGS_TEST_DATABASE_URL)")
    return url


def test_concurrent_workers_lose_nothing(
    server_url: str,
    engine: sa.Engine,
    anchor_signer: AnchorSigner,
    small_directory: Directory,
    tmp_path: Path,
) -> None:
    keystore = PassphraseKeyStore(tmp_path / "keys.trks", PASSPHRASE, cost=10)
    signer = CheckpointSigner.generate("330000")
    signer.save(tmp_path / "signer.trck", PASSPHRASE, cost=10)
    with engine.begin() as conn:
        save_directory(conn, small_directory)
        for office in small_directory:
            issue_key(conn, anchor_signer, keystore, office.code, level=int(office.level))
    keystore.save()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(threeregs.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
        "ANCHOR_HEX": anchor_signer.private_bytes().hex(),
        "KEYSTORE": str(keystore.path),
        "SIGNER": str(tmp_path / "signer.trck"),
        "PASSPHRASE": PASSPHRASE,
    }

    roles = ["gate", "gate", "gate", "sequence", "sequence"]
    journals = [tmp_path / f"journal-{number}.txt" for number in range(len(roles))]
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), role, server_url, str(journal), str(SECONDS), f"W{n}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        for n, (role, journal) in enumerate(zip(roles, journals, strict=True))
    ]
    errors = []
    for process in processes:
        _, stderr = process.communicate(timeout=SECONDS + 60)
        errors.append((process.returncode, stderr.decode()))
    assert all(code == 0 for code, _ in errors), errors

    lines = [line for journal in journals for line in journal.read_text().splitlines()]
    filed = {line.split(" ")[1] for line in lines if line.startswith("filed ")}
    with engine.begin() as conn:
        sequence(conn)
        previous = latest_checkpoint(conn, verify_keys=[signer.public_key])
        final = create_checkpoint(conn, signer, trusted=previous)
    with engine.begin() as conn:
        stored = set(conn.execute(sa.select(t.envelopes.c.filing_id)).scalars())
        indices = (
            conn.execute(sa.select(t.log_entries.c.log_index).order_by(t.log_entries.c.log_index))
            .scalars()
            .all()
        )
        logged = set(conn.execute(sa.select(t.log_entries.c.filing_id)).scalars())
        report = verify(conn, trusted=final, verify_keys=[signer.public_key])

    assert len(filed) > 50
    assert filed <= stored
    assert indices == list(range(len(stored)))
    assert logged == stored
    assert report.ok, report.problems
    assert report.checkpoints_checked >= 2
    assert sum(line.startswith("checkpoint ") for line in lines) >= 2
