"""Envelope format v1: one encrypted payload, one HPKE slot per office.

Layout (all integers big-endian; ``docs/envelope.md`` is the full reference)::

    header core
      0   3   magic "TRE"
      3   1   format version, 0x01
      4   1   suite (1 = X25519, 2 = ML-KEM-768 + X25519)
      5  16   envelope id (the filing id)
     21   1   slot count n, 1..8
     22   4   padded payload length P
     26  32   key commitment
     58  16n  office code of each slot, ASCII, NUL-padded
    slots, n times
          4   key version
          L   HPKE enc || ct of a 32-byte data key (L depends on the suite)
    payload
          P+16  AES-256-GCM ciphertext and tag, AAD = header core

Slot *i* is sealed with HPKE info = ``"threeregs-slot-v1" || SHA-256(header
core) || i || office code || key version``, so it cannot be moved to another
filing, position, office or key version. Slots outside the header core can be
rewrapped without touching the payload. A decoy slot contains a random key
that fails the commitment, which the opener reports as "not addressed to this
office".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import TYPE_CHECKING, Final

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from threeregs._errors import InvalidEnvelopeError, ValidationError
from threeregs.crypto._keys import Suite

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from threeregs.crypto._keys import OfficeKeyPair, PublicKey

MAGIC: Final = b"TRE"
VERSION: Final = 1
CORE_FIXED: Final = 58
OFFICE_FIELD: Final = 16
MAX_SLOTS: Final = 8
#: Padded payload sizes. The first is the default bucket: a zero report and a
#: report of a few records with several thousand characters of Chinese text
#: seal to the same length.
SIZE_CLASSES: Final = (8 * 1024, 64 * 1024, 512 * 1024, 1024 * 1024 + 4 * 1024)
_SLOT_LABEL: Final = b"threeregs-slot-v1"
_SUITES: Final = {suite.value: suite for suite in Suite}
# Slot count (1 byte) and padded payload length (4 bytes) follow the envelope
# id in the header core. Each slot starts with its key version (4 bytes).
_COUNT_AND_PADDED: Final = struct.Struct(">BI")
_KEY_VERSION: Final = struct.Struct(">I")
_KEY_LABEL: Final = b"threeregs-v1 payload keys"


@attrs.frozen
class SlotTarget:
    """One office to give a slot to: its verified public key, real or decoy."""

    office_code: str
    key_version: int
    suite: Suite
    public_key: PublicKey = attrs.field(eq=False, repr=False)
    real: bool


class _NotAddressed:
    """Result of opening a decoy slot: the envelope is not for this office."""

    _instance: _NotAddressed | None = None

    def __new__(cls) -> _NotAddressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ADDRESSED"

    def __bool__(self) -> bool:
        return False


#: Returned by :func:`open_envelope` when the office's slot is a decoy.
NOT_ADDRESSED: Final = _NotAddressed()


@attrs.frozen
class SlotHeader:
    """The public part of one slot: which office and key version it is for."""

    index: int
    office_code: str
    key_version: int


@attrs.frozen
class EnvelopeHeader:
    """The public header of an envelope, as anyone with the bytes can read it."""

    suite: Suite
    envelope_id: bytes
    padded_length: int
    commitment: bytes = attrs.field(repr=False)
    slots: tuple[SlotHeader, ...]
    core: bytes = attrs.field(repr=False)

    def slot_for(self, office_code: str) -> SlotHeader | None:
        """Return the slot for *office_code*, or None."""
        for slot in self.slots:
            if slot.office_code == office_code:
                return slot
        return None


def padded_size(length: int) -> int:
    """Return the size class for a plaintext of *length* bytes (4 added for its length)."""
    for size in SIZE_CLASSES:
        if length + 4 <= size:
            return size
    raise ValidationError(
        "payload", length, f"longer than the largest size class of {SIZE_CLASSES[-1] - 4} bytes"
    )


def _derive(data_key: bytes, envelope_id: bytes) -> tuple[bytes, bytes, bytes]:
    """Derive the payload key, key commitment and nonce from a data key."""
    okm = HKDF(hashes.SHA256(), 76, salt=envelope_id, info=_KEY_LABEL).derive(data_key)
    return okm[:32], okm[32:64], okm[64:]


def _encode_office(code: str) -> bytes:
    if not isinstance(code, str) or not code.isascii():
        raise ValidationError("office_code", code, f"expected 1 to {OFFICE_FIELD} ASCII characters")
    raw = code.encode("ascii")
    if not 0 < len(raw) <= OFFICE_FIELD or b"\x00" in raw:
        raise ValidationError("office_code", code, f"expected 1 to {OFFICE_FIELD} ASCII characters")
    return raw.ljust(OFFICE_FIELD, b"\x00")


def _slot_info(core_hash: bytes, index: int, office_field: bytes, key_version: int) -> bytes:
    return _SLOT_LABEL + core_hash + bytes([index]) + office_field + struct.pack(">I", key_version)


def seal_envelope(
    payload: bytes,
    targets: Sequence[SlotTarget],
    *,
    envelope_id: bytes,
) -> bytes:
    """Encrypt *payload* once and give each target a real or decoy slot.

    The caller must have verified each target's key against the trust anchor;
    :class:`threeregs.crypto.Sealer` does that.
    """
    if not 1 <= len(targets) <= MAX_SLOTS:
        raise ValidationError("targets", len(targets), f"expected 1 to {MAX_SLOTS} slots")
    if not any(target.real for target in targets):
        raise ValidationError("targets", targets, "at least one slot must be real")
    suites = {target.suite for target in targets}
    if len(suites) != 1:
        raise ValidationError(
            "targets", sorted(s.name for s in suites), "all slots must use the same suite"
        )
    offices = [target.office_code for target in targets]
    if len(set(offices)) != len(offices):
        raise ValidationError("targets", offices, "each office may have one slot only")
    if len(envelope_id) != 16:
        raise ValidationError("envelope_id", envelope_id.hex(), "expected 16 bytes")
    (suite,) = suites

    padded = padded_size(len(payload))
    data_key = os.urandom(32)
    payload_key, commitment, nonce = _derive(data_key, envelope_id)
    office_fields = [_encode_office(code) for code in offices]
    core = b"".join(
        [
            MAGIC,
            bytes([VERSION, suite]),
            envelope_id,
            bytes([len(targets)]),
            struct.pack(">I", padded),
            commitment,
            *office_fields,
        ]
    )
    core_hash = hashlib.sha256(core).digest()

    slots = []
    for index, target in enumerate(targets):
        slot_key = data_key if target.real else os.urandom(32)
        info = _slot_info(core_hash, index, office_fields[index], target.key_version)
        sealed = suite.hpke.encrypt(slot_key, target.public_key, info=info)
        slots.append(struct.pack(">I", target.key_version) + sealed)

    body = struct.pack(">I", len(payload)) + payload
    body += bytes(padded - len(body))
    ciphertext = AESGCM(payload_key).encrypt(nonce, body, core)
    return core + b"".join(slots) + ciphertext


def parse_header(data: bytes) -> EnvelopeHeader:
    """Parse and check the public structure of an envelope.

    Raises :class:`InvalidEnvelopeError` for anything but an exact fit.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidEnvelopeError
    data = bytes(data)
    if len(data) < CORE_FIXED or data[:3] != MAGIC or data[3] != VERSION:
        raise InvalidEnvelopeError
    suite = _SUITES.get(data[4])
    if suite is None:
        raise InvalidEnvelopeError
    count, padded = _COUNT_AND_PADDED.unpack_from(data, 21)
    if not 1 <= count <= MAX_SLOTS or padded not in SIZE_CLASSES:
        raise InvalidEnvelopeError
    core_end = CORE_FIXED + OFFICE_FIELD * count
    slot_size = 4 + suite.slot_length
    if len(data) != core_end + count * slot_size + padded + 16:
        raise InvalidEnvelopeError

    slots = []
    codes = set()
    for index in range(count):
        start = CORE_FIXED + OFFICE_FIELD * index
        code = data[start : start + OFFICE_FIELD].rstrip(b"\x00")
        if not code or b"\x00" in code or not code.isascii():
            raise InvalidEnvelopeError
        (version,) = _KEY_VERSION.unpack_from(data, core_end + index * slot_size)
        office_code = code.decode("ascii")
        codes.add(office_code)
        slots.append(SlotHeader(index, office_code, version))
    if len(codes) != count:
        raise InvalidEnvelopeError
    return EnvelopeHeader(
        suite, data[5:21], padded, data[26:CORE_FIXED], tuple(slots), data[:core_end]
    )


