from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from strategies import COMMON_HANZI, filings, zero_filings
from threeregs._canonical import dumps, loads
from threeregs._errors import InvalidEnvelopeError, UntrustedKeyError, ValidationError
from threeregs._model import Filer, Filing, Intervener, Record, StageObligation
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind
from threeregs.crypto import (
    NOT_ADDRESSED,
    SIZE_CLASSES,
    AnchorSigner,
    CertifiedKey,
    KeyRecord,
    OfficeKeyPair,
    Sealer,
    SlotTarget,
    Suite,
    open_envelope,
    padded_size,
    parse_header,
    rewrap_slot,
    seal_envelope,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence


# The filer's chain: own (basic) office, municipal, provincial, supreme.
CHAIN_CODES = ("330106", "330100", "330000", "000000")
LEVELS = (4, 3, 2, 1)
NOW = dt.datetime.now(dt.UTC)
NOT_BEFORE = NOW - dt.timedelta(days=1)
NOT_AFTER = NOW + dt.timedelta(days=3650)
ENVELOPE_ID = bytes(range(16))

SIGNER = AnchorSigner.generate()
SEALER = Sealer(SIGNER.anchor)


def make_keys(suite: Suite, version: int = 1) -> dict[str, OfficeKeyPair]:
    return {
        code: OfficeKeyPair.generate(code, key_version=version, suite=suite) for code in CHAIN_CODES
    }


def certify_all(keys: Mapping[str, OfficeKeyPair]) -> list[tuple[str, CertifiedKey]]:
    return [
        (
            code,
            SIGNER.certify_pair(
                keys[code], level=level, not_before=NOT_BEFORE, not_after=NOT_AFTER
            ),
        )
        for code, level in zip(CHAIN_CODES, LEVELS, strict=True)
    ]


KEYS = make_keys(Suite.X25519)
CHAIN = certify_all(KEYS)
HYBRID_KEYS = make_keys(Suite.MLKEM768_X25519)
HYBRID_CHAIN = certify_all(HYBRID_KEYS)
EIGHT_KEYS = [OfficeKeyPair.generate(f"office-{i}") for i in range(8)]

# Byte layout from docs/envelope.md, for four X25519 slots.
CORE_FIXED = 58
SLOT_LENGTH = {Suite.X25519: 4 + 80, Suite.MLKEM768_X25519: 4 + 1168}
CORE = CORE_FIXED + 16 * len(CHAIN_CODES)
SLOT = SLOT_LENGTH[Suite.X25519]
PAYLOAD_START = CORE + len(CHAIN_CODES) * SLOT

recipient_sets = st.sets(st.sampled_from(CHAIN_CODES), min_size=1)


def seal(
    payload: bytes,
    recipients: Collection[str] = ("330106",),
    *,
    chain: Sequence[tuple[str, CertifiedKey]] = CHAIN,
    envelope_id: bytes = ENVELOPE_ID,
) -> bytes:
    return SEALER.seal(payload, chain, recipients, envelope_id=envelope_id)


def open_as(data: bytes, code: str, keys: Mapping[str, OfficeKeyPair] = KEYS) -> object:
    """Open *data* as office *code*, returning the error instead of raising it."""
    key = keys[code]
    try:
        return open_envelope(data, code, {key.key_version: key})
    except InvalidEnvelopeError as exc:
        return exc


def slot_bytes(data: bytes, index: int, slot: int = SLOT) -> bytes:
    return data[CORE + index * slot : CORE + (index + 1) * slot]


def assert_tamper_outcomes(
    original: bytes, tampered: bytes, payload: bytes, recipients: Collection[str]
) -> None:
    """Check what each office of the chain gets from a changed envelope."""
    rejected = 0
    for index, code in enumerate(CHAIN_CODES):
        result = open_as(tampered, code)
        if isinstance(result, InvalidEnvelopeError):
            rejected += 1
            continue
        # Only an office whose view is intact may get a result: the same
        # length, header core and own slot.
        assert len(tampered) == len(original)
        assert tampered[:CORE] == original[:CORE]
        assert slot_bytes(tampered, index) == slot_bytes(original, index)
        if code in recipients:
            assert result == payload
            assert tampered[PAYLOAD_START:] == original[PAYLOAD_START:]
        else:
            assert result is NOT_ADDRESSED
    assert rejected >= 1


def chinese_content(characters: int) -> str:
    text: str = COMMON_HANZI
    return (text * (characters // len(text) + 1))[:characters]


def one_record_filing(characters: int) -> Filing:
    filed_at = dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC)
    record = Record(
        provision=Provision.P3,
        conduct=Conduct.CONTACT,
        bucket=Bucket.OFF_HOURS_CONTACT,
        intervener=Intervener(
            name="李某", unit="某律师事务所", position="律师", role=IntervenerRole.LAWYER
        ),
        occurred_at=filed_at - dt.timedelta(days=2),
        manner=Manner.IN_PERSON,
        content=chinese_content(characters),
        place="某茶楼包间",
        response="当即告知不得私下接触，并如实记录。",
        attachments=("0f" * 32,),
    )
    obligation = StageObligation(case_id="2024-XS-17", stage="prosecution_review")
    return Filing(
        Filer("P000123", "330106", StaffKind.PROSECUTOR),
        obligation,
        records=(record,),
        filed_at=filed_at,
    )


def zero_filing() -> Filing:
    return Filing.zero(
        Filer("P000123", "330106", StaffKind.PROSECUTOR),
        StageObligation(case_id="2024-XS-17", stage="prosecution_review"),
        filed_at=dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC),
    )


# --- round trips -----------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=9000), recipient_sets)
def test_real_and_decoy_slots(payload: bytes, recipients: set[str]) -> None:
    data = seal(payload, recipients)
    for code in CHAIN_CODES:
        result = open_as(data, code)
        if code in recipients:
            assert result == payload
        else:
            assert result is NOT_ADDRESSED


@settings(max_examples=25, deadline=None)
@given(filings(), st.sampled_from(CHAIN_CODES))
def test_filing_round_trip(filing: Filing, recipient: str) -> None:
    data = seal(dumps(filing), {recipient}, envelope_id=bytes.fromhex(filing.filing_id))
    opened = open_as(data, recipient)
    assert isinstance(opened, bytes)
    assert loads(opened) == filing


@settings(max_examples=10, deadline=None)
@given(st.binary(max_size=2000), recipient_sets)
def test_hybrid_real_and_decoy_slots(payload: bytes, recipients: set[str]) -> None:
    data = seal(payload, recipients, chain=HYBRID_CHAIN)
    assert parse_header(data).suite is Suite.MLKEM768_X25519
    for code in CHAIN_CODES:
        result = open_as(data, code, HYBRID_KEYS)
        if code in recipients:
            assert result == payload
        else:
            assert result is NOT_ADDRESSED


@pytest.mark.parametrize(
    ("suite", "length"), [(Suite.X25519, 8666), (Suite.MLKEM768_X25519, 13018)]
)
def test_four_slot_length(suite: Suite, length: int) -> None:
    chain = CHAIN if suite is Suite.X25519 else HYBRID_CHAIN
    assert len(seal(b"", chain=chain)) == length


def test_accepts_bytearray_and_memoryview() -> None:
    data = seal(b"payload")
    keys = {1: KEYS["330106"]}
    assert open_envelope(bytearray(data), "330106", keys) == b"payload"  # type: ignore[arg-type]
    assert open_envelope(memoryview(data), "330106", keys) == b"payload"  # type: ignore[arg-type]


def test_sealing_is_randomised() -> None:
    first = seal(b"same payload")
    second = seal(b"same payload")
    assert first != second
    assert parse_header(first).commitment != parse_header(second).commitment
    for index in range(len(CHAIN_CODES)):
        assert slot_bytes(first, index) != slot_bytes(second, index)


def test_key_version_in_slot() -> None:
    keys = make_keys(Suite.X25519, version=7)
    data = seal(b"payload", chain=certify_all(keys))
    assert [slot.key_version for slot in parse_header(data).slots] == [7, 7, 7, 7]
    assert open_as(data, "330106", keys) == b"payload"


def test_not_addressed_marker() -> None:
    assert not NOT_ADDRESSED
    assert repr(NOT_ADDRESSED) == "NOT_ADDRESSED"
    assert type(NOT_ADDRESSED)() is NOT_ADDRESSED


# --- header ----------------------------------------------------------------


def test_parse_header() -> None:
    data = seal(b"payload", {"330100"})
    header = parse_header(data)
    assert header.suite is Suite.X25519
    assert header.envelope_id == ENVELOPE_ID
    assert header.padded_length == SIZE_CLASSES[0]
    assert [slot.office_code for slot in header.slots] == list(CHAIN_CODES)
    assert [slot.index for slot in header.slots] == [0, 1, 2, 3]
    assert header.core == data[:CORE]
    assert header.slot_for("330000") == header.slots[2]
    assert header.slot_for("110000") is None


def test_header_layout() -> None:
    data = seal(b"payload")
    assert data[:3] == b"TRE"
    assert data[3] == 1
    assert data[4] == Suite.X25519
    assert data[5:21] == ENVELOPE_ID
    assert data[21] == 4
    assert int.from_bytes(data[22:26], "big") == SIZE_CLASSES[0]
    assert data[CORE_FIXED : CORE_FIXED + 16] == b"330106".ljust(16, b"\x00")
    assert int.from_bytes(data[CORE : CORE + 4], "big") == 1


def test_repr_hides_commitment() -> None:
    header = parse_header(seal(b"payload"))
    assert header.commitment.hex() not in repr(header)


# --- padding ---------------------------------------------------------------


def test_size_classes() -> None:
    assert SIZE_CLASSES == (8192, 65536, 524288, 1052672)


@pytest.mark.parametrize(
    ("length", "size"),
    [
        (0, 8192),
        (8188, 8192),
        (8189, 65536),
        (65532, 65536),
        (65533, 524288),
        (524285, 1052672),
        (1052668, 1052672),
    ],
)
def test_padded_size(length: int, size: int) -> None:
    assert padded_size(length) == size


def test_payload_too_large() -> None:
    with pytest.raises(ValidationError) as info:
        seal(bytes(1052669))
    assert info.value.field == "payload"


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=70_000), st.integers(min_value=1, max_value=8))
def test_length_formula(length: int, slots: int) -> None:
    targets = [
        SlotTarget(
            office_code=key.office_code,
            key_version=1,
            suite=Suite.X25519,
            public_key=key.private_key.public_key(),
            real=index == 0,
        )
        for index, key in enumerate(EIGHT_KEYS[:slots])
    ]
    data = seal_envelope(bytes(length), targets, envelope_id=ENVELOPE_ID)
    assert len(data) == CORE_FIXED + 16 * slots + slots * SLOT + padded_size(length) + 16


