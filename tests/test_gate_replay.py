"""Replaying recorded gate decisions under the recorded or another policy."""

from __future__ import annotations

from importlib import resources

import pytest
import sqlalchemy as sa

import threeregs
from threeregs.policy import TomlPolicy
from threeregs.store import _tables as t


def _decision_ids(conn: sa.Connection, case_id: str) -> list[int]:
    rows = conn.execute(
        sa.select(t.decisions.c.id)
        .where(t.decisions.c.case_id == case_id)
        .order_by(t.decisions.c.id)
    )
    return [row.id for row in rows]


def test_replay_reproduces_blocked_and_allowed(
    engine: sa.Engine, gate: threeregs.StageGate
) -> None:
    filer = threeregs.Filer("p-1", "330106", "prosecutor")
    with engine.begin() as conn:
        gate.open_case(conn, "R-1", business_line="criminal", office_code="330106")
        gate.assign(conn, "R-1", "p-1", role="handler")
    # pytest.raises sits inside the transaction, which therefore commits the
    # record of the refusal, as a host that keeps refusals would.
    with engine.begin() as conn, pytest.raises(threeregs.GateBlockedError) as blocked:
        gate.advance(conn, "R-1", "prosecution_review")
    with engine.begin() as conn:
        gate.file(conn, threeregs.Filing.zero(filer, threeregs.StageObligation("R-1", "accept")))
        allowed = gate.advance(conn, "R-1", "prosecution_review")

    with engine.begin() as conn:
        first, second = _decision_ids(conn, "R-1")
        replayed_block = gate.replay(conn, first)
        replayed_allow = gate.replay(conn, second)

    assert replayed_block.blockers == blocked.value.decision.blockers
    assert not replayed_block.allowed
    assert replayed_allow.allowed
    assert replayed_allow.to_round == allowed.to_round
    assert replayed_allow.inputs["recorded"]["policy_hash"] == gate.policy.content_hash


def test_replay_under_another_policy(engine: sa.Engine, gate: threeregs.StageGate) -> None:
    with engine.begin() as conn:
        gate.open_case(conn, "R-2", business_line="criminal", office_code="330106")
        gate.assign(conn, "R-2", "p-2", role="handler")
    with engine.begin() as conn, pytest.raises(threeregs.GateBlockedError):
        gate.advance(conn, "R-2", "prosecution_review")
    text = resources.files("threeregs.policy").joinpath("default.toml").read_text("utf-8")
    lenient = TomlPolicy.from_text(
        text.replace("closed = []\n", "closed = []\naccept = []\n", 1).replace(
            'version = "2026.1"', 'version = "lenient"'
        )
    )

    with engine.begin() as conn:
        (decision_id,) = _decision_ids(conn, "R-2")
        replayed = gate.replay(conn, decision_id, policy=lenient)

    assert replayed.allowed
    assert replayed.policy_version == "lenient"
    assert [note.code for note in replayed.notes] == [threeregs.NoteCode.NO_FILING_RULE]


def test_replay_unknown_decision(engine: sa.Engine, gate: threeregs.StageGate) -> None:
    with engine.begin() as conn, pytest.raises(threeregs.UnknownCaseError):
        gate.replay(conn, 987654)