def content_digest(data: bytes) -> str:
    """Return the SHA-256 (hex) of the header core and the payload ciphertext.

    This digest stays the same when slots are rewrapped to new key versions,
    so it is what receipts and the log commit to.
    """
    header = parse_header(data)
    payload = bytes(data[-header.padded_length - 16 :])
    return hashlib.sha256(header.core + payload).hexdigest()


def _slot_bytes(data: bytes, header: EnvelopeHeader, index: int) -> bytes:
    slot_size = 4 + header.suite.slot_length
    start = len(header.core) + index * slot_size
    return data[start + 4 : start + slot_size]


def _open_slot(data: bytes, header: EnvelopeHeader, slot: SlotHeader, key: OfficeKeyPair) -> bytes:
    if key.suite is not header.suite or key.key_version != slot.key_version:
        raise InvalidEnvelopeError
    core_hash = hashlib.sha256(header.core).digest()
    info = _slot_info(core_hash, slot.index, _encode_office(slot.office_code), slot.key_version)
    try:
        slot_key = header.suite.hpke.decrypt(
            _slot_bytes(data, header, slot.index), key.private_key, info=info
        )
    except Exception:  # noqa: BLE001 - every failure must look the same
        raise InvalidEnvelopeError from None
    if len(slot_key) != 32:
        raise InvalidEnvelopeError
    return slot_key


