"""Key stores: where an inspection department keeps its private keys.

:class:`KeyStore` is the contract; :class:`PassphraseKeyStore` is the built-in
file store. Its format v1 is::

    0   4   magic "TRKS"
    4   1   format version, 0x01
    5   1   log2 of the scrypt cost n
    6   1   scrypt r
    7   1   scrypt p
    8  16   salt
   24  32   passphrase check: HKDF(derived key, "check")
   56  12   nonce
   68   *   AES-256-GCM ciphertext of the contents, AAD = bytes 0..68

The contents are JSON: ``{"anchor": hex or null, "keys": [...]}``, where
``anchor`` is the trust anchor's Ed25519 private key when this store holds
it, and each key has ``office_code``, ``key_version``, ``suite`` and
``private_key`` (hex).

The check value lets a wrong passphrase be told apart from a damaged file;
it reveals nothing that a guess at the passphrase would not.
"""

from __future__ import annotations

import hmac
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from threeregs._errors import (
    CorruptKeyStoreError,
    KeyNotFoundError,
    ThreeregsError,
    ValidationError,
    WrongPassphraseError,
)
from threeregs.crypto._keys import AnchorSigner, OfficeKeyPair, Suite

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_MAGIC: Final = b"TRKS"
_VERSION: Final = 1
_HEADER: Final = 68
#: Default scrypt cost: n = 2**17, r = 8, p = 1 (128 MiB, about half a second),
#: the interactive-login setting RFC 7914 section 2 suggests raising over time.
DEFAULT_COST: Final = 17
#: Lowest cost accepted when reading a file, so a tampered header cannot make
#: the passphrase cheap to guess.
MIN_COST: Final = 10
#: Highest scrypt memory (128 * r * n bytes) and parallelism accepted when
#: reading a file, so a damaged header cannot make opening it take gigabytes.
MAX_MEMORY: Final = 1 << 30
MAX_PARALLELISM: Final = 4


@runtime_checkable
class KeyStore(Protocol):
    """Store of the private keys of one or more offices."""

    def keys_for(self, office_code: str) -> Mapping[int, OfficeKeyPair]:
        """Return the office's private keys by key version (empty if none)."""
        ...


class MemoryKeyStore:
    """A key store in memory, for tests and for hosts with their own vault."""

    def __init__(self, keys: Iterable[OfficeKeyPair] = ()) -> None:
        self._keys: dict[str, dict[int, OfficeKeyPair]] = {}
        for key in keys:
            self.add(key)

    def add(self, key: OfficeKeyPair) -> None:
        """Add *key*; an existing key of the same office and version is replaced."""
        self._keys.setdefault(key.office_code, {})[key.key_version] = key

    def remove(self, office_code: str, key_version: int) -> None:
        """Remove one key version, raising :class:`KeyNotFoundError` if absent."""
        try:
            del self._keys[office_code][key_version]
        except KeyError:
            raise KeyNotFoundError(
                f"no key version {key_version} of office {office_code!r} in the key store"
            ) from None

    def keys_for(self, office_code: str) -> Mapping[int, OfficeKeyPair]:
        """Return the office's private keys by key version."""
        return dict(self._keys.get(office_code, {}))

    def offices(self) -> list[str]:
        """Return the office codes that have at least one key, sorted."""
        return sorted(code for code, keys in self._keys.items() if keys)

    def all_keys(self) -> list[OfficeKeyPair]:
        """Return every key, sorted by office and version."""
        return [
            self._keys[code][version]
            for code in sorted(self._keys)
            for version in sorted(self._keys[code])
        ]

    def __repr__(self) -> str:
        count = sum(len(keys) for keys in self._keys.values())
        return f"{type(self).__name__}(offices={len(self._keys)}, keys={count})"


