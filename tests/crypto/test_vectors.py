"""Published HPKE test vectors, and an independent implementation opening slots.

The interoperability tests below implement the envelope format from
``docs/envelope.md`` alone, with pyhpke for HPKE, so they fail when the page
and the code disagree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import struct
from typing import Any

import pyhpke
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography_vectors import open_vector_file
from hypothesis import given, settings
from hypothesis import strategies as st

from threeregs._canonical import dumps, loads
from threeregs._errors import InvalidEnvelopeError
from threeregs._model import Filer, Filing, Intervener, Record, StageObligation
from threeregs._vocabulary import Bucket, Conduct, IntervenerRole, Manner, Provision, StaffKind
from threeregs.crypto import (
    NOT_ADDRESSED,
    AnchorSigner,
    OfficeKeyPair,
    Sealer,
    Suite,
    open_envelope,
)

# RFC 9180 identifiers of the suites threeregs uses.
MODE_BASE = 0x00
KEM_X25519 = 0x0020
KEM_MLKEM768_X25519 = 0x647A
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_256_GCM = 0x0002

# The hybrid vectors come with other KDFs and AEADs than threeregs' suite 2;
# they still check the hybrid KEM, with any KDF and AEAD cryptography has.
KDFS = {
    0x0001: hpke.KDF.HKDF_SHA256,
    0x0002: hpke.KDF.HKDF_SHA384,
    0x0003: hpke.KDF.HKDF_SHA512,
    0x0010: hpke.KDF.SHAKE128,
    0x0011: hpke.KDF.SHAKE256,
}
AEADS = {
    0x0001: hpke.AEAD.AES_128_GCM,
    0x0002: hpke.AEAD.AES_256_GCM,
    0x0003: hpke.AEAD.CHACHA20_POLY1305,
}


def load_vectors(name: str) -> list[dict[str, Any]]:
    with open_vector_file(os.path.join("HPKE", name), "r") as file:
        vectors: list[dict[str, Any]] = json.load(file)
    return vectors


def vector_id(vector: dict[str, Any]) -> str:
    return f"kem{vector['kem_id']:04x}-kdf{vector['kdf_id']:04x}-aead{vector['aead_id']:04x}"


RFC_VECTORS = [
    v
    for v in load_vectors("test-vectors.json")
    if (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"])
    == (MODE_BASE, KEM_X25519, KDF_HKDF_SHA256, AEAD_AES_256_GCM)
]
HYBRID_VECTORS = [
    v
    for v in load_vectors("hpke-pq-test-vectors.json")
    if v["mode"] == MODE_BASE
    and v["kem_id"] == KEM_MLKEM768_X25519
    and v["kdf_id"] in KDFS
    and v["aead_id"] in AEADS
]


def decrypt_first(suite: hpke.Suite, vector: dict[str, Any], private_key: Any) -> bytes:
    """Decrypt the vector's first encryption (sequence number 0) with its AAD."""
    encryption = vector["encryptions"][0]
    # The public Suite.decrypt has no AAD argument and the vectors use one, so
    # this calls _decrypt_with_aad, a private function of cryptography 50 that
    # may change without notice. The single-shot API reaches only sequence
    # number 0, so the later encryptions of each vector are not checked.
    plaintext: bytes = rust_openssl.hpke._decrypt_with_aad(
        suite,
        bytes.fromhex(vector["enc"]) + bytes.fromhex(encryption["ct"]),
        private_key,
        info=bytes.fromhex(vector["info"]),
        aad=bytes.fromhex(encryption["aad"]),
    )
    return plaintext


# --- RFC 9180 vectors ------------------------------------------------------


def test_rfc_vectors_present() -> None:
    assert len(RFC_VECTORS) >= 1


@pytest.mark.parametrize("vector", RFC_VECTORS, ids=vector_id)
def test_rfc9180_x25519_aes256gcm(vector: dict[str, Any]) -> None:
    # The office key is built the way a key store loads it, and the suite is
    # the one threeregs seals slots with.
    pair = OfficeKeyPair("vector", 1, Suite.X25519, private_bytes=bytes.fromhex(vector["skRm"]))
    assert pair.public_bytes().hex() == vector["pkRm"]
    plaintext = decrypt_first(Suite.X25519.hpke, vector, pair.private_key)
    assert plaintext.hex() == vector["encryptions"][0]["pt"]


@pytest.mark.parametrize("vector", RFC_VECTORS, ids=vector_id)
def test_rfc9180_wrong_aad_rejected(vector: dict[str, Any]) -> None:
    private_key = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(vector["skRm"]))
    encryption = vector["encryptions"][0]
    with pytest.raises(InvalidTag):
        rust_openssl.hpke._decrypt_with_aad(
            Suite.X25519.hpke,
            bytes.fromhex(vector["enc"]) + bytes.fromhex(encryption["ct"]),
            private_key,
            info=bytes.fromhex(vector["info"]),
            aad=b"",
        )


