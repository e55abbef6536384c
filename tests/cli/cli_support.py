"""Running the ``threeregs`` command in tests, and the workspace it works on."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
from click.testing import CliRunner

from threeregs.cli import main

if TYPE_CHECKING:
    from collections.abc import Mapping

    from click.testing import Result

#: Passphrase of every key store the tests create.
PASSPHRASE = "correct horse battery staple"
#: The chain of offices of the basic office the tests file from.
CHAIN = ("330106", "330100", "330000", "000000")
CHAIN_NAMES = ("杭州市西湖区人民检察院", "杭州市人民检察院", "浙江省人民检察院", "最高人民检察院")
#: Case and handling prosecutor of the filings in the workspace.
CASE = "HZ-2026-0001"
PERSON = "prosecutor-17"
#: Environment variables that the command reads. Each test sets the ones it needs.
COMMAND_VARIABLES = (
    "THREEREGS_LANG",
    "THREEREGS_DATABASE_URL",
    "THREEREGS_KEYSTORE",
    "THREEREGS_PASSPHRASE",
    "THREEREGS_TRUST_ANCHOR",
    "THREEREGS_STATS_DB",
    "LC_ALL",
    "LC_MESSAGES",
    "LANG",
)
_ANCHOR = re.compile(r"[0-9a-f]{64}")


def invoke(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
    lang: str | None = "en",
) -> Result:
    """Run ``threeregs ARGS`` in-process, in English unless *lang* names another language.

    Variables of the caller's environment that the command reads are removed,
    so a developer's own settings cannot change a result. The key store
    passphrase is set unless *env* sets it (None removes a variable), and a
    wide terminal keeps table rows on one line.
    """
    environment: dict[str, str | None] = dict.fromkeys(COMMAND_VARIABLES)
    environment["COLUMNS"] = "200"
    environment["THREEREGS_PASSPHRASE"] = PASSPHRASE
    environment.update(env or {})
    arguments = ["--lang", lang, *args] if lang else list(args)
    return CliRunner(env=environment).invoke(main, arguments, input=input)


def subprocess_environment(**variables: str) -> dict[str, str]:
    """Return this process's environment without the command's variables, plus *variables*."""
    environment = {k: v for k, v in os.environ.items() if k not in COMMAND_VARIABLES}
    environment["COLUMNS"] = "200"
    environment.update(variables)
    return environment


def describe(result: Result) -> str:
    """Return the exit code, output and error output of *result*, for assertion messages."""
    return f"exit {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def error_line(result: Result, code: int) -> str:
    """Check that *result* failed with *code* and one line on stderr, and return that line.

    A traceback or an uncaught exception fails the check, because a user
    should only ever see the one line.
    """
    assert not isinstance(result.exception, Exception), describe(result)
    assert result.exit_code == code, describe(result)
    # A progress display that was stopped by the error leaves a blank line.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, describe(result)
    return lines[0]


def anchor_from(output: str) -> str:
    """Return the 64 hex digits of a trust anchor printed in *output*."""
    found = _ANCHOR.search(output)
    assert found is not None, output
    return found.group(0)


@attrs.frozen
class Workspace:
    """A host database with the national directory, office keys and two filings."""

    folder: Path
    database: Path
    keystore: Path
    anchor: str
    #: A zero report filed by ``PERSON`` for the accept stage of ``CASE``.
    zero_report: str
    #: An anytime record of a lawyer's phone call, filed by ``PERSON``.
    record: str

    @property
    def db_url(self) -> str:
        """SQLAlchemy URL of the host database."""
        return f"sqlite:///{self.database}"

    def keys(self) -> tuple[str, ...]:
        """Return the ``--db`` and ``--keystore`` options for this workspace."""
        return ("--db", self.db_url, "--keystore", str(self.keystore))

    def inbox(self, *, reader: str = "inspector-7") -> tuple[str, ...]:
        """Return the options an ``inbox`` command of this workspace needs."""
        return (*self.keys(), "--reader", reader)
