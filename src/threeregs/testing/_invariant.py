"""The gate invariant, checked on the threeregs tables of a host database.

The invariant: no case has left a stage visit while someone who had to file
for that visit had not. Someone had to file if they were assigned to the case,
in a role the policy requires for the stage, at any time during the visit. A
visit was left when the case has a later visit. The check reads the tables
directly rather than asking the gate, so it also catches a host that wrote to
them without going through :class:`threeregs.StageGate`.
"""

from __future__ import annotations

import enum
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import and_, or_, select

from threeregs.policy._policy import default_policy
from threeregs.store import _tables as t
from threeregs.store._connection import connection_of

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from threeregs.policy._policy import Policy

#: How many violations an error message lists before it only counts the rest.
MESSAGE_LIMIT = 20


class ViolationCode(enum.StrEnum):
    """Kind of breach of the gate invariant found in a case's history."""

    #: Someone who had to file for a visit had not when the case left it.
    MISSING_FILING = "missing_filing"
    #: The policy requires filers for the stage, but nobody in those roles
    #: was on the case during the visit.
    NO_FILER_ASSIGNED = "no_filer_assigned"
    #: The case moved between two stages that the policy does not connect.
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    #: The case entered a stage more often than the policy allows.
    ROUND_LIMIT = "round_limit"
    #: The case row does not match the case's latest visit: its stage, round
    #: or visit number was changed without recording a visit.
    CASE_OUT_OF_SYNC = "case_out_of_sync"


@attrs.frozen
class GateViolation:
    """One breach of the gate invariant, found in the threeregs tables.

    ``visit``, ``stage`` and ``round`` name the stage visit concerned;
    ``to_stage`` is where the case went next, when it left the visit.
    ``person_id`` and ``role`` name the person who had not filed.
    """

    code: ViolationCode
    case_id: str
    visit: int
    stage: str
    round: int
    to_stage: str | None = None
    person_id: str | None = None
    role: str | None = None
    #: The case row's visit, stage and round, for :attr:`ViolationCode.CASE_OUT_OF_SYNC`.
    detail: str = ""

    def __str__(self) -> str:
        where = f"case {self.case_id!r} visit {self.visit} ({self.stage!r} round {self.round})"
        if self.code is ViolationCode.MISSING_FILING:
            return (
                f"{where}: the case moved to {self.to_stage!r} although {self.person_id!r} "
                f"({self.role}) had not filed for the visit"
            )
        if self.code is ViolationCode.NO_FILER_ASSIGNED:
            return (
                f"{where}: the case moved to {self.to_stage!r} although nobody in a role "
                "that must file for the stage was on the case"
            )
        if self.code is ViolationCode.TRANSITION_NOT_ALLOWED:
            return f"{where}: the policy does not allow a move to {self.to_stage!r}"
        if self.code is ViolationCode.ROUND_LIMIT:
            return f"{where}: the policy allows fewer rounds of this stage"
        return f"{where} is the latest visit, but the case row says {self.detail}"


class GateInvariantError(AssertionError):
    """The threeregs tables show a case that got past the stage gate.

    ``violations`` lists every breach found. The error is an
    :class:`AssertionError`, so test runners report it as a failed test.
    """

    def __init__(self, violations: Collection[GateViolation]) -> None:
        self.violations = tuple(violations)
        listed = [f"  - {v}" for v in list(self.violations)[:MESSAGE_LIMIT]]
        more = len(self.violations) - len(listed)
        if more:
            listed.append(f"  ... and {more} more")
        count = len(self.violations)
        super().__init__(
            f"{count} breach{'es' if count != 1 else ''} of the stage gate invariant:\n"
            + "\n".join(listed)
        )


@attrs.frozen
class VisitDuty:
    """The people on a case during one stage visit: who had to file and who did."""

    case_id: str
    business_line: str
    visit: int
    stage: str
    round: int
    #: Person id to the roles the person held during the visit.
    assigned: dict[str, frozenset[str]]
    filed: frozenset[str]
    required_roles: frozenset[str]

    @property
    def must_file(self) -> frozenset[str]:
        """The people who had to file for the visit."""
        return frozenset(p for p, roles in self.assigned.items() if roles & self.required_roles)

    @property
    def missing(self) -> frozenset[str]:
        """The people who had to file for the visit and have not."""
        return self.must_file - self.filed


@attrs.frozen
class CaseHistory:
    """A case row and the duties of each of its visits, oldest first."""

    case_id: str
    business_line: str
    #: Stage, round and visit number as the case row has them.
    stage: str
    round: int
    visit: int
    duties: tuple[VisitDuty, ...]


def _history_statement(case_ids: Collection[str] | None) -> Any:
    """Build the one query behind :func:`read_histories`.

    One row per visit and person on the case during it (or one row of NULLs
    for a visit with nobody on the case), with the case row's columns and
    whether the person filed for the visit.
    """
    c, v, a, s = t.cases, t.visits, t.assignments, t.stage_filings
    statement = (
        select(
            v.c.case_id,
            v.c.visit,
            v.c.stage,
            v.c.round,
            c.c.business_line,
            c.c.stage.label("case_stage"),
            c.c.round.label("case_round"),
            c.c.visit.label("case_visit"),
            a.c.person_id,
            a.c.role,
            s.c.person_id.label("filed"),
        )
        .select_from(
            v.join(c, c.c.case_id == v.c.case_id)
            .outerjoin(
                a,
                and_(
                    a.c.case_id == v.c.case_id,
                    a.c.from_visit <= v.c.visit,
                    or_(a.c.to_visit.is_(None), a.c.to_visit >= v.c.visit),
                ),
            )
            .outerjoin(
                s,
                and_(
                    s.c.case_id == v.c.case_id,
                    s.c.visit == v.c.visit,
                    s.c.person_id == a.c.person_id,
                ),
            )
        )
        .order_by(v.c.case_id, v.c.visit)
    )
    if case_ids is not None:
        statement = statement.where(v.c.case_id.in_(list(case_ids)))
    return statement


