"""The ``threeregs`` command: inspection side, operators and the demo.

Exit codes: 0 success; 1 the command ran but found a problem (a failed
verification, findings above the threshold); 2 usage error; 3 invalid
input (a bad file, an unknown office, a malformed clue file); 4 a key or
passphrase error; 5 a database error.
"""

from __future__ import annotations

import importlib

from threeregs.cli._app import main

# Each subcommand lives in its own module and registers itself on import.
_COMMANDS = ("_demo", "_keys", "_inbox", "_verify", "_stats", "_match")

for _name in _COMMANDS:
    try:
        importlib.import_module(f"threeregs.cli.{_name}")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a command is missing
        if _exc.name != f"threeregs.cli.{_name}":
            raise

__all__ = ["main"]
