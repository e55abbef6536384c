"""Office key pairs, key records and the trust anchor that certifies them.

An office key record (office code, level, key version, suite, public key,
validity period) is signed with the trust anchor's Ed25519 key. The anchor's
public key lives in host configuration, never in the database, so whoever can
write to the database cannot make the library encrypt to a key of their own.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import struct
from typing import Final

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from threeregs._errors import UntrustedKeyError, ValidationError

_CERT_MAGIC: Final = b"TRC\x01"
_RAW = 32


class Suite(enum.IntEnum):
    """HPKE cipher suite of an office key; the value is the byte in envelopes."""

    #: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (RFC 9180).
    X25519 = 1
    #: ML-KEM-768 + X25519 hybrid KEM, HKDF-SHA256, AES-256-GCM: for records
    #: kept for decades, against a future quantum adversary.
    MLKEM768_X25519 = 2

    @property
    def hpke(self) -> hpke.Suite:
        """The :mod:`cryptography` HPKE suite object."""
        return _HPKE_SUITES[self]

    @property
    def slot_length(self) -> int:
        """Length in bytes of one sealed slot: encapsulated key, data key, tag."""
        return _ENC_LENGTH[self] + 32 + 16


_HPKE_SUITES: Final = {
    Suite.X25519: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    Suite.MLKEM768_X25519: hpke.Suite(
        hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM
    ),
}
# Encapsulated key lengths: RFC 9180 table 2 for X25519 (Nenc = 32); the hybrid
# KEM's is ML-KEM-768's 1,088-byte ciphertext plus an X25519 share.
_ENC_LENGTH: Final = {Suite.X25519: 32, Suite.MLKEM768_X25519: 1088 + 32}

PublicKey = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
PrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


def _private_from_bytes(suite: Suite, data: bytes) -> PrivateKey:
    if suite is Suite.X25519:
        return x25519.X25519PrivateKey.from_private_bytes(data)
    # The hybrid private key is stored as the 64-byte ML-KEM seed followed by
    # the 32-byte X25519 private key.
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:64]),
        x25519.X25519PrivateKey.from_private_bytes(data[64:]),
    )


def _public_from_bytes(suite: Suite, data: bytes) -> PublicKey:
    if suite is Suite.X25519:
        return x25519.X25519PublicKey.from_public_bytes(data)
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(data[:-32]),
        x25519.X25519PublicKey.from_public_bytes(data[-32:]),
    )


_PUBLIC_LENGTH: Final = {Suite.X25519: 32, Suite.MLKEM768_X25519: 1184 + 32}
_PRIVATE_LENGTH: Final = {Suite.X25519: 32, Suite.MLKEM768_X25519: 64 + 32}


@attrs.frozen(repr=False)
class OfficeKeyPair:
    """The private key of one version of an office's key.

    The repr shows only the office, version and suite, never key material.
    """

    office_code: str
    key_version: int
    suite: Suite
    _private_bytes: bytes = attrs.field(alias="private_bytes")
    _private: PrivateKey = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if len(self._private_bytes) != _PRIVATE_LENGTH[self.suite]:
            raise ValidationError(
                "private_bytes", len(self._private_bytes), "wrong private key length for suite"
            )
        object.__setattr__(self, "_private", _private_from_bytes(self.suite, self._private_bytes))

    @classmethod
    def generate(
        cls, office_code: str, *, key_version: int = 1, suite: Suite = Suite.X25519
    ) -> OfficeKeyPair:
        """Generate a new random key pair for *office_code*."""
        if suite is Suite.X25519:
            raw = x25519.X25519PrivateKey.generate().private_bytes_raw()
        else:
            seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
            raw = seed + x25519.X25519PrivateKey.generate().private_bytes_raw()
        return cls(office_code, key_version, suite, private_bytes=raw)

    @property
    def private_key(self) -> PrivateKey:
        """The :mod:`cryptography` private key object."""
        return self._private

    def private_bytes(self) -> bytes:
        """Return the raw private key bytes, for a key store to protect."""
        return self._private_bytes

    def public_bytes(self) -> bytes:
        """Return the raw public key bytes that go into a key record."""
        public = self._private.public_key()
        if isinstance(public, x25519.X25519PublicKey):
            return public.public_bytes_raw()
        # The hybrid public key object exposes no raw encoding, so build it
        # from the parts: the ML-KEM encapsulation key, then the X25519 share.
        seed, x_raw = self._private_bytes[:64], self._private_bytes[64:]
        mlkem_public = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key()
        x_public = x25519.X25519PrivateKey.from_private_bytes(x_raw).public_key()
        return mlkem_public.public_bytes_raw() + x_public.public_bytes_raw()

    def __repr__(self) -> str:
        return (
            f"OfficeKeyPair(office_code={self.office_code!r}, "
            f"key_version={self.key_version}, suite={self.suite.name})"
        )


def _check_version(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
        raise ValidationError(attribute.name, value, "expected a key version from 1 to 2**31 - 1")


def _whole_seconds(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    return value


@attrs.frozen
class KeyRecord:
    """The public half of one version of an office key, with its validity."""

    office_code: str
    level: int
    key_version: int = attrs.field(validator=_check_version)
    suite: Suite = attrs.field(converter=Suite)
    public_key: bytes = attrs.field(repr=lambda b: b[:8].hex() + "...")
    # The signed form keeps whole seconds, so the value does too.
    not_before: dt.datetime = attrs.field(converter=_whole_seconds)
    not_after: dt.datetime = attrs.field(converter=_whole_seconds)
    # The signed form, made from the fields above on first use and kept,
    # because sealing checks every slot's record on every filing. attrs.evolve
    # starts it empty.
    _encoded: bytes | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if len(self.public_key) != _PUBLIC_LENGTH[self.suite]:
            raise ValidationError(
                "public_key", len(self.public_key), f"wrong length for suite {self.suite.name}"
            )
        if self.not_before.tzinfo is None or self.not_after.tzinfo is None:
            raise ValidationError("not_before", self.not_before, "expected aware datetimes")
        if self.not_after <= self.not_before:
            raise ValidationError("not_after", self.not_after, "must lie after not_before")

    def to_bytes(self) -> bytes:
        """Serialise canonically: the bytes the trust anchor signs."""
        if self._encoded is not None:
            return self._encoded
        body = {
            "key_version": self.key_version,
            "level": self.level,
            "not_after": _timestamp(self.not_after),
            "not_before": _timestamp(self.not_before),
            "office_code": self.office_code,
            "public_key": self.public_key.hex(),
            "suite": int(self.suite),
        }
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")
        object.__setattr__(self, "_encoded", encoded)
        return encoded

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyRecord:
        """Parse :meth:`to_bytes` output, raising :class:`UntrustedKeyError`."""
        try:
            body = json.loads(data.decode("ascii"))
            record = cls(
                office_code=body["office_code"],
                level=body["level"],
                key_version=body["key_version"],
                suite=body["suite"],
                public_key=bytes.fromhex(body["public_key"]),
                not_before=dt.datetime.fromisoformat(body["not_before"]),
                not_after=dt.datetime.fromisoformat(body["not_after"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise UntrustedKeyError(f"malformed key record: {exc.__class__.__name__}") from None
        if record.to_bytes() != data:
            raise UntrustedKeyError("key record is not in canonical form")
        return record

    def public(self) -> PublicKey:
        """The :mod:`cryptography` public key object."""
        return _public_from_bytes(self.suite, self.public_key)

    @property
    def fingerprint(self) -> str:
        """First 16 hex digits of the SHA-256 of the record, for display."""
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


@attrs.frozen
class CertifiedKey:
    """A key record with the trust anchor's Ed25519 signature over it."""

    record: KeyRecord
    signature: bytes = attrs.field(repr=False)
    # The serialised form, kept after the first use like KeyRecord's.
    _encoded: bytes | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def to_bytes(self) -> bytes:
        """Serialise as magic, record length, record, 64-byte signature."""
        if self._encoded is not None:
            return self._encoded
        body = self.record.to_bytes()
        encoded = _CERT_MAGIC + struct.pack(">I", len(body)) + body + self.signature
        object.__setattr__(self, "_encoded", encoded)
        return encoded

    @classmethod
    def from_bytes(cls, data: bytes) -> CertifiedKey:
        """Parse :meth:`to_bytes` output; the signature is not checked here."""
        if len(data) < 8 or data[:4] != _CERT_MAGIC:
            raise UntrustedKeyError("not a certified key record (bad magic or version)")
        (length,) = struct.unpack(">I", data[4:8])
        if len(data) != 8 + length + 64:
            raise UntrustedKeyError("certified key record has the wrong length")
        return cls(KeyRecord.from_bytes(data[8 : 8 + length]), data[8 + length :])