@pytest.mark.parametrize("characters", [340, 1000, 2000])
def test_zero_and_one_record_same_length(characters: int) -> None:
    report = dumps(one_record_filing(characters))
    zero = dumps(zero_filing())
    assert len(report) >= 3 * characters
    assert len(seal(zero)) == len(seal(report))


def test_typical_report_over_one_kib() -> None:
    # About 340 Chinese characters make 1 KiB of UTF-8 content.
    assert len(chinese_content(342).encode("utf-8")) >= 1024


@settings(max_examples=25, deadline=None)
@given(zero_filings(), filings(min_records=1, max_records=1, max_content=1000))
def test_zero_and_report_same_length(zero: Filing, report: Filing) -> None:
    assert len(seal(dumps(zero))) == len(seal(dumps(report)))


# --- tampering -------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed() -> tuple[bytes, bytes, frozenset[str]]:
    payload = dumps(one_record_filing(400))
    recipients = frozenset({"330106", "330000"})
    return seal(payload, recipients), payload, recipients


def test_every_header_and_slot_byte_changed(sealed: tuple[bytes, bytes, frozenset[str]]) -> None:
    data, payload, recipients = sealed
    # Every byte outside the payload, and the first and last 16 payload bytes.
    positions = [*range(PAYLOAD_START + 16), *range(len(data) - 16, len(data))]
    for position, mask in itertools.product(positions, (0x01, 0x80)):
        tampered = bytearray(data)
        tampered[position] ^= mask
        assert_tamper_outcomes(data, bytes(tampered), payload, recipients)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_byte_changed(sealed: tuple[bytes, bytes, frozenset[str]], data: st.DataObject) -> None:
    envelope, payload, recipients = sealed
    position = data.draw(
        st.one_of(
            st.integers(min_value=0, max_value=PAYLOAD_START - 1),
            st.integers(min_value=0, max_value=len(envelope) - 1),
        )
    )
    value = data.draw(st.integers(min_value=0, max_value=255))
    assume(value != envelope[position])
    tampered = envelope[:position] + bytes([value]) + envelope[position + 1 :]
    assert_tamper_outcomes(envelope, tampered, payload, recipients)


