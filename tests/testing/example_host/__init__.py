"""A small case-handling application that embeds threeregs.

It keeps its own table of cases with its own ``stage`` column and changes
stages only through its service layer (:class:`CaseService`), which calls
the stage gate in the same transaction. :mod:`example_host.broken` contains two
deliberately wrong variants of that service, which the tests of
:mod:`threeregs.testing` must catch.
"""

from example_host.models import Base, HostCase, StageChange
from example_host.services import CaseService

__all__ = ["Base", "CaseService", "HostCase", "StageChange"]
