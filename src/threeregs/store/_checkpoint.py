"""Signed checkpoints of the filing log, and the Ed25519 keys that sign them.

A checkpoint states the size and root hash of one log at one moment. An
inspection department signs it with a key that it keeps outside the host
database, so a database writer cannot forge one. Three
formats are defined here, each with a version and a strict parser that
accepts only the exact bytes its writer produces.

Checkpoint, format v1: eight lines of ASCII, each ending in ``\\n``::

    threeregs checkpoint v1
    log <32 lowercase hex digits: the log id>
    size <tree size, decimal, no leading zeros>
    root <64 lowercase hex digits: the RFC 9162 root hash>
    time <UTC time, YYYY-MM-DDTHH:MM:SS.ffffffZ>
    office <office code of the signing inspection department>
    key <16 lowercase hex digits: the key id>
    signature <128 lowercase hex digits: Ed25519 over the first seven lines>

Public checkpoint key, format v1: one line
``threeregs-checkpoint-key v1 <office code> <64 hex digits of the Ed25519 public key>``.
Its key id is the first 8 bytes of SHA-256 over ``"threeregs checkpoint key v1\\n"``,
the office code, ``"\\n"`` and the public key.

Signing-key file, format v1 (integers big-endian)::

     0   4  magic "TRCK"
     4   1  format version, 0x01
     5   1  log2 of the scrypt cost n
     6   1  scrypt r
     7   1  scrypt p
     8  16  salt
    24  32  passphrase check: HKDF-SHA256(scrypt key, info "threeregs checkpoint key check")
    56  32  Ed25519 public key
    88   1  length L of the office code, 1..16
    89   L  office code, ASCII
    89+L 12 nonce
    101+L 48 AES-256-GCM ciphertext of the 32-byte private key, AAD = bytes 0..101+L

The public key and office code are readable without the passphrase, so
``threeregs checkpoint public-key`` can print the key line anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import attrs
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from threeregs._errors import CheckpointError, WrongPassphraseError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

CHECKPOINT_HEADER: Final = "threeregs checkpoint v1"
KEY_HEADER: Final = "threeregs-checkpoint-key v1"
#: Maximum length of checkpoint text that the parser reads; a valid one is under 400 bytes.
MAX_CHECKPOINT_LENGTH: Final = 1024
#: Default scrypt cost of a signing-key file: n = 2**17, r = 8, p = 1 (128 MiB).
DEFAULT_COST: Final = 17
MIN_COST: Final = 10
#: Largest scrypt memory a file may ask for (128 * r * n bytes), so that a
#: damaged or hostile header cannot make opening it exhaust memory.
MAX_SCRYPT_MEMORY: Final = 1 << 30

_KEY_ID_LABEL: Final = b"threeregs checkpoint key v1\n"
_FILE_MAGIC: Final = b"TRCK"
_FILE_VERSION: Final = 1
_CHECK_LABEL: Final = b"threeregs checkpoint key check"
_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_OFFICE_PATTERN: Final = re.compile(r"[0-9A-Za-z]{1,16}")
_HEX_PATTERN: Final = re.compile(r"[0-9a-f]*")
_SIZE_PATTERN: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_TIME_PATTERN: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_FIELDS: Final = ("log", "size", "root", "time", "office", "key", "signature")


def _check_office(value: str) -> str:
    if not isinstance(value, str) or not _OFFICE_PATTERN.fullmatch(value):
        raise CheckpointError(
            f"invalid office code {value!r}: expected 1 to 16 ASCII letters or digits"
        )
    return value


def _hex(value: str, length: int, name: str) -> bytes:
    if len(value) != length or not _HEX_PATTERN.fullmatch(value):
        raise CheckpointError(
            f"invalid {name} {value[:80]!r}: expected {length} lowercase hex digits"
        )
    return bytes.fromhex(value)


def format_time(value: dt.datetime) -> str:
    """Format an aware datetime as a checkpoint time (UTC, microseconds, ``Z``)."""
    return value.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def _parse_time(text: str) -> dt.datetime:
    if not _TIME_PATTERN.fullmatch(text):
        raise CheckpointError(f"invalid time {text[:40]!r}: expected YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        return dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CheckpointError(f"invalid time {text!r}: no such date or time") from None


# --- public keys ---------------------------------------------------------


@attrs.frozen
class CheckpointKey:
    """The public key with which an inspection department's checkpoints verify."""

    office_code: str = attrs.field(converter=_check_office)
    public_key: bytes = attrs.field(repr=lambda b: b[:8].hex() + "...")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise CheckpointError("an Ed25519 public key is 32 bytes")
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError:
            raise CheckpointError("the bytes are not an Ed25519 public key") from None

    @property
    def key_id(self) -> str:
        """16 hex digits naming this key in checkpoints."""
        material = _KEY_ID_LABEL + self.office_code.encode("ascii") + b"\n" + self.public_key
        return hashlib.sha256(material).hexdigest()[:16]

    def to_text(self) -> str:
        """Serialise as the one-line key format, without a line break."""
        return f"{KEY_HEADER} {self.office_code} {self.public_key.hex()}"

    @classmethod
    def from_text(cls, text: str) -> CheckpointKey:
        """Parse one key line as :meth:`to_text` writes it.

        Raises :class:`CheckpointError` for anything else.
        """
        parts = text.split(" ")
        if len(parts) != 4 or " ".join(parts[:2]) != KEY_HEADER:
            raise CheckpointError(
                f"{text[:60]!r} is not a checkpoint key line; expected "
                f"'{KEY_HEADER} <office code> <64 hex digits>'"
            )
        return cls(parts[2], _hex(parts[3], 64, "public key"))

    def is_valid_signature(self, signature: bytes, message: bytes) -> bool:
        """Tell whether *signature* is this key's Ed25519 signature over *message*."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_keys(text: str) -> tuple[CheckpointKey, ...]:
    """Parse a key list: one key line per line; blank lines and ``#`` comments are skipped."""
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            keys.append(CheckpointKey.from_text(stripped))
        except CheckpointError as exc:
            raise CheckpointError(f"line {number}: {exc}") from None
    return tuple(keys)


