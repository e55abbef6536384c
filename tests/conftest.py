"""Shared fixtures: the database under test, office keys and a ready stage gate.

``THREEREGS_TEST_DATABASE_URL`` selects the database (a SQLAlchemy URL). When
it is unset, every test gets a fresh SQLite file in its ``tmp_path``. On a
server database the tables are dropped and created once per test session, and
every test starts from empty tables, so point the variable at a database that
is reserved for tests.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import sqlalchemy as sa

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
from threeregs.crypto import AnchorSigner, MemoryKeyStore, OfficeKeyPair
from threeregs.policy import default_policy
from threeregs.routing import Directory, Level, Office
from threeregs.store import (
    add_office_key,
    create_tables,
    drop_tables,
    metadata,
    save_directory,
    use_immediate_transactions,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator
    from pathlib import Path

    #: (case id, visit, person id) of a visit left without that person's filing.
    Violation = tuple[str, int, str]
    FindViolations = Callable[[sa.Connection, Collection[str]], list[Violation]]

DATABASE_URL_VARIABLE = "THREEREGS_TEST_DATABASE_URL"
#: Office of the people the tests file as, unless a test passes another one.
BASIC_OFFICE = "330106"
#: Validity period of the office keys the fixtures issue, around the time of the test run.
KEY_VALIDITY = dt.timedelta(days=400)

SMALL_OFFICES = (
    ("000000", "最高人民检察院", Level.SUPREME, None),
    ("330000", "浙江省人民检察院", Level.PROVINCIAL, "000000"),
    ("330100", "杭州市人民检察院", Level.MUNICIPAL, "330000"),
    ("330106", "杭州市西湖区人民检察院", Level.BASIC, "330100"),
    ("330108", "杭州市滨江区人民检察院", Level.BASIC, "330100"),
    ("110000", "北京市人民检察院", Level.PROVINCIAL, "000000"),
    ("110105", "北京市朝阳区人民检察院", Level.BASIC, "110000"),
)


def create_test_engine(url: str) -> sa.Engine:
    """Create an engine for *url* the way a host would, with SQLite writers queueing."""
    return use_immediate_transactions(sa.create_engine(url))


def clear_tables(engine: sa.Engine) -> None:
    """Delete every row of every threeregs table, children before parents."""
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """Return the number of rows in each threeregs table."""
    return {
        table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in metadata.sorted_tables
    }


# --- the database --------------------------------------------------------


@pytest.fixture(scope="session")
def server_engine() -> Iterator[sa.Engine | None]:
    """Return the engine of the server database under test, or None for SQLite.

    The tables are dropped and created once, so a schema left by an earlier
    run or another revision does not leak into this one.
    """
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if not url:
        yield None
        return
    engine = create_test_engine(url)
    drop_tables(engine)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Return the SQLAlchemy URL of the database under test."""
    return os.environ.get(DATABASE_URL_VARIABLE) or f"sqlite:///{tmp_path / 'threeregs.sqlite3'}"


@pytest.fixture
def engine(db_url: str, server_engine: sa.Engine | None) -> Iterator[sa.Engine]:
    """Return an engine on empty threeregs tables."""
    if server_engine is not None:
        clear_tables(server_engine)
        yield server_engine
        return
    engine = create_test_engine(db_url)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def row_counts() -> Callable[[sa.Connection], dict[str, int]]:
    """Return :func:`count_rows`, for tests that check nothing was half-written."""
    return count_rows


def find_violations(conn: sa.Connection, case_ids: Collection[str]) -> list[Violation]:
    """Return every stage visit of *case_ids* that was left while someone had not filed.

    Reads the tables directly rather than asking the gate. A visit was left
    when the case's current visit number is higher. A person was on the case
    during visit *v* when an assignment row covers *v* in a role the default
    policy lists for the visit's stage. They filed when a stage filing row for
    (case, *v*, person) exists.
    """
    cases, visits, assignments, filings = (
        metadata.tables[f"threeregs_{name}"]
        for name in ("cases", "visits", "assignments", "stage_filings")
    )
    ids = list(case_ids)
    lines = {
        row.case_id: (row.business_line, row.visit)
        for row in conn.execute(sa.select(cases).where(cases.c.case_id.in_(ids)))
    }
    on_case: dict[str, list[Any]] = {}
    for row in conn.execute(sa.select(assignments).where(assignments.c.case_id.in_(ids))):
        on_case.setdefault(row.case_id, []).append(row)
    filed = {
        (row.case_id, row.visit, row.person_id)
        for row in conn.execute(sa.select(filings).where(filings.c.case_id.in_(ids)))
    }

    violations = []
    for visit in conn.execute(sa.select(visits).where(visits.c.case_id.in_(ids))):
        line, current = lines[visit.case_id]
        if visit.visit >= current:
            continue
        required = default_policy().line(line).roles_that_file(visit.stage)
        for row in on_case.get(visit.case_id, []):
            covers = row.from_visit <= visit.visit and (
                row.to_visit is None or row.to_visit >= visit.visit
            )
            has_filed = (visit.case_id, visit.visit, row.person_id) in filed
            if covers and row.role in required and not has_filed:
                violations.append((visit.case_id, visit.visit, row.person_id))
    return sorted(set(violations))


