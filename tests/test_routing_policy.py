"""Routing of filings: own office, direct reports and the escalation rules."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import assume, given
from hypothesis import strategies as st

from threeregs import (
    Bucket,
    Conduct,
    Filer,
    Filing,
    Inbox,
    Intervener,
    IntervenerRole,
    InvalidRouteError,
    Level,
    Manner,
    Outcome,
    Provision,
    Record,
    StaffKind,
    StageGate,
    UnknownOfficeError,
    ValidationError,
)
from threeregs.policy import TomlPolicy, default_policy
from threeregs.store import metadata

if TYPE_CHECKING:
    from conftest import MakeFiler
    from threeregs.crypto import MemoryKeyStore
    from threeregs.routing import Directory

envelopes = metadata.tables["threeregs_envelopes"]
LEADER = "direct_report_suggested:own_office_leader"


def stored_envelopes(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(envelopes)).scalar_one())


def internal_inquiry(*, leader: bool = False, inspection: bool = False) -> Record:
    """Return a record of an inquiry about a case by a member of the filer's own office."""
    return Record(
        provision=Provision.P2,
        conduct=Conduct.INQUIRY,
        bucket=Bucket.ROUTINE_INQUIRY,
        intervener=Intervener(
            "李明",
            "杭州市西湖区人民检察院",
            "副检察长" if leader else "检务督察部检察官",
            IntervenerRole.INTERNAL_PERSONNEL,
            procuratorate_staff=True,
            own_office_leader=leader,
            own_office_inspection=inspection,
        ),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        manner=Manner.IN_PERSON,
        content="询问案件办理情况",
    )


def opens_at(engine: sa.Engine, keystore: MemoryKeyStore, filing_id: str) -> list[str]:
    """Return the offices of the 330106 chain whose inbox opens *filing_id*."""
    offices = []
    with engine.begin() as conn:
        for office in ("330106", "330100", "330000", "000000"):
            item = Inbox(office, keystore, reader="inspector-1").open(conn, filing_id)
            if item.outcome is Outcome.OPENED:
                offices.append(office)
    return offices


def policy_with(**rules: str) -> TomlPolicy:
    """Return the default policy with other actions for the escalation rules."""
    text = resources.files("threeregs.policy").joinpath("default.toml").read_text("utf-8")
    text = text.replace('version = "2026.1"', 'version = "test-routing"')
    for rule, action in rules.items():
        start = text.index(f"{rule} = ")
        end = text.index("\n", start)
        text = text[:start] + f'{rule} = "{action}"' + text[end:]
    return TomlPolicy.from_text(text)


# --- direct reports ----------------------------------------------------------------


def test_direct_report_outside_chain_rejected(
    engine: sa.Engine, gate: StageGate, filer: MakeFiler, lawyer_contact: Record
) -> None:
    # 110105 sits directly under the provincial office: its chain has no municipal level.
    report = Filing(
        filer("p1", office_code="110105"),
        None,
        records=(lawyer_contact,),
        direct_to=Level.MUNICIPAL,
    )
    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(InvalidRouteError) as raised:
            gate.file(conn, report)
        after = stored_envelopes(conn)

    assert after == before
    message = str(raised.value)
    assert "municipal" in message
    assert "110105" in message
    assert "provincial, supreme" in message