def read_keys(path: str | os.PathLike[str]) -> tuple[CheckpointKey, ...]:
    """Read a key list file (see :func:`parse_keys`)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read key list {str(file)!r}: {exc.strerror}") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise CheckpointError(f"key list {str(file)!r} is not ASCII text") from None
    try:
        return parse_keys(text)
    except CheckpointError as exc:
        raise CheckpointError(f"key list {str(file)!r}: {exc}") from None


# --- checkpoints ---------------------------------------------------------


def _check_size(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise CheckpointError(f"invalid tree size {value!r}: expected 0 to 2**63 - 1")


def _check_bytes(length: int) -> Callable[[object, attrs.Attribute[bytes], object], None]:
    def check(instance: object, attribute: attrs.Attribute[bytes], value: object) -> None:
        if not isinstance(value, bytes) or len(value) != length:
            raise CheckpointError(f"invalid {attribute.name}: expected {length} bytes")

    return check


def _check_log_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise CheckpointError(f"invalid log id {value!r}: expected 32 lowercase hex digits")
    _hex(value, 32, "log id")


def _check_key_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise CheckpointError(f"invalid key id {value!r}: expected 16 lowercase hex digits")
    _hex(value, 16, "key id")


def _check_time(instance: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() != dt.timedelta(0):
        raise CheckpointError(f"invalid signing time {value!r}: expected an aware UTC datetime")


@attrs.frozen
class Checkpoint:
    """A signed statement that log *log_id* had *tree_size* entries with root *root*."""

    log_id: str = attrs.field(validator=_check_log_id)
    tree_size: int = attrs.field(validator=_check_size)
    root: bytes = attrs.field(validator=_check_bytes(32), repr=lambda b: b.hex()[:16] + "...")
    signed_at: dt.datetime = attrs.field(validator=_check_time)
    office_code: str = attrs.field(converter=_check_office)
    key_id: str = attrs.field(validator=_check_key_id)
    signature: bytes = attrs.field(validator=_check_bytes(64), repr=False)

    def signed_text(self) -> str:
        """Return the first seven lines: the text that the signature covers."""
        values = (
            self.log_id,
            str(self.tree_size),
            self.root.hex(),
            format_time(self.signed_at),
            self.office_code,
            self.key_id,
        )
        lines = [CHECKPOINT_HEADER] + [
            f"{name} {value}" for name, value in zip(_FIELDS[:-1], values, strict=True)
        ]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """Serialise in format v1."""
        return f"{self.signed_text()}signature {self.signature.hex()}\n"

    @classmethod
    def from_text(cls, data: str | bytes) -> Checkpoint:
        """Parse format v1, accepting only the exact text :meth:`to_text` writes.

        The signature is not checked here; call :meth:`verify`. Raises
        :class:`CheckpointError`.
        """
        if isinstance(data, bytes):
            if len(data) > MAX_CHECKPOINT_LENGTH:
                raise CheckpointError(f"a checkpoint is at most {MAX_CHECKPOINT_LENGTH} bytes")
            try:
                data = data.decode("ascii")
            except UnicodeDecodeError:
                raise CheckpointError("a checkpoint is ASCII text") from None
        if not isinstance(data, str):
            raise CheckpointError(f"expected checkpoint text, not {type(data).__name__}")
        if len(data) > MAX_CHECKPOINT_LENGTH or not data.isascii():
            raise CheckpointError(
                f"a checkpoint is ASCII text of at most {MAX_CHECKPOINT_LENGTH} bytes"
            )
        if not data.endswith("\n"):
            raise CheckpointError("a checkpoint ends with a line break")
        lines = data[:-1].split("\n")
        if lines[0] != CHECKPOINT_HEADER:
            raise CheckpointError(
                f"the first line is {lines[0][:40]!r}, not {CHECKPOINT_HEADER!r}; "
                "this is not a threeregs checkpoint or it has another format version"
            )
        if len(lines) != 1 + len(_FIELDS):
            raise CheckpointError(f"a checkpoint has {1 + len(_FIELDS)} lines, not {len(lines)}")
        values = []
        for line, name in zip(lines[1:], _FIELDS, strict=True):
            label, _, value = line.partition(" ")
            if label != name:
                raise CheckpointError(f"expected the line {name!r}, found {line[:40]!r}")
            values.append(value)
        log_id, size, root, time, office, key_id, signature = values
        if not _SIZE_PATTERN.fullmatch(size):
            raise CheckpointError(f"invalid tree size {size[:30]!r}: expected a decimal number")
        checkpoint = cls(
            log_id=log_id,
            tree_size=int(size),
            root=_hex(root, 64, "root hash"),
            signed_at=_parse_time(time),
            office_code=office,
            key_id=key_id,
            signature=_hex(signature, 128, "signature"),
        )
        if checkpoint.to_text() != data:
            raise CheckpointError("the checkpoint is not in canonical form")
        return checkpoint

    def signing_key(self, keys: Iterable[CheckpointKey]) -> CheckpointKey | None:
        """Return the key of *keys* that made the signature, or None."""
        message = self.signed_text().encode("ascii")
        for key in keys:
            if (
                key.key_id == self.key_id
                and key.office_code == self.office_code
                and key.is_valid_signature(self.signature, message)
            ):
                return key
        return None

    def verify(self, keys: Iterable[CheckpointKey]) -> CheckpointKey:
        """Check the signature against *keys* and return the key that made it.

        Raises :class:`CheckpointError` when no key of *keys* has the
        checkpoint's key id or the signature does not verify.
        """
        keys = tuple(keys)
        key = self.signing_key(keys)
        if key is not None:
            return key
        if not any(k.key_id == self.key_id for k in keys):
            raise CheckpointError(
                f"checkpoint signed by key {self.key_id} of office {self.office_code}, which is "
                "not in the list of checkpoint keys; add its key line to the list"
            )
        raise CheckpointError(
            f"the signature of the checkpoint of size {self.tree_size} signed at "
            f"{format_time(self.signed_at)} does not verify; the checkpoint was altered"
        )

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read a checkpoint file."""
        file = Path(path)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {str(file)!r}: {exc.strerror}") from None
        try:
            return cls.from_text(data)
        except CheckpointError as exc:
            raise CheckpointError(f"checkpoint file {str(file)!r}: {exc}") from None

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the checkpoint to *path*, replacing the file atomically."""
        _write_atomically(Path(path), self.to_text().encode("ascii"), mode=0o644)


# --- signing keys --------------------------------------------------------


class CheckpointSigner:
    """An inspection department's Ed25519 key for signing checkpoints.

    Keep it outside the host database: in a file from :meth:`save`, protected
    by a passphrase, or in the host's own vault.
    """

    __slots__ = ("_private", "office_code")

    def __init__(self, office_code: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        self.office_code = _check_office(office_code)
        self._private = private_key

    @classmethod
    def generate(cls, office_code: str) -> CheckpointSigner:
        """Generate a new random signing key for *office_code*."""
        return cls(office_code, ed25519.Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> CheckpointKey:
        """The public key that verifies this signer's checkpoints."""
        return CheckpointKey(self.office_code, self._private.public_key().public_bytes_raw())

    def sign(self, *, log_id: str, tree_size: int, root: bytes, at: dt.datetime) -> Checkpoint:
        """Sign a checkpoint of *tree_size* entries and *root* of log *log_id* at time *at*."""
        unsigned = Checkpoint(
            log_id=log_id,
            tree_size=tree_size,
            root=root,
            signed_at=at.astimezone(dt.UTC),
            office_code=self.office_code,
            key_id=self.public_key.key_id,
            signature=bytes(64),
        )
        signature = self._private.sign(unsigned.signed_text().encode("ascii"))
        return attrs.evolve(unsigned, signature=signature)

    def to_bytes(self, passphrase: str, *, cost: int = DEFAULT_COST) -> bytes:
        """Encrypt the key under *passphrase* in the signing-key file format."""
        if not passphrase:
            raise CheckpointError("the passphrase of a signing-key file must not be empty")
        if cost < MIN_COST or 128 * 8 << cost > MAX_SCRYPT_MEMORY:
            raise CheckpointError(f"invalid scrypt cost {cost}: expected {MIN_COST} to 20")
        salt = os.urandom(16)
        nonce = os.urandom(12)
        key, check = _derive(passphrase, salt, cost, 8, 1)
        office = self.office_code.encode("ascii")
        header = (
            _FILE_MAGIC
            + bytes([_FILE_VERSION, cost, 8, 1])
            + salt
            + check
            + self.public_key.public_key
            + bytes([len(office)])
            + office
            + nonce
        )
        return header + AESGCM(key).encrypt(nonce, self._private.private_bytes_raw(), header)

    @classmethod
    def from_bytes(cls, data: bytes, passphrase: str) -> CheckpointSigner:
        """Decrypt a signing-key file.

        Raises :class:`~threeregs.WrongPassphraseError` when the passphrase is
        wrong and :class:`CheckpointError` when the bytes are not an intact
        signing-key file.
        """
        header, public = _parse_file(data)
        cost, r, p = header[5], header[6], header[7]
        key, expected = _derive(passphrase, header[8:24], cost, r, p)
        if not hmac.compare_digest(header[24:56], expected):
            raise WrongPassphraseError("wrong passphrase for the checkpoint signing-key file")
        try:
            raw = AESGCM(key).decrypt(header[-12:], bytes(data[len(header) :]), header)
        except InvalidTag:
            raise CheckpointError(
                "the signing-key file is damaged (the passphrase is right but the contents "
                "fail authentication); restore it from a backup"
            ) from None
        signer = cls(public.office_code, ed25519.Ed25519PrivateKey.from_private_bytes(raw))
        if signer.public_key != public:
            raise CheckpointError(
                "the signing-key file contains a private key that does not match its public key; "
                "restore it from a backup"
            )
        return signer

    @staticmethod
    def public_key_of(data: bytes) -> CheckpointKey:
        """Read the public key from a signing-key file, without the passphrase."""
        return _parse_file(data)[1]

    def save(
        self, path: str | os.PathLike[str], passphrase: str, *, cost: int = DEFAULT_COST
    ) -> None:
        """Write the key to *path* encrypted under *passphrase*, atomically, mode 0600."""
        _write_atomically(Path(path), self.to_bytes(passphrase, cost=cost), mode=0o600)

    @classmethod
    def open(cls, path: str | os.PathLike[str], passphrase: str) -> CheckpointSigner:
        """Read and decrypt the signing-key file at *path*."""
        return cls.from_bytes(_read_file(Path(path)), passphrase)

    def __repr__(self) -> str:
        return (
            f"CheckpointSigner(office_code={self.office_code!r}, key_id={self.public_key.key_id})"
        )