@attrs.frozen
class TrustAnchor:
    """The Ed25519 public key that certifies office keys.

    Build it from host configuration (:meth:`from_hex`), never from the
    database. Verified certificates are cached by their bytes, because
    sealing checks every slot's certificate on every filing.
    """

    public_key: ed25519.Ed25519PublicKey = attrs.field(eq=False)
    _verified: dict[bytes, KeyRecord] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> TrustAnchor:
        """Build the anchor from its 32 raw public key bytes."""
        if len(data) != _RAW:
            raise UntrustedKeyError(
                f"a trust anchor public key is 32 bytes (64 hex digits), got {len(data)}; "
                "copy it from the output of `threeregs keys anchor`"
            )
        return cls(ed25519.Ed25519PublicKey.from_public_bytes(data))

    @classmethod
    def from_hex(cls, text: str) -> TrustAnchor:
        """Build the anchor from 64 hex digits, as kept in host configuration."""
        try:
            return cls.from_bytes(bytes.fromhex(text.strip()))
        except ValueError:
            raise UntrustedKeyError(
                f"trust anchor {text[:16]!r}... is not 64 hex digits; "
                "copy it from `threeregs keys anchor`"
            ) from None

    def public_bytes(self) -> bytes:
        """Return the 32 raw public key bytes."""
        return self.public_key.public_bytes_raw()

    @property
    def fingerprint(self) -> str:
        """First 16 hex digits of the SHA-256 of the public key."""
        return hashlib.sha256(self.public_bytes()).hexdigest()[:16]

    def verify(
        self,
        certified: CertifiedKey,
        *,
        office_code: str,
        at: dt.datetime,
        key_version: int | None = None,
    ) -> KeyRecord:
        """Check *certified* for *office_code* at time *at* and return its record.

        Raises :class:`UntrustedKeyError` when the signature does not verify,
        the record names another office or version, or *at* lies outside the
        validity period.
        """
        record = certified.record
        cache_key = certified.to_bytes()
        if cache_key not in self._verified:
            try:
                self.public_key.verify(certified.signature, record.to_bytes())
            except InvalidSignature:
                raise UntrustedKeyError(
                    f"key of office {record.office_code!r} version {record.key_version} "
                    "is not certified by the configured trust anchor"
                ) from None
            self._verified[cache_key] = record
        if record.office_code != office_code:
            raise UntrustedKeyError(
                f"key record is for office {record.office_code!r}, not {office_code!r}"
            )
        if key_version is not None and record.key_version != key_version:
            raise UntrustedKeyError(
                f"key record has version {record.key_version}, expected {key_version}"
            )
        if not record.not_before <= at < record.not_after:
            raise UntrustedKeyError(
                f"key of office {office_code!r} version {record.key_version} is valid from "
                f"{_timestamp(record.not_before)} to {_timestamp(record.not_after)}, "
                f"not at {_timestamp(at)}; issue a new key version"
            )
        return record