@pytest.mark.parametrize("level", [Level.BASIC, "basic"])
def test_direct_report_to_basic_level_invalid(
    filer: MakeFiler, lawyer_contact: Record, level: Level | str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Filing(filer("p1"), None, records=(lawyer_contact,), direct_to=level)

    assert raised.value.field == "direct_to"


def test_direct_report_level_by_name(filer: MakeFiler, lawyer_contact: Record) -> None:
    report = Filing(filer("p1"), None, records=(lawyer_contact,), direct_to="provincial")

    assert report.direct_to is Level.PROVINCIAL


def test_direct_report_to_own_level_rejected(
    engine: sa.Engine, gate: StageGate, keystore: MemoryKeyStore, filer: MakeFiler
) -> None:
    # The inspection department of the municipal office intervened, so the default
    # policy requires a direct report. Naming the municipal level must not send
    # the filing back to that same department.
    report = Filing(
        filer("p1", office_code="330100"),
        None,
        records=(internal_inquiry(inspection=True),),
        direct_to=Level.MUNICIPAL,
    )
    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(InvalidRouteError):
            gate.file(conn, report)
        after = stored_envelopes(conn)

    assert after == before


# --- escalation rules of the default policy -----------------------------------------


def test_leader_suggests_direct_report(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    record = internal_inquiry(leader=True)
    with engine.begin() as conn:
        receipt = gate.file(conn, Filing(filer("p1"), None, records=(record,)))

    assert LEADER in receipt.notices
    assert opens_at(engine, keystore, receipt.filing_id) == ["330106"]


def test_leader_direct_report_has_no_notice(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    record = internal_inquiry(leader=True)
    report = Filing(filer("p1"), None, records=(record,), direct_to=Level.PROVINCIAL)
    with engine.begin() as conn:
        receipt = gate.file(conn, report)

    assert receipt.notices == ()
    assert opens_at(engine, keystore, receipt.filing_id) == ["330000"]


def test_ordinary_record_has_no_notice(
    engine: sa.Engine, gate: StageGate, filer: MakeFiler, lawyer_contact: Record
) -> None:
    with engine.begin() as conn:
        receipt = gate.file(conn, Filing(filer("p1"), None, records=(lawyer_contact,)))

    assert receipt.notices == ()


def test_inspection_requires_direct_report(
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    record = internal_inquiry(inspection=True)
    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(InvalidRouteError) as raised:
            gate.file(conn, Filing(filer("p1"), None, records=(record,)))
        after = stored_envelopes(conn)
        receipt = gate.file(
            conn, Filing(filer("p1"), None, records=(record,), direct_to=Level.MUNICIPAL)
        )

    assert after == before
    assert "direct_to" in str(raised.value)
    assert opens_at(engine, keystore, receipt.filing_id) == ["330100"]


def test_custom_policy_requires_leader_direct_report(  # noqa: PLR0917 - one parameter per fixture
    engine: sa.Engine,
    gate: StageGate,
    keystore: MemoryKeyStore,
    small_directory: Directory,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    policy = policy_with(own_office_leader="require", own_office_inspection="off")
    strict = StageGate(anchor=gate.anchor, directory=small_directory, policy=policy)
    leader = internal_inquiry(leader=True)
    inspection = internal_inquiry(inspection=True)

    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(InvalidRouteError):
            strict.file(conn, Filing(filer("p1"), None, records=(leader,)))
        after = stored_envelopes(conn)
        direct = strict.file(
            conn, Filing(filer("p1"), None, records=(leader,), direct_to=Level.SUPREME)
        )
        unchecked = strict.file(conn, Filing(filer("p1"), None, records=(inspection,)))

    assert (policy.own_office_leader, policy.own_office_inspection) == ("require", "off")
    assert after == before
    assert direct.notices == ()
    assert unchecked.notices == ()
    assert opens_at(engine, keystore, direct.filing_id) == ["000000"]
    assert opens_at(engine, keystore, unchecked.filing_id) == ["330106"]


def test_routing_rules_off_give_no_notice(
    engine: sa.Engine,
    gate: StageGate,
    small_directory: Directory,
    filer: MakeFiler,
    lawyer_contact: Record,
) -> None:
    quiet = StageGate(
        anchor=gate.anchor,
        directory=small_directory,
        policy=policy_with(own_office_leader="off", own_office_inspection="off"),
    )
    record = internal_inquiry(leader=True, inspection=True)
    with engine.begin() as conn:
        receipt = quiet.file(conn, Filing(filer("p1"), None, records=(record,)))

    assert receipt.notices == ()


# --- filings the gate rejects before routing --------------------------------------------


def test_anytime_record_without_records_rejected(
    engine: sa.Engine, gate: StageGate, filer: MakeFiler
) -> None:
    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(ValidationError) as raised:
            gate.file(conn, Filing.zero(filer("p1"), None))
        after = stored_envelopes(conn)

    assert raised.value.field == "records"
    assert after == before


def test_filer_office_not_in_directory(
    engine: sa.Engine, gate: StageGate, filer: MakeFiler, lawyer_contact: Record
) -> None:
    report = Filing(filer("p1", office_code="999999"), None, records=(lawyer_contact,))
    with engine.begin() as conn:
        before = stored_envelopes(conn)
        with pytest.raises(UnknownOfficeError) as raised:
            gate.file(conn, report)
        after = stored_envelopes(conn)

    assert "999999" in str(raised.value)
    assert after == before


# --- the routing rule as an invariant --------------------------------------------------


@given(
    office=st.sampled_from(["000000", "330000", "330100", "330106", "330108", "110000", "110105"]),
    direct_to=st.sampled_from([None, Level.MUNICIPAL, Level.PROVINCIAL, Level.SUPREME]),
    leader=st.booleans(),
    inspection=st.booleans(),
)
def test_route_picks_one_office_of_chain(
    small_directory: Directory,
    office: str,
    direct_to: Level | None,
    leader: bool,
    inspection: bool,
) -> None:
    record = internal_inquiry(leader=leader, inspection=inspection)
    filer = Filer("p1", office, StaffKind.PROSECUTOR)
    filing = Filing(filer, None, records=(record,), direct_to=direct_to)
    chain = small_directory.chain(office)
    # A direct report to the filer's own level is covered by its own test below.
    assume(direct_to != chain[0].level)
    above = {o.level: o.code for o in chain[1:]}
    policy = default_policy()

    if direct_to is None and inspection and len(chain) > 1:
        with pytest.raises(InvalidRouteError):
            policy.route(filing, chain)
        return
    if direct_to is not None and direct_to not in above:
        with pytest.raises(InvalidRouteError):
            policy.route(filing, chain)
        return

    route = policy.route(filing, chain)
    expected = chain[0].code if direct_to is None else above[direct_to]
    assert route.recipients == frozenset({expected})
    # The supreme office has nobody above it: a required direct report turns
    # into a notice, and none is suggested.
    if leader and direct_to is None and len(chain) > 1:
        assert LEADER in route.notices
    else:
        assert LEADER not in route.notices
    impossible = "direct_report_impossible:own_office_inspection"
    assert (impossible in route.notices) == (inspection and len(chain) == 1)
