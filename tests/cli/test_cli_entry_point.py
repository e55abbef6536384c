"""The ``threeregs`` command in a real process: ``python -m threeregs`` and the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cli_support import CHAIN, PASSPHRASE, subprocess_environment

if TYPE_CHECKING:
    from cli_support import Workspace

#: Seconds a command may take before the test fails, generous for a loaded machine.
TIMEOUT = 60


def _run(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "threeregs", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=subprocess_environment(**variables),
        timeout=TIMEOUT,
        check=False,
    )


def test_module_version() -> None:
    done = _run("--version")

    assert done.returncode == 0, done.stderr
    assert "threeregs" in done.stdout
    assert version("threeregs") in done.stdout


def test_module_help_lists_commands() -> None:
    done = _run("--help")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: threeregs ")
    for command in ("db", "demo", "inbox", "keys", "match", "stats"):
        assert f"  {command} " in done.stdout, command


def test_module_error_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"

    done = _run("keys", "export", "--db", f"sqlite:///{missing}", CHAIN[0], THREEREGS_LANG="en")

    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: database file {str(missing)!r} not found; create it with `threeregs db init`"
    ]


def test_module_wrong_passphrase(workspace: Workspace) -> None:
    done = _run(
        "keys", "anchor", "--keystore", str(workspace.keystore),
        THREEREGS_LANG="zh_CN", THREEREGS_PASSPHRASE="guess",
    )  # fmt: skip

    assert done.returncode == 4
    assert done.stderr.splitlines() == [
        f"错误: wrong passphrase for key store {str(workspace.keystore)!r}"
    ]


def test_module_options_from_environment(workspace: Workspace, tmp_path: Path) -> None:
    output = tmp_path / "opened.jsonl"

    done = _run(
        "inbox", "export", "--reader", "inspector-7", "-o", str(output), CHAIN[0],
        THREEREGS_LANG="en",
        THREEREGS_DATABASE_URL=workspace.db_url,
        THREEREGS_KEYSTORE=str(workspace.keystore),
        THREEREGS_PASSPHRASE=PASSPHRASE,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"exported 2 filings to {output}\n"
    assert len(output.read_text(encoding="utf-8").splitlines()) == 2


def test_console_script(workspace: Workspace) -> None:
    script = shutil.which("threeregs", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the threeregs console script is not installed beside this Python")

    done = subprocess.run(
        [script, "keys", "list", "--db", workspace.db_url, "--anchor", workspace.anchor, CHAIN[0]],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=subprocess_environment(THREEREGS_LANG="en"),
        timeout=TIMEOUT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "active" in done.stdout