def hybrid_pair(vector: dict[str, Any]) -> OfficeKeyPair:
    # The vectors give the 32-byte seed of the hybrid KEM; DeriveKeyPair
    # expands it with SHAKE256 to the 64-byte ML-KEM seed and the 32-byte
    # X25519 private key, which is the 96-byte form a threeregs key store keeps.
    expanded = hashlib.shake_256(bytes.fromhex(vector["skRm"])).digest(96)
    return OfficeKeyPair("vector", 1, Suite.MLKEM768_X25519, private_bytes=expanded)


@pytest.mark.parametrize("vector", HYBRID_VECTORS, ids=vector_id)
def test_hybrid_vectors(vector: dict[str, Any]) -> None:
    pair = hybrid_pair(vector)
    assert pair.public_bytes().hex() == vector["pkRm"]
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, KDFS[vector["kdf_id"]], AEADS[vector["aead_id"]])
    plaintext = decrypt_first(suite, vector, pair.private_key)
    assert plaintext.hex() == vector["encryptions"][0]["pt"]


def test_hybrid_vectors_present() -> None:
    if not HYBRID_VECTORS:
        pytest.skip("the installed cryptography-vectors have no MLKEM768-X25519 (0x647A) vectors")
    assert all(len(v["enc"]) // 2 == hpke.KEM.MLKEM768_X25519.enc_length() for v in HYBRID_VECTORS)


# --- an independent opener, written from docs/envelope.md -------------------

SLOT_INFO_LABEL = b"threeregs-slot-v1"
PAYLOAD_KEYS_LABEL = b"threeregs-v1 payload keys"
X25519_NENC = 32
X25519_SLOT = X25519_NENC + 32 + 16
SUITE_PYHPKE = pyhpke.CipherSuite.new(
    pyhpke.KEMId.DHKEM_X25519_HKDF_SHA256, pyhpke.KDFId.HKDF_SHA256, pyhpke.AEADId.AES256_GCM
)


def doc_parse(data: bytes) -> dict[str, Any]:
    """Parse an envelope with suite byte 1 into its parts, per the layout tables."""
    assert data[:3] == b"TRE"
    assert data[3] == 1
    assert data[4] == 1
    count = data[21]
    (padded,) = struct.unpack(">I", data[22:26])
    core_end = 58 + 16 * count
    fields = [data[58 + 16 * i : 58 + 16 * (i + 1)] for i in range(count)]
    slots = []
    for i in range(count):
        start = core_end + i * (4 + X25519_SLOT)
        (version,) = struct.unpack(">I", data[start : start + 4])
        slots.append((version, data[start + 4 : start + 4 + X25519_SLOT]))
    payload_start = core_end + count * (4 + X25519_SLOT)
    assert len(data) == payload_start + padded + 16
    return {
        "core": data[:core_end],
        "envelope_id": data[5:21],
        "commitment": data[26:58],
        "padded": padded,
        "fields": fields,
        "slots": slots,
        "ciphertext": data[payload_start:],
    }


def doc_payload_keys(data_key: bytes, envelope_id: bytes) -> tuple[bytes, bytes, bytes]:
    okm = HKDF(hashes.SHA256(), 76, salt=envelope_id, info=PAYLOAD_KEYS_LABEL).derive(data_key)
    return okm[0:32], okm[32:64], okm[64:76]


def doc_slot_info(core: bytes, index: int, field: bytes, version: int) -> bytes:
    return (
        SLOT_INFO_LABEL
        + hashlib.sha256(core).digest()
        + bytes([index])
        + field
        + struct.pack(">I", version)
    )


def doc_open(data: bytes, office_code: str, private_raw: bytes) -> bytes | None:
    """Open *data* as *office_code*; return the plaintext, or None for a decoy slot."""
    parts = doc_parse(data)
    field = office_code.encode("ascii").ljust(16, b"\x00")
    index = parts["fields"].index(field)
    version, sealed = parts["slots"][index]
    info = doc_slot_info(parts["core"], index, field, version)

    # pyhpke 0.6.5 leaves its single-shot CipherSuite.open unimplemented, so
    # this runs what RFC 9180 section 6.1 defines it as: SetupBaseR, then
    # Open with an empty AAD at sequence number 0.
    private_key = SUITE_PYHPKE.kem.deserialize_private_key(private_raw)
    context = SUITE_PYHPKE.create_recipient_context(sealed[:X25519_NENC], private_key, info=info)
    slot_key: bytes = context.open(sealed[X25519_NENC:], aad=b"")
    assert len(slot_key) == 32

    payload_key, commitment, nonce = doc_payload_keys(slot_key, parts["envelope_id"])
    if commitment != parts["commitment"]:
        return None
    body = AESGCM(payload_key).decrypt(nonce, parts["ciphertext"], parts["core"])
    (length,) = struct.unpack(">I", body[:4])
    assert length <= parts["padded"] - 4
    assert not any(body[4 + length :])
    return body[4 : 4 + length]


def doc_seal(
    payload: bytes, offices: list[tuple[str, int, bytes, bool]], envelope_id: bytes
) -> bytes:
    """Seal *payload* per the "Sealing" steps; offices are (code, version, public key, real)."""
    padded = next(size for size in (8192, 65536, 524288, 1052672) if len(payload) + 4 <= size)
    data_key = os.urandom(32)
    payload_key, commitment, nonce = doc_payload_keys(data_key, envelope_id)
    fields = [code.encode("ascii").ljust(16, b"\x00") for code, _, _, _ in offices]
    core = (
        b"TRE\x01\x01"
        + envelope_id
        + bytes([len(offices)])
        + struct.pack(">I", padded)
        + commitment
        + b"".join(fields)
    )
    slots = b""
    for index, (_, version, public_raw, real) in enumerate(offices):
        info = doc_slot_info(core, index, fields[index], version)
        public_key = SUITE_PYHPKE.kem.deserialize_public_key(public_raw)
        enc, context = SUITE_PYHPKE.create_sender_context(public_key, info=info)
        sealed = enc + context.seal(data_key if real else os.urandom(32), aad=b"")
        slots += struct.pack(">I", version) + sealed
    body = struct.pack(">I", len(payload)) + payload
    body += bytes(padded - len(body))
    return core + slots + AESGCM(payload_key).encrypt(nonce, body, core)


CHAIN_CODES = ("330106", "330100", "330000", "000000")
LEVELS = (4, 3, 2, 1)
SIGNER = AnchorSigner.generate()
NOW = dt.datetime.now(dt.UTC)
KEYS = {code: OfficeKeyPair.generate(code, key_version=5) for code in CHAIN_CODES}
CHAIN = [
    (
        code,
        SIGNER.certify_pair(
            KEYS[code],
            level=level,
            not_before=NOW - dt.timedelta(days=1),
            not_after=NOW + dt.timedelta(days=3650),
        ),
    )
    for code, level in zip(CHAIN_CODES, LEVELS, strict=True)
]
SEALER = Sealer(SIGNER.anchor)


def example_filing(content: str) -> Filing:
    filed_at = dt.datetime(2024, 5, 20, 9, 30, tzinfo=dt.UTC)
    record = Record(
        provision=Provision.P2,
        conduct=Conduct.PROBING_OR_TIPPING_OFF,
        bucket=Bucket.IMPROPER_INTERFERENCE,
        intervener=Intervener(
            name="赵某",
            unit="某区公安分局",
            position="科长",
            role=IntervenerRole.INTERNAL_PERSONNEL,
        ),
        occurred_at=filed_at - dt.timedelta(hours=5),
        manner=Manner.MESSAGE,
        content=content,
    )
    obligation = StageObligation(case_id="2024-XS-17", stage="arrest_review")
    return Filing(
        Filer("P000123", "330106", StaffKind.ASSISTANT),
        obligation,
        records=(record,),
        direct_to="provincial",
        filed_at=filed_at,
    )


@settings(max_examples=25, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=400
    ).filter(str.strip),
    st.sets(st.sampled_from(CHAIN_CODES), min_size=1),
)
def test_pyhpke_opens_threeregs_envelope(content: str, recipients: set[str]) -> None:
    filing = example_filing(content)
    canonical = dumps(filing)
    data = SEALER.seal(canonical, CHAIN, recipients, envelope_id=bytes.fromhex(filing.filing_id))
    for code in CHAIN_CODES:
        opened = doc_open(data, code, KEYS[code].private_bytes())
        if code in recipients:
            assert opened == canonical
            assert opened is not None
            assert loads(opened) == filing
        else:
            assert opened is None


