"""Helpers shared by the tests of threeregs.testing."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import threeregs


def child_env(**extra: str) -> dict[str, str]:
    """Return the environment for a child Python that imports this checkout of threeregs."""
    source = str(Path(threeregs.__file__).parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def run_python(
    *args: str, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run a child Python with *args* and return its result, without raising on failure."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=child_env(**extra),
        timeout=120,
    )


def entry_point_installed(group: str) -> bool:
    """Whether threeregs is installed with an entry point in *group*."""
    return any(
        entry.value.startswith("threeregs.")
        for entry in importlib.metadata.entry_points(group=group)
    )