def read_histories(
    conn: Connection | Session, policy: Policy, *, case_ids: Collection[str] | None = None
) -> list[CaseHistory]:
    """Read each case's row and the duties of all its visits, in one query."""
    cases: dict[str, Any] = {}
    visits: dict[tuple[str, int], dict[str, Any]] = {}
    for row in connection_of(conn).execute(_history_statement(case_ids)):
        cases.setdefault(row.case_id, row)
        entry = visits.setdefault(
            (row.case_id, row.visit), {"row": row, "assigned": {}, "filed": set()}
        )
        if row.person_id is None:
            continue
        entry["assigned"].setdefault(row.person_id, set()).add(row.role)
        if row.filed is not None:
            entry["filed"].add(row.person_id)

    duties: dict[str, list[VisitDuty]] = {case_id: [] for case_id in cases}
    for (case_id, _), entry in visits.items():
        row = entry["row"]
        duties[case_id].append(
            VisitDuty(
                case_id=case_id,
                business_line=row.business_line,
                visit=row.visit,
                stage=row.stage,
                round=row.round,
                assigned={p: frozenset(r) for p, r in entry["assigned"].items()},
                filed=frozenset(entry["filed"]),
                required_roles=policy.line(row.business_line).roles_that_file(row.stage),
            )
        )
    return [
        CaseHistory(
            case_id=case_id,
            business_line=row.business_line,
            stage=row.case_stage,
            round=row.case_round,
            visit=row.case_visit,
            duties=tuple(duties[case_id]),
        )
        for case_id, row in cases.items()
    ]


def find_gate_violations(
    conn: Connection | Session,
    policy: Policy | None = None,
    *,
    case_ids: Collection[str] | None = None,
) -> list[GateViolation]:
    """Return every breach of the gate invariant in the threeregs tables.

    *policy* must be the policy the host's gate uses; it defaults to
    :func:`threeregs.policy.default_policy`. *case_ids* limits the check to
    those cases. Runs one query in the caller's transaction and changes
    nothing. Violations come sorted by case and visit.
    """
    rules = policy if policy is not None else default_policy()
    found: list[GateViolation] = []
    for history in read_histories(conn, rules, case_ids=case_ids):
        found += _filing_violations(history)
        found += _path_violations(history, rules)
    return sorted(found, key=lambda v: (v.case_id, v.visit, v.code, v.person_id or ""))


def _filing_violations(history: CaseHistory) -> list[GateViolation]:
    """Find the visits the case left while someone who had to file had not."""
    found = []
    # Every visit but the last has been left: the case has a later visit.
    for duty, following in zip(history.duties, history.duties[1:], strict=False):
        unassigned = GateViolation(
            ViolationCode.NO_FILER_ASSIGNED,
            case_id=duty.case_id,
            visit=duty.visit,
            stage=duty.stage,
            round=duty.round,
            to_stage=following.stage,
        )
        if duty.required_roles and not duty.must_file:
            found.append(unassigned)
        for person in sorted(duty.missing):
            role = sorted(duty.assigned[person] & duty.required_roles)[0]
            found.append(
                attrs.evolve(
                    unassigned, code=ViolationCode.MISSING_FILING, person_id=person, role=role
                )
            )
    return found


def _path_violations(history: CaseHistory, policy: Policy) -> list[GateViolation]:
    """Check the case's moves against the policy, and its case row against its last visit."""
    rules = policy.line(history.business_line)
    found = []
    seen: Counter[str] = Counter()
    for index, duty in enumerate(history.duties):
        seen[duty.stage] += 1
        if index > 0:
            before = history.duties[index - 1]
            if not rules.allows(before.stage, duty.stage):
                found.append(
                    GateViolation(
                        ViolationCode.TRANSITION_NOT_ALLOWED,
                        case_id=history.case_id,
                        visit=before.visit,
                        stage=before.stage,
                        round=before.round,
                        to_stage=duty.stage,
                    )
                )
        limit = rules.max_rounds.get(duty.stage)
        if limit is not None and seen[duty.stage] > limit:
            found.append(
                GateViolation(
                    ViolationCode.ROUND_LIMIT,
                    case_id=history.case_id,
                    visit=duty.visit,
                    stage=duty.stage,
                    round=duty.round,
                )
            )

    last = history.duties[-1]
    if (history.visit, history.stage, history.round) != (last.visit, last.stage, last.round):
        found.append(
            GateViolation(
                ViolationCode.CASE_OUT_OF_SYNC,
                case_id=history.case_id,
                visit=last.visit,
                stage=last.stage,
                round=last.round,
                detail=f"visit {history.visit}, stage {history.stage!r}, round {history.round}",
            )
        )
    return found


def assert_gate_invariant(
    conn: Connection | Session,
    policy: Policy | None = None,
    *,
    case_ids: Collection[str] | None = None,
) -> None:
    """Raise :class:`GateInvariantError` if any case got past the stage gate.

    Checks the threeregs tables in the caller's transaction. No case may have
    left a stage visit while someone who had to file for it had not, or
    while nobody who had to file was assigned. Every move must be one the
    policy allows, and each case row must match its latest visit. *policy*
    must be the policy the host's gate uses (default: the default policy).
    """
    violations = find_gate_violations(conn, policy, case_ids=case_ids)
    if violations:
        raise GateInvariantError(violations)