@settings(max_examples=50, deadline=None)
@given(recipient_sets, st.data())
def test_changed_byte_any_route(recipients: set[str], data: st.DataObject) -> None:
    payload = b"\xe6\xa1\x88" * 100
    envelope = seal(payload, recipients)
    position = data.draw(st.integers(min_value=0, max_value=PAYLOAD_START + 15))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(envelope)
    tampered[position] ^= mask
    assert_tamper_outcomes(envelope, bytes(tampered), payload, recipients)


def test_every_truncation(sealed: tuple[bytes, bytes, frozenset[str]]) -> None:
    data, _, _ = sealed
    for length in range(len(data)):
        for code in CHAIN_CODES:
            assert isinstance(open_as(data[:length], code), InvalidEnvelopeError)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=200), st.data())
def test_extension_and_insertion(
    sealed: tuple[bytes, bytes, frozenset[str]], extra: bytes, data: st.DataObject
) -> None:
    envelope, _, _ = sealed
    position = data.draw(st.integers(min_value=0, max_value=len(envelope)))
    longer = envelope[:position] + extra + envelope[position:]
    for code in CHAIN_CODES:
        assert isinstance(open_as(longer, code), InvalidEnvelopeError)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=PAYLOAD_START - 1), st.data())
def test_deletion(
    sealed: tuple[bytes, bytes, frozenset[str]], count: int, data: st.DataObject
) -> None:
    envelope, _, _ = sealed
    position = data.draw(st.integers(min_value=0, max_value=len(envelope) - count))
    shorter = envelope[:position] + envelope[position + count :]
    for code in CHAIN_CODES:
        assert isinstance(open_as(shorter, code), InvalidEnvelopeError)


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(range(4), 2)))
def test_swapped_slots(
    sealed: tuple[bytes, bytes, frozenset[str]], first: int, second: int
) -> None:
    data, payload, recipients = sealed
    slots = [slot_bytes(data, index) for index in range(4)]
    slots[first], slots[second] = slots[second], slots[first]
    swapped = data[:CORE] + b"".join(slots) + data[PAYLOAD_START:]
    for index, code in enumerate(CHAIN_CODES):
        result = open_as(swapped, code)
        if index in (first, second):
            assert isinstance(result, InvalidEnvelopeError)
        elif code in recipients:
            assert result == payload
        else:
            assert result is NOT_ADDRESSED