@pytest.fixture
def visit_violations() -> FindViolations:
    """Return :func:`find_violations`, the rule checked on the tables themselves."""
    return find_violations


# --- offices and keys ----------------------------------------------------


@pytest.fixture(scope="session")
def anchor_signer() -> AnchorSigner:
    """Return the trust anchor's signing key for the test session."""
    return AnchorSigner.generate()


@pytest.fixture
def keystore() -> MemoryKeyStore:
    """Return an empty key store; the ``gate`` fixture fills it."""
    return MemoryKeyStore()


@pytest.fixture(scope="session")
def small_directory() -> Directory:
    """Return a directory of seven offices in two provinces.

    Zhejiang has the full chain supreme, provincial, municipal and two basic
    offices; Beijing's basic office 110105 sits directly under the provincial
    office, so its chain has three offices.
    """
    return Directory(
        Office(code=code, name=name, level=level, parent_code=parent)
        for code, name, level, parent in SMALL_OFFICES
    )


def issue_office_keys(
    conn: sa.Connection,
    directory: Directory,
    signer: AnchorSigner,
    keystore: MemoryKeyStore,
) -> None:
    """Save *directory* and issue a certified key for each of its offices."""
    now = dt.datetime.now(dt.UTC)
    save_directory(conn, directory)
    for office in directory:
        pair = OfficeKeyPair.generate(office.code)
        keystore.add(pair)
        certified = signer.certify_pair(
            pair,
            level=int(office.level),
            not_before=now - dt.timedelta(days=1),
            not_after=now + KEY_VALIDITY,
        )
        add_office_key(conn, certified, anchor=signer.anchor)


@pytest.fixture
def gate(
    engine: sa.Engine,
    anchor_signer: AnchorSigner,
    keystore: MemoryKeyStore,
    small_directory: Directory,
) -> StageGate:
    """Return a stage gate with the default policy, over offices that all have keys."""
    with engine.begin() as conn:
        issue_office_keys(conn, small_directory, anchor_signer, keystore)
    return StageGate(anchor=anchor_signer.anchor, directory=small_directory)


# --- filers and filings --------------------------------------------------


class MakeFiler(Protocol):
    def __call__(
        self,
        person_id: str,
        *,
        office_code: str = ...,
        staff_kind: StaffKind = ...,
    ) -> Filer: ...


class MakeStageReport(Protocol):
    def __call__(
        self,
        person_id: str,
        case_id: str,
        stage: str,
        round: int = ...,
        *,
        office_code: str = ...,
    ) -> Filing: ...


@pytest.fixture
def filer() -> MakeFiler:
    """Return a factory of filers, prosecutors of office 330106 by default."""

    def make(
        person_id: str,
        *,
        office_code: str = BASIC_OFFICE,
        staff_kind: StaffKind = StaffKind.PROSECUTOR,
    ) -> Filer:
        return Filer(person_id, office_code, staff_kind)

    return make


@pytest.fixture
def stage_zero(filer: MakeFiler) -> MakeStageReport:
    """Return a factory of zero reports for one round of one stage of a case."""

    def make(
        person_id: str,
        case_id: str,
        stage: str,
        round: int = 1,
        *,
        office_code: str = BASIC_OFFICE,
    ) -> Filing:
        obligation = StageObligation(case_id, stage, round)
        return Filing.zero(filer(person_id, office_code=office_code), obligation)

    return make


@pytest.fixture
def lawyer_contact() -> Record:
    """Return a record of a phone call from a party's lawyer an hour ago."""
    return Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener("张伟", "浙江某律师事务所", "律师", IntervenerRole.LAWYER),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        manner=Manner.PHONE,
        content="询问案件进展",
    )
