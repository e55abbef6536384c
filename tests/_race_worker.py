"""One process of the gate race in test_gate_concurrency.py.

Usage::

    python _race_worker.py ROLE DATABASE_URL ANCHOR_HEX ROUNDS LOG_PATH

The cases R-0, R-1, ... are open at acceptance. Each role works on a window
of a few cases at a time, one step per case in turn, so the steps of
different processes interleave on the same case:

``advancer``
    moves each case from acceptance to prosecution review and on to
    indictment, trying again while the gate is blocked.
``assigner``
    puts p1 (handler) and then p2 (co-handler) on each case and takes p1 off
    again. It takes a new case once an older one has reached indictment, so
    that its changes land while the advancer is trying.
``filer``
    files a zero report for everyone the gate is waiting for, until the case
    reaches indictment.

Every step runs in a transaction of its own. When a concurrent change wins
(``StaleCaseError``) or the database reports a lock conflict, deadlock or
serialization failure (``OperationalError``), the worker rolls back and
retries, as a host would. After each commit the worker appends one JSON line
to LOG_PATH saying what it did and in which stage visit, as read under the
case's row lock in the same transaction. The last line holds counters.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from threeregs import (
    BlockerCode,
    Filer,
    Filing,
    ForbiddenTransitionError,
    GateBlockedError,
    StaffKind,
    StageGate,
    StageObligation,
    StaleCaseError,
    WrongStageError,
)
from threeregs.crypto import TrustAnchor
from threeregs.store import metadata, use_immediate_transactions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

#: Stages each case moves through, in order.
PATH = ("accept", "prosecution_review", "indictment")
#: The assigner's steps per case: (person, role), where no role means unassign.
STEPS = (("p1", "handler"), ("p2", "co_handler"), ("p1", None))
#: Cases each worker has in hand at a time.
WINDOW = 12
OFFICE = "330106"
#: Seconds a worker may run before it gives up, so a stuck race fails instead of hanging.
TIME_LIMIT = 540.0


class RaceTimeoutError(RuntimeError):
    """The worker ran out of time, which means the race stopped making progress."""


def _skip_disk_sync(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous = OFF")


class Worker:
    def __init__(self, url: str, anchor_hex: str, rounds: int, log: TextIO) -> None:
        self.engine = use_immediate_transactions(sa.create_engine(url))
        if self.engine.dialect.name == "sqlite":
            # The race is about locking, which this setting leaves alone. Waiting
            # for the disk on every commit would only make the run slow.
            sa.event.listen(self.engine, "connect", _skip_disk_sync)
        self.gate = StageGate(anchor=TrustAnchor.from_hex(anchor_hex))
        self.rounds = rounds
        self.log = log
        self.counters: dict[str, int] = {}
        self.deadline = time.monotonic() + TIME_LIMIT
        self.idle = 0
        self.versions: dict[str, int] = {}
        self.stages: dict[str, str] = {}

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def write(self, **entry: Any) -> None:
        self.log.write(json.dumps(entry) + "\n")

    def pause(self, *, idle: bool = False) -> None:
        """Leave the database to the other workers for a moment.

        After a pass with nothing to do (*idle*), each further idle pass waits
        twice as long, up to 16 ms, so that waiting workers poll less. Any
        progress resets the wait.
        """
        if time.monotonic() > self.deadline:
            raise RaceTimeoutError(f"no progress within {TIME_LIMIT} s; counters {self.counters}")
        self.idle = min(self.idle + 1, 5) if idle else 0
        time.sleep(random.random() * 0.0005 * 2**self.idle)

    def transact(self, action: Callable[[sa.Connection], Any], *, logged: bool = False) -> Any:
        """Run *action* in its own transaction, retrying after a lost race.

        With *logged*, *action* returns a log entry, which is written only once
        the transaction has committed.
        """
        while True:
            try:
                with self.engine.begin() as conn:
                    result = action(conn)
            except StaleCaseError:
                self.count("stale")
            except OperationalError:
                self.count("lock_conflict")
            else:
                self.count("transactions")
                if logged:
                    self.write(**result)
                return result
            self.pause()

    def changed(self, case_ids: Iterable[str]) -> list[str]:
        """Return the cases that changed since this worker last looked, in one query.

        Every gate call that changes a case bumps its version, so a worker
        calls the gate about a case again only after something happened to it.
        """
        cases = metadata.tables["threeregs_cases"]
        query = sa.select(cases.c.case_id, cases.c.version, cases.c.stage).where(
            cases.c.case_id.in_(list(case_ids))
        )
        rows = self.transact(lambda conn: conn.execute(query).all())
        fresh = [row.case_id for row in rows if self.versions.get(row.case_id) != row.version]
        self.versions.update({row.case_id: row.version for row in rows})
        self.stages.update({row.case_id: row.stage for row in rows})
        return fresh

    # --- roles -----------------------------------------------------------

    def advancer(self) -> None:
        waiting = [f"R-{number}" for number in range(self.rounds)]
        targets: dict[str, int] = {}  # case id -> index in PATH of the next stage
        while waiting or targets:
            while waiting and len(targets) < WINDOW:
                targets[waiting.pop(0)] = 1
            moved = False
            for case_id in self.changed(targets):
                target = targets[case_id]
                if not self.advance(case_id, PATH[target]):
                    continue
                moved = True
                if target + 1 == len(PATH):
                    del targets[case_id]
                else:
                    targets[case_id] = target + 1
            self.pause(idle=not moved)

    def advance(self, case_id: str, to_stage: str) -> bool:
        """Move the case if a check allows it, in a second transaction; return whether it moved.

        Checking first spares the database an advance that records a refusal
        on every pass. The advance itself still races the other workers.
        """
        if not self.transact(lambda conn: self.gate.check(conn, case_id, to_stage)).allowed:
            return False

        def move(conn: sa.Connection) -> dict[str, Any]:
            decision = self.gate.advance(conn, case_id, to_stage)
            # Nobody changed the case between the check and the move, or the
            # advance would have raised StaleCaseError, so nothing is missed
            # by waiting for changes after this one.
            self.versions[case_id] = self.gate.case(conn, case_id).version
            visit = decision.inputs["visit"]
            return {"op": "advance", "case": case_id, "left": visit, "stage": decision.from_stage}

        try:
            self.transact(move, logged=True)
        except ForbiddenTransitionError:
            raise
        except GateBlockedError:
            self.count("blocked_after_check")
            return False
        return True

    def assigner(self) -> None:
        """Take each assignment step once another worker has changed the case.

        The first step on a case is taken at once. Each later one waits until
        someone else changed the case, typically the filer filing for the
        person just assigned, which is also when the advancer tries to move
        the case: both react to the same change. Once a case has reached its
        last stage, the remaining steps are taken without waiting.
        """
        steps: dict[str, int] = {}  # case id -> index in STEPS of the next step
        number = 0
        while number < self.rounds or steps:
            # Keep in step with the advancer: take a case on once an older one is done.
            older = f"R-{number - WINDOW}"
            while number < self.rounds and (number < WINDOW or self.stages.get(older) == PATH[-1]):
                steps[f"R-{number}"] = 0
                number += 1
                older = f"R-{number - WINDOW}"
            watched = [*steps, older] if number < self.rounds else list(steps)
            fresh = set(self.changed(watched))
            stepped = False
            for case_id, index in list(steps.items()):
                # Nobody else changes a case at its last stage, so stop waiting there.
                if index and case_id not in fresh and self.stages[case_id] != PATH[-1]:
                    continue
                person, role = STEPS[index]
                self.transact(self.assignment(case_id, person, role), logged=True)
                stepped = True
                if index + 1 == len(STEPS):
                    del steps[case_id]
                else:
                    steps[case_id] = index + 1
            self.pause(idle=not stepped)

    def assignment(
        self, case_id: str, person: str, role: str | None
    ) -> Callable[[sa.Connection], dict[str, Any]]:
        """Return an action that assigns *person* in *role*, or unassigns them for None."""

        def change(conn: sa.Connection) -> dict[str, Any]:
            if role is None:
                self.gate.unassign(conn, case_id, person)
            else:
                self.gate.assign(conn, case_id, person, role=role)
            # Both calls hold the case row locked until commit, so this is the
            # visit the change applies to.
            state = self.gate.case(conn, case_id)
            # Wait for a change by someone else before the next step on this case.
            self.versions[case_id] = state.version
            op = "unassign" if role is None else "assign"
            return {"op": op, "case": case_id, "person": person, "role": role, "visit": state.visit}

        return change

    def filer(self) -> None:
        waiting = [f"R-{number}" for number in range(self.rounds)]
        cases: list[str] = []
        while waiting or cases:
            while waiting and len(cases) < WINDOW:
                cases.append(waiting.pop(0))
            filed = False
            for case_id in self.changed(cases):
                outcome = self.file_missing(case_id)
                if outcome is None:
                    cases.remove(case_id)
                filed = filed or bool(outcome)
            self.pause(idle=not filed)

    def file_missing(self, case_id: str) -> bool | None:
        """File for everyone the gate is waiting for.

        Return whether anyone filed, or None once the case has reached its last stage.
        """
        # The decision lists the missing filings of the current visit whatever
        # the target, and names the current stage.
        decision = self.transact(lambda conn: self.gate.check(conn, case_id, PATH[-1]))
        if decision.from_stage == PATH[-1]:
            return None
        waiting = [b.person_id for b in decision.blockers if b.code is BlockerCode.MISSING_FILING]
        for person in waiting:
            obligation = StageObligation(case_id, decision.from_stage, decision.from_round)
            filing = Filing.zero(Filer(person, OFFICE, StaffKind.PROSECUTOR), obligation)

            def file(conn: sa.Connection, filing: Filing = filing) -> dict[str, Any]:
                receipt = self.gate.file(conn, filing)
                return {
                    "op": "file",
                    "case": case_id,
                    "person": filing.filer.person_id,
                    "visit": decision.inputs["visit"],
                    "filing_id": receipt.filing_id,
                }

            try:
                self.transact(file, logged=True)
            except WrongStageError:
                self.count("filed_too_late")
                return True
        return bool(waiting)


def main(argv: list[str]) -> int:
    role, url, anchor_hex, rounds, log_path = argv
    with open(log_path, "w", encoding="utf-8", buffering=1) as log:
        worker = Worker(url, anchor_hex, int(rounds), log)
        try:
            getattr(worker, role)()
        finally:
            worker.write(op="counters", role=role, **worker.counters)
            worker.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
