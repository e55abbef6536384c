"""Behaviour of the stage gate: blockers, rounds, filings and the host's transaction."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from threeregs import (
    Blocker,
    BlockerCode,
    CaseClosedError,
    CaseExistsError,
    Decision,
    DuplicateFilingError,
    Filing,
    ForbiddenTransitionError,
    GateBlockedError,
    MonthlyObligation,
    Note,
    NoteCode,
    NotOnCaseError,
    PolicyError,
    StageGate,
    StageObligation,
    ThreeregsError,
    UnknownCaseError,
    UnknownFilingError,
    UnknownOfficeError,
    UnknownStageError,
    ValidationError,
    WrongStageError,
)
from threeregs.policy import TomlPolicy, default_policy
from threeregs.store import metadata

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import MakeFiler, MakeStageReport
    from threeregs import Receipt, Record
    from threeregs.routing import Directory

CASE = "C-1"
OFFICE = "330106"
POLICY = default_policy()
CJK = re.compile(r"[\u4e00-\u9fff]")


def table(name: str) -> sa.Table:
    return metadata.tables[f"threeregs_{name}"]


def codes(decision: Decision) -> list[BlockerCode]:
    return [b.code for b in decision.blockers]


def missing(decision: Decision) -> list[str | None]:
    return [b.person_id for b in decision.blockers if b.code is BlockerCode.MISSING_FILING]


def pass_gate(
    conn: sa.Connection | Session,
    gate: StageGate,
    stage_zero: MakeStageReport,
    case_id: str,
    to_stage: str,
) -> Decision:
    """File a zero report for everyone the gate is waiting for, then advance."""
    decision = gate.check(conn, case_id, to_stage)
    for person in missing(decision):
        assert person is not None
        gate.file(conn, stage_zero(person, case_id, decision.from_stage, decision.from_round))
    return gate.advance(conn, case_id, to_stage)


@pytest.fixture
def case(engine: sa.Engine, gate: StageGate) -> str:
    """Open criminal case C-1 at office 330106 with p1 as its handler."""
    with engine.begin() as conn:
        gate.open_case(conn, CASE, business_line="criminal", office_code=OFFICE)
        gate.assign(conn, CASE, "p1", role="handler")
    return CASE


# --- blocked, then allowed ------------------------------------------------


def test_check_blocked_then_allowed(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        blocked = gate.check(conn, case, "prosecution_review")
        gate.file(conn, stage_zero("p1", case, "accept"))
        allowed = gate.check(conn, case, "prosecution_review")

    assert not blocked.allowed
    assert not blocked
    assert blocked.blockers == (
        Blocker(
            BlockerCode.MISSING_FILING,
            {"person": "p1", "role": "handler", "stage": "accept", "round": 1},
        ),
    )
    assert allowed.allowed
    assert allowed.blockers == ()
    assert allowed.notes == (Note(NoteCode.ALL_FILED, {"stage": "accept", "round": 1}),)
    assert (allowed.from_stage, allowed.from_round) == ("accept", 1)
    assert (allowed.to_stage, allowed.to_round) == ("prosecution_review", 1)


def test_advance_moves_case(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        gate.file(conn, stage_zero("p1", case, "accept"))
        decision = gate.advance(conn, case, "prosecution_review")
    with engine.connect() as conn:
        state = gate.case(conn, case)
        history = gate.history(conn, case)

    assert decision.allowed
    assert (state.stage, state.round, state.visit, state.closed) == (
        "prosecution_review",
        1,
        2,
        False,
    )
    assert history == [(1, "accept", 1), (2, "prosecution_review", 1)]


def test_advance_blocked_carries_decision(engine: sa.Engine, gate: StageGate, case: str) -> None:
    with engine.begin() as conn:
        checked = gate.check(conn, case, "prosecution_review")
        with pytest.raises(GateBlockedError) as raised:
            gate.advance(conn, case, "prosecution_review")
        state = gate.case(conn, case)

    assert type(raised.value) is GateBlockedError
    assert raised.value.decision.blockers == checked.blockers
    assert "p1" in str(raised.value)
    assert (state.stage, state.visit) == ("accept", 1)


def test_every_blocker_listed(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        gate.assign(conn, case, "p2", role="co_handler")
        gate.assign(conn, case, "p3", role="clerk")
        gate.file(conn, stage_zero("p2", case, "accept"))
        decision = gate.check(conn, case, "prosecution_review")

    assert codes(decision) == [BlockerCode.MISSING_FILING, BlockerCode.MISSING_FILING]
    assert missing(decision) == ["p1", "p3"]
    first, second = decision.blockers
    assert first.params == {"person": "p1", "role": "handler", "stage": "accept", "round": 1}
    assert second.params == {"person": "p3", "role": "clerk", "stage": "accept", "round": 1}

    zh, en = first.message("zh_CN"), first.message("en")
    for fragment in ("p1", "承办检察官", "受理", "1"):
        assert fragment in zh
    for fragment in ("p1", "Handling prosecutor", "Acceptance", "round 1"):
        assert fragment in en
    assert first.messages == {"zh_CN": zh, "en": en}
    assert "书记员" in second.message("zh_CN")
    assert "Clerk" in second.message("en")
    assert decision.messages("en") == [first.message("en"), second.message("en")]


def test_several_kinds_of_blocker_at_once(engine: sa.Engine, gate: StageGate, case: str) -> None:
    with engine.begin() as conn:
        decision = gate.check(conn, case, "indictment")

    assert codes(decision) == [BlockerCode.TRANSITION_NOT_ALLOWED, BlockerCode.MISSING_FILING]
    assert decision.blockers[0].params == {"stage": "accept", "to_stage": "indictment"}
    en = decision.blockers[0].message("en")
    zh = decision.blockers[0].message("zh_CN")
    assert "Acceptance" in en
    assert "Indictment" in en
    assert "受理" in zh
    assert "提起公诉" in zh


def test_messages_in_both_locales(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    """Render a decision of each blocker and note code in Chinese and English."""
    with engine.begin() as conn:
        gate.open_case(conn, "C-2", business_line="criminal", office_code=OFFICE)
        decisions = [
            gate.check(conn, "C-2", "prosecution_review"),  # no filer assigned
            gate.check(conn, case, "indictment"),  # not allowed, missing filing
        ]
        for to_stage in ("prosecution_review", "supplementary_investigation") * 2:
            pass_gate(conn, gate, stage_zero, case, to_stage)
        decisions.append(gate.check(conn, case, "prosecution_review"))  # no filing rule
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        decisions.append(gate.check(conn, case, "supplementary_investigation"))  # round limit
        pass_gate(conn, gate, stage_zero, case, "closed")
        gate.advance(conn, case, "archived")
        decisions.append(gate.check(conn, case, "closed"))  # closed
        gate.assign(conn, "C-2", "p1", role="handler")
        gate.file(conn, stage_zero("p1", "C-2", "accept"))
        decisions.append(gate.check(conn, "C-2", "prosecution_review"))  # all filed

    seen = {b.code for d in decisions for b in d.blockers} | {
        n.code for d in decisions for n in d.notes
    }
    assert seen == set(BlockerCode) | set(NoteCode)
    for decision in decisions:
        for item in (*decision.blockers, *decision.notes):
            zh, en = item.message("zh_CN"), item.message("en")
            assert CJK.search(zh), zh
            assert en.isascii(), en
            assert "{" not in zh + en
            assert zh != en


def test_zero_report_counts(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        filing = stage_zero("p1", case, "accept")
        assert filing.is_zero
        gate.file(conn, filing)
        decision = gate.advance(conn, case, "prosecution_review")

    assert decision.allowed


def test_report_with_records_counts(
    engine: sa.Engine, gate: StageGate, case: str, filer: MakeFiler, lawyer_contact: Record
) -> None:
    report = Filing(filer("p1"), StageObligation(case, "accept"), records=(lawyer_contact,))
    with engine.begin() as conn:
        gate.file(conn, report)
        decision = gate.advance(conn, case, "prosecution_review")

    assert not report.is_zero
    assert decision.allowed


# --- rounds and visits -----------------------------------------------------


def test_revisited_stage_needs_new_filings(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        gate.file(conn, stage_zero("p1", case, "prosecution_review", 1))
        gate.advance(conn, case, "supplementary_investigation")
        back = gate.advance(conn, case, "prosecution_review")
        again = gate.check(conn, case, "indictment")
        with pytest.raises(WrongStageError):
            gate.file(conn, stage_zero("p1", case, "prosecution_review", 1))
        gate.file(conn, stage_zero("p1", case, "prosecution_review", 2))
        filed = gate.check(conn, case, "indictment")
        history = gate.history(conn, case)

    assert back.to_round == 2
    assert again.from_round == 2
    assert again.blockers == (
        Blocker(
            BlockerCode.MISSING_FILING,
            {"person": "p1", "role": "handler", "stage": "prosecution_review", "round": 2},
        ),
    )
    assert filed.allowed
    assert history == [
        (1, "accept", 1),
        (2, "prosecution_review", 1),
        (3, "supplementary_investigation", 1),
        (4, "prosecution_review", 2),
    ]


def test_round_limit_enforced(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    assert POLICY.line("criminal").max_rounds["supplementary_investigation"] == 2
    with engine.begin() as conn:
        for to_stage in ("prosecution_review", "supplementary_investigation") * 2:
            pass_gate(conn, gate, stage_zero, case, to_stage)
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        gate.file(conn, stage_zero("p1", case, "prosecution_review", 3))
        checked = gate.check(conn, case, "supplementary_investigation")
        with pytest.raises(ForbiddenTransitionError) as raised:
            gate.advance(conn, case, "supplementary_investigation")
        state = gate.case(conn, case)
        onward = gate.check(conn, case, "indictment")

    limit = Blocker(
        BlockerCode.ROUND_LIMIT, {"to_stage": "supplementary_investigation", "limit": 2}
    )
    assert checked.blockers == (limit,)
    assert checked.to_round == 3
    assert raised.value.decision.blockers == (limit,)
    assert isinstance(raised.value, GateBlockedError)
    assert (state.stage, state.round) == ("prosecution_review", 3)
    assert onward.allowed


def test_unassigned_person_files_for_current_visit_only(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        gate.assign(conn, case, "p2", role="co_handler")
        gate.unassign(conn, case, "p2")
        both = gate.check(conn, case, "prosecution_review")
        gate.file(conn, stage_zero("p1", case, "accept"))
        with pytest.raises(GateBlockedError) as raised:
            gate.advance(conn, case, "prosecution_review")
        gate.file(conn, stage_zero("p2", case, "accept"))
        gate.advance(conn, case, "prosecution_review")
        next_visit = gate.check(conn, case, "indictment")
        with pytest.raises(NotOnCaseError):
            gate.file(conn, stage_zero("p2", case, "prosecution_review"))

    assert missing(both) == ["p1", "p2"]
    assert missing(raised.value.decision) == ["p2"]
    assert missing(next_visit) == ["p1"]


def test_person_on_case_for_two_visits(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    """Someone unassigned in the second visit files for the first and second only."""
    with engine.begin() as conn:
        gate.assign(conn, case, "p2", role="assistant")
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        gate.unassign(conn, case, "p2", role="assistant")
        second = gate.check(conn, case, "indictment")
        pass_gate(conn, gate, stage_zero, case, "indictment")
        third = gate.check(conn, case, "trial_support")

    assert missing(second) == ["p1", "p2"]
    assert missing(third) == ["p1"]


def test_reassigned_person_files_once(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        gate.assign(conn, case, "p2", role="clerk")
        gate.unassign(conn, case, "p2")
        gate.assign(conn, case, "p2", role="assistant")
        gate.file(conn, stage_zero("p1", case, "accept"))
        before = gate.check(conn, case, "prosecution_review")
        gate.file(conn, stage_zero("p2", case, "accept"))
        after = gate.check(conn, case, "prosecution_review")

    assert missing(before) == ["p2"]
    assert before.blockers[0].params["role"] == "assistant"
    assert after.allowed


# --- who must file ---------------------------------------------------------


def handler_only_policy() -> TomlPolicy:
    """Return the default policy with only handlers filing at acceptance."""
    text = resources.files("threeregs.policy").joinpath("default.toml").read_text("utf-8")
    text = text.replace('version = "2026.1"', 'version = "test-handlers"')
    text = text.replace(
        "[lines.criminal.stage_filers]\n", '[lines.criminal.stage_filers]\naccept = ["handler"]\n'
    )
    policy = TomlPolicy.from_text(text)
    assert policy.line("criminal").roles_that_file("accept") == frozenset({"handler"})
    return policy


def test_role_not_listed_does_not_block(
    engine: sa.Engine,
    gate: StageGate,
    small_directory: Directory,
    stage_zero: MakeStageReport,
) -> None:
    narrow = StageGate(anchor=gate.anchor, directory=small_directory, policy=handler_only_policy())
    with engine.begin() as conn:
        narrow.open_case(conn, CASE, business_line="criminal", office_code=OFFICE)
        narrow.assign(conn, CASE, "p1", role="handler")
        narrow.assign(conn, CASE, "p9", role="clerk")
        blocked = narrow.check(conn, CASE, "prosecution_review")
        narrow.file(conn, stage_zero("p1", CASE, "accept"))
        decision = narrow.advance(conn, CASE, "prosecution_review")

    assert missing(blocked) == ["p1"]
    assert decision.allowed
    assert decision.inputs["required_roles"] == ["handler"]
    assert decision.policy_version == "test-handlers"


def test_no_filer_assigned(engine: sa.Engine, gate: StageGate, small_directory: Directory) -> None:
    narrow = StageGate(anchor=gate.anchor, directory=small_directory, policy=handler_only_policy())
    with engine.begin() as conn:
        gate.open_case(conn, "C-empty", business_line="criminal", office_code=OFFICE)
        nobody = gate.check(conn, "C-empty", "prosecution_review")
        with pytest.raises(GateBlockedError):
            gate.advance(conn, "C-empty", "prosecution_review")
        narrow.open_case(conn, "C-clerk", business_line="criminal", office_code=OFFICE)
        narrow.assign(conn, "C-clerk", "p9", role="clerk")
        clerk_only = narrow.check(conn, "C-clerk", "prosecution_review")

    assert nobody.blockers == (Blocker(BlockerCode.NO_FILER_ASSIGNED, {"stage": "accept"}),)
    assert "受理" in nobody.blockers[0].message("zh_CN")
    assert clerk_only.blockers == (Blocker(BlockerCode.NO_FILER_ASSIGNED, {"stage": "accept"}),)


def test_stage_without_filing_rule_explains_itself(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    assert POLICY.line("criminal").roles_that_file("supplementary_investigation") == frozenset()
    with engine.begin() as conn:
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        pass_gate(conn, gate, stage_zero, case, "supplementary_investigation")
        decision = gate.check(conn, case, "prosecution_review")

    assert decision.allowed
    assert decision.notes == (
        Note(
            NoteCode.NO_FILING_RULE,
            {"stage": "supplementary_investigation", "policy": POLICY.version},
        ),
    )
    zh, en = decision.messages("zh_CN")[0], decision.messages("en")[0]
    assert "退回补充侦查" in zh
    assert POLICY.version in zh
    assert "Return for supplementary investigation" in en
    assert POLICY.version in en


# --- closing -----------------------------------------------------------------


def test_close_archive_then_closed(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        gate.file(conn, stage_zero("p1", case, "accept"))
        closing = gate.close(conn, case)
        in_closed_stage = gate.case(conn, case)
        archiving = gate.advance(conn, case, "archived")
        archived = gate.case(conn, case)
        refused = gate.check(conn, case, "closed")

    # The closing stage still leads to archiving, so only the archived case is closed.
    assert closing.to_stage == "closed"
    assert (in_closed_stage.stage, in_closed_stage.closed) == ("closed", False)
    assert archiving.allowed
    assert (archived.stage, archived.closed) == ("archived", True)
    assert BlockerCode.CASE_CLOSED in codes(refused)

    with engine.begin() as conn:
        with pytest.raises(CaseClosedError):
            gate.advance(conn, case, "closed")
        with pytest.raises(CaseClosedError):
            gate.close(conn, case)
        with pytest.raises(CaseClosedError):
            gate.assign(conn, case, "p2", role="clerk")
        with pytest.raises(CaseClosedError):
            gate.unassign(conn, case, "p1")
        with pytest.raises(CaseClosedError):
            gate.file(conn, stage_zero("p1", case, "archived"))


def test_close_needs_filings_and_an_allowed_move(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        with pytest.raises(GateBlockedError) as blocked:
            gate.close(conn, case)
        pass_gate(conn, gate, stage_zero, case, "prosecution_review")
        pass_gate(conn, gate, stage_zero, case, "supplementary_investigation")
        with pytest.raises(ForbiddenTransitionError):
            gate.close(conn, case)

    assert missing(blocked.value.decision) == ["p1"]


# --- decisions -----------------------------------------------------------------


def test_decisions_recorded(
    engine: sa.Engine, gate: StageGate, case: str, stage_zero: MakeStageReport
) -> None:
    with engine.begin() as conn:
        with pytest.raises(GateBlockedError):
            gate.advance(conn, case, "prosecution_review")
        gate.file(conn, stage_zero("p1", case, "accept"))
        gate.advance(conn, case, "prosecution_review")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table("decisions")).order_by(table("decisions").c.id)).all()

    assert [(r.case_id, r.from_stage, r.to_stage, bool(r.allowed)) for r in rows] == [
        (case, "accept", "prosecution_review", False),
        (case, "accept", "prosecution_review", True),
    ]
    assert {r.policy_version for r in rows} == {POLICY.version}
    assert {r.policy_hash for r in rows} == {POLICY.content_hash}
    assert json.loads(rows[0].blockers) == [
        {
            "code": "missing_filing",
            "person": "p1",
            "role": "handler",
            "stage": "accept",
            "round": 1,
        }
    ]
    assert json.loads(rows[1].blockers) == []
    inputs = json.loads(rows[1].inputs)
    assert inputs["assigned"] == {"p1": ["handler"]}
    assert inputs["filed"] == ["p1"]
    assert inputs["visit"] == 1


def test_check_records_nothing(engine: sa.Engine, gate: StageGate, case: str) -> None:
    with engine.begin() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(table("decisions")))
        count = before.scalar_one()
        gate.check(conn, case, "prosecution_review")
        after = conn.execute(sa.select(sa.func.count()).select_from(table("decisions")))

    assert after.scalar_one() == count == 0


# --- anytime records and monthly returns ---------------------------------------


def test_anytime_record_leaves_gate_alone(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    lawyer_contact: Record,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    with engine.begin() as conn:
        before = row_counts(conn)
        version = gate.case(conn, case).version
        receipt = gate.file(conn, Filing(filer("p1"), None, records=(lawyer_contact,)))
        stranger = gate.file(conn, Filing(filer("p77"), None, records=(lawyer_contact,)))
        after = row_counts(conn)
        decision = gate.check(conn, case, "prosecution_review")
        state = gate.case(conn, case)

    assert receipt.filing_id != stranger.filing_id
    assert after["threeregs_envelopes"] == before["threeregs_envelopes"] + 2
    assert {k: v for k, v in after.items() if k != "threeregs_envelopes"} == {
        k: v for k, v in before.items() if k != "threeregs_envelopes"
    }
    assert state.version == version
    assert missing(decision) == ["p1"]


def test_anytime_record_needs_a_record(
    engine: sa.Engine,
    gate: StageGate,
    filer: MakeFiler,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(ValidationError) as raised:
            gate.file(conn, Filing.zero(filer("p1"), None))
        after = row_counts(conn)

    assert raised.value.field == "records"
    assert after == before


def test_monthly_return(
    engine: sa.Engine,
    gate: StageGate,
    filer: MakeFiler,
    lawyer_contact: Record,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    month = MonthlyObligation("2026-10")
    first = Filing.zero(filer("p1"), month)
    with engine.begin() as conn:
        receipt = gate.file(conn, first)
        other_person = gate.file(conn, Filing.zero(filer("p2"), month))
        next_month = gate.file(conn, Filing.zero(filer("p1"), MonthlyObligation("2026-11")))
        before = row_counts(conn)
        with pytest.raises(DuplicateFilingError):
            gate.file(conn, Filing.zero(filer("p1"), month))
        assert row_counts(conn) == before
        amended = gate.file(
            conn,
            Filing(filer("p1"), month, records=(lawyer_contact,), supersedes=first.filing_id),
        )
        after = row_counts(conn)

    assert len({receipt.filing_id, other_person.filing_id, next_month.filing_id}) == 3
    assert amended.filing_id != receipt.filing_id
    assert after["threeregs_monthly_returns"] == before["threeregs_monthly_returns"] == 3
    assert after["threeregs_envelopes"] == before["threeregs_envelopes"] + 1


def test_stage_amendment(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    stage_zero: MakeStageReport,
    lawyer_contact: Record,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    first = stage_zero("p1", case, "accept")
    with engine.begin() as conn:
        gate.file(conn, first)
        before = row_counts(conn)
        amended = gate.file(
            conn,
            Filing(
                filer("p1"),
                StageObligation(case, "accept"),
                records=(lawyer_contact,),
                supersedes=first.filing_id,
            ),
        )
        after = row_counts(conn)

    assert amended.filing_id != first.filing_id
    assert after["threeregs_stage_filings"] == before["threeregs_stage_filings"] == 1
    assert after["threeregs_envelopes"] == before["threeregs_envelopes"] + 1


def test_amendment_of_nothing_filed(
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    stage_zero: MakeStageReport,
) -> None:
    """An amendment needs an earlier filing for the same obligation by the same person."""
    earlier = Filing.zero(filer("p1"), MonthlyObligation("2026-09"))
    with engine.begin() as conn:
        receipt = gate.file(conn, earlier)
        with pytest.raises(UnknownFilingError):
            gate.file(
                conn,
                Filing.zero(
                    filer("p1"), StageObligation(case, "accept"), supersedes=earlier.filing_id
                ),
            )
        with pytest.raises(UnknownFilingError):
            gate.file(
                conn,
                Filing.zero(
                    filer("p1"), MonthlyObligation("2026-08"), supersedes=earlier.filing_id
                ),
            )

    assert receipt.filing_id == earlier.filing_id


# --- idempotence -----------------------------------------------------------------


def test_refile_returns_same_receipt(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    stage_zero: MakeStageReport,
    lawyer_contact: Record,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    filings = [
        stage_zero("p1", case, "accept"),
        Filing.zero(filer("p1"), MonthlyObligation("2026-10")),
        Filing(filer("p1"), None, records=(lawyer_contact,)),
    ]
    with engine.begin() as conn:
        first = [gate.file(conn, filing) for filing in filings]
        before = row_counts(conn)
        again = [gate.file(conn, filing) for filing in filings]
        after = row_counts(conn)
    with engine.begin() as conn:
        gate.advance(conn, case, "prosecution_review")
        later = [gate.file(conn, filing) for filing in filings]

    assert again == first
    assert later == first
    assert after == before
    assert [r.filing_id for r in first] == [f.filing_id for f in filings]


def test_refile_keeps_routing_notices(
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    leader = attrs.evolve(
        lawyer_contact,
        provision="P2",
        conduct="inquiry",
        intervener=attrs.evolve(
            lawyer_contact.intervener,
            role="internal_personnel",
            procuratorate_staff=True,
            own_office_leader=True,
        ),
    )
    report = Filing(filer("p1"), StageObligation(case, "accept"), records=(leader,))
    with engine.begin() as conn:
        first = gate.file(conn, report)
        again = gate.file(conn, report)

    assert first.notices == ("direct_report_suggested:own_office_leader",)
    assert again == first


# --- the host's transaction --------------------------------------------------------


def run_case(conn: sa.Connection | Session, gate: StageGate, make: MakeStageReport) -> Receipt:
    gate.open_case(conn, "C-9", business_line="criminal", office_code=OFFICE)
    gate.assign(conn, "C-9", "p1", role="handler")
    receipt = gate.file(conn, make("p1", "C-9", "accept"))
    gate.advance(conn, "C-9", "prosecution_review")
    return receipt


def test_session_works_like_connection(
    engine: sa.Engine, gate: StageGate, stage_zero: MakeStageReport
) -> None:
    with Session(engine) as session, session.begin():
        receipt = run_case(session, gate, stage_zero)
        decision = gate.check(session, "C-9", "indictment")
        history = gate.history(session, "C-9")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table("envelopes").c.filing_id)).scalars().all()
        state = gate.case(conn, "C-9")

    assert missing(decision) == ["p1"]
    assert history == [(1, "accept", 1), (2, "prosecution_review", 1)]
    assert stored == [receipt.filing_id]
    assert state.stage == "prosecution_review"


def test_connection_and_session_share_transaction(
    engine: sa.Engine, gate: StageGate, stage_zero: MakeStageReport
) -> None:
    """Statements through a session run in the session's own transaction."""
    with Session(engine) as session:
        session.begin()
        run_case(session, gate, stage_zero)
        seen = gate.case(session.connection(), "C-9")
        session.rollback()

    assert seen.stage == "prosecution_review"


