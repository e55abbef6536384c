from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threeregs._errors import (
    CorruptKeyStoreError,
    KeyNotFoundError,
    KeyStoreError,
    ValidationError,
    WrongPassphraseError,
)
from threeregs.crypto import KeyStore, MemoryKeyStore, OfficeKeyPair, PassphraseKeyStore, Suite

# The lowest scrypt cost the store accepts (n = 1,024) keeps each test fast.
COST = 10
PASSPHRASE = "检务督察 correct horse battery staple"
HEADER = 68

KEYS = (
    OfficeKeyPair.generate("330106", key_version=1),
    OfficeKeyPair.generate("330106", key_version=2),
    OfficeKeyPair.generate("330100", key_version=1, suite=Suite.MLKEM768_X25519),
)


def saved(path: Path, keys: tuple[OfficeKeyPair, ...] = KEYS) -> bytes:
    PassphraseKeyStore(path, PASSPHRASE, keys, cost=COST).save()
    return path.read_bytes()


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return saved(tmp_path_factory.mktemp("keystore") / "keys.trks")


def open_bytes(data: bytes, passphrase: str = PASSPHRASE) -> PassphraseKeyStore:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keys.trks"
        path.write_bytes(data)
        return PassphraseKeyStore.open(path, passphrase)


# --- round trip ------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path)
    store = PassphraseKeyStore.open(path, PASSPHRASE)
    assert store.all_keys() == sorted(KEYS, key=lambda k: (k.office_code, k.key_version))
    assert store.offices() == ["330100", "330106"]
    assert dict(store.keys_for("330106")) == {1: KEYS[0], 2: KEYS[1]}
    assert dict(store.keys_for("000000")) == {}


def test_round_trip_keys_usable(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path)
    opened = PassphraseKeyStore.open(path, PASSPHRASE).keys_for("330100")[1]
    assert opened.suite is Suite.MLKEM768_X25519
    assert opened.public_bytes() == KEYS[2].public_bytes()


def test_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path, ())
    assert PassphraseKeyStore.open(path, PASSPHRASE).all_keys() == []


def test_add_remove_save(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path)
    store = PassphraseKeyStore.open(path, PASSPHRASE)
    new = OfficeKeyPair.generate("330106", key_version=3)
    store.add(new)
    store.remove("330106", 1)
    store.save()
    again = PassphraseKeyStore.open(path, PASSPHRASE)
    assert sorted(again.keys_for("330106")) == [2, 3]
    assert again.keys_for("330106")[3] == new


def test_cost_kept_on_save(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path)
    PassphraseKeyStore.open(path, PASSPHRASE).save()
    assert path.read_bytes()[5:8] == bytes([COST, 8, 1])


def test_header_layout(store_bytes: bytes) -> None:
    assert store_bytes[:4] == b"TRKS"
    assert store_bytes[4] == 1
    assert store_bytes[5:8] == bytes([COST, 8, 1])
    # Header, then the JSON key list and the 16-byte GCM tag.
    assert len(store_bytes) > HEADER + 16


def test_salt_and_nonce_fresh(tmp_path: Path) -> None:
    first = saved(tmp_path / "a.trks")
    second = saved(tmp_path / "b.trks")
    assert first[8:24] != second[8:24]
    assert first[56:68] != second[56:68]
    assert first[HEADER:] != second[HEADER:]