def test_pyhpke_rejects_tampered_core() -> None:
    data = bytearray(SEALER.seal(b"payload", CHAIN, {"330106"}, envelope_id=bytes(16)))
    data[30] ^= 0x01
    with pytest.raises(pyhpke.OpenError):
        doc_open(bytes(data), "330106", KEYS["330106"].private_bytes())


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=9000), st.sets(st.sampled_from(CHAIN_CODES), min_size=1))
def test_threeregs_opens_pyhpke_envelope(payload: bytes, recipients: set[str]) -> None:
    offices = [(code, 5, KEYS[code].public_bytes(), code in recipients) for code in CHAIN_CODES]
    data = doc_seal(payload, offices, os.urandom(16))
    for code in CHAIN_CODES:
        result = open_envelope(data, code, {5: KEYS[code]})
        assert result == (payload if code in recipients else NOT_ADDRESSED)


def test_threeregs_rejects_pyhpke_slot_with_wrong_info() -> None:
    # A slot sealed with the info of another position must not open.
    offices = [(code, 5, KEYS[code].public_bytes(), True) for code in CHAIN_CODES]
    data = doc_seal(b"payload", offices, os.urandom(16))
    parts = doc_parse(data)
    version, _ = parts["slots"][0]
    public_key = SUITE_PYHPKE.kem.deserialize_public_key(KEYS["330106"].public_bytes())
    info = doc_slot_info(parts["core"], 1, parts["fields"][0], version)
    enc, context = SUITE_PYHPKE.create_sender_context(public_key, info=info)
    start = len(parts["core"])
    forged = (
        data[: start + 4]
        + enc
        + context.seal(os.urandom(32), aad=b"")
        + data[start + 4 + X25519_SLOT :]
    )
    with pytest.raises(InvalidEnvelopeError):
        open_envelope(forged, "330106", {5: KEYS["330106"]})