@pytest.mark.parametrize("same_id", [True, False])
def test_slot_from_other_envelope(same_id: bool) -> None:
    payload = b"payload"
    mine = seal(payload, set(CHAIN_CODES))
    other = seal(payload, set(CHAIN_CODES), envelope_id=ENVELOPE_ID if same_id else bytes(16))
    for index, code in enumerate(CHAIN_CODES):
        start = CORE + index * SLOT
        moved = mine[:start] + slot_bytes(other, index) + mine[start + SLOT :]
        assert isinstance(open_as(moved, code), InvalidEnvelopeError)


def test_payload_from_other_envelope() -> None:
    mine = seal(b"mine", set(CHAIN_CODES))
    other = seal(b"other", set(CHAIN_CODES))
    spliced = mine[:PAYLOAD_START] + other[PAYLOAD_START:]
    for code in CHAIN_CODES:
        assert isinstance(open_as(spliced, code), InvalidEnvelopeError)


def test_header_from_other_envelope() -> None:
    mine = seal(b"mine", set(CHAIN_CODES))
    other = seal(b"other", set(CHAIN_CODES))
    spliced = other[:CORE] + mine[CORE:]
    for code in CHAIN_CODES:
        assert isinstance(open_as(spliced, code), InvalidEnvelopeError)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_hybrid_byte_changed(data: st.DataObject) -> None:
    payload = b"hybrid payload"
    envelope = seal(payload, {"330106"}, chain=HYBRID_CHAIN)
    slot = SLOT_LENGTH[Suite.MLKEM768_X25519]
    index = data.draw(st.integers(min_value=0, max_value=CORE + 4 * slot + 15))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(envelope)
    tampered[index] ^= mask
    results = [open_as(bytes(tampered), code, HYBRID_KEYS) for code in CHAIN_CODES]
    assert any(isinstance(result, InvalidEnvelopeError) for result in results)
    assert all(
        result in (payload, NOT_ADDRESSED) or isinstance(result, InvalidEnvelopeError)
        for result in results
    )
    if index < CORE:
        assert all(isinstance(result, InvalidEnvelopeError) for result in results)