@attrs.frozen(repr=False)
class AnchorSigner:
    """The private half of the trust anchor; keep it offline."""

    _private: ed25519.Ed25519PrivateKey = attrs.field(alias="private_key")

    @classmethod
    def generate(cls) -> AnchorSigner:
        """Generate a new random trust anchor key."""
        return cls(private_key=ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, data: bytes) -> AnchorSigner:
        """Load the signer from its 32 raw private key bytes."""
        if len(data) != _RAW:
            raise UntrustedKeyError("an anchor private key is 32 bytes")
        return cls(private_key=ed25519.Ed25519PrivateKey.from_private_bytes(data))

    def private_bytes(self) -> bytes:
        """Return the raw private key bytes, for a key store to protect."""
        return self._private.private_bytes_raw()

    @property
    def anchor(self) -> TrustAnchor:
        """The public trust anchor for host configuration."""
        return TrustAnchor(self._private.public_key())

    def certify(self, record: KeyRecord) -> CertifiedKey:
        """Sign *record*."""
        return CertifiedKey(record, self._private.sign(record.to_bytes()))

    def certify_pair(
        self,
        pair: OfficeKeyPair,
        *,
        level: int,
        not_before: dt.datetime,
        not_after: dt.datetime,
    ) -> CertifiedKey:
        """Build and sign the key record of *pair*."""
        record = KeyRecord(
            office_code=pair.office_code,
            level=level,
            key_version=pair.key_version,
            suite=pair.suite,
            public_key=pair.public_bytes(),
            not_before=not_before,
            not_after=not_after,
        )
        return self.certify(record)

    def __repr__(self) -> str:
        return f"AnchorSigner(anchor={self.anchor.fingerprint})"
