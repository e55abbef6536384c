"""``threeregs demo``: the whole system on SQLite files, run once for this module."""

from __future__ import annotations

import re
import shlex
import stat
from typing import TYPE_CHECKING

import attrs
import pytest
from cli_support import describe, invoke

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result

#: Passphrase of the demo key store, which the demo prints.
DEMO_PASSPHRASE = "threeregs-demo"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@attrs.frozen
class DemoRun:
    """The result of one demo run and the folder it wrote to."""

    result: Result
    workdir: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the demo at scale 1 in a fresh folder."""
    workdir = tmp_path_factory.mktemp("demo") / "work"
    result = invoke("--quiet", "demo", "--scale", "1", "--workdir", str(workdir))
    return DemoRun(result, workdir)


def test_demo_succeeds(demo: DemoRun) -> None:
    assert demo.result.exit_code == 0, describe(demo.result)
    assert demo.result.exception is None
    # --quiet turns the progress bars off, and nothing else goes to stderr.
    assert demo.result.stderr == ""


def test_demo_catches_hidden_interventions(demo: DemoRun) -> None:
    found = re.search(
        r"caught (\d+) of (\d+) hidden interventions; (\d+) reported ones flagged",
        demo.result.stdout,
    )

    assert found is not None, describe(demo.result)
    caught, hidden, false_alarms = (int(group) for group in found.groups())
    assert hidden > 0
    assert caught == hidden
    assert false_alarms == 0


def test_demo_gate_blocked_then_allowed(demo: DemoRun) -> None:
    output = demo.result.stdout

    assert "blocked:" in output
    assert "has not filed a report or zero report" in output
    assert output.index("blocked:") < output.index("allowed:")


def test_demo_files(demo: DemoRun) -> None:
    for name in ("demo.sqlite3", "inspection.sqlite3", "keys.trks", "trend.png"):
        assert (demo.workdir / name).is_file(), name
    assert (demo.workdir / "demo.sqlite3").read_bytes()[:16] == b"SQLite format 3\x00"
    assert (demo.workdir / "trend.png").read_bytes()[:8] == PNG_SIGNATURE
    assert stat.S_IMODE((demo.workdir / "keys.trks").stat().st_mode) == 0o600


def test_demo_suggested_command(demo: DemoRun) -> None:
    # The demo ends with an inbox command for the user to try, so that command must work.
    lines = demo.result.stdout.splitlines()
    assert f"(passphrase {DEMO_PASSPHRASE})" in lines[-2]
    program, *args = shlex.split(lines[-1])
    assert program == "threeregs"

    result = invoke(*args, env={"THREEREGS_PASSPHRASE": DEMO_PASSPHRASE})

    summary = result.stdout.splitlines()[-1]
    assert result.exit_code == 0, describe(result)
    assert re.fullmatch(r"[1-9]\d* opened, \d+ decoys skipped, 0 failed, 0 lack a key", summary)
