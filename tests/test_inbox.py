"""The inspection inbox: real slots open, decoys stay closed, failures are reported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from threeregs import (
    Filing,
    Inbox,
    InboxItem,
    InboxSummary,
    Level,
    Outcome,
    UnknownFilingError,
    UnknownOfficeError,
)
from threeregs.crypto import MemoryKeyStore, parse_header
from threeregs.store import issue_key, metadata

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import MakeFiler
    from threeregs import Record, StageGate
    from threeregs.crypto import AnchorSigner

OWN = "330106"
#: The chain of office 330106, own office first.
CHAIN = ("330106", "330100", "330000", "000000")
LEVEL_OFFICES = {Level.MUNICIPAL: "330100", Level.PROVINCIAL: "330000", Level.SUPREME: "000000"}
READER = "inspector-1"

envelopes = metadata.tables["threeregs_envelopes"]
access_log = metadata.tables["threeregs_access_log"]


def file_records(
    engine: sa.Engine,
    gate: StageGate,
    filing: Filing,
    count: int = 1,
    *,
    direct_to: Level | None = None,
) -> list[str]:
    """File *count* copies of *filing* under fresh ids and return the ids, oldest first."""
    ids = []
    with engine.begin() as conn:
        for _ in range(count):
            copy = Filing(filing.filer, None, records=filing.records, direct_to=direct_to)
            ids.append(gate.file(conn, copy).filing_id)
    return ids


def open_inbox(
    engine: sa.Engine, office: str, keystore: MemoryKeyStore, **options: Any
) -> tuple[list[InboxItem], InboxSummary]:
    inbox = Inbox(office, keystore, reader=READER)
    with engine.begin() as conn:
        items = list(inbox.open_all(conn, **options))
    return items, inbox.summary


def outcomes(items: list[InboxItem]) -> dict[str, Outcome]:
    return {item.filing_id: item.outcome for item in items}


def flip_payload_bit(engine: sa.Engine, filing_id: str) -> None:
    """Flip one bit of the payload ciphertext of a stored envelope, as a database writer could."""
    with engine.begin() as conn:
        data = bytearray(
            conn.execute(
                sa.select(envelopes.c.envelope).where(envelopes.c.filing_id == filing_id)
            ).scalar_one()
        )
        header = parse_header(bytes(data))
        # The payload ciphertext and its 16-byte tag close the envelope.
        data[len(data) - header.padded_length // 2 - 16] ^= 0x01
        conn.execute(
            sa.update(envelopes)
            .where(envelopes.c.filing_id == filing_id)
            .values(envelope=bytes(data))
        )


@pytest.fixture
def anytime(filer: MakeFiler, lawyer_contact: Record) -> Filing:
    """Return an anytime record of a prosecutor of 330106."""
    return Filing(filer("p1"), None, records=(lawyer_contact,))


# --- routing, checked through each inbox ---------------------------------------


def test_own_office_filing_opens_only_there(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    [filing_id] = file_records(engine, gate, anytime)

    seen = {office: open_inbox(engine, office, keystore)[0] for office in CHAIN}
    sibling, _ = open_inbox(engine, "330108", keystore)

    assert outcomes(seen[OWN]) == {filing_id: Outcome.OPENED}
    opened = seen[OWN][0].filing
    assert opened is not None
    assert opened.filing_id == filing_id
    assert opened.records == anytime.records
    for office in CHAIN[1:]:
        assert outcomes(seen[office]) == {filing_id: Outcome.DECOY}, office
        assert seen[office][0].filing is None
    assert sibling == []


@pytest.mark.parametrize("level", list(LEVEL_OFFICES))
def test_direct_report_opens_only_at_its_level(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing, level: Level
) -> None:
    [filing_id] = file_records(engine, gate, anytime, direct_to=level)

    for office in CHAIN:
        items, summary = open_inbox(engine, office, keystore)
        expected = Outcome.OPENED if office == LEVEL_OFFICES[level] else Outcome.DECOY
        assert outcomes(items) == {filing_id: expected}, office
        assert summary.total == 1


def test_summary_counts_every_outcome(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    anytime: Filing,
) -> None:
    office = "330100"
    old = file_records(engine, gate, anytime) + file_records(
        engine, gate, anytime, direct_to=Level.MUNICIPAL
    )
    with engine.begin() as conn:
        new_key = issue_key(conn, anchor_signer, keystore, office, level=int(Level.MUNICIPAL))
    [decoy] = file_records(engine, gate, anytime)
    opened, damaged = file_records(engine, gate, anytime, 2, direct_to=Level.MUNICIPAL)
    flip_payload_bit(engine, damaged)

    items, summary = open_inbox(engine, office, MemoryKeyStore([new_key]))

    assert outcomes(items) == {
        old[0]: Outcome.MISSING_KEY,
        old[1]: Outcome.MISSING_KEY,
        decoy: Outcome.DECOY,
        opened: Outcome.OPENED,
        damaged: Outcome.FAILED,
    }
    assert summary == InboxSummary(opened=1, decoys=1, failed=1, missing_key=2)
    assert summary.total == 5


# --- damaged envelopes and missing keys -----------------------------------------


def test_altered_envelope_is_reported_failed(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    anytime: Filing,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, damaged, last = file_records(engine, gate, anytime, 3)
    flip_payload_bit(engine, damaged)

    items, summary = open_inbox(engine, OWN, keystore)

    assert [item.filing_id for item in items] == [first, damaged, last]
    assert [item.outcome for item in items] == [Outcome.OPENED, Outcome.FAILED, Outcome.OPENED]
    assert items[1].filing is None
    assert (summary.opened, summary.failed) == (2, 1)
    assert damaged in caplog.text


def test_truncated_envelope_is_reported_failed(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    first, damaged = file_records(engine, gate, anytime, 2)
    with engine.begin() as conn:
        conn.execute(
            sa.update(envelopes)
            .where(envelopes.c.filing_id == damaged)
            .values(envelope=sa.func.substr(envelopes.c.envelope, 1, 40))
        )

    items, _ = open_inbox(engine, OWN, keystore)

    assert outcomes(items) == {first: Outcome.OPENED, damaged: Outcome.FAILED}


def test_missing_key_version_is_reported(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    [filing_id] = file_records(engine, gate, anytime)

    items, summary = open_inbox(engine, OWN, MemoryKeyStore())

    [item] = items
    assert item.filing_id == filing_id
    assert item.outcome is Outcome.MISSING_KEY
    assert item.key_version == 1
    assert item.filing is None
    assert summary == InboxSummary(missing_key=1)


# --- one filing -------------------------------------------------------------------


def test_open_one_filing(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    first, second = file_records(engine, gate, anytime, 2)
    own = Inbox(OWN, keystore, reader=READER)
    above = Inbox("330100", keystore, reader=READER)

    with engine.begin() as conn:
        item = own.open(conn, second)
        decoy = above.open(conn, first)

    assert item.filing_id == second
    assert item.outcome is Outcome.OPENED
    assert item.filing is not None
    assert item.filing.filing_id == second
    assert decoy.outcome is Outcome.DECOY
    assert own.summary == InboxSummary(opened=1)


def test_open_filing_not_addressed_to_office(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    beijing = Filing(filer("p2", office_code="110105"), None, records=(lawyer_contact,))
    [elsewhere] = file_records(engine, gate, beijing)
    inbox = Inbox(OWN, keystore, reader=READER)

    with engine.begin() as conn:
        with pytest.raises(UnknownFilingError) as raised:
            inbox.open(conn, elsewhere)
        with pytest.raises(UnknownFilingError):
            inbox.open(conn, "0" * 32)

    assert elsewhere in str(raised.value)
    assert OWN in str(raised.value)


def test_office_missing_from_directory_is_rejected(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore
) -> None:
    inbox = Inbox("999999", keystore, reader=READER)

    with engine.begin() as conn:
        with pytest.raises(UnknownOfficeError) as listed:
            list(inbox.open_all(conn))
        with pytest.raises(UnknownOfficeError):
            inbox.open(conn, "0" * 32)
        with pytest.raises(UnknownOfficeError):
            inbox.count(conn)

    assert "'999999'" in str(listed.value)
    assert access_rows(engine) == []


def test_office_is_not_checked_without_directory(engine: sa.Engine) -> None:
    inbox = Inbox("999999", MemoryKeyStore(), reader=READER)

    with engine.begin() as conn:
        items = list(inbox.open_all(conn))

    assert items == []


# --- the access log ------------------------------------------------------------------


def access_rows(engine: sa.Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(access_log.c.office_code, access_log.c.reader, access_log.c.filing_id)
        ).all()
    return sorted((row.office_code, row.reader, row.filing_id) for row in rows)


def test_every_attempt_is_logged(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    opened, damaged = file_records(engine, gate, anytime, 2)
    [direct] = file_records(engine, gate, anytime, direct_to=Level.MUNICIPAL)
    flip_payload_bit(engine, damaged)

    open_inbox(engine, OWN, keystore)
    open_inbox(engine, "330100", MemoryKeyStore())
    with engine.begin() as conn:
        Inbox("000000", keystore, reader="inspector-2").open(conn, direct)

    assert access_rows(engine) == sorted(
        [
            (OWN, READER, opened),
            (OWN, READER, damaged),
            (OWN, READER, direct),
            ("330100", READER, opened),
            ("330100", READER, damaged),
            ("330100", READER, direct),
            ("000000", "inspector-2", direct),
        ]
    )


def test_access_log_does_not_record_outcome(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        columns = {column["name"] for column in sa.inspect(conn).get_columns(access_log.name)}

    assert columns == {"id", "office_code", "reader", "filing_id", "opened_at"}


# --- streaming -----------------------------------------------------------------------


def record_envelope_selects(conn: sa.Connection) -> list[str]:
    """Start recording the SELECTs on the envelope table that *conn* runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and envelopes.name in statement:
            statements.append(statement)

    sa.event.listen(conn, "before_cursor_execute", record)
    return statements