def open_envelope(
    data: bytes,
    office_code: str,
    keys: Mapping[int, OfficeKeyPair],
    *,
    header: EnvelopeHeader | None = None,
) -> bytes | _NotAddressed:
    """Open the envelope with *office_code*'s keys (by key version).

    Returns the payload, or :data:`NOT_ADDRESSED` when the office's slot is a
    decoy. Raises :class:`InvalidEnvelopeError`, with no detail, when the
    envelope has no slot for the office, the key version is not in *keys*, or
    any byte the office can check was changed. *header* is the result of
    :func:`parse_header` on the same bytes, when the caller has it already.
    """
    if header is None:
        header = parse_header(data)
    slot = header.slot_for(office_code)
    if slot is None or slot.key_version not in keys:
        raise InvalidEnvelopeError
    slot_key = _open_slot(bytes(data), header, slot, keys[slot.key_version])

    payload_key, commitment, nonce = _derive(slot_key, header.envelope_id)
    if not hmac.compare_digest(commitment, header.commitment):
        return NOT_ADDRESSED
    try:
        body = AESGCM(payload_key).decrypt(
            nonce, bytes(data[-header.padded_length - 16 :]), header.core
        )
    except Exception:  # noqa: BLE001 - every failure must look the same
        raise InvalidEnvelopeError from None
    (length,) = struct.unpack(">I", body[:4])
    # The padding was authenticated with the payload, so a mismatch here means
    # the sealer was faulty, not an attacker; it is rejected all the same.
    padding = len(body) - 4 - length
    if padding < 0 or body.count(0, 4 + length) != padding:
        raise InvalidEnvelopeError
    return body[4 : 4 + length]


def rewrap_slot(
    data: bytes,
    office_code: str,
    old_key: OfficeKeyPair,
    new_key_version: int,
    new_public_key: PublicKey,
) -> bytes:
    """Move *office_code*'s slot to a new key version, leaving the payload as it is.

    A decoy slot stays a decoy (a fresh random key); a real slot carries the
    same data key. Raises :class:`InvalidEnvelopeError` when the slot cannot be
    opened with *old_key*.
    """
    header = parse_header(data)
    slot = header.slot_for(office_code)
    if slot is None:
        raise InvalidEnvelopeError
    data = bytes(data)
    slot_key = _open_slot(data, header, slot, old_key)
    _, commitment, _ = _derive(slot_key, header.envelope_id)
    real = hmac.compare_digest(commitment, header.commitment)
    new_slot_key = slot_key if real else os.urandom(32)

    core_hash = hashlib.sha256(header.core).digest()
    info = _slot_info(core_hash, slot.index, _encode_office(office_code), new_key_version)
    sealed = header.suite.hpke.encrypt(new_slot_key, new_public_key, info=info)
    slot_size = 4 + header.suite.slot_length
    start = len(header.core) + slot.index * slot_size
    replacement = struct.pack(">I", new_key_version) + sealed
    return data[:start] + replacement + data[start + slot_size :]
