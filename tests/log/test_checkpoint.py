"""Checkpoints, checkpoint keys and signing-key files: formats, signatures and strict parsing."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threeregs import ThreeregsError, WrongPassphraseError
from threeregs._errors import CheckpointError
from threeregs.store import (
    Checkpoint,
    CheckpointKey,
    CheckpointSigner,
    parse_keys,
    read_keys,
    read_public_key,
)
from threeregs.store._checkpoint import MIN_COST

if TYPE_CHECKING:
    from pathlib import Path

AT = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
LOG_ID = "0123456789abcdef0123456789abcdef"
ROOT = bytes(range(32))


@pytest.fixture(scope="module")
def signer() -> CheckpointSigner:
    return CheckpointSigner.generate("330000")


@pytest.fixture(scope="module")
def checkpoint(signer: CheckpointSigner) -> Checkpoint:
    return signer.sign(log_id=LOG_ID, tree_size=1234, root=ROOT, at=AT)


def test_checkpoint_text_layout(checkpoint: Checkpoint, signer: CheckpointSigner) -> None:
    lines = checkpoint.to_text().split("\n")

    assert lines[:7] == [
        "threeregs checkpoint v1",
        f"log {LOG_ID}",
        "size 1234",
        f"root {ROOT.hex()}",
        "time 2026-03-01T08:30:15.123456Z",
        "office 330000",
        f"key {signer.public_key.key_id}",
    ]
    assert lines[7] == f"signature {checkpoint.signature.hex()}"
    assert lines[8] == ""


def test_checkpoint_round_trip(checkpoint: Checkpoint, signer: CheckpointSigner) -> None:
    parsed = Checkpoint.from_text(checkpoint.to_text())

    assert parsed == checkpoint
    assert Checkpoint.from_text(checkpoint.to_text().encode("ascii")) == checkpoint
    assert parsed.verify([signer.public_key]) == signer.public_key


def test_checkpoint_file_round_trip(checkpoint: Checkpoint, tmp_path: Path) -> None:
    path = tmp_path / "trusted.checkpoint"
    checkpoint.write(path)

    assert Checkpoint.read(path) == checkpoint


def test_signature_covers_every_field(checkpoint: Checkpoint, signer: CheckpointSigner) -> None:
    changes = {
        "log": "log " + "f" * 32,
        "size": "size 1235",
        "root": "root " + "00" * 32,
        "time": "time 2026-03-01T08:30:15.123457Z",
    }
    for field, line in changes.items():
        lines = checkpoint.to_text().split("\n")
        index = next(i for i, text in enumerate(lines) if text.startswith(field + " "))
        lines[index] = line
        altered = Checkpoint.from_text("\n".join(lines))

        with pytest.raises(CheckpointError, match="does not verify"):
            altered.verify([signer.public_key])


def test_unknown_key_is_named(checkpoint: Checkpoint) -> None:
    other = CheckpointSigner.generate("330000").public_key

    with pytest.raises(CheckpointError, match=f"key {checkpoint.key_id}"):
        checkpoint.verify([other])
    assert checkpoint.signing_key([other]) is None


def test_key_of_another_office_does_not_verify(signer: CheckpointSigner) -> None:
    forged = CheckpointKey("110000", signer.public_key.public_key)
    checkpoint = signer.sign(log_id=LOG_ID, tree_size=1, root=ROOT, at=AT)

    assert forged.key_id != signer.public_key.key_id
    assert checkpoint.signing_key([forged]) is None


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("size 1234", "size 01234", "decimal"),
        ("size 1234", "size +1234", "decimal"),
        ("size 1234", "size 99999999999999999999", "decimal"),
        ("threeregs checkpoint v1", "threeregs checkpoint v2", "format version"),
        ("office 330000", "office 33 0000", "office code"),
        ("size 1234", "size  1234", "decimal"),
        ("office 330000", "office ", "office code"),
        ("time 2026-03-01T08:30:15.123456Z", "time 2026-02-30T08:30:15.123456Z", "no such date"),
        ("time 2026-03-01T08:30:15.123456Z", "time 2026-03-01 08:30:15.123456Z", "invalid time"),
        ("root ", "root 0", "root hash"),
        ("size 1234\n", "", "lines"),
    ],
)
def test_parser_rejects_variants(checkpoint: Checkpoint, old: str, new: str, reason: str) -> None:
    text = checkpoint.to_text().replace(old, new, 1)

    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.from_text(text)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.upper(),
        lambda text: text.replace("\n", "\r\n"),
        lambda text: text.rstrip("\n"),
        lambda text: text + "\n",
        lambda text: "\ufeff" + text,
        lambda text: text.replace("key ", "key  "),
        lambda text: text.replace("log ", "log\t"),
    ],
)
def test_parser_accepts_only_exact_bytes(checkpoint: Checkpoint, mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(CheckpointError):
        Checkpoint.from_text(mangle(checkpoint.to_text()))


def test_checkpoint_values_are_validated() -> None:
    with pytest.raises(CheckpointError, match="tree size"):
        Checkpoint(LOG_ID, -1, ROOT, AT, "330000", "0" * 16, bytes(64))
    with pytest.raises(CheckpointError, match="aware UTC"):
        Checkpoint(LOG_ID, 1, ROOT, AT.replace(tzinfo=None), "330000", "0" * 16, bytes(64))
    with pytest.raises(CheckpointError, match="log id"):
        Checkpoint(LOG_ID.upper(), 1, ROOT, AT, "330000", "0" * 16, bytes(64))


def test_key_line_round_trip(signer: CheckpointSigner) -> None:
    key = signer.public_key
    line = key.to_text()

    assert line.startswith("threeregs-checkpoint-key v1 330000 ")
    assert CheckpointKey.from_text(line) == key
    assert len(key.key_id) == 16


def test_key_list_skips_comments(signer: CheckpointSigner, tmp_path: Path) -> None:
    other = CheckpointSigner.generate("110000").public_key
    text = f"# inspection departments\n\n{signer.public_key.to_text()}\n  {other.to_text()}  \n"
    path = tmp_path / "keys.txt"
    path.write_text(text, encoding="ascii")

    assert parse_keys(text) == (signer.public_key, other)
    assert read_keys(path) == (signer.public_key, other)


def test_key_list_names_bad_line(signer: CheckpointSigner) -> None:
    with pytest.raises(CheckpointError, match="line 2"):
        parse_keys(f"{signer.public_key.to_text()}\nthreeregs-checkpoint-key v1 330000 abc\n")


def test_signing_key_file_round_trip(signer: CheckpointSigner, tmp_path: Path) -> None:
    path = tmp_path / "inspection.trck"
    signer.save(path, "correct horse", cost=MIN_COST)
    opened = CheckpointSigner.open(path, "correct horse")

    assert opened.public_key == signer.public_key
    assert read_public_key(path) == signer.public_key
    assert path.stat().st_mode & 0o777 == 0o600
    checkpoint = opened.sign(log_id=LOG_ID, tree_size=5, root=ROOT, at=AT)
    assert checkpoint.verify([signer.public_key]) == signer.public_key


def test_signing_key_file_wrong_passphrase(signer: CheckpointSigner) -> None:
    data = signer.to_bytes("correct horse", cost=MIN_COST)

    with pytest.raises(WrongPassphraseError):
        CheckpointSigner.from_bytes(data, "battery staple")


def test_signing_key_file_detects_damage(signer: CheckpointSigner) -> None:
    data = bytearray(signer.to_bytes("correct horse", cost=MIN_COST))
    data[-1] ^= 1

    with pytest.raises(CheckpointError, match="damaged"):
        CheckpointSigner.from_bytes(bytes(data), "correct horse")


def test_signing_key_file_binds_public_key(signer: CheckpointSigner) -> None:
    data = bytearray(signer.to_bytes("correct horse", cost=MIN_COST))
    other = CheckpointSigner.generate("330000").public_key.public_key
    data[56:88] = other

    # The public key is authenticated data, so swapping it breaks the AEAD tag.
    with pytest.raises(CheckpointError, match="damaged"):
        CheckpointSigner.from_bytes(bytes(data), "correct horse")


def test_signing_key_file_refuses_costly_header(signer: CheckpointSigner) -> None:
    data = bytearray(signer.to_bytes("correct horse", cost=MIN_COST))
    data[5] = 24

    with pytest.raises(CheckpointError, match="scrypt"):
        CheckpointSigner.from_bytes(bytes(data), "correct horse")


def test_signing_key_file_of_other_format(tmp_path: Path) -> None:
    path = tmp_path / "not-a-key"
    path.write_bytes(b"TRKS\x01" + bytes(100))

    with pytest.raises(CheckpointError, match="not a threeregs checkpoint signing-key file"):
        read_public_key(path)
    with pytest.raises(CheckpointError, match="cannot read"):
        read_public_key(tmp_path / "missing")


# --- fuzzing -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_checkpoint_parser_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(ThreeregsError):
        Checkpoint.from_text(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_checkpoint_parser_fuzz_mutations(checkpoint: Checkpoint, data: st.DataObject) -> None:
    text = bytearray(checkpoint.to_text().encode("ascii"))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(text) - 1))
        text[position] = data.draw(st.integers(0, 255))
    try:
        parsed = Checkpoint.from_text(bytes(text))
    except ThreeregsError:
        return
    # A mutation that still parses must round-trip to exactly the same bytes.
    assert parsed.to_text().encode("ascii") == bytes(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_key_line_parser_fuzz(text: str) -> None:
    with contextlib.suppress(ThreeregsError):
        CheckpointKey.from_text(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_signing_key_file_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(ThreeregsError):
        CheckpointSigner.from_bytes(data, "correct horse")


@pytest.fixture(scope="module")
def key_file(signer: CheckpointSigner) -> bytes:
    return signer.to_bytes("correct horse", cost=MIN_COST)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_signing_key_file_fuzz_mutations(key_file: bytes, data: st.DataObject) -> None:
    mutated = bytearray(key_file)
    # Bytes 5 and 6 set the scrypt cost; leaving them keeps every example fast.
    positions = st.integers(0, len(mutated) - 1).filter(lambda p: p not in (5, 6))
    for _ in range(data.draw(st.integers(1, 3))):
        mutated[data.draw(positions)] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    with contextlib.suppress(ThreeregsError):
        CheckpointSigner.from_bytes(bytes(mutated[:cut]), "correct horse")