# --- wrong keys and inputs -------------------------------------------------


@pytest.mark.parametrize("code", CHAIN_CODES)
def test_wrong_key(code: str) -> None:
    data = seal(b"payload", {"330106"})
    stranger = OfficeKeyPair.generate(code)
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, code, {1: stranger})


def test_key_of_other_office() -> None:
    data = seal(b"payload", set(CHAIN_CODES))
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {1: KEYS["330100"]})


def test_key_of_other_suite() -> None:
    data = seal(b"payload")
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {1: HYBRID_KEYS["330106"]})


def test_key_version_missing() -> None:
    data = seal(b"payload")
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {})
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {2: KEYS["330106"]})


def test_key_filed_under_other_version() -> None:
    data = seal(b"payload")
    relabelled = OfficeKeyPair(
        "330106", 2, Suite.X25519, private_bytes=KEYS["330106"].private_bytes()
    )
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {1: relabelled})


def test_office_not_in_envelope() -> None:
    data = seal(b"payload")
    stranger = OfficeKeyPair.generate("110000")
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "110000", {1: stranger})


@pytest.mark.parametrize("data", ["text", None, 42, [1, 2]])
def test_not_bytes(data: object) -> None:
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(data, "330106", {1: KEYS["330106"]})  # type: ignore[arg-type]


def test_error_message_opaque() -> None:
    data = seal(b"payload")
    messages = set()
    for tampered in (
        data[:-1],
        b"TRE\x02" + data[4:],
        data[:CORE] + bytes(SLOT) + data[CORE + SLOT :],
    ):
        with pytest.raises(InvalidEnvelopeError) as info:
            open_envelope(tampered, "330106", {1: KEYS["330106"]})
        messages.add(str(info.value))
    assert messages == {"the envelope could not be opened"}


# --- sealing arguments -----------------------------------------------------


def target(key: OfficeKeyPair, *, real: bool = True) -> SlotTarget:
    return SlotTarget(
        office_code=key.office_code,
        key_version=key.key_version,
        suite=key.suite,
        public_key=key.private_key.public_key(),
        real=real,
    )


@pytest.mark.parametrize(
    "targets",
    [
        [],
        [target(key) for key in [*EIGHT_KEYS, OfficeKeyPair.generate("office-8")]],
        [target(KEYS["330106"], real=False)],
        [target(KEYS["330106"]), target(HYBRID_KEYS["330100"])],
        [target(KEYS["330106"]), target(KEYS["330106"], real=False)],
        [target(OfficeKeyPair.generate("x" * 17))],
        [target(OfficeKeyPair.generate("330106\x00"))],
    ],
)
def test_seal_bad_targets(targets: list[SlotTarget]) -> None:
    with pytest.raises(ValidationError):
        seal_envelope(b"payload", targets, envelope_id=ENVELOPE_ID)


