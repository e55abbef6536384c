from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threeregs._errors import UntrustedKeyError, ValidationError
from threeregs.crypto import (
    AnchorSigner,
    CertifiedKey,
    KeyRecord,
    OfficeKeyPair,
    Suite,
    TrustAnchor,
)

NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DURING = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)

SIGNER = AnchorSigner.generate()
ANCHOR = SIGNER.anchor
PAIR = OfficeKeyPair.generate("330106", key_version=3)


def certify(
    pair: OfficeKeyPair = PAIR, signer: AnchorSigner = SIGNER, level: int = 4
) -> CertifiedKey:
    return signer.certify_pair(pair, level=level, not_before=NOT_BEFORE, not_after=NOT_AFTER)


CERTIFIED = certify()


# --- office key pairs ------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "public", "private"), [(Suite.X25519, 32, 32), (Suite.MLKEM768_X25519, 1216, 96)]
)
def test_pair_lengths(suite: Suite, public: int, private: int) -> None:
    pair = OfficeKeyPair.generate("330100", suite=suite)
    assert len(pair.public_bytes()) == public
    assert len(pair.private_bytes()) == private
    assert pair.key_version == 1


@pytest.mark.parametrize("suite", list(Suite))
def test_pair_from_private_bytes(suite: Suite) -> None:
    pair = OfficeKeyPair.generate("330100", suite=suite)
    again = OfficeKeyPair("330100", 1, suite, private_bytes=pair.private_bytes())
    assert again == pair
    assert again.public_bytes() == pair.public_bytes()


@pytest.mark.parametrize("suite", list(Suite))
def test_pair_public_key_matches_record(suite: Suite) -> None:
    pair = OfficeKeyPair.generate("330100", suite=suite)
    record = certify(pair).record
    assert record.public_key == pair.public_bytes()
    assert record.suite is suite


def test_pairs_differ() -> None:
    assert OfficeKeyPair.generate("330106") != OfficeKeyPair.generate("330106")


@pytest.mark.parametrize(("suite", "length"), [(Suite.X25519, 31), (Suite.MLKEM768_X25519, 32)])
def test_pair_wrong_private_length(suite: Suite, length: int) -> None:
    with pytest.raises(ValidationError) as info:
        OfficeKeyPair("330106", 1, suite, private_bytes=bytes(length))
    assert info.value.field == "private_bytes"


@pytest.mark.parametrize("suite", list(Suite))
def test_pair_repr_hides_private_key(suite: Suite) -> None:
    pair = OfficeKeyPair.generate("330106", key_version=2, suite=suite)
    secret = pair.private_bytes().hex()
    for text in (repr(pair), str(pair), repr([pair]), f"{pair!r}"):
        assert secret not in text
        assert secret[:16] not in text
        assert "330106" in text


def test_signer_repr_hides_private_key() -> None:
    secret = SIGNER.private_bytes().hex()
    assert secret[:16] not in repr(SIGNER)
    assert secret[:16] not in str(SIGNER)
    assert ANCHOR.fingerprint in repr(SIGNER)


def test_signer_from_bytes() -> None:
    again = AnchorSigner.from_bytes(SIGNER.private_bytes())
    assert again.anchor.public_bytes() == ANCHOR.public_bytes()
    assert again.certify(CERTIFIED.record).signature == CERTIFIED.signature


def test_signer_from_bytes_wrong_length() -> None:
    with pytest.raises(UntrustedKeyError):
        AnchorSigner.from_bytes(bytes(31))


# --- key records -----------------------------------------------------------


def test_record_bytes_format() -> None:
    body = json.loads(CERTIFIED.record.to_bytes())
    assert body == {
        "key_version": 3,
        "level": 4,
        "not_after": "2026-01-01T00:00:00+00:00",
        "not_before": "2024-01-01T00:00:00+00:00",
        "office_code": "330106",
        "public_key": PAIR.public_bytes().hex(),
        "suite": 1,
    }
    assert CERTIFIED.record.to_bytes() == json.dumps(
        body, sort_keys=True, separators=(",", ":")
    ).encode("ascii")


def test_record_round_trip() -> None:
    assert KeyRecord.from_bytes(CERTIFIED.record.to_bytes()) == CERTIFIED.record


def test_record_not_canonical_rejected() -> None:
    spaced = json.dumps(json.loads(CERTIFIED.record.to_bytes()), sort_keys=True).encode()
    with pytest.raises(UntrustedKeyError, match="canonical"):
        KeyRecord.from_bytes(spaced)


def test_record_fingerprint() -> None:
    assert len(CERTIFIED.record.fingerprint) == 16
    assert (
        CERTIFIED.record.fingerprint != certify(OfficeKeyPair.generate("330106")).record.fingerprint
    )


