"""From the stage gate to statistics: file, open each inbox, import, count, summarise."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from threeregs import (
    Filer,
    Filing,
    Inbox,
    Intervener,
    Level,
    MonthlyObligation,
    Record,
    StageGate,
    StageObligation,
)
from threeregs.stats import (
    Dimension,
    Measure,
    Period,
    aggregate_returns,
    import_opened,
    parse_summary,
    sign_summary,
    stat_facts,
    stats_metadata,
    summarise,
    summary_table,
    tabulate,
)
from threeregs.stats._periods import local_month, period_label
from threeregs.store import metadata as host_metadata

if TYPE_CHECKING:
    from threeregs.crypto import MemoryKeyStore
    from threeregs.routing import Directory

NOW = dt.datetime.now(dt.UTC)


def _record(provision: str, conduct: str, bucket: str, *, staff: bool = False) -> Record:
    role = "internal_personnel" if staff else "lawyer"
    return Record(
        provision,
        conduct,
        bucket,
        Intervener("李四", "某律师事务所", "律师", role, procuratorate_staff=staff),
        NOW - dt.timedelta(days=1),
        "phone",
        "询问案件进展",
    )


PLEADING = _record("P1", "pleading", "improper_interference")
INQUIRY = _record("P2", "inquiry", "routine_inquiry", staff=True)
OFF_HOURS = _record("P3", "contact", "off_hours_contact")
CONTACT = _record("P3", "contact", "routine_inquiry")


def _file_everything(engine: sa.Engine, gate: StageGate) -> list[Filing]:
    """File a mix of filings in two provinces and return them."""
    west_lake = Filer("p1", "330106", "prosecutor")
    clerk = Filer("p2", "330106", "clerk")
    chaoyang = Filer("p3", "110105", "prosecutor")
    month = MonthlyObligation(period_label(Period.MONTH, *local_month(NOW)))
    # Every filing carries the same time, so all fall into one quarter.
    filings = [
        Filing(
            west_lake, StageObligation("C-1", "accept"), records=(PLEADING, INQUIRY), filed_at=NOW
        ),
        Filing.zero(clerk, StageObligation("C-1", "accept"), filed_at=NOW),
        Filing(west_lake, None, records=(OFF_HOURS,), direct_to=Level.MUNICIPAL, filed_at=NOW),
        Filing.zero(west_lake, month, filed_at=NOW),
        Filing(chaoyang, None, records=(CONTACT,), filed_at=NOW),
        Filing(chaoyang, None, records=(INQUIRY,), direct_to=Level.SUPREME, filed_at=NOW),
    ]
    with engine.begin() as conn:
        gate.open_case(conn, "C-1", business_line="criminal", office_code="330106")
        gate.assign(conn, "C-1", "p1", role="handler")
        gate.assign(conn, "C-1", "p2", role="clerk")
        for filing in filings:
            gate.file(conn, filing)
    return filings


def _import_all(
    engine: sa.Engine,
    stats_engine: sa.Engine,
    keystore: MemoryKeyStore,
    directory: Directory,
) -> dict[str, tuple[int, int, int]]:
    results = {}
    for office in directory:
        with engine.begin() as conn, stats_engine.begin() as stat_conn:
            inbox = Inbox(office.code, keystore, reader="inspector-1")
            summary = import_opened(stat_conn, inbox.open_all(conn), directory)
            results[office.code] = (summary.imported, summary.already_present, summary.skipped)
    return results


@pytest.fixture
def filed(
    engine: sa.Engine,
    gate: StageGate,
    stats_engine: sa.Engine,
    keystore: MemoryKeyStore,
    small_directory: Directory,
) -> dict[str, tuple[int, int, int]]:
    _file_everything(engine, gate)
    return _import_all(engine, stats_engine, keystore, small_directory)


QUARTER = period_label(Period.QUARTER, *local_month(NOW))


def test_each_filing_imported_once_by_its_recipient(filed: dict[str, tuple[int, int, int]]) -> None:
    imported = {code: counts[0] for code, counts in filed.items()}

    assert imported == {
        "330106": 3,
        "330100": 1,
        "330000": 0,
        "000000": 1,
        "110000": 0,
        "110105": 1,
        "330108": 0,
    }


def test_import_again_changes_nothing(
    filed: dict[str, tuple[int, int, int]],
    engine: sa.Engine,
    stats_engine: sa.Engine,
    keystore: MemoryKeyStore,
    small_directory: Directory,
) -> None:
    again = _import_all(engine, stats_engine, keystore, small_directory)

    assert sum(imported for imported, _, _ in again.values()) == 0
    assert sum(present for _, present, _ in again.values()) == 6
    with stats_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stat_facts)).scalar_one() == 6


def test_records_by_level(filed: object, stats_engine: sa.Engine) -> None:
    with stats_engine.connect() as conn:
        records = tabulate(conn, Dimension.LEVEL)
        filings = tabulate(conn, Dimension.LEVEL, measure=Measure.FILINGS)
        zero = tabulate(conn, Dimension.LEVEL, measure=Measure.ZERO_REPORTS)

    assert records.counts(QUARTER) == {"supreme": 0, "provincial": 0, "municipal": 0, "basic": 5}
    assert filings.total(QUARTER) == 6
    assert zero.total(QUARTER) == 2


def test_records_by_category(filed: object, stats_engine: sa.Engine) -> None:
    with stats_engine.connect() as conn:
        provision = tabulate(conn, Dimension.PROVISION)
        bucket = tabulate(conn, Dimension.BUCKET)
        staff = tabulate(conn, Dimension.STAFF)
        conduct = tabulate(conn, Dimension.CONDUCT)
        office = tabulate(conn, Dimension.OFFICE)

    assert provision.counts(QUARTER) == {"P1": 1, "P2": 2, "P3": 2}
    assert bucket.counts(QUARTER) == {
        "routine_inquiry": 3,
        "improper_interference": 1,
        "off_hours_contact": 1,
    }
    assert staff.counts(QUARTER) == {"procuratorate_staff": 2, "other": 3}
    assert conduct.count(QUARTER, "contact") == 2
    assert conduct.total(QUARTER) == 5
    assert office.counts(QUARTER) == {"110105": 2, "330106": 3}


def test_direct_reports_by_destination(filed: object, stats_engine: sa.Engine) -> None:
    with stats_engine.connect() as conn:
        direct = tabulate(conn, Dimension.DIRECT)
        own = tabulate(conn, Dimension.LEVEL, measure=Measure.FILINGS, recipient="330106")

    assert direct.counts(QUARTER) == {"supreme": 1, "provincial": 0, "municipal": 1}
    assert own.total(QUARTER) == 3


def test_summaries_up_to_national_table(
    filed: object, stats_engine: sa.Engine, small_directory: Directory
) -> None:
    keys = {office.code: Ed25519PrivateKey.generate() for office in small_directory}
    public = {code: key.public_key() for code, key in keys.items()}
    sent: dict[str, bytes] = {}

    # Children before parents: basic, municipal, provincial, then the supreme office.
    for level in (Level.BASIC, Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME):
        for office in small_directory.by_level(level):
            with stats_engine.connect() as conn:
                own = summarise(conn, office.code, QUARTER, directory=small_directory)
            children = [
                parse_summary(sent[child.code]) for child in small_directory.children(office.code)
            ]
            total = aggregate_returns(own, children, directory=small_directory, public_keys=public)
            sent[office.code] = sign_summary(total, keys[office.code]).to_bytes()

    national = parse_summary(sent["000000"]).summary
    with stats_engine.connect() as conn:
        direct = tabulate(conn, Dimension.LEVEL)

    assert national.parent_code is None
    assert national.missing == ()
    assert national.offices == tuple(sorted(office.code for office in small_directory))
    assert summary_table(national, Dimension.LEVEL).counts(QUARTER) == direct.counts(QUARTER)
    assert national.count("filings") == 6
    assert national.count("zero_reports") == 2
    assert summary_table(national, Dimension.DIRECT).counts(QUARTER) == {
        "supreme": 1,
        "provincial": 0,
        "municipal": 1,
    }
    assert summary_table(national, Dimension.BUCKET).total(QUARTER) == 5


def test_statistics_tables_are_not_host_tables() -> None:
    host = {table.name for table in host_metadata.sorted_tables}
    inspection = {table.name for table in stats_metadata.sorted_tables}

    assert not host & inspection


def test_host_database_holds_no_statistics(
    filed: object, engine: sa.Engine, stats_engine: sa.Engine
) -> None:
    if engine.url == stats_engine.url:
        pytest.skip("the server test database holds both sets of tables")
    names = set(sa.inspect(engine).get_table_names())

    assert not names & {table.name for table in stats_metadata.sorted_tables}
