"""The policy engine: the shipped default, policy files, and their errors."""

from __future__ import annotations

import contextlib
import datetime as dt
from importlib import resources
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import threeregs
from threeregs import InvalidPolicyError, UnknownStageError
from threeregs.policy import Policy, TomlPolicy, UnknownBusinessLineError, default_policy

if TYPE_CHECKING:
    from pathlib import Path

    import sqlalchemy as sa

DEFAULT_TEXT = resources.files("threeregs.policy").joinpath("default.toml").read_text("utf-8")


def test_default_policy_lines() -> None:
    policy = default_policy()

    assert set(policy.lines) == {"criminal", "civil_administrative", "public_interest"}
    assert policy.version == "2026.1"
    assert len(policy.content_hash) == 64
    assert policy.line("criminal").initial == "accept"
    assert policy.line("criminal").max_rounds["supplementary_investigation"] == 2
    assert policy.line("criminal").roles_that_file("supplementary_investigation") == frozenset()
    assert "handler" in policy.line("public_interest").roles_that_file("investigation")


def test_default_policy_deadlines() -> None:
    policy = default_policy()

    assert policy.unexpected_contact_days == 3
    assert policy.monthly_due("2026-11") == dt.date(2026, 12, 5)
    assert policy.monthly_due("2026-12") == dt.date(2027, 1, 5)


def test_unknown_line_and_stage() -> None:
    policy = default_policy()

    with pytest.raises(UnknownBusinessLineError, match="traffic"):
        policy.line("traffic")
    with pytest.raises(UnknownStageError, match="appeal"):
        policy.line("criminal").roles_that_file("appeal")


def test_policy_from_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT_TEXT.replace('version = "2026.1"', 'version = "host-7"'), "utf-8")

    policy = TomlPolicy.from_file(path)

    assert policy.version == "host-7"
    assert policy.content_hash != default_policy().content_hash
    assert policy.source == str(path)


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (("[policy]", "[policie]"), "policie", "unknown table"),
        (('version = "2026.1"', "version = 7"), "policy.version", "expected non-empty text"),
        (('initial = "accept"', 'initial = "welcome"'), "lines.criminal.welcome", "unknown stage"),
        (
            ("unexpected_contact_days = 3", "unexpected_contact_days = 0"),
            "deadlines.unexpected_contact_days",
            "from 1 to 365",
        ),
        (
            ('own_office_leader = "suggest"', 'own_office_leader = "maybe"'),
            "routing.own_office_leader",
            "expected one of",
        ),
        (
            ("closed = []\n", 'closed = ["judge"]\n'),
            "lines.criminal.stage_filers.closed",
            "unknown role",
        ),
        (
            ("supplementary_investigation = 2", "supplementary_investigation = 100"),
            "lines.criminal.max_rounds.supplementary_investigation",
            "from 1 to 99",
        ),
        (
            ('trial_support = ["closed"]', 'trial_support = ["trial_support"]'),
            "lines.criminal.transitions.trial_support",
            "cannot move to itself",
        ),
    ],
)
def test_invalid_policy_names_key(
    tmp_path: Path, change: tuple[str, str], key: str, reason: str
) -> None:
    path = tmp_path / "bad.toml"
    text = DEFAULT_TEXT.replace(*change, 1)
    assert text != DEFAULT_TEXT
    path.write_text(text, "utf-8")

    with pytest.raises(InvalidPolicyError) as raised:
        TomlPolicy.from_file(path)

    assert raised.value.source == str(path)
    assert raised.value.key == key
    assert reason in raised.value.reason
    assert str(path) in str(raised.value)


def test_unreachable_stage_rejected() -> None:
    text = DEFAULT_TEXT.replace(
        'accept = ["arrest_review", "prosecution_review", "closed"]',
        'accept = ["prosecution_review", "closed"]',
    )

    with pytest.raises(InvalidPolicyError, match="arrest_review"):
        TomlPolicy.from_text(text)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidPolicyError, match="cannot read"):
        TomlPolicy.from_file(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00not utf-8")
    with pytest.raises(InvalidPolicyError, match="UTF-8"):
        TomlPolicy.from_file(binary)
    with pytest.raises(InvalidPolicyError, match="not valid TOML"):
        TomlPolicy.from_text("[policy\nname = ")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_raises_only_policy_errors(text: str) -> None:
    with contextlib.suppress(InvalidPolicyError):
        TomlPolicy.from_text(text)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_default_raises_only_policy_errors(data: st.DataObject) -> None:
    lines = DEFAULT_TEXT.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    lines[index] = data.draw(st.text(max_size=60))
    with contextlib.suppress(InvalidPolicyError):
        TomlPolicy.from_text("\n".join(lines))


class OneStagePolicy:
    """A host's own policy written in Python, delegating to a parsed TOML policy."""

    def __init__(self) -> None:
        text = DEFAULT_TEXT.replace('version = "2026.1"', 'version = "python-1"')
        self._base = TomlPolicy.from_text(text)

    version = "python-1"
    content_hash = "0" * 64

    @property
    def roles(self) -> frozenset[str]:
        return self._base.roles

    def line(self, business_line: str) -> threeregs.policy.LineRules:
        return self._base.line(business_line)

    def route(self, filing: threeregs.Filing, chain: object) -> threeregs.policy.Route:
        return self._base.route(filing, chain)  # type: ignore[arg-type]

    def record_deadline(self, record: threeregs.Record) -> dt.timedelta:
        return self._base.record_deadline(record)

    def monthly_due(self, month: str) -> dt.date:
        return self._base.monthly_due(month)


def test_python_policy_drives_the_gate(engine: sa.Engine, gate: threeregs.StageGate) -> None:
    policy = OneStagePolicy()
    assert isinstance(policy, Policy)
    with engine.connect() as conn:
        directory = gate.directory(conn)
    host_gate = threeregs.StageGate(anchor=gate.anchor, directory=directory, policy=policy)
    with engine.begin() as conn:
        host_gate.open_case(conn, "PY-1", business_line="criminal", office_code="330106")
        host_gate.assign(conn, "PY-1", "p-1", role="handler")
        decision = host_gate.check(conn, "PY-1", "prosecution_review")

    assert decision.policy_version == "python-1"
    assert decision.policy_hash == "0" * 64
    assert not decision.allowed
