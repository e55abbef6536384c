"""Two wrong variants of the host's service layer, for the tests to catch.

Both compile, run and look plausible in review, and both let a case leave a
stage without the filings the gate requires.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from example_host.services import CaseService
from threeregs import GateBlockedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from example_host.models import HostCase

logger = logging.getLogger(__name__)


class ClerkClosingService(CaseService):
    """Closes cases without the gate, treating closing as a clerical step.

    The host's own stage becomes "closed" while the gate still has the case
    in its old stage, so the kit's comparison of the two stages catches it.
    """

    def close_case(self, session: Session, case_id: str) -> HostCase:
        case = self.get(session, case_id)
        closing = self.gate.policy.line(case.business_line).closed
        self._record_move(session, case, closing)
        return case


class ForcedMoveService(CaseService):
    """Moves a blocked case anyway so that it does not stall, logging a warning.

    It calls the gate, but swallows the refusal, so the gate invariant and
    the kit's check of ``host_advance`` catch it.
    """

    def move_case(self, session: Session, case_id: str, to_stage: str) -> HostCase:
        case = self.get(session, case_id)
        try:
            self.gate.advance(session, case_id, to_stage)
        except GateBlockedError as error:
            logger.warning("moving case %s although the gate refused: %s", case_id, error)
        self._record_move(session, case, to_stage)
        return case