def test_host_rollback_stores_nothing(
    engine: sa.Engine,
    gate: StageGate,
    stage_zero: MakeStageReport,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    with engine.connect() as conn:
        before = row_counts(conn)
        conn.rollback()

    with engine.connect() as conn:
        transaction = conn.begin()
        run_case(conn, gate, stage_zero)
        assert row_counts(conn) != before
        transaction.rollback()
    with Session(engine) as session:
        session.begin()
        run_case(session, gate, stage_zero)
        session.rollback()

    with engine.connect() as conn:
        assert row_counts(conn) == before


def test_library_never_ends_transaction(
    engine: sa.Engine, gate: StageGate, stage_zero: MakeStageReport
) -> None:
    ended: list[str] = []

    def on_commit(conn: sa.Connection) -> None:
        ended.append("commit")

    def on_rollback(conn: sa.Connection) -> None:
        ended.append("rollback")

    with engine.connect() as conn:
        conn.begin()
        sa.event.listen(conn, "commit", on_commit)
        sa.event.listen(conn, "rollback", on_rollback)
        run_case(conn, gate, stage_zero)
        with pytest.raises(GateBlockedError):
            gate.advance(conn, "C-9", "indictment")
        assert ended == []
        assert conn.in_transaction()
        conn.rollback()


def test_rejects_other_connection_types(gate: StageGate, engine: sa.Engine) -> None:
    with pytest.raises(ValidationError):
        gate.check(engine, CASE, "accept")  # type: ignore[arg-type]


# --- bad input -------------------------------------------------------------------


@attrs.frozen
class Scene:
    """What a bad-input case works with: C-1 at acceptance, p1 and p2 on it, p2 filed."""

    conn: sa.Connection
    gate: StageGate
    filer: MakeFiler
    stage_zero: MakeStageReport
    p2_filing: Filing
    p1_monthly: Filing


def _open(scene: Scene, case_id: str, **options: Any) -> None:
    options.setdefault("business_line", "criminal")
    scene.gate.open_case(scene.conn, case_id, office_code=OFFICE, **options)


def _file_zero(scene: Scene, person: str, stage: str, round_: int = 1, **kw: Any) -> None:
    obligation = StageObligation(CASE, stage, round_)
    scene.gate.file(scene.conn, Filing.zero(scene.filer(person, **kw), obligation))


BAD_INPUT: list[tuple[str, Callable[[Scene], object], type[ThreeregsError]]] = [
    ("check unknown case", lambda s: s.gate.check(s.conn, "C-404", "accept"), UnknownCaseError),
    (
        "advance unknown case",
        lambda s: s.gate.advance(s.conn, "C-404", "prosecution_review"),
        UnknownCaseError,
    ),
    (
        "assign unknown case",
        lambda s: s.gate.assign(s.conn, "C-404", "p1", role="handler"),
        UnknownCaseError,
    ),
    ("unassign unknown case", lambda s: s.gate.unassign(s.conn, "C-404", "p1"), UnknownCaseError),
    ("close unknown case", lambda s: s.gate.close(s.conn, "C-404"), UnknownCaseError),
    (
        "file unknown case",
        lambda s: s.gate.file(s.conn, s.stage_zero("p1", "C-404", "accept")),
        UnknownCaseError,
    ),
    ("check unknown stage", lambda s: s.gate.check(s.conn, CASE, "appeal"), UnknownStageError),
    ("advance unknown stage", lambda s: s.gate.advance(s.conn, CASE, "appeal"), UnknownStageError),
    ("open at unknown stage", lambda s: _open(s, "C-2", stage="appeal"), UnknownStageError),
    ("open unknown line", lambda s: _open(s, "C-2", business_line="tax"), PolicyError),
    ("open twice", lambda s: _open(s, CASE), CaseExistsError),
    ("open invalid id", lambda s: _open(s, "C 2"), ValidationError),
    (
        "open at unknown office",
        lambda s: s.gate.open_case(s.conn, "C-2", business_line="criminal", office_code="999999"),
        UnknownOfficeError,
    ),
    (
        "assign unknown role",
        lambda s: s.gate.assign(s.conn, CASE, "p3", role="judge"),
        ValidationError,
    ),
    (
        "assign invalid person",
        lambda s: s.gate.assign(s.conn, CASE, "p 3", role="clerk"),
        ValidationError,
    ),
    ("unassign stranger", lambda s: s.gate.unassign(s.conn, CASE, "p9"), NotOnCaseError),
    (
        "unassign wrong role",
        lambda s: s.gate.unassign(s.conn, CASE, "p1", role="clerk"),
        NotOnCaseError,
    ),
    (
        "file for another stage",
        lambda s: _file_zero(s, "p1", "prosecution_review"),
        WrongStageError,
    ),
    ("file for another round", lambda s: _file_zero(s, "p1", "accept", 2), WrongStageError),
    ("file for unknown stage", lambda s: _file_zero(s, "p1", "acept"), UnknownStageError),
    ("file twice", lambda s: _file_zero(s, "p2", "accept"), DuplicateFilingError),
    ("file when not on case", lambda s: _file_zero(s, "p9", "accept"), NotOnCaseError),
    (
        "file from unknown office",
        lambda s: _file_zero(s, "p1", "accept", office_code="999999"),
        UnknownOfficeError,
    ),
    (
        "monthly return twice",
        lambda s: s.gate.file(s.conn, Filing.zero(s.filer("p1"), s.p1_monthly.obligation)),
        DuplicateFilingError,
    ),
    (
        "supersede unknown stage filing",
        lambda s: s.gate.file(
            s.conn,
            Filing.zero(s.filer("p2"), StageObligation(CASE, "accept"), supersedes="0" * 32),
        ),
        UnknownFilingError,
    ),
    (
        "supersede unknown monthly return",
        lambda s: s.gate.file(
            s.conn,
            Filing.zero(s.filer("p1"), s.p1_monthly.obligation, supersedes="0" * 32),
        ),
        UnknownFilingError,
    ),
    (
        "file without anchor",
        lambda s: StageGate(directory=s.gate.directory(s.conn)).file(
            s.conn, s.stage_zero("p1", CASE, "accept")
        ),
        ValidationError,
    ),
]


@pytest.mark.parametrize(
    ("action", "error"),
    [pytest.param(action, error, id=name) for name, action, error in BAD_INPUT],
)
def test_bad_input_writes_nothing(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    filer: MakeFiler,
    stage_zero: MakeStageReport,
    row_counts: Callable[[sa.Connection], dict[str, int]],
    action: Callable[[Scene], object],
    error: type[ThreeregsError],
) -> None:
    p2_filing = stage_zero("p2", case, "accept")
    p1_monthly = Filing.zero(filer("p1"), MonthlyObligation("2026-10"))
    with engine.begin() as conn:
        gate.assign(conn, case, "p2", role="co_handler")
        gate.file(conn, p2_filing)
        gate.file(conn, p1_monthly)

    with engine.begin() as conn:
        scene = Scene(conn, gate, filer, stage_zero, p2_filing, p1_monthly)
        before = row_counts(conn)
        state = gate.case(conn, case)
        with pytest.raises(error) as raised:
            action(scene)
        after = row_counts(conn)
        state_after = gate.case(conn, case)

    assert isinstance(raised.value, ThreeregsError)
    assert str(raised.value)
    assert after == before
    assert attrs.evolve(state_after, version=state.version) == state


def test_forbidden_jump_records_only_decision(
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    row_counts: Callable[[sa.Connection], dict[str, int]],
) -> None:
    with engine.begin() as conn:
        before = row_counts(conn)
        with pytest.raises(ForbiddenTransitionError) as raised:
            gate.advance(conn, case, "indictment")
        after = row_counts(conn)
        state = gate.case(conn, case)

    assert codes(raised.value.decision) == [
        BlockerCode.TRANSITION_NOT_ALLOWED,
        BlockerCode.MISSING_FILING,
    ]
    assert after == {**before, "threeregs_decisions": before["threeregs_decisions"] + 1}
    assert (state.stage, state.visit) == ("accept", 1)


def test_duplicate_with_same_id_returns_receipt(
    engine: sa.Engine,
    gate: StageGate,
    case: str,
    stage_zero: MakeStageReport,
) -> None:
    first = stage_zero("p1", case, "accept")
    with engine.begin() as conn:
        receipt = gate.file(conn, first)
        with pytest.raises(DuplicateFilingError) as raised:
            gate.file(conn, stage_zero("p1", case, "accept"))
        again = gate.file(conn, first)

    assert again == receipt
    assert "supersedes" in str(raised.value)
