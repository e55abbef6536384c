"""Processes racing advance against assignment and filing on the database under test.

Three OS processes run tests/_race_worker.py: one advances each case through
two stage changes, one assigns and unassigns people while it tries, and one
files for whoever the gate is waiting for. Afterwards no stage visit may have
been left while someone assigned during it had not filed, judged both from
the tables and from the workers' own logs of what they committed.

``THREEREGS_RACE_ROUNDS`` sets the number of rounds, one case each (default
1000). On SQLite the workers turn off the wait for the disk at every commit
(``PRAGMA synchronous = OFF``), which leaves the locking under test as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import threeregs
from threeregs.store import metadata

if TYPE_CHECKING:
    from conftest import FindViolations
    from threeregs import StageGate
    from threeregs.crypto import AnchorSigner

ROUNDS = int(os.environ.get("THREEREGS_RACE_ROUNDS", "1000"))
ROLES = ("advancer", "assigner", "filer")
WORKER = Path(__file__).with_name("_race_worker.py")
OFFICE = "330106"
#: Seconds to wait for the workers; each gives up a little earlier by itself.
TIMEOUT = 600.0

Entry = dict[str, Any]


def start_workers(
    db_url: str, anchor_hex: str, log_dir: Path
) -> dict[str, subprocess.Popen[bytes]]:
    """Start one worker process per role, with this threeregs importable."""
    env = dict(os.environ)
    package_parent = str(Path(threeregs.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    processes = {}
    for role in ROLES:
        command = [sys.executable, str(WORKER), role, db_url, anchor_hex, str(ROUNDS)]
        command.append(str(log_dir / f"{role}.jsonl"))
        with (log_dir / f"{role}.err").open("wb") as stderr:
            processes[role] = subprocess.Popen(command, env=env, stderr=stderr)
    return processes


def wait_for(processes: dict[str, subprocess.Popen[bytes]], log_dir: Path) -> None:
    """Wait for every worker to exit, killing all of them when one fails or time runs out."""
    deadline = time.monotonic() + TIMEOUT
    failures = []
    try:
        for role, process in processes.items():
            try:
                code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                failures.append(f"{role} still running after {TIMEOUT} s")
                break
            if code != 0:
                failures.append(f"{role} exited with {code}")
                break
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    errors = {role: (log_dir / f"{role}.err").read_text(errors="replace") for role in ROLES}
    assert failures == [], (failures, errors)


def read_logs(log_dir: Path) -> tuple[list[Entry], dict[str, Entry]]:
    """Return the committed operations of all workers and each worker's counters."""
    entries: list[Entry] = []
    counters: dict[str, Entry] = {}
    for role in ROLES:
        for line in (log_dir / f"{role}.jsonl").read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["op"] == "counters":
                counters[role] = entry
            else:
                entries.append(entry)
    return entries, counters


def spans_in_logs(entries: list[Entry]) -> dict[tuple[str, str], list[list[int | None]]]:
    """Return the visits from and to which each person was on each case, from the logs.

    One process makes all assignments, so its log is in commit order.
    """
    spans: dict[tuple[str, str], list[list[int | None]]] = {}
    for entry in entries:
        key = (entry["case"], entry.get("person", ""))
        if entry["op"] == "assign":
            spans.setdefault(key, []).append([entry["visit"], None])
        elif entry["op"] == "unassign":
            for span in spans[key]:
                if span[1] is None:
                    span[1] = entry["visit"]
    return spans


def violations_in_logs(entries: list[Entry]) -> list[tuple[str, int, str]]:
    """Apply the rule to the workers' logs, without reading the gate's tables.

    Every role files at acceptance and prosecution review in the default
    policy, so everyone on the case during a visit that was left must have filed.
    """
    spans = spans_in_logs(entries)
    left = {(e["case"], e["left"]) for e in entries if e["op"] == "advance"}
    filed = {(e["case"], e["visit"], e["person"]) for e in entries if e["op"] == "file"}

    violations = []
    for case_id, visit in sorted(left):
        for (span_case, person), person_spans in spans.items():
            on_case = any(
                start <= visit and (end is None or end >= visit)
                for start, end in person_spans
                if start is not None
            )
            if span_case == case_id and on_case and (case_id, visit, person) not in filed:
                violations.append((case_id, visit, person))
    return violations


@pytest.mark.slow
def test_race_leaves_no_visit_unfiled(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    db_url: str,
    anchor_signer: AnchorSigner,
    tmp_path: Path,
    visit_violations: FindViolations,
) -> None:
    case_ids = [f"R-{number}" for number in range(ROUNDS)]
    with engine.begin() as conn:
        for case_id in case_ids:
            gate.open_case(conn, case_id, business_line="criminal", office_code=OFFICE)

    started = time.monotonic()
    processes = start_workers(db_url, anchor_signer.anchor.public_bytes().hex(), tmp_path)
    wait_for(processes, tmp_path)
    elapsed = time.monotonic() - started
    entries, counters = read_logs(tmp_path)

    cases, visits, assignments, filings = (
        metadata.tables[f"threeregs_{name}"]
        for name in ("cases", "visits", "assignments", "stage_filings")
    )
    with engine.connect() as conn:
        violations = visit_violations(conn, case_ids)
        states = conn.execute(sa.select(cases.c.stage, sa.func.count()).group_by(cases.c.stage))
        stages = dict(states.all())
        visit_rows = conn.execute(sa.select(sa.func.count()).select_from(visits)).scalar_one()
        spans = conn.execute(
            sa.select(
                assignments.c.case_id,
                assignments.c.person_id,
                assignments.c.from_visit,
                assignments.c.to_visit,
            )
        ).all()
        filed = conn.execute(
            sa.select(filings.c.case_id, filings.c.visit, filings.c.person_id)
        ).all()

    assert violations == []
    assert violations_in_logs(entries) == []
    assert stages == {"indictment": ROUNDS}
    assert visit_rows == 3 * ROUNDS
    advances = sorted((e["case"], e["left"]) for e in entries if e["op"] == "advance")
    assert advances == sorted((case_id, visit) for case_id in case_ids for visit in (1, 2))
    # The visit each worker saw under the row lock is the one the gate stored.
    assert sorted(tuple(row) for row in filed) == sorted(
        (e["case"], e["visit"], e["person"]) for e in entries if e["op"] == "file"
    )
    assert Counter(tuple(row) for row in spans) == Counter(
        (case_id, person, start, end)
        for (case_id, person), person_spans in spans_in_logs(entries).items()
        for start, end in person_spans
    )

    # Evidence that the workers raced: assignments that landed after the
    # advancer moved the case, and advances that lost to a concurrent change.
    late = sum(1 for e in entries if e["op"] == "assign" and e["visit"] > 1)
    lost = sum(
        entry.get(name, 0)
        for entry in counters.values()
        for name in ("stale", "blocked_after_check")
    )
    if ROUNDS >= 500:
        assert late + lost > 0
    print(
        f"{ROUNDS} rounds on {engine.dialect.name} in {elapsed:.1f} s; "
        f"assignments after a stage change: {late}; advances that lost a race: {lost}; "
        f"counters: {counters}"
    )