def test_record_repr_shows_public_prefix_only() -> None:
    text = repr(CERTIFIED.record)
    assert PAIR.public_bytes()[:8].hex() in text
    assert PAIR.public_bytes().hex() not in text


@pytest.mark.parametrize("version", [0, -1, 2**31, True, "1"])
def test_record_bad_version(version: Any) -> None:
    with pytest.raises(ValidationError) as info:
        attrs.evolve(CERTIFIED.record, key_version=version)
    assert info.value.field == "key_version"


def test_record_wrong_public_length() -> None:
    with pytest.raises(ValidationError) as info:
        attrs.evolve(CERTIFIED.record, public_key=bytes(33))
    assert info.value.field == "public_key"


def test_record_naive_times() -> None:
    with pytest.raises(ValidationError):
        attrs.evolve(CERTIFIED.record, not_before=dt.datetime(2024, 1, 1))  # noqa: DTZ001


def test_record_empty_validity() -> None:
    with pytest.raises(ValidationError) as info:
        attrs.evolve(CERTIFIED.record, not_after=NOT_BEFORE)
    assert info.value.field == "not_after"


@settings(max_examples=50, deadline=None)
@given(
    # Hypothesis takes naive bounds; the test attaches UTC itself.
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)),  # noqa: DTZ001
    st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=dt.timedelta(days=20_000)),
    st.integers(min_value=1, max_value=2**31 - 1),
    st.from_regex(r"[0-9A-Za-z_-]{1,16}", fullmatch=True),
)
def test_record_round_trip_whole_seconds(
    start: dt.datetime, length: dt.timedelta, version: int, office: str
) -> None:
    not_before = start.replace(microsecond=0, tzinfo=dt.UTC)
    record = KeyRecord(
        office_code=office,
        level=4,
        key_version=version,
        suite=Suite.X25519,
        public_key=PAIR.public_bytes(),
        not_before=not_before,
        not_after=not_before + dt.timedelta(seconds=int(length.total_seconds())),
    )
    assert KeyRecord.from_bytes(record.to_bytes()) == record


def test_certified_round_trip_with_microseconds() -> None:
    start = dt.datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=dt.UTC)
    certified = SIGNER.certify_pair(
        PAIR, level=4, not_before=start, not_after=start + dt.timedelta(days=30)
    )
    assert CertifiedKey.from_bytes(certified.to_bytes()) == certified
    at = start.replace(microsecond=1000)
    assert ANCHOR.verify(certified, office_code="330106", at=at) == certified.record


# --- certified keys --------------------------------------------------------


def test_certified_bytes_layout() -> None:
    data = CERTIFIED.to_bytes()
    body = CERTIFIED.record.to_bytes()
    assert data[:4] == b"TRC\x01"
    assert int.from_bytes(data[4:8], "big") == len(body)
    assert data[8 : 8 + len(body)] == body
    assert data[8 + len(body) :] == CERTIFIED.signature
    assert len(CERTIFIED.signature) == 64


@pytest.mark.parametrize("suite", list(Suite))
def test_certified_round_trip(suite: Suite) -> None:
    certified = certify(OfficeKeyPair.generate("330100", suite=suite), level=3)
    assert CertifiedKey.from_bytes(certified.to_bytes()) == certified


def test_bytes_follow_evolve() -> None:
    # The serialised forms are kept after the first call; a changed copy must not share them.
    certified = certify()
    record_bytes, certified_bytes = certified.record.to_bytes(), certified.to_bytes()
    later = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    record = attrs.evolve(certified.record, not_after=later)
    resigned = attrs.evolve(certified, record=record, signature=SIGNER.certify(record).signature)

    fresh = KeyRecord(
        office_code="330106",
        level=4,
        key_version=3,
        suite=Suite.X25519,
        public_key=PAIR.public_bytes(),
        not_before=NOT_BEFORE,
        not_after=later,
    )
    assert record.to_bytes() == fresh.to_bytes()
    assert record.to_bytes() != record_bytes
    assert resigned.to_bytes() != certified_bytes
    assert CertifiedKey.from_bytes(resigned.to_bytes()) == resigned
    assert certified.to_bytes() == certified_bytes


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"TRC",
        b"TRC\x02" + CERTIFIED.to_bytes()[4:],
        CERTIFIED.to_bytes()[:-1],
        CERTIFIED.to_bytes() + b"\x00",
        b"TRC\x01\x00\x00\x00\x00" + bytes(64),
    ],
)
def test_certified_malformed(data: bytes) -> None:
    with pytest.raises(UntrustedKeyError):
        CertifiedKey.from_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_certified_fuzz_arbitrary(data: bytes) -> None:
    with pytest.raises(UntrustedKeyError):
        CertifiedKey.from_bytes(b"TRC\x01" + len(data).to_bytes(4, "big") + data + bytes(64))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_certified_fuzz_mutated(data: st.DataObject) -> None:
    original = CERTIFIED.to_bytes()
    index = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    value = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda b: b != original[index])
    )
    mutated = original[:index] + bytes([value]) + original[index + 1 :]
    try:
        parsed = CertifiedKey.from_bytes(mutated)
    except UntrustedKeyError:
        return
    # The change left a well-formed record; the anchor must reject it.
    with pytest.raises(UntrustedKeyError):
        ANCHOR.verify(parsed, office_code=parsed.record.office_code, at=DURING)