def read_public_key(path: str | os.PathLike[str]) -> CheckpointKey:
    """Read the public key of the signing-key file at *path*, without the passphrase."""
    return CheckpointSigner.public_key_of(_read_file(Path(path)))


def _read_file(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise CheckpointError(
            f"cannot read signing-key file {str(file)!r}: {exc.strerror}"
        ) from None


def _parse_file(data: bytes) -> tuple[bytes, CheckpointKey]:
    """Check the structure of a signing-key file; return its header and public key."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CheckpointError("a signing-key file is bytes")
    data = bytes(data)
    if len(data) < 89 or data[:4] != _FILE_MAGIC:
        raise CheckpointError("not a threeregs checkpoint signing-key file")
    if data[4] != _FILE_VERSION:
        raise CheckpointError(
            f"the signing-key file has format version {data[4]}; this library reads {_FILE_VERSION}"
        )
    cost, r, p = data[5], data[6], data[7]
    if not MIN_COST <= cost <= 30 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise CheckpointError("the signing-key file has invalid scrypt parameters")
    if 128 * r << cost > MAX_SCRYPT_MEMORY:
        raise CheckpointError("the signing-key file asks for more scrypt memory than 1 GiB")
    length = data[88]
    if not 1 <= length <= 16 or len(data) != 89 + length + 12 + 48:
        raise CheckpointError("the signing-key file has the wrong length")
    try:
        office = data[89 : 89 + length].decode("ascii")
    except UnicodeDecodeError:
        raise CheckpointError("the signing-key file has an invalid office code") from None
    public = CheckpointKey(office, data[56:88])
    return data[: 89 + length + 12], public


def _derive(passphrase: str, salt: bytes, cost: int, r: int, p: int) -> tuple[bytes, bytes]:
    if not isinstance(passphrase, str) or not passphrase:
        raise CheckpointError("the passphrase of a signing-key file must not be empty")
    key = Scrypt(salt=salt, length=32, n=1 << cost, r=r, p=p).derive(passphrase.encode("utf-8"))
    check = HKDF(hashes.SHA256(), 32, salt=None, info=_CHECK_LABEL).derive(key)
    return key, check


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
