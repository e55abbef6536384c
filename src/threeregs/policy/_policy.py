"""The policy contract and the TOML-backed policy.

A policy decides what the law leaves to each deployment: the stage catalog of
each business line, who must file at which stage, how many times a stage may
be visited, deadlines, and routing rules. The gate asks the policy and records
its version and content hash with every decision and filing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import attrs

from threeregs._errors import (
    InvalidPolicyError,
    InvalidRouteError,
    PolicyError,
    UnknownStageError,
)
from threeregs._model import Filing, MonthlyObligation
from threeregs._vocabulary import Conduct, Provision
from threeregs.routing._directory import Level

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from threeregs._model import Record
    from threeregs.routing._directory import Office

_ROUTING_ACTIONS: Final = ("off", "suggest", "require")


class UnknownBusinessLineError(PolicyError, LookupError):
    """The policy has no stage catalog for this business line."""


@attrs.frozen
class LineRules:
    """Stage catalog and filing duties of one business line."""

    name: str
    stages: tuple[str, ...]
    initial: str
    closed: str
    transitions: Mapping[str, tuple[str, ...]]
    filers: frozenset[str]
    stage_filers: Mapping[str, frozenset[str]]
    max_rounds: Mapping[str, int]

    def roles_that_file(self, stage: str) -> frozenset[str]:
        """Return the roles that must file before a case leaves *stage*."""
        self.require_stage(stage)
        return self.stage_filers.get(stage, self.filers)

    def require_stage(self, stage: str) -> None:
        """Raise :class:`UnknownStageError` unless *stage* is in the catalog."""
        if stage not in self.stages:
            raise UnknownStageError(
                f"stage {stage!r} is not in the {self.name!r} catalog; "
                f"expected one of {', '.join(self.stages)}"
            )

    def allows(self, from_stage: str, to_stage: str) -> bool:
        """Return whether a case may move straight from *from_stage* to *to_stage*."""
        return to_stage in self.transitions.get(from_stage, ())


@attrs.frozen
class Route:
    """Destination of a filing: the real recipients in the chain, and notices."""

    recipients: frozenset[str]
    notices: tuple[str, ...] = ()


@runtime_checkable
class Policy(Protocol):
    """What the gate asks of a policy. :class:`TomlPolicy` implements it."""

    @property
    def version(self) -> str:
        """Version string, recorded with every decision and filing."""
        ...

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the policy's content, recorded with every decision."""
        ...

    @property
    def roles(self) -> frozenset[str]:
        """Roles a person can hold on a case."""
        ...

    def line(self, business_line: str) -> LineRules:
        """Return the rules of *business_line*."""
        ...

    def route(self, filing: Filing, chain: Sequence[Office]) -> Route:
        """Choose the real recipients of *filing* among *chain* (own office first)."""
        ...

    def record_deadline(self, record: Record) -> dt.timedelta:
        """Return how long after the intervention a record may be filed."""
        ...

    def monthly_due(self, month: str) -> dt.date:
        """Return the date by which the monthly return for *month* is due."""
        ...


