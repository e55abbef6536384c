"""Monthly returns: the records they carry over, and who is overdue."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from threeregs import (
    Filer,
    Filing,
    Intervener,
    Level,
    MonthlyObligation,
    Record,
    StageGate,
    StageObligation,
    ValidationError,
)
from threeregs.policy import default_policy
from threeregs.stats import (
    CHINA_STANDARD_TIME,
    MonthlyIndexRow,
    ReturnState,
    monthly_return_records,
    overdue_returns,
    read_monthly_index,
)

P1 = Filer("p1", "330106", "prosecutor")
P2 = Filer("p2", "330106", "clerk")
MID_MAY = dt.datetime(2022, 5, 15, 9, tzinfo=CHINA_STANDARD_TIME)


def _record(content: str, at: dt.datetime = MID_MAY) -> Record:
    return Record(
        "P1",
        "inquiry",
        "routine_inquiry",
        Intervener("赵六", "某局", "局长", "leading_cadre"),
        at - dt.timedelta(days=1),
        "phone",
        content,
    )


def _filing(filer: Filer, *records: Record, at: dt.datetime = MID_MAY, **options: object) -> Filing:
    obligation = options.pop("obligation", StageObligation("C-1", "accept"))
    return Filing(filer, obligation, records=records, filed_at=at, **options)  # type: ignore[arg-type]


def test_records_of_the_month_carried_over() -> None:
    first, second, third = _record("一"), _record("二"), _record("三")
    filings = [
        _filing(P1, second, at=MID_MAY + dt.timedelta(days=2)),
        _filing(P1, first, obligation=None),
        _filing(
            P1,
            third,
            at=MID_MAY + dt.timedelta(days=3),
            obligation=StageObligation("C-2", "accept"),
        ),
    ]

    records = monthly_return_records(filings, person_id="p1", month="2022-05")

    assert records == (first, second, third)


def test_other_filings_left_out() -> None:
    kept = _record("本人本月")
    june = dt.datetime(2022, 6, 1, 0, 30, tzinfo=CHINA_STANDARD_TIME)
    filings = [
        _filing(P1, kept),
        _filing(P2, _record("他人")),
        _filing(P1, _record("下月", june), at=june),
        _filing(P1, _record("直报"), obligation=None, direct_to=Level.PROVINCIAL),
        _filing(P1, _record("月报"), obligation=MonthlyObligation("2022-05")),
    ]

    assert monthly_return_records(filings, person_id="p1", month="2022-05") == (kept,)


def test_month_taken_in_china_standard_time() -> None:
    # 16:30 UTC on 31 May is already 1 June in Beijing.
    late = dt.datetime(2022, 5, 31, 16, 30, tzinfo=dt.UTC)
    filing = _filing(P1, _record("跨月", late), at=late)

    assert monthly_return_records([filing], person_id="p1", month="2022-05") == ()
    assert len(monthly_return_records([filing], person_id="p1", month="2022-06")) == 1


def test_superseded_and_repeated_records() -> None:
    old, new = _record("旧"), _record("新")
    first = _filing(P1, old)
    amendment = _filing(P1, new, supersedes=first.filing_id, at=MID_MAY + dt.timedelta(hours=1))
    repeat = _filing(P1, new, obligation=None, at=MID_MAY + dt.timedelta(hours=2))

    records = monthly_return_records([first, amendment, repeat], person_id="p1", month="2022-05")

    assert records == (new,)


def test_nothing_to_carry_means_zero_return() -> None:
    records = monthly_return_records([], person_id="p1", month="2022-05")

    assert records == ()
    assert Filing(P1, MonthlyObligation("2022-05"), records=records).is_zero


def test_invalid_month_rejected() -> None:
    with pytest.raises(ValidationError):
        monthly_return_records([], person_id="p1", month="2022-5")


# --- overdue -------------------------------------------------------------

ROSTER = [("p1", "330106"), ("p2", "330106"), ("p3", "330108"), ("p4", "110105")]
DUE = default_policy().monthly_due("2022-05")
DEADLINE = dt.datetime.combine(DUE + dt.timedelta(days=1), dt.time(), tzinfo=CHINA_STANDARD_TIME)


def _row(person: str, office: str, at: dt.datetime, month: str = "2022-05") -> MonthlyIndexRow:
    return MonthlyIndexRow(person, month, office, at)


def test_overdue_lists_missing_and_late() -> None:
    rows = [
        _row("p1", "330106", DEADLINE - dt.timedelta(minutes=1)),
        _row("p2", "330106", DEADLINE + dt.timedelta(hours=1)),
        _row("p3", "330108", DEADLINE - dt.timedelta(days=20), month="2022-04"),
    ]

    overdue = overdue_returns(
        ROSTER,
        rows,
        month="2022-05",
        policy=default_policy(),
        as_of=DEADLINE + dt.timedelta(days=1),
    )

    assert [(o.person_id, o.office_code, o.state) for o in overdue] == [
        ("p4", "110105", ReturnState.MISSING),
        ("p2", "330106", ReturnState.LATE),
        ("p3", "330108", ReturnState.MISSING),
    ]
    assert overdue[1].filed_at == DEADLINE + dt.timedelta(hours=1)
    assert all(o.due == DUE for o in overdue)


def test_nobody_missing_before_due_date() -> None:
    overdue = overdue_returns(
        ROSTER,
        [],
        month="2022-05",
        policy=default_policy(),
        as_of=DEADLINE - dt.timedelta(seconds=1),
    )

    assert overdue == ()


def test_due_date_from_policy() -> None:
    assert dt.date(2022, 6, 5) == DUE


def test_plain_rows_accepted() -> None:
    rows = [("p1", "2022-05", "330106", DEADLINE - dt.timedelta(days=1))]

    overdue = overdue_returns(
        ROSTER[:1], rows, month="2022-05", policy=default_policy(), as_of=DEADLINE
    )

    assert overdue == ()


@pytest.mark.parametrize("row", [("p1", "2022-05"), ("p1", "2022-05", "330106", "yesterday")])
def test_malformed_rows_rejected(row: tuple[object, ...]) -> None:
    with pytest.raises(ValidationError, match=r"returns\[0\]"):
        overdue_returns(ROSTER, [row], month="2022-05", policy=default_policy(), as_of=DEADLINE)  # type: ignore[list-item]


def test_naive_time_rejected() -> None:
    naive = dt.datetime(2022, 7, 1)  # noqa: DTZ001 - the invalid input under test

    with pytest.raises(ValidationError, match="as_of"):
        overdue_returns(ROSTER, [], month="2022-05", policy=default_policy(), as_of=naive)


def test_overdue_from_host_index(engine: sa.Engine, gate: StageGate) -> None:
    now = dt.datetime.now(dt.UTC)
    month = f"{now.year:04d}-{now.month:02d}"
    with engine.begin() as conn:
        gate.file(conn, Filing.zero(P1, MonthlyObligation(month)))
        gate.file(conn, Filing.zero(Filer("p3", "330108", "clerk"), MonthlyObligation(month)))

    with engine.connect() as conn:
        rows = list(read_monthly_index(conn, month))
    far_future = now + dt.timedelta(days=400)
    overdue = overdue_returns(ROSTER, rows, month=month, policy=gate.policy, as_of=far_future)

    assert {row.person_id for row in rows} == {"p1", "p3"}
    assert [o.person_id for o in overdue] == ["p4", "p2"]
    assert all(o.state is ReturnState.MISSING for o in overdue)
