"""A host database set up with the ``threeregs`` command, and filings in it."""

from __future__ import annotations

import datetime as dt
import shutil
from typing import TYPE_CHECKING

import attrs
import pytest
import sqlalchemy as sa
from cli_support import CASE, CHAIN, PERSON, Workspace, anchor_from, describe, invoke

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
from threeregs.crypto import TrustAnchor
from threeregs.routing import Directory
from threeregs.store import use_immediate_transactions

if TYPE_CHECKING:
    from pathlib import Path


def _run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, describe(result)
    return result.stdout


def _file_two_filings(db_url: str, anchor: str) -> tuple[str, str]:
    """File a zero report and an anytime record the way a host does, through StageGate."""
    engine = use_immediate_transactions(sa.create_engine(db_url))
    gate = StageGate(anchor=TrustAnchor.from_hex(anchor), directory=Directory.national())
    filer = Filer(PERSON, CHAIN[0], StaffKind.PROSECUTOR)
    call = Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener("张伟", "浙江某律师事务所", "律师", IntervenerRole.LAWYER),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        manner=Manner.PHONE,
        content="询问案件进展",
    )
    try:
        with engine.begin() as conn:
            gate.open_case(conn, CASE, business_line="criminal", office_code=CHAIN[0])
            gate.assign(conn, CASE, PERSON, role="handler")
            zero = gate.file(conn, Filing.zero(filer, StageObligation(CASE, "accept")))
            record = gate.file(conn, Filing(filer, None, records=(call,)))
    finally:
        engine.dispose()
    return zero.filing_id, record.filing_id


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Return a workspace that tests only read: they must not change its files.

    Opening an inbox writes to the access log, which tests of this shared
    workspace do not look at; a test that does uses ``own_workspace``.
    """
    folder = tmp_path_factory.mktemp("workspace")
    database, keystore = folder / "host.sqlite3", folder / "keys.trks"
    db_url = f"sqlite:///{database}"

    _run("db", "init", "--db", db_url)
    anchor = anchor_from(_run("keys", "init", "--keystore", str(keystore), "--with-anchor"))
    _run("keys", "issue", "--db", db_url, "--keystore", str(keystore), *CHAIN)
    zero_report, record = _file_two_filings(db_url, anchor)
    return Workspace(folder, database, keystore, anchor, zero_report, record)


@pytest.fixture
def own_workspace(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Return a copy of the shared workspace that the test may change."""
    database = tmp_path / workspace.database.name
    keystore = tmp_path / workspace.keystore.name
    shutil.copy(workspace.database, database)
    shutil.copy(workspace.keystore, keystore)
    return attrs.evolve(workspace, folder=tmp_path, database=database, keystore=keystore)
