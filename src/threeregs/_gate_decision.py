"""How the gate decides a stage change, and the statements that read and apply it.

:func:`_evaluate` applies a policy to who was on a case and who filed, with
no database access, so that :meth:`threeregs.StageGate.replay` can decide a
recorded decision again. Each statement is built once and cached, because
building it on every call took most of the time of a check.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from threeregs._decision import Blocker, BlockerCode, Decision, Note, NoteCode
from threeregs.store import _tables as t

if TYPE_CHECKING:
    import datetime as dt

    from threeregs._gate import CaseState
    from threeregs.policy._policy import Policy


def _evaluate(
    policy: Policy,
    state: CaseState,
    to_stage: str,
    *,
    to_round: int,
    assigned: dict[str, set[str]],
    filed: set[str],
    decided_at: dt.datetime,
) -> Decision:
    """Apply *policy* to who was assigned and who filed; no database access."""
    rules = policy.line(state.business_line)
    rules.require_stage(to_stage)
    required_roles = rules.roles_that_file(state.stage)
    blockers: list[Blocker] = []
    notes: list[Note] = []
    where = {"stage": state.stage, "round": state.round}
    if state.closed:
        blockers.append(Blocker(BlockerCode.CASE_CLOSED, {}))
    if not rules.allows(state.stage, to_stage):
        blockers.append(
            Blocker(
                BlockerCode.TRANSITION_NOT_ALLOWED, {"stage": state.stage, "to_stage": to_stage}
            )
        )
    limit = rules.max_rounds.get(to_stage)
    if limit is not None and to_round > limit:
        blockers.append(Blocker(BlockerCode.ROUND_LIMIT, {"to_stage": to_stage, "limit": limit}))

    must_file = sorted(p for p, roles in assigned.items() if roles & required_roles)
    if not required_roles:
        notes.append(
            Note(NoteCode.NO_FILING_RULE, {"stage": state.stage, "policy": policy.version})
        )
    elif not must_file:
        blockers.append(Blocker(BlockerCode.NO_FILER_ASSIGNED, {"stage": state.stage}))
    for person in must_file:
        if person not in filed:
            role = sorted(assigned[person] & required_roles)[0]
            blockers.append(
                Blocker(BlockerCode.MISSING_FILING, {"person": person, "role": role, **where})
            )
    if must_file and all(p in filed for p in must_file):
        notes.append(Note(NoteCode.ALL_FILED, where))

    return Decision(
        case_id=state.case_id,
        from_stage=state.stage,
        from_round=state.round,
        to_stage=to_stage,
        to_round=to_round,
        blockers=tuple(blockers),
        notes=tuple(notes),
        policy_version=policy.version,
        policy_hash=policy.content_hash,
        decided_at=decided_at,
        case_version=state.version,
        inputs={
            "business_line": state.business_line,
            "office_code": state.office_code,
            "visit": state.visit,
            "closed": state.closed,
            "to_round": to_round,
            "assigned": {p: sorted(r) for p, r in sorted(assigned.items())},
            "filed": sorted(filed),
            "required_roles": sorted(required_roles),
        },
    )


@functools.cache
def _check_statement() -> Any:
    """Build the one statement behind :meth:`threeregs.StageGate.check`, once.

    Its parameters are ``case_id`` and ``to_stage``. It returns one row per
    person on the case during the current visit (or one row of NULLs), each
    with the case columns, whether they filed, and how often the case has
    been in ``to_stage`` before. Building the statement on every call took
    most of the time of a check.
    """
    c, a, s, v = t.cases, t.assignments, t.stage_filings, t.visits
    prior = (
        select(func.count())
        .select_from(v)
        .where(v.c.case_id == c.c.case_id, v.c.stage == bindparam("to_stage"))
        .scalar_subquery()
    )
    return (
        select(
            c.c.case_id,
            c.c.business_line,
            c.c.office_code,
            c.c.stage,
            c.c.round,
            c.c.visit,
            c.c.closed,
            c.c.version,
            a.c.person_id,
            a.c.role,
            s.c.person_id.label("filed"),
            prior.label("prior_visits"),
        )
        .select_from(
            c.outerjoin(
                a,
                and_(
                    a.c.case_id == c.c.case_id,
                    a.c.from_visit <= c.c.visit,
                    or_(a.c.to_visit.is_(None), a.c.to_visit >= c.c.visit),
                ),
            ).outerjoin(
                s,
                and_(
                    s.c.case_id == c.c.case_id,
                    s.c.visit == c.c.visit,
                    s.c.person_id == a.c.person_id,
                ),
            )
        )
        .where(c.c.case_id == bindparam("case_id"))
    )


@functools.cache
def _move_statement() -> Any:
    """Build the UPDATE that moves a case if its version is still the one checked, once.

    Building statements once keeps SQLAlchemy's per-call work small; the
    parameter names end in ``_`` because SQLAlchemy keeps the column names
    for the SET clause.
    """
    c = t.cases
    return (
        update(c)
        .where(c.c.case_id == bindparam("case_id_"), c.c.version == bindparam("version_"))
        .values(
            stage=bindparam("stage_"),
            round=bindparam("round_"),
            visit=bindparam("visit_"),
            version=c.c.version + 1,
            closed=bindparam("closed_"),
        )
    )


def _decision_row(decision: Decision) -> dict[str, Any]:
    return {
        "case_id": decision.case_id,
        "from_stage": decision.from_stage,
        "from_round": decision.from_round,
        "to_stage": decision.to_stage,
        "allowed": decision.allowed,
        "blockers": json.dumps(
            [{"code": b.code.value, **b.params} for b in decision.blockers],
            sort_keys=True,
            ensure_ascii=False,
        ),
        "inputs": json.dumps(dict(decision.inputs), sort_keys=True, ensure_ascii=False),
        "policy_version": decision.policy_version,
        "policy_hash": decision.policy_hash,
        "decided_at": decision.decided_at,
    }