def test_save_creates_directory(tmp_path: Path) -> None:
    path = tmp_path / "inspection" / "keys" / "keys.trks"
    saved(path)
    assert PassphraseKeyStore.open(path, PASSPHRASE).offices() == ["330100", "330106"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    saved(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_file_mode_after_replacing(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    path.write_bytes(b"old")
    path.chmod(0o644)
    saved(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    saved(tmp_path / "keys.trks")
    saved(tmp_path / "keys.trks")
    assert [p.name for p in tmp_path.iterdir()] == ["keys.trks"]


# --- wrong passphrase and damaged files -----------------------------------


@pytest.mark.parametrize("passphrase", ["wrong", PASSPHRASE + " ", PASSPHRASE.upper()])
def test_wrong_passphrase(store_bytes: bytes, passphrase: str) -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        open_bytes(store_bytes, passphrase)


def test_flipped_byte_in_body(store_bytes: bytes) -> None:
    for index in range(HEADER, len(store_bytes)):
        damaged = bytearray(store_bytes)
        damaged[index] ^= 0x01
        with pytest.raises(CorruptKeyStoreError, match="damaged"):
            open_bytes(bytes(damaged))


def test_flipped_byte_in_header(store_bytes: bytes) -> None:
    # A damaged salt or check value looks like a wrong passphrase; every
    # other header byte is reported as damage.
    for index in range(HEADER):
        for mask in (0x01, 0xFF):
            damaged = bytearray(store_bytes)
            damaged[index] ^= mask
            expected: type[KeyStoreError] = (
                WrongPassphraseError if 8 <= index < 56 else CorruptKeyStoreError
            )
            if 5 <= index < 8:
                # Another scrypt parameter can still be valid: then the check
                # value does not match.
                expected = KeyStoreError
            with pytest.raises(expected):
                open_bytes(bytes(damaged))


@pytest.mark.parametrize("length", [0, 1, 4, 5, 67, 68, 83, 84, 100])
def test_truncated(store_bytes: bytes, length: int) -> None:
    with pytest.raises(CorruptKeyStoreError):
        open_bytes(store_bytes[:length])


def test_truncated_by_one(store_bytes: bytes) -> None:
    with pytest.raises(CorruptKeyStoreError):
        open_bytes(store_bytes[:-1])


def test_extended(store_bytes: bytes) -> None:
    with pytest.raises(CorruptKeyStoreError):
        open_bytes(store_bytes + b"\x00")


def test_random_bytes() -> None:
    with pytest.raises(CorruptKeyStoreError, match="not a threeregs key store"):
        open_bytes(os.urandom(4096))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    path.touch()
    with pytest.raises(CorruptKeyStoreError):
        PassphraseKeyStore.open(path, PASSPHRASE)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptKeyStoreError, match="not found"):
        PassphraseKeyStore.open(tmp_path / "absent.trks", PASSPHRASE)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptKeyStoreError, match="cannot read"):
        PassphraseKeyStore.open(tmp_path, PASSPHRASE)


def test_unknown_version(store_bytes: bytes) -> None:
    with pytest.raises(CorruptKeyStoreError, match="format version 2"):
        open_bytes(store_bytes[:4] + b"\x02" + store_bytes[5:])


@pytest.mark.parametrize(
    "params",
    [
        bytes([9, 8, 1]),
        bytes([23, 8, 1]),
        bytes([10, 0, 1]),
        bytes([10, 33, 1]),
        bytes([10, 8, 0]),
        bytes([10, 8, 17]),
    ],
)
def test_scrypt_parameters_out_of_range(store_bytes: bytes, params: bytes) -> None:
    with pytest.raises(CorruptKeyStoreError, match="scrypt"):
        open_bytes(store_bytes[:5] + params + store_bytes[8:])


@pytest.mark.skipif(sys.platform != "linux", reason="the address-space limit is Linux-specific")
def test_huge_scrypt_parameters(store_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "keys.trks"
    path.write_bytes(store_bytes[:5] + bytes([22, 32, 16]) + store_bytes[8:])
    # The child process runs under a 2 GiB address-space limit, so that the
    # test cannot take the machine's memory whatever the reader does.
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from threeregs.crypto import PassphraseKeyStore
        try:
            PassphraseKeyStore.open({str(path)!r}, {PASSPHRASE!r})
        except Exception as exc:
            print(type(exc).__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert result.stdout.strip() == "CorruptKeyStoreError"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    with pytest.raises(CorruptKeyStoreError):
        open_bytes(data)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=10, max_value=11),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=1, max_value=2),
    st.binary(min_size=0, max_size=300),
)
def test_fuzz_after_valid_header_start(cost: int, r: int, p: int, rest: bytes) -> None:
    with pytest.raises(KeyStoreError):
        open_bytes(b"TRKS\x01" + bytes([cost, r, p]) + rest)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fuzz_mutated_file(store_bytes: bytes, data: st.DataObject) -> None:
    # The scrypt parameter bytes stay as written, so a mutation cannot ask for
    # gigabytes of memory (see test_huge_scrypt_parameters).
    index = data.draw(st.sampled_from([*range(5), *range(8, len(store_bytes))]))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != store_bytes[index]))
    damaged = store_bytes[:index] + bytes([value]) + store_bytes[index + 1 :]
    with pytest.raises(KeyStoreError) as info:
        open_bytes(damaged)
    assert type(info.value) in (CorruptKeyStoreError, WrongPassphraseError)


# --- repr, str and messages -----------------------------------------------


def test_repr_hides_keys(tmp_path: Path) -> None:
    store = PassphraseKeyStore(tmp_path / "keys.trks", PASSPHRASE, KEYS, cost=COST)
    memory = MemoryKeyStore(KEYS)
    for text in (repr(store), str(store), repr(memory), str(memory), repr(store.all_keys())):
        for key in KEYS:
            assert key.private_bytes().hex()[:16] not in text
        assert PASSPHRASE not in text
    assert "offices=2" in repr(store)
    assert "keys=3" in repr(memory)


def test_errors_hide_passphrase(store_bytes: bytes) -> None:
    with pytest.raises(WrongPassphraseError) as info:
        open_bytes(store_bytes, "不对的口令")
    assert "不对的口令" not in str(info.value)
    assert PASSPHRASE not in str(info.value)


# --- memory key store and the protocol ------------------------------------


def test_memory_store() -> None:
    store = MemoryKeyStore(KEYS)
    assert store.offices() == ["330100", "330106"]
    assert store.keys_for("330106")[2] == KEYS[1]
    replacement = OfficeKeyPair.generate("330106", key_version=2)
    store.add(replacement)
    assert store.keys_for("330106")[2] == replacement


def test_memory_store_keys_for_is_a_copy() -> None:
    store = MemoryKeyStore(KEYS)
    keys = store.keys_for("330106")
    assert isinstance(keys, dict)
    keys.clear()
    assert len(store.keys_for("330106")) == 2


def test_memory_store_remove_missing() -> None:
    store = MemoryKeyStore(KEYS)
    with pytest.raises(KeyNotFoundError, match="version 9"):
        store.remove("330106", 9)
    with pytest.raises(LookupError):
        store.remove("000000", 1)


def test_memory_store_offices_skip_empty() -> None:
    store = MemoryKeyStore(KEYS[2:])
    store.remove("330100", 1)
    assert store.offices() == []


def test_stores_satisfy_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryKeyStore(), KeyStore)
    assert isinstance(PassphraseKeyStore(tmp_path / "k", PASSPHRASE, cost=COST), KeyStore)


def test_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        PassphraseKeyStore(tmp_path / "k", "", cost=COST)
    assert info.value.field == "passphrase"


@pytest.mark.parametrize("cost", [9, 23])
def test_cost_out_of_range(tmp_path: Path, cost: int) -> None:
    with pytest.raises(ValidationError) as info:
        PassphraseKeyStore(tmp_path / "k", PASSPHRASE, cost=cost)
    assert info.value.field == "cost"