class PassphraseKeyStore(MemoryKeyStore):
    """A key store file encrypted under a passphrase (scrypt and AES-256-GCM).

    This class is mutable: :meth:`add` and :meth:`remove` change the keys in
    memory, and :meth:`save` writes the file atomically.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        passphrase: str,
        keys: Iterable[OfficeKeyPair] = (),
        *,
        cost: int = DEFAULT_COST,
    ) -> None:
        super().__init__(keys)
        self.anchor_signer: AnchorSigner | None = None
        if not passphrase:
            raise ValidationError("passphrase", "", "must not be empty")
        if not MIN_COST <= cost <= 20:
            raise ValidationError("cost", cost, f"expected log2 of the scrypt cost, {MIN_COST}..20")
        self.path = Path(path)
        self._passphrase = passphrase
        self._cost = cost

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: str) -> PassphraseKeyStore:
        """Read and decrypt the key store at *path*.

        Raises :class:`WrongPassphraseError` or :class:`CorruptKeyStoreError`.
        """
        file = Path(path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise CorruptKeyStoreError(
                f"key store {str(file)!r} not found; create it with `threeregs keys init`"
            ) from None
        except OSError as exc:
            raise CorruptKeyStoreError(
                f"cannot read key store {str(file)!r}: {exc.strerror}"
            ) from None
        keys, anchor, cost = _decrypt(data, passphrase, str(file))
        store = cls(file, passphrase, keys, cost=cost)
        store.anchor_signer = anchor
        return store

    def save(self) -> None:
        """Encrypt the keys and replace the file atomically."""
        data = _encrypt(self.all_keys(), self.anchor_signer, self._passphrase, self._cost)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".keystore-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o600)
            Path(temp).replace(self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, offices={len(self.offices())})"


def _derive(passphrase: str, salt: bytes, cost: int, r: int, p: int) -> tuple[bytes, bytes]:
    key = Scrypt(salt=salt, length=32, n=1 << cost, r=r, p=p).derive(passphrase.encode("utf-8"))
    check = HKDF(hashes.SHA256(), 32, salt=None, info=b"threeregs keystore check").derive(key)
    return key, check


def _encrypt(
    keys: list[OfficeKeyPair], anchor: AnchorSigner | None, passphrase: str, cost: int
) -> bytes:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    key, check = _derive(passphrase, salt, cost, 8, 1)
    header = _MAGIC + bytes([_VERSION, cost, 8, 1]) + salt + check + nonce
    body = json.dumps(
        {
            "anchor": None if anchor is None else anchor.private_bytes().hex(),
            "keys": [
                {
                    "office_code": pair.office_code,
                    "key_version": pair.key_version,
                    "suite": int(pair.suite),
                    "private_key": pair.private_bytes().hex(),
                }
                for pair in keys
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")
    return header + AESGCM(key).encrypt(nonce, body, header)


def _decrypt(
    data: bytes, passphrase: str, name: str
) -> tuple[list[OfficeKeyPair], AnchorSigner | None, int]:
    if len(data) < _HEADER + 16 or data[:4] != _MAGIC:
        raise CorruptKeyStoreError(f"{name!r} is not a threeregs key store file")
    if data[4] != _VERSION:
        raise CorruptKeyStoreError(
            f"key store {name!r} has format version {data[4]}; this library reads {_VERSION}"
        )
    cost, r, p = data[5], data[6], data[7]
    if (
        not MIN_COST <= cost <= 22
        or not 1 <= r <= 32
        or not 1 <= p <= MAX_PARALLELISM
        or 128 * r * (1 << cost) > MAX_MEMORY
    ):
        raise CorruptKeyStoreError(f"key store {name!r} has invalid scrypt parameters")
    salt, check, nonce = data[8:24], data[24:56], data[56:68]
    try:
        key, expected = _derive(passphrase, salt, cost, r, p)
    except MemoryError:
        raise CorruptKeyStoreError(
            f"key store {name!r} asks for more scrypt memory than is available"
        ) from None
    if not hmac.compare_digest(check, expected):
        raise WrongPassphraseError(f"wrong passphrase for key store {name!r}")
    try:
        body = AESGCM(key).decrypt(nonce, data[_HEADER:], data[:_HEADER])
    except InvalidTag:
        raise CorruptKeyStoreError(
            f"key store {name!r} is damaged (the passphrase is right but the contents "
            "fail authentication); restore it from a backup"
        ) from None
    try:
        contents = json.loads(body.decode("ascii"))
        entries = contents["keys"]
        anchor_hex = contents["anchor"]
        anchor = None if anchor_hex is None else AnchorSigner.from_bytes(bytes.fromhex(anchor_hex))
        keys = [
            OfficeKeyPair(
                entry["office_code"],
                entry["key_version"],
                Suite(entry["suite"]),
                private_bytes=bytes.fromhex(entry["private_key"]),
            )
            for entry in entries
        ]
    except (ValueError, KeyError, TypeError, AttributeError, ThreeregsError) as exc:
        raise CorruptKeyStoreError(
            f"key store {name!r} contains a malformed key list ({exc.__class__.__name__})"
        ) from None
    return keys, anchor, cost
