"""The host's service layer: every change to a case goes through here.

Each method works in the caller's session and never commits; the web layer
of the host commits once per request. Stage changes call the stage gate
first, in the same transaction, so a refused move changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from example_host.models import HostCase, StageChange

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from threeregs import Filing, Receipt, StageGate


class CaseService:
    """Opening, staffing, reporting on and moving the host's cases."""

    def __init__(self, gate: StageGate) -> None:
        self.gate = gate

    def register_case(
        self, session: Session, case_id: str, *, title: str, business_line: str, office_code: str
    ) -> HostCase:
        """Create the host's case and open it with the gate at its first stage."""
        state = self.gate.open_case(
            session, case_id, business_line=business_line, office_code=office_code
        )
        case = HostCase(
            case_id=case_id,
            title=title,
            business_line=business_line,
            office_code=office_code,
            stage=state.stage,
        )
        session.add(case)
        session.flush()
        return case

    def add_staff(self, session: Session, case_id: str, person_id: str, *, role: str) -> None:
        """Put a member of staff on the case; the first handler becomes the case's handler."""
        self.gate.assign(session, case_id, person_id, role=role)
        case = self.get(session, case_id)
        if role == "handler" and case.handler_id is None:
            case.handler_id = person_id

    def remove_staff(self, session: Session, case_id: str, person_id: str, *, role: str) -> None:
        """Take a member of staff off the case after the current stage."""
        self.gate.unassign(session, case_id, person_id, role=role)
        case = self.get(session, case_id)
        if role == "handler" and case.handler_id == person_id:
            case.handler_id = None

    def submit_report(self, session: Session, filing: Filing) -> Receipt:
        """Store a report or zero report that a member of staff filed."""
        return self.gate.file(session, filing)

    def move_case(self, session: Session, case_id: str, to_stage: str) -> HostCase:
        """Move the case to *to_stage* through the gate, then record the move."""
        case = self.get(session, case_id)
        self.gate.advance(session, case_id, to_stage)
        self._record_move(session, case, to_stage)
        return case

    def close_case(self, session: Session, case_id: str) -> HostCase:
        """Close the case through the gate (move it to its line's closing stage)."""
        case = self.get(session, case_id)
        decision = self.gate.close(session, case_id)
        self._record_move(session, case, decision.to_stage)
        return case

    def get(self, session: Session, case_id: str) -> HostCase:
        """Return the host's case, which must exist."""
        return session.scalars(select(HostCase).where(HostCase.case_id == case_id)).one()

    def _record_move(self, session: Session, case: HostCase, to_stage: str) -> None:
        session.add(
            StageChange(
                case_id=case.case_id,
                from_stage=case.stage,
                to_stage=to_stage,
                changed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
        )
        case.stage = to_stage
        session.flush()
