"""The sample plugin package, made visible to importlib.metadata for one test at a time."""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

PLUGIN_PACKAGE = Path(__file__).parent / "plugin_pkg"


def _entry_points_text() -> str:
    with (PLUGIN_PACKAGE / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    lines = []
    for group, points in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in points.items())
        lines.append("")
    return "\n".join(lines)


@pytest.fixture
def sample_plugin_installed(tmp_path, monkeypatch):
    """Make the sample plugin package visible as an installed distribution.

    A ``.dist-info`` directory with the package's entry points, on
    ``sys.path``, is what an installed wheel leaves behind, so
    ``importlib.metadata`` (and pluggy through it) finds real entry points.
    """
    with (PLUGIN_PACKAGE / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    dist_info = tmp_path / "threeregs_sample_plugin-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    (dist_info / "entry_points.txt").write_text(_entry_points_text(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(PLUGIN_PACKAGE / "src"))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m.startswith("threeregs_sample_plugin")]:
        del sys.modules[name]
    importlib.invalidate_caches()