def test_seal_non_ascii_office_code() -> None:
    with pytest.raises(ValidationError) as info:
        seal_envelope(
            b"payload", [target(OfficeKeyPair.generate("检察院"))], envelope_id=ENVELOPE_ID
        )
    assert info.value.field == "office_code"


@pytest.mark.parametrize("envelope_id", [b"", bytes(15), bytes(17)])
def test_seal_bad_envelope_id(envelope_id: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        seal_envelope(b"payload", [target(KEYS["330106"])], envelope_id=envelope_id)
    assert info.value.field == "envelope_id"


def test_seal_one_slot() -> None:
    data = seal_envelope(b"payload", [target(KEYS["330106"])], envelope_id=ENVELOPE_ID)
    assert open_as(data, "330106") == b"payload"
    assert len(parse_header(data).slots) == 1


# --- rewrapping ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(recipient_sets, st.sampled_from(range(4)))
def test_rewrap(recipients: set[str], index: int) -> None:
    payload = b"rewrapped payload"
    data = seal(payload, recipients)
    code = CHAIN_CODES[index]
    new_key = OfficeKeyPair.generate(code, key_version=2)
    rewrapped = rewrap_slot(data, code, KEYS[code], 2, new_key.private_key.public_key())

    assert len(rewrapped) == len(data)
    assert rewrapped[:CORE] == data[:CORE]
    assert rewrapped[PAYLOAD_START:] == data[PAYLOAD_START:]
    for other in range(4):
        if other != index:
            assert slot_bytes(rewrapped, other) == slot_bytes(data, other)
    assert parse_header(rewrapped).slots[index].key_version == 2

    expected = payload if code in recipients else NOT_ADDRESSED
    assert open_envelope(rewrapped, code, {2: new_key}) == expected
    assert open_envelope(rewrapped, code, {1: KEYS[code], 2: new_key}) == expected
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(rewrapped, code, {1: KEYS[code]})
    for other_code in CHAIN_CODES:
        if other_code != code:
            assert open_as(rewrapped, other_code) == open_as(data, other_code)


def test_rewrap_twice() -> None:
    data = seal(b"payload", {"330000"})
    second = OfficeKeyPair.generate("330000", key_version=2)
    third = OfficeKeyPair.generate("330000", key_version=3)
    data = rewrap_slot(data, "330000", KEYS["330000"], 2, second.private_key.public_key())
    data = rewrap_slot(data, "330000", second, 3, third.private_key.public_key())
    assert open_envelope(data, "330000", {3: third}) == b"payload"


def test_rewrap_decoy_changes_slot() -> None:
    data = seal(b"payload", {"330106"})
    new_key = OfficeKeyPair.generate("000000", key_version=2)
    rewrapped = rewrap_slot(data, "000000", KEYS["000000"], 2, new_key.private_key.public_key())
    assert slot_bytes(rewrapped, 3) != slot_bytes(data, 3)
    assert open_envelope(rewrapped, "000000", {2: new_key}) is NOT_ADDRESSED


def test_rewrap_wrong_old_key() -> None:
    data = seal(b"payload")
    new_key = OfficeKeyPair.generate("330106", key_version=2)
    with pytest.raises(InvalidEnvelopeError):
        rewrap_slot(
            data, "330106", OfficeKeyPair.generate("330106"), 2, new_key.private_key.public_key()
        )


def test_rewrap_office_not_in_envelope() -> None:
    data = seal(b"payload")
    new_key = OfficeKeyPair.generate("110000", key_version=2)
    with pytest.raises(InvalidEnvelopeError):
        rewrap_slot(
            data, "110000", OfficeKeyPair.generate("110000"), 2, new_key.private_key.public_key()
        )


def test_rewrap_tampered_envelope() -> None:
    data = bytearray(seal(b"payload"))
    data[30] ^= 1
    new_key = OfficeKeyPair.generate("330106", key_version=2)
    with pytest.raises(InvalidEnvelopeError):
        rewrap_slot(bytes(data), "330106", KEYS["330106"], 2, new_key.private_key.public_key())


# --- the sealer checks every key -------------------------------------------


def test_sealer_targets() -> None:
    targets = SEALER.targets(CHAIN, {"330100"})
    assert [t.office_code for t in targets] == list(CHAIN_CODES)
    assert [t.real for t in targets] == [False, True, False, False]
    assert {t.suite for t in targets} == {Suite.X25519}


def test_sealer_other_anchor() -> None:
    chain = list(CHAIN)
    chain[2] = (
        "330000",
        AnchorSigner.generate().certify_pair(
            KEYS["330000"], level=2, not_before=NOT_BEFORE, not_after=NOT_AFTER
        ),
    )
    with pytest.raises(UntrustedKeyError, match="not certified"):
        seal(b"payload", chain=chain)


def test_sealer_expired_key() -> None:
    chain = list(CHAIN)
    chain[1] = (
        "330100",
        SIGNER.certify_pair(
            KEYS["330100"],
            level=3,
            not_before=NOW - dt.timedelta(days=400),
            not_after=NOW - dt.timedelta(days=35),
        ),
    )
    with pytest.raises(UntrustedKeyError, match="issue a new key version"):
        seal(b"payload", chain=chain)


@pytest.mark.parametrize("at", [NOT_BEFORE - dt.timedelta(seconds=1), NOT_AFTER])
def test_sealer_outside_validity(at: dt.datetime) -> None:
    with pytest.raises(UntrustedKeyError):
        SEALER.seal(b"payload", CHAIN, {"330106"}, envelope_id=ENVELOPE_ID, at=at)


def test_sealer_key_of_other_office() -> None:
    chain = list(CHAIN)
    # The municipal office's position is given the provincial office's certified key.
    chain[1] = ("330100", CHAIN[2][1])
    with pytest.raises(UntrustedKeyError, match="330000"):
        seal(b"payload", chain=chain)


def test_sealer_substituted_public_key() -> None:
    attacker = OfficeKeyPair.generate("330106")
    record = attrs.evolve(CHAIN[0][1].record, public_key=attacker.public_bytes())
    chain = [("330106", CertifiedKey(record, CHAIN[0][1].signature)), *CHAIN[1:]]
    with pytest.raises(UntrustedKeyError, match="not certified"):
        seal(b"payload", chain=chain)


def test_sealer_invalid_public_key() -> None:
    # A certified record whose ML-KEM key has coefficients out of range.
    record = KeyRecord(
        office_code="330106",
        level=4,
        key_version=1,
        suite=Suite.MLKEM768_X25519,
        public_key=b"\xff" * 1216,
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )
    chain = [("330106", SIGNER.certify(record)), *HYBRID_CHAIN[1:]]
    with pytest.raises(UntrustedKeyError, match="invalid public key"):
        seal(b"payload", chain=chain)


@pytest.mark.parametrize("recipients", [set(), {"110000"}, {"330106", "110000"}])
def test_sealer_bad_recipients(recipients: set[str]) -> None:
    with pytest.raises(ValidationError) as info:
        seal(b"payload", recipients)
    assert info.value.field == "recipients"


def test_sealer_reseal() -> None:
    data = seal(b"payload", {"330106"})
    again = SEALER.reseal(data, "330106", {1: KEYS["330106"]}, CHAIN, {"330000"})
    assert isinstance(again, bytes)
    assert again[5:21] == ENVELOPE_ID
    assert parse_header(again).commitment != parse_header(data).commitment
    assert open_as(again, "330000") == b"payload"
    assert open_as(again, "330106") is NOT_ADDRESSED


def test_sealer_reseal_decoy() -> None:
    data = seal(b"payload", {"330106"})
    assert SEALER.reseal(data, "000000", {1: KEYS["000000"]}, CHAIN, {"000000"}) is NOT_ADDRESSED