def test_record_deep_nesting() -> None:
    with pytest.raises(UntrustedKeyError):
        KeyRecord.from_bytes(b"[" * 100_000 + b"]" * 100_000)


# --- trust anchor ----------------------------------------------------------


def test_anchor_verify() -> None:
    assert ANCHOR.verify(CERTIFIED, office_code="330106", at=DURING) == CERTIFIED.record
    assert (
        ANCHOR.verify(CERTIFIED, office_code="330106", at=DURING, key_version=3) == CERTIFIED.record
    )


def test_anchor_verify_cached_twice() -> None:
    anchor = TrustAnchor.from_bytes(ANCHOR.public_bytes())
    for _ in range(2):
        assert anchor.verify(CERTIFIED, office_code="330106", at=DURING) == CERTIFIED.record


def test_anchor_other_signer() -> None:
    other = certify(signer=AnchorSigner.generate())
    with pytest.raises(UntrustedKeyError, match="not certified"):
        ANCHOR.verify(other, office_code="330106", at=DURING)


def test_anchor_substituted_public_key() -> None:
    # A database writer keeps the record and signature but puts in a key of their own.
    forged = CertifiedKey(
        attrs.evolve(CERTIFIED.record, public_key=OfficeKeyPair.generate("330106").public_bytes()),
        CERTIFIED.signature,
    )
    with pytest.raises(UntrustedKeyError, match="not certified"):
        ANCHOR.verify(forged, office_code="330106", at=DURING)


@pytest.mark.parametrize(
    "change",
    [
        {"not_after": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)},
        {"office_code": "000000"},
        {"key_version": 4},
        {"level": 1},
    ],
)
def test_anchor_changed_record(change: dict[str, Any]) -> None:
    forged = CertifiedKey(attrs.evolve(CERTIFIED.record, **change), CERTIFIED.signature)
    with pytest.raises(UntrustedKeyError):
        ANCHOR.verify(forged, office_code=forged.record.office_code, at=DURING)


def test_anchor_substitution_after_cache() -> None:
    anchor = TrustAnchor.from_bytes(ANCHOR.public_bytes())
    anchor.verify(CERTIFIED, office_code="330106", at=DURING)
    forged = CertifiedKey(
        attrs.evolve(CERTIFIED.record, public_key=OfficeKeyPair.generate("330106").public_bytes()),
        CERTIFIED.signature,
    )
    with pytest.raises(UntrustedKeyError):
        anchor.verify(forged, office_code="330106", at=DURING)


def test_anchor_other_office() -> None:
    with pytest.raises(UntrustedKeyError, match="330100"):
        ANCHOR.verify(CERTIFIED, office_code="330100", at=DURING)


def test_anchor_other_version() -> None:
    with pytest.raises(UntrustedKeyError, match="version"):
        ANCHOR.verify(CERTIFIED, office_code="330106", at=DURING, key_version=2)


@pytest.mark.parametrize(
    "at",
    [
        NOT_AFTER,
        NOT_AFTER + dt.timedelta(days=1),
        NOT_BEFORE - dt.timedelta(microseconds=1),
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    ],
)
def test_anchor_outside_validity(at: dt.datetime) -> None:
    with pytest.raises(UntrustedKeyError, match="issue a new key version"):
        ANCHOR.verify(CERTIFIED, office_code="330106", at=at)


@pytest.mark.parametrize("at", [NOT_BEFORE, NOT_AFTER - dt.timedelta(microseconds=1)])
def test_anchor_validity_bounds(at: dt.datetime) -> None:
    assert ANCHOR.verify(CERTIFIED, office_code="330106", at=at) == CERTIFIED.record


def test_anchor_from_hex() -> None:
    text = ANCHOR.public_bytes().hex()
    assert TrustAnchor.from_hex(f"  {text}\n").public_bytes() == ANCHOR.public_bytes()
    assert TrustAnchor.from_hex(text).fingerprint == ANCHOR.fingerprint


@pytest.mark.parametrize("text", ["", "zz" * 32, "ab" * 31, "ab" * 33])
def test_anchor_from_bad_hex(text: str) -> None:
    with pytest.raises(UntrustedKeyError):
        TrustAnchor.from_hex(text)
