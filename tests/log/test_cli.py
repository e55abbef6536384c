"""The ``threeregs verify`` and ``threeregs checkpoint`` commands, run as an inspector would."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from threeregs.cli import main
from threeregs.store import Checkpoint, CheckpointSigner
from threeregs.store._checkpoint import MIN_COST

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import LogBed

PASSPHRASE = "inspection passphrase"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["--lang", "en", *args], catch_exceptions=False)


@pytest.fixture
def url(bed: LogBed) -> str:
    return bed.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def key_files(bed: LogBed, tmp_path: Path) -> tuple[Path, Path]:
    """Save the bed's signer to a key file and its public key to a key list."""
    key_path = tmp_path / "inspection.trck"
    bed.signer.save(key_path, PASSPHRASE, cost=MIN_COST)
    keys_path = tmp_path / "keys.txt"
    keys_path.write_text(bed.signer.public_key.to_text() + "\n", encoding="ascii")
    return key_path, keys_path


def test_new_key_and_public_key(tmp_path: Path) -> None:
    path = tmp_path / "new.trck"

    created = run(
        "checkpoint", "new-key", "--office", "330100", "--out", str(path), "--passphrase", "pw"
    )
    shown = run("checkpoint", "public-key", str(path))

    assert created.exit_code == 0, created.output
    line = created.stdout.strip()
    assert line.startswith("threeregs-checkpoint-key v1 330100 ")
    assert shown.stdout.strip() == line
    assert CheckpointSigner.open(path, "pw").public_key.to_text() == line
    again = run(
        "checkpoint", "new-key", "--office", "330100", "--out", str(path), "--passphrase", "pw"
    )
    assert again.exit_code == 3


def test_verify_clean_log(bed: LogBed, url: str) -> None:
    bed.file(3)
    bed.sequence()

    result = run("verify", "--db", url)

    assert result.exit_code == 0, result.output
    assert "3 entries" in result.stdout
    assert "no trusted checkpoint was given" in result.stdout
    assert "no problems found" in result.stdout


def test_verify_sequences_first(bed: LogBed, url: str) -> None:
    bed.file(2)

    before = run("verify", "--db", url)
    after = run("verify", "--db", url, "--sequence")

    assert "2 filings wait for sequencing" in before.stdout
    assert "sequenced 2 filings" in after.stdout
    assert "2 entries" in after.stdout


def test_sign_then_verify(
    bed: LogBed, url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key_path, keys_path = key_files
    checkpoint_path = tmp_path / "trusted.checkpoint"
    bed.file(4)
    sign = ("checkpoint", "sign", "--db", url, "--key", str(key_path), "--passphrase", PASSPHRASE)

    first = run(*sign, "--checkpoint", str(checkpoint_path), "--sequence")
    assert first.exit_code == 0, first.output
    assert "does not exist yet" in first.stdout
    assert Checkpoint.read(checkpoint_path).tree_size == 4

    bed.file(2)
    second = run(*sign, "--checkpoint", str(checkpoint_path), "--sequence", "--quick")
    assert second.exit_code == 0, second.output
    assert Checkpoint.read(checkpoint_path).tree_size == 6

    verified = run(
        "verify", "--db", url, "--checkpoint", str(checkpoint_path), "--keys", str(keys_path)
    )
    assert verified.exit_code == 0, verified.output
    assert "trusted checkpoint: size 6" in verified.stdout
    assert "compared the log with 2 signed checkpoints" in verified.stdout


def test_tampering_exits_one(
    bed: LogBed, url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key_path, keys_path = key_files
    checkpoint_path = tmp_path / "trusted.checkpoint"
    bed.file(5)
    bed.sequence()
    bed.checkpoint().write(checkpoint_path)
    victim = bed.receipts[2].filing_id
    bed.sql("DELETE FROM threeregs_envelopes WHERE filing_id = :f", f=victim)

    result = run(
        "verify", "--db", url, "--checkpoint", str(checkpoint_path), "--keys", str(keys_path)
    )
    refused = run(
        "checkpoint",
        "sign",
        "--db",
        url,
        "--key",
        str(key_path),
        "--passphrase",
        PASSPHRASE,
        "--checkpoint",
        str(checkpoint_path),
    )

    assert result.exit_code == 1
    assert f"log entry 2 (filing {victim}): the envelope was deleted" in result.stdout
    assert "problems found: 1" in result.stdout
    assert refused.exit_code == 1
    assert "no checkpoint was signed" in refused.stderr
    assert Checkpoint.read(checkpoint_path).tree_size == 5


def test_invalid_input_exits_three(
    bed: LogBed, url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, keys_path = key_files
    damaged = tmp_path / "damaged.checkpoint"
    damaged.write_text("threeregs checkpoint v1\nsize 1\n", encoding="ascii")
    good = tmp_path / "good.checkpoint"
    bed.file(1)
    bed.sequence()
    bed.checkpoint().write(good)

    unreadable = run("verify", "--db", url, "--checkpoint", str(damaged), "--keys", str(keys_path))
    keyless = run("verify", "--db", url, "--checkpoint", str(good))
    wrong_key = run("verify", "--db", url, "--checkpoint", str(good), "--keys", str(damaged))

    assert unreadable.exit_code == 3
    assert "damaged.checkpoint" in unreadable.stderr
    assert keyless.exit_code == 3
    assert "key list" in keyless.stderr
    assert wrong_key.exit_code == 3


def test_wrong_passphrase_exits_four(
    bed: LogBed, url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key_path, _ = key_files

    result = run(
        "checkpoint",
        "sign",
        "--db",
        url,
        "--key",
        str(key_path),
        "--passphrase",
        "wrong",
        "--checkpoint",
        str(tmp_path / "x.checkpoint"),
    )

    assert result.exit_code == 4


def test_chinese_report(bed: LogBed, url: str) -> None:
    bed.file(1)
    bed.sequence()

    result = CliRunner().invoke(main, ["--lang", "zh", "verify", "--db", url])

    assert result.exit_code == 0
    assert "未发现问题" in result.stdout
    assert "no problems found" not in result.stdout