@attrs.frozen
class TomlPolicy:
    """A policy read from a TOML document; :func:`default_policy` ships one."""

    name: str
    version: str
    content_hash: str
    lines: Mapping[str, LineRules]
    roles: frozenset[str]
    unexpected_contact_days: int
    record_days: int
    monthly_return_day: int
    own_office_leader: str
    own_office_inspection: str
    source: str = attrs.field(default="<string>", eq=False)

    @classmethod
    def from_file(cls, path: str | Path) -> TomlPolicy:
        """Load a policy file, raising :class:`InvalidPolicyError` naming the key."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidPolicyError(
                str(file), "", f"cannot read the file: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise InvalidPolicyError(str(file), "", "the file is not UTF-8 text") from None
        return cls.from_text(text, source=str(file))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> TomlPolicy:
        """Parse a policy from TOML text."""
        try:
            tree = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidPolicyError(source, "", f"not valid TOML: {exc}") from None
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return _parse(tree, source, digest)

    def line(self, business_line: str) -> LineRules:
        """Return the rules of *business_line*."""
        try:
            return self.lines[business_line]
        except KeyError:
            raise UnknownBusinessLineError(
                f"business line {business_line!r} is not in policy {self.version!r}; "
                f"expected one of {', '.join(sorted(self.lines))}"
            ) from None

    def route(self, filing: Filing, chain: Sequence[Office]) -> Route:
        """Route to the own office, or to the level the filer chose for a direct report.

        The escalation rules look at the interveners: a mid-level-or-higher
        leader of the filer's own office, or someone in its inspection
        department, makes a direct report advisable or required.
        """
        own = chain[0]
        notices: list[str] = []
        leader = any(r.intervener.own_office_leader for r in filing.records)
        inspection = any(r.intervener.own_office_inspection for r in filing.records)
        if filing.direct_to is None:
            for flag, action, code in (
                (inspection, self.own_office_inspection, "own_office_inspection"),
                (leader, self.own_office_leader, "own_office_leader"),
            ):
                if flag and action == "require" and len(chain) == 1:
                    # The supreme office has no higher office to report to.
                    notices.append(f"direct_report_impossible:{code}")
                elif flag and action == "require":
                    raise InvalidRouteError(
                        f"a record names {_REASONS[code]}, so this filing must be a direct "
                        "report: set direct_to to the level of a higher office in the chain"
                    )
                elif flag and action == "suggest" and len(chain) > 1:
                    notices.append(f"direct_report_suggested:{code}")
            return Route(frozenset({own.code}), tuple(notices))

        # A direct report goes to a higher office, never back to the own one.
        for office in chain[1:]:
            if office.level == filing.direct_to:
                return Route(frozenset({office.code}), tuple(notices))
        levels = ", ".join(o.level.name.lower() for o in chain[1:]) or "none"
        raise InvalidRouteError(
            f"no {filing.direct_to.name.lower()} office above office {own.code!r}; "
            f"a direct report can go to: {levels}"
        )

    def record_deadline(self, record: Record) -> dt.timedelta:
        """Return the deadline after the intervention for filing *record*."""
        if record.provision is Provision.P3 and record.conduct is Conduct.CONTACT:
            return dt.timedelta(days=self.unexpected_contact_days)
        return dt.timedelta(days=self.record_days)

    def monthly_due(self, month: str) -> dt.date:
        """Return the due date of the monthly return for *month* (``YYYY-MM``)."""
        MonthlyObligation(month)
        year, number = int(month[:4]), int(month[5:7])
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
        return dt.date(year, number, self.monthly_return_day)


_REASONS: Final = {
    "own_office_leader": "a mid-level-or-higher leader of the filer's own office",
    "own_office_inspection": "a member of the own office's inspection department",
}


def default_policy() -> TomlPolicy:
    """Return the default policy shipped with the library."""
    return _default()


_DEFAULT: list[TomlPolicy] = []


def _default() -> TomlPolicy:
    if not _DEFAULT:
        text = resources.files("threeregs.policy").joinpath("default.toml").read_text("utf-8")
        _DEFAULT.append(TomlPolicy.from_text(text, source="threeregs/policy/default.toml"))
    return _DEFAULT[0]


class _Tree:
    """Typed access to a TOML table with errors that name the key path."""

    def __init__(self, source: str, path: str, table: object) -> None:
        if not isinstance(table, dict):
            raise InvalidPolicyError(source, path, "expected a table")
        self.source = source
        self.path = path
        self.table: dict[str, Any] = table

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, reason: str) -> InvalidPolicyError:
        return InvalidPolicyError(self.source, self.key(name), reason)

    def sub(self, name: str, *, required: bool = True) -> _Tree:
        if name not in self.table:
            if required:
                raise self.fail(name, "missing table")
            return _Tree(self.source, self.key(name), {})
        return _Tree(self.source, self.key(name), self.table[name])

    def text(self, name: str, *, default: str | None = None) -> str:
        value = self.table.get(name, default)
        if value is None:
            raise self.fail(name, "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"expected non-empty text, got {value!r}")
        return value

    def integer(self, name: str, low: int, high: int, *, default: int | None = None) -> int:
        value = self.table.get(name, default)
        if value is None:
            raise self.fail(name, "missing")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(name, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def codes(self, name: str, value: object = None) -> tuple[str, ...]:
        value = self.table.get(name) if value is None else value
        if value is None:
            raise self.fail(name, "missing")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, f"expected a list of codes, got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail(name, "lists a code twice")
        return tuple(value)


def _parse(tree: dict[str, Any], source: str, digest: str) -> TomlPolicy:
    root = _Tree(source, "", tree)
    unknown = set(tree) - {"policy", "roles", "deadlines", "routing", "lines"}
    if unknown:
        raise root.fail(sorted(unknown)[0], "unknown table")
    head = root.sub("policy")
    roles = frozenset(root.sub("roles").codes("known"))
    deadlines = root.sub("deadlines", required=False)
    routing = root.sub("routing", required=False)
    actions = {}
    for rule in ("own_office_leader", "own_office_inspection"):
        action = routing.text(rule, default="off")
        if action not in _ROUTING_ACTIONS:
            raise routing.fail(rule, f"expected one of {', '.join(_ROUTING_ACTIONS)}")
        actions[rule] = action

    lines_tree = root.sub("lines")
    if not lines_tree.table:
        raise root.fail("lines", "define at least one business line")
    lines = {
        name: _parse_line(name, lines_tree.sub(name), roles) for name in sorted(lines_tree.table)
    }
    return TomlPolicy(
        name=head.text("name"),
        version=head.text("version"),
        content_hash=digest,
        lines=lines,
        roles=roles,
        unexpected_contact_days=deadlines.integer("unexpected_contact_days", 1, 365, default=3),
        record_days=deadlines.integer("record_days", 1, 3650, default=30),
        monthly_return_day=deadlines.integer("monthly_return_day", 1, 28, default=5),
        own_office_leader=actions["own_office_leader"],
        own_office_inspection=actions["own_office_inspection"],
        source=source,
    )


def _parse_line(name: str, line: _Tree, roles: frozenset[str]) -> LineRules:
    stages = line.codes("stages")
    if not stages:
        raise line.fail("stages", "list at least one stage")
    for stage in stages:
        if not stage.isascii() or not stage.replace("_", "").isalnum() or stage != stage.lower():
            raise line.fail("stages", f"stage code {stage!r} must be lowercase ASCII and _")
    known = set(stages)

    def stage_key(tree: _Tree, key: str) -> None:
        if key not in known:
            raise tree.fail(key, f"unknown stage {key!r}; stages are {', '.join(stages)}")

    def role_list(tree: _Tree, key: str, value: object = None) -> frozenset[str]:
        listed = tree.codes(key, value)
        for role in listed:
            if role not in roles:
                raise tree.fail(key, f"unknown role {role!r}; roles.known lists {sorted(roles)}")
        return frozenset(listed)

    initial = line.text("initial")
    closed = line.text("closed")
    stage_key(line, initial)
    stage_key(line, closed)

    transitions_tree = line.sub("transitions")
    transitions = {}
    for stage, targets in transitions_tree.table.items():
        stage_key(transitions_tree, stage)
        listed = transitions_tree.codes(stage, targets)
        for target in listed:
            if target not in known:
                raise transitions_tree.fail(stage, f"unknown target stage {target!r}")
            if target == stage:
                raise transitions_tree.fail(stage, "a stage cannot move to itself")
        transitions[stage] = listed
    _check_reachable(line, stages, initial, closed, transitions)

    stage_filers_tree = line.sub("stage_filers", required=False)
    stage_filers = {}
    for stage, value in stage_filers_tree.table.items():
        stage_key(stage_filers_tree, stage)
        stage_filers[stage] = role_list(stage_filers_tree, stage, value)

    rounds_tree = line.sub("max_rounds", required=False)
    max_rounds = {}
    for stage in rounds_tree.table:
        stage_key(rounds_tree, stage)
        max_rounds[stage] = rounds_tree.integer(stage, 1, 99)

    return LineRules(
        name=name,
        stages=stages,
        initial=initial,
        closed=closed,
        transitions=transitions,
        filers=role_list(line, "filers"),
        stage_filers=stage_filers,
        max_rounds=max_rounds,
    )


def _check_reachable(
    line: _Tree,
    stages: tuple[str, ...],
    initial: str,
    closed: str,
    transitions: Mapping[str, tuple[str, ...]],
) -> None:
    """Reject a catalog in which some stage cannot be reached or cannot close."""
    seen = {initial}
    todo = [initial]
    while todo:
        for target in transitions.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    unreachable = [stage for stage in stages if stage not in seen]
    if unreachable:
        raise line.fail(
            "transitions", f"stage {unreachable[0]!r} cannot be reached from {initial!r}"
        )
    for stage in stages:
        if stage == closed or _leads_to(stage, closed, transitions):
            continue
        if _leads_to(closed, stage, transitions):
            continue  # stages after closing, such as archiving
        raise line.fail("transitions", f"stage {stage!r} has no path to {closed!r}")


def _leads_to(start: str, goal: str, transitions: Mapping[str, tuple[str, ...]]) -> bool:
    seen = {start}
    todo = [start]
    while todo:
        for target in transitions.get(todo.pop(), ()):
            if target == goal:
                return True
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return False


def levels_below(level: Level) -> tuple[Level, ...]:
    """Return the levels under *level*, nearest first."""
    return tuple(lvl for lvl in Level if lvl > level)