def test_inbox_streams_in_batches(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    ids = file_records(engine, gate, anytime, 5)
    inbox = Inbox(OWN, keystore, reader=READER)

    with engine.begin() as conn:
        selects = record_envelope_selects(conn)
        stream: Iterator[InboxItem] = inbox.open_all(conn, batch=2)
        head = [next(stream), next(stream)]
        logged_after_first_batch = conn.execute(
            sa.select(sa.func.count()).select_from(access_log)
        ).scalar_one()
        items = head + list(stream)

    assert [item.filing_id for item in items] == ids
    seqs = [item.seq for item in items]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert all(item.outcome is Outcome.OPENED for item in items)
    assert logged_after_first_batch == 2
    # Three batches of at most two envelopes, each found by one SELECT of
    # seqs and read by another, then one empty SELECT of seqs that ends the
    # stream.
    assert len(selects) == 7


def test_after_seq_resumes(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    ids = file_records(engine, gate, anytime, 5)
    everything, _ = open_inbox(engine, OWN, keystore, batch=2)

    rest, summary = open_inbox(engine, OWN, keystore, after_seq=everything[1].seq, batch=2)
    nothing, _ = open_inbox(engine, OWN, keystore, after_seq=everything[-1].seq)

    assert [item.filing_id for item in rest] == ids[2:]
    assert summary.opened == 3
    assert nothing == []


def test_count_includes_decoys(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, anytime: Filing
) -> None:
    file_records(engine, gate, anytime, 2)
    file_records(engine, gate, anytime, direct_to=Level.SUPREME)

    with engine.connect() as conn:
        counts = {office: Inbox(office, keystore, reader=READER).count(conn) for office in CHAIN}
        sibling = Inbox("330108", keystore, reader=READER).count(conn)

    assert counts == dict.fromkeys(CHAIN, 3)
    assert sibling == 0
