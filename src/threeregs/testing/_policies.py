"""Hypothesis strategies for policies and for the course of a case through a stage catalog."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import attrs
from hypothesis import strategies as st

from threeregs._errors import ValidationError
from threeregs.policy._policy import TomlPolicy, default_policy
from threeregs.testing import _words as words

if TYPE_CHECKING:
    from threeregs.policy._policy import LineRules, Policy


@attrs.frozen
class CaseLifecycle:
    """The stages one case visits in order, starting at its line's initial stage.

    ``rounds[i]`` is the round of the visit to ``stages[i]``: 1 for the first
    visit to a stage, 2 for the second, and so on. ``closed`` is whether the
    last stage has no way out, so that the gate marks the case closed.
    """

    business_line: str
    stages: tuple[str, ...]
    rounds: tuple[int, ...]
    closed: bool

    @property
    def moves(self) -> tuple[tuple[str, str], ...]:
        """The stage changes as ``(from_stage, to_stage)`` pairs, in order."""
        return tuple(zip(self.stages, self.stages[1:], strict=False))


def _toml(value: object) -> str:
    # JSON strings and arrays of strings are valid TOML basic strings and arrays.
    return json.dumps(value, ensure_ascii=False)


@st.composite
def _line_table(draw: st.DrawFn, name: str, roles: list[str], max_stages: int) -> list[str]:
    archived = draw(st.booleans()) if max_stages >= 3 else False
    max_before = max_stages - 1 - int(archived)
    before = draw(
        st.lists(st.sampled_from(words.STAGES), min_size=1, max_size=max_before, unique=True)
    )
    closed = words.CLOSED_STAGE
    stages = [*before, closed] + ([words.ARCHIVED_STAGE] if archived else [])

    # The main path runs through the stages in order, so every stage is
    # reachable and can reach the closing stage. Extra edges skip ahead or go
    # back, like a return for supplementary investigation.
    path = [*before, closed]
    transitions: dict[str, list[str]] = {s: [path[i + 1]] for i, s in enumerate(before)}
    pairs = [(i, j) for i in range(len(before)) for j in range(len(path)) if j not in (i, i + 1)]
    if pairs:
        extra = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=4))
        for i, j in sorted(extra):
            transitions[before[i]].append(path[j])
    if archived:
        transitions[closed] = [words.ARCHIVED_STAGE]

    excluded = draw(st.lists(st.sampled_from(roles), unique=True, max_size=len(roles)))
    filers = [role for role in roles if role not in excluded]
    overrides = {}
    for stage in stages:
        chosen = draw(st.one_of(st.none(), st.lists(st.sampled_from(roles), unique=True)))
        if chosen is not None:
            overrides[stage] = chosen
    limits = draw(
        st.dictionaries(st.sampled_from(stages), st.integers(min_value=1, max_value=3), max_size=2)
    )

    lines = [
        f"[lines.{name}]",
        f"stages = {_toml(stages)}",
        f"initial = {_toml(before[0])}",
        f"closed = {_toml(closed)}",
        f"filers = {_toml(filers)}",
        "",
        f"[lines.{name}.transitions]",
        *(f"{stage} = {_toml(targets)}" for stage, targets in transitions.items()),
        "",
    ]
    if overrides:
        lines += [f"[lines.{name}.stage_filers]"]
        lines += [f"{stage} = {_toml(chosen)}" for stage, chosen in overrides.items()]
        lines += [""]
    if limits:
        lines += [f"[lines.{name}.max_rounds]"]
        lines += [f"{stage} = {limit}" for stage, limit in sorted(limits.items())]
        lines += [""]
    return lines


@st.composite
def _policy_texts(draw: st.DrawFn, max_lines: int, max_stages: int, max_roles: int) -> str:
    roles = draw(
        st.lists(st.sampled_from(words.ROLES), min_size=1, max_size=max_roles, unique=True)
    )
    names = draw(
        st.lists(st.sampled_from(words.BUSINESS_LINES), min_size=1, max_size=max_lines, unique=True)
    )
    text = [
        "[policy]",
        f"name = {_toml(draw(st.sampled_from(('测试政策', '试点院填报规则'))))}",
        f"version = {_toml(draw(st.integers(min_value=1, max_value=99).map('test-{}'.format)))}",
        "",
        "[roles]",
        f"known = {_toml(roles)}",
        "",
        "[deadlines]",
        f"unexpected_contact_days = {draw(st.sampled_from((3, 1, 7)))}",
        f"record_days = {draw(st.sampled_from((30, 7, 90)))}",
        f"monthly_return_day = {draw(st.sampled_from((5, 1, 10, 28)))}",
        "",
        "[routing]",
        f"own_office_leader = {_toml(draw(st.sampled_from(('suggest', 'require', 'off'))))}",
        f"own_office_inspection = {_toml(draw(st.sampled_from(('require', 'suggest', 'off'))))}",
        "",
    ]
    for name in names:
        text += draw(_line_table(name, roles, max_stages))
    return "\n".join(text)


def policies(
    *, max_lines: int = 2, max_stages: int = 7, max_roles: int = 4
) -> st.SearchStrategy[TomlPolicy]:
    """Generate valid TOML policies with varied stage catalogs, filers and round limits.

    Each business line has up to *max_stages* stages, counting its closing
    stage and an optional archiving stage after it. Stages may be skipped or
    visited again, some stages name their own filers (possibly nobody), and
    a few have round limits. Shrinks toward one criminal line from
    ``accept`` to ``closed`` in which the one role, ``handler``, files at
    every stage.
    """
    if max_lines < 1:
        raise ValidationError("max_lines", max_lines, "a policy needs at least one business line")
    if max_stages < 2:
        raise ValidationError("max_stages", max_stages, "a line needs at least two stages")
    if not 1 <= max_roles <= len(words.ROLES):
        raise ValidationError("max_roles", max_roles, f"expected 1 to {len(words.ROLES)}")
    return _policy_texts(max_lines, max_stages, max_roles).map(
        lambda text: TomlPolicy.from_text(text, source="<generated policy>")
    )


@st.composite
def _lifecycles(
    draw: st.DrawFn, policy: Policy, line_names: list[str], max_moves: int
) -> CaseLifecycle:
    name = draw(st.sampled_from(line_names))
    rules: LineRules = policy.line(name)
    stages = [rules.initial]
    rounds = [1]
    visits = Counter(stages)
    for _ in range(draw(st.integers(min_value=0, max_value=max_moves))):
        # Leave out stages that have used up their rounds, as the gate would.
        options = [
            target
            for target in rules.transitions.get(stages[-1], ())
            if visits[target] < rules.max_rounds.get(target, 99)
        ]
        if not options:
            break
        target = draw(st.sampled_from(options))
        visits[target] += 1
        stages.append(target)
        rounds.append(visits[target])
    return CaseLifecycle(
        business_line=name,
        stages=tuple(stages),
        rounds=tuple(rounds),
        closed=not rules.transitions.get(stages[-1]),
    )


def case_lifecycles(
    policy: Policy | None = None, *, business_line: str | None = None, max_moves: int = 10
) -> st.SearchStrategy[CaseLifecycle]:
    """Generate the course of a case through *policy*: stage moves the policy allows.

    Every move is a transition of the line's catalog into a stage that has
    rounds left, so the gate lets each one through once everyone has filed.
    *policy* defaults to the default policy and *business_line* to any of
    its lines. A lifecycle stops early where no move is left. Shrinks toward
    a case that stays in its initial stage.
    """
    chosen = policy if policy is not None else default_policy()
    if business_line is not None:
        chosen.line(business_line)
        names = [business_line]
    else:
        lines = getattr(chosen, "lines", None)
        if not lines:
            raise ValidationError(
                "business_line", None, "this policy does not list its lines; pass business_line"
            )
        names = sorted(lines)
    if max_moves < 0:
        raise ValidationError("max_moves", max_moves, "expected 0 or more")
    return _lifecycles(chosen, names, max_moves)
