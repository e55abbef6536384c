"""Office directory and routing of filings along the chain of offices.

:class:`Directory` contains the procuratorates as a tree of :class:`Office`
values, from basic offices up to the supreme office, and :class:`Level`
names the four levels.
"""

from __future__ import annotations

from threeregs.routing._directory import Directory, Level, Office

__all__ = ["Directory", "Level", "Office"]
