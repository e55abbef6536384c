"""Sphinx configuration for the threeregs documentation.

Pages are Markdown read by MyST. Build with warnings as errors::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The API page imports ``threeregs``, so the package and its dependencies must be
importable, for example after ``pip install -e .[docs]``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

with (Path(__file__).parent.parent / "pyproject.toml").open("rb") as _file:
    _metadata = tomllib.load(_file)["project"]

project = "threeregs"
author = "threeregs developers"
copyright = "threeregs developers"
release = _metadata["version"]
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]

# Every page is Markdown. The _build directory contains the output of earlier builds.
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# Cross-references to other projects' inventories would need the network, so
# unresolved references to third-party types are not reported.
nitpicky = False

myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "alabaster"
html_title = f"threeregs {release}"
