"""Hook specifications of matching-rule plugins.

A plugin is a module or object with functions marked by :data:`hookimpl`.
Installed plugins are found through the entry-point group ``threeregs``::

    [project.entry-points.threeregs]
    acme_rules = "acme_rules.plugin"

and the built-in rules are registered the same way, as an internal plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from threeregs.matching._rule import MatchingRule

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "threeregs_matching_rules"]

#: The pluggy project name, which is also the entry-point group.
PROJECT_NAME: Final = "threeregs"

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def threeregs_matching_rules() -> Sequence[MatchingRule]:  # type: ignore[empty-body]
    """Return the matching rules this plugin provides.

    Each rule is an object with a ``name``, a ``label(locale)`` method and a
    ``find(data)`` method (see :class:`threeregs.matching.MatchingRule`). Rule
    names are unique across plugins; prefix them with the plugin's name
    (``acme.night_visits``) to avoid clashes.
    """
