"""Key rotation: new key versions, the rewrap job, retiring keys and untrusted keys."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from threeregs import (
    Filing,
    Inbox,
    KeyNotFoundError,
    Level,
    Outcome,
    StageObligation,
    UntrustedKeyError,
)
from threeregs.crypto import AnchorSigner, MemoryKeyStore, OfficeKeyPair, content_digest
from threeregs.store import (
    RewrapProgress,
    issue_key,
    metadata,
    office_keys,
    retire_key,
    rewrap_office,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import MakeFiler
    from threeregs import Receipt, Record, StageGate

OFFICE = "330106"
SLOTS = 4

envelopes = metadata.tables["threeregs_envelopes"]
office_keys_table = metadata.tables["threeregs_office_keys"]


class StopRewrapError(Exception):
    """Raised by a progress callback to stop a rewrap job."""


def file_six(engine: sa.Engine, gate: StageGate, anytime: Filing) -> list[Receipt]:
    """File three own-office filings and three direct reports from 330106, alternating."""
    with engine.begin() as conn:
        return [
            gate.file(
                conn, Filing(anytime.filer, None, records=anytime.records, direct_to=direct_to)
            )
            for direct_to in [None, Level.MUNICIPAL] * 3
        ]


@pytest.fixture
def anytime(filer: MakeFiler, lawyer_contact: Record) -> Filing:
    """Return an anytime record of a prosecutor of 330106."""
    return Filing(filer("p1"), None, records=(lawyer_contact,))


@pytest.fixture
def receipts(engine: sa.Engine, gate: StageGate, anytime: Filing) -> list[Receipt]:
    """Return the receipts of :func:`file_six`, filed with key version 1."""
    return file_six(engine, gate, anytime)


@pytest.fixture
def second_key(
    engine: sa.Engine,
    anchor_signer: AnchorSigner,
    keystore: MemoryKeyStore,
    receipts: list[Receipt],
) -> OfficeKeyPair:
    """Issue key version 2 of 330106 after the six filings of ``receipts``."""
    with engine.begin() as conn:
        return issue_key(conn, anchor_signer, keystore, OFFICE, level=int(Level.BASIC))


def slot_versions(engine: sa.Engine) -> dict[str, int]:
    """Return the key version of the 330106 slot of each stored filing, by filing id."""
    versions = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.select(envelopes)):
            mapping = row._mapping
            for index in range(SLOTS):
                if mapping[f"slot{index}_office"] == OFFICE:
                    versions[row.filing_id] = mapping[f"slot{index}_version"]
    return versions


def outcomes(engine: sa.Engine, keystore: MemoryKeyStore) -> dict[str, Outcome]:
    inbox = Inbox(OFFICE, keystore, reader="inspector-1")
    with engine.begin() as conn:
        return {item.filing_id: item.outcome for item in inbox.open_all(conn)}


def expected_outcomes(receipts: list[Receipt]) -> dict[str, Outcome]:
    """Return the outcomes at 330106 of the filings of :func:`file_six`.

    The own-office filings open there, and the direct reports are decoys.
    """
    return {
        receipt.filing_id: Outcome.OPENED if index % 2 == 0 else Outcome.DECOY
        for index, receipt in enumerate(receipts)
    }


# --- a new key version ------------------------------------------------------------


def test_new_filings_use_new_version(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    anytime: Filing,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:
    after = file_six(engine, gate, anytime)

    versions = slot_versions(engine)
    with engine.connect() as conn:
        stored = [cert.record.key_version for cert, _ in office_keys(conn, OFFICE)]

    assert second_key.key_version == 2
    assert stored == [1, 2]
    assert set(keystore.keys_for(OFFICE)) == {1, 2}
    assert {versions[r.filing_id] for r in receipts} == {1}
    assert {versions[r.filing_id] for r in after} == {2}
    assert outcomes(engine, MemoryKeyStore([second_key])) == {
        **{r.filing_id: Outcome.MISSING_KEY for r in receipts},
        **expected_outcomes(after),
    }


# --- the rewrap job ---------------------------------------------------------------


def test_rewrap_moves_every_slot(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:
    reports: list[RewrapProgress] = []

    final = rewrap_office(
        engine, OFFICE, keystore, anchor_signer.anchor, batch=4, progress=reports.append
    )

    assert set(slot_versions(engine).values()) == {2}
    assert outcomes(engine, MemoryKeyStore([second_key])) == expected_outcomes(receipts)
    assert (final.office_code, final.to_version) == (OFFICE, 2)
    assert final.rewrapped == 6
    assert final.remaining == 0
    assert reports[-1] == final
    assert [r.rewrapped for r in reports] == [4, 6, 6]
    assert [r.remaining for r in reports] == [2, 0, 0]
    done = [r.done_through for r in reports]
    assert done == sorted(done)


def test_rewrap_leaves_other_offices_alone(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:
    with engine.connect() as conn:
        before = conn.execute(sa.select(envelopes).order_by(envelopes.c.seq)).all()

    rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor)

    with engine.connect() as conn:
        after = conn.execute(sa.select(envelopes).order_by(envelopes.c.seq)).all()
    for old, new in zip(before, after, strict=True):
        for index in range(1, SLOTS):
            assert new._mapping[f"slot{index}_office"] == old._mapping[f"slot{index}_office"]
            assert new._mapping[f"slot{index}_version"] == 1
    inbox = Inbox("330100", keystore, reader="inspector-1")
    with engine.begin() as conn:
        municipal = [item.outcome for item in inbox.open_all(conn)]
    assert municipal == [Outcome.DECOY, Outcome.OPENED] * 3


def test_rewrap_again_changes_nothing(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:
    rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor)
    with engine.connect() as conn:
        before = [row.envelope for row in conn.execute(sa.select(envelopes))]

    again = rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor)

    with engine.connect() as conn:
        after = [row.envelope for row in conn.execute(sa.select(envelopes))]
    assert again.rewrapped == 0
    assert again.remaining == 0
    assert after == before


def test_rewrap_keeps_receipt_digests(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:
    with engine.connect() as conn:
        old = {row.filing_id: bytes(row.envelope) for row in conn.execute(sa.select(envelopes))}

    rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor)

    with engine.connect() as conn:
        rows = {row.filing_id: row for row in conn.execute(sa.select(envelopes))}
    for receipt in receipts:
        row = rows[receipt.filing_id]
        assert bytes(row.envelope) != old[receipt.filing_id]
        assert content_digest(bytes(row.envelope)) == receipt.digest
        assert row.digest == receipt.digest


def test_retire_key_after_rewrap(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:

    with engine.begin() as conn, pytest.raises(UntrustedKeyError) as raised:
        retire_key(conn, OFFICE, 1)
    rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor)
    with engine.begin() as conn:
        retire_key(conn, OFFICE, 1)
    with engine.connect() as conn:
        retired = {cert.record.key_version: gone for cert, gone in office_keys(conn, OFFICE)}
    with engine.begin() as conn, pytest.raises(KeyNotFoundError):
        retire_key(conn, OFFICE, 1)

    assert "rewrap" in str(raised.value)
    assert retired == {1: True, 2: False}


# --- an interrupted rewrap ---------------------------------------------------------


def stop_after(calls: int) -> Callable[[RewrapProgress], None]:
    """Return a progress callback that raises :class:`StopRewrapError` on call number *calls*."""
    seen: list[RewrapProgress] = []

    def progress(report: RewrapProgress) -> None:
        seen.append(report)
        if len(seen) == calls:
            raise StopRewrapError

    return progress


def test_rewrap_resumes_after_interruption(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:

    with pytest.raises(StopRewrapError):
        rewrap_office(
            engine, OFFICE, keystore, anchor_signer.anchor, batch=2, progress=stop_after(2)
        )
    moved = sum(version == 2 for version in slot_versions(engine).values())
    final = rewrap_office(engine, OFFICE, keystore, anchor_signer.anchor, batch=2)

    assert 0 < moved < 6
    assert final.rewrapped == 6 - moved
    assert final.remaining == 0
    assert set(slot_versions(engine).values()) == {2}
    assert outcomes(engine, MemoryKeyStore([second_key])) == expected_outcomes(receipts)


def test_rewrap_commits_batch_before_progress(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:

    with pytest.raises(StopRewrapError):
        rewrap_office(
            engine, OFFICE, keystore, anchor_signer.anchor, batch=2, progress=stop_after(1)
        )

    assert sorted(slot_versions(engine).values()) == [1, 1, 1, 1, 2, 2]


def test_rewrap_without_old_key(
    engine: sa.Engine,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    receipts: list[Receipt],
    second_key: OfficeKeyPair,
) -> None:

    with pytest.raises(KeyNotFoundError) as raised:
        rewrap_office(engine, OFFICE, MemoryKeyStore([second_key]), anchor_signer.anchor)

    assert "key version 1" in str(raised.value)
    assert OFFICE in str(raised.value)
    assert set(slot_versions(engine).values()) == {1}


# --- keys the gate must not seal to -------------------------------------------------


def test_expired_key_rejected(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    anytime: Filing,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with engine.begin() as conn:
        issue_key(
            conn,
            anchor_signer,
            keystore,
            OFFICE,
            level=int(Level.BASIC),
            valid_for=dt.timedelta(seconds=1),
            at=an_hour_ago,
        )

    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(UntrustedKeyError) as raised:
            gate.file(conn, anytime)
        after = row_counts(conn)

    assert "version 2" in str(raised.value)
    assert after == before


def test_expired_key_claims_no_stage(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    anchor_signer: AnchorSigner,
    filer: MakeFiler,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    with engine.begin() as conn:
        gate.open_case(conn, "C-1", business_line="criminal", office_code=OFFICE)
        gate.assign(conn, "C-1", "p1", role="handler")
        issue_key(
            conn,
            anchor_signer,
            keystore,
            OFFICE,
            level=int(Level.BASIC),
            valid_for=dt.timedelta(seconds=1),
            at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        )

    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(UntrustedKeyError):
            gate.file(conn, Filing.zero(filer("p1"), StageObligation("C-1", "accept")))
        after = row_counts(conn)
        decision = gate.check(conn, "C-1", "prosecution_review")

    assert after == before
    assert not decision.allowed


def substitute_certificate(engine: sa.Engine, certificate: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(office_keys_table)
            .where(office_keys_table.c.office_code == OFFICE, office_keys_table.c.key_version == 1)
            .values(certificate=certificate)
        )


def stored_certificate(engine: sa.Engine) -> bytes:
    with engine.connect() as conn:
        return bytes(
            conn.execute(
                sa.select(office_keys_table.c.certificate).where(
                    office_keys_table.c.office_code == OFFICE,
                    office_keys_table.c.key_version == 1,
                )
            ).scalar_one()
        )


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def test_substituted_key_rejected(
    engine: sa.Engine,
    gate: StageGate,
    anchor_signer: AnchorSigner,
    anytime: Filing,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    # A key pair for 330106 version 1, certified by an anchor the host does not trust.
    other = AnchorSigner.generate()
    pair = OfficeKeyPair.generate(OFFICE)
    now = dt.datetime.now(dt.UTC)
    forged = other.certify_pair(
        pair,
        level=int(Level.BASIC),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
    )
    substitute_certificate(engine, forged.to_bytes())

    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(UntrustedKeyError) as raised:
            gate.file(conn, anytime)
        after = row_counts(conn)

    assert "trust anchor" in str(raised.value)
    assert after == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda cert: flip(cert, len(cert) - 1), id="signature"),
        pytest.param(lambda cert: flip(cert, 20), id="record"),
        pytest.param(lambda cert: cert[:-10], id="truncated"),
        pytest.param(lambda cert: b"", id="empty"),
    ],
)
def test_corrupted_certificate_rejected(
    engine: sa.Engine,
    gate: StageGate,
    anytime: Filing,
    row_counts: Callable[[sa.Connection], dict[str, int]],
    damage: Callable[[bytes], bytes],
) -> None:
    substitute_certificate(engine, damage(stored_certificate(engine)))

    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(UntrustedKeyError):
            gate.file(conn, anytime)
        after = row_counts(conn)

    assert after == before
