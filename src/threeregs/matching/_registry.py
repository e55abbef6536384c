"""Plugin discovery and the run of matching rules.

Rules come from plugins registered with a pluggy plugin manager: the
built-in rules as an internal plugin, installed plugins from the
entry-point group ``threeregs``, and any plugin object the host registers.
A plugin that fails to import, to register or to list its rules becomes a
:class:`PluginProblem` on the result, and so does a rule that raises. The
other rules still run. Rules run sorted by name, so the result does not depend on the order in
which plugins were registered.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any, Final, cast

import pluggy

from threeregs._errors import PluginLoadError, UnknownRuleError, ValidationError
from threeregs.matching import hookspecs
from threeregs.matching._findings import (
    Finding,
    MatchResult,
    Phase,
    PluginProblem,
    check_rule_name,
    sorted_findings,
)
from threeregs.matching._rule import MatchingRule

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from threeregs.matching._input import MatchInput

__all__ = ["BUILTIN_PLUGIN", "ENTRY_POINT_GROUP", "RuleRegistry"]

_log = logging.getLogger(__name__)

#: Entry-point group in which installed plugins declare themselves.
ENTRY_POINT_GROUP: Final = hookspecs.PROJECT_NAME
#: Plugin name of the built-in rules.
BUILTIN_PLUGIN: Final = "threeregs.builtin"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class RuleRegistry:
    """The plugins of a matching run and the rules they provide.

    This class is mutable: plugins are added with :meth:`register` and
    :meth:`load_entry_points`. By default the built-in rules are registered
    and installed plugins are loaded from their entry points.
    """

    def __init__(self, *, builtins: bool = True, entry_points: bool = True) -> None:
        self._manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._manager.add_hookspecs(hookspecs)
        self._problems: list[PluginProblem] = []
        if builtins:
            from threeregs.matching import _builtin  # noqa: PLC0415 - the rules import this module

            self.register(_builtin, name=BUILTIN_PLUGIN)
        if entry_points:
            self.load_entry_points()

    def __repr__(self) -> str:
        return f"<RuleRegistry plugins={self.plugin_names()!r}>"

    @property
    def problems(self) -> tuple[PluginProblem, ...]:
        """Problems met while loading plugins so far."""
        return tuple(self._problems)

    def plugin_names(self) -> list[str]:
        """Return the names of the registered plugins, sorted."""
        return sorted(
            name for name, _plugin in self._manager.list_name_plugin() if name is not None
        )

    def register(self, plugin: object, *, name: str | None = None) -> str:
        """Register a plugin object (a module or any object with hook functions).

        Raises:
            PluginLoadError: the name is taken, or a hook function does not
                match its specification.
        """
        try:
            registered = self._manager.register(plugin, name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginLoadError(
                f"plugin {name or plugin!r} cannot be registered: {_describe(exc)}"
            ) from exc
        if registered is None:
            raise PluginLoadError(f"plugin {name!r} is blocked and cannot be registered")
        return registered

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> int:
        """Load the plugins that installed distributions declare in *group*.

        Each entry point is loaded by pluggy on its own, so that one broken
        plugin is recorded as a problem and does not stop the others. Returns
        the number of plugins loaded.
        """
        declared: dict[str, list[importlib.metadata.EntryPoint]] = {}
        for entry_point in importlib.metadata.entry_points(group=group):
            declared.setdefault(entry_point.name, []).append(entry_point)

        loaded = 0
        for name in sorted(declared):
            points = declared[name]
            if len(points) > 1:
                targets = ", ".join(sorted(p.value for p in points))
                self._record(name, Phase.LOAD, f"several entry points share this name: {targets}")
            if self._manager.has_plugin(name):
                continue
            try:
                loaded += self._manager.load_setuptools_entrypoints(group, name=name)
            except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
                self._record(name, Phase.LOAD, _describe(exc))
        return loaded

    def _record(self, plugin: str, phase: Phase, message: str, rule: str | None = None) -> None:
        problem = PluginProblem(plugin, phase, message, rule)
        _log.warning("matching plugin %s: %s failed: %s", plugin, phase.value, message)
        self._problems.append(problem)

    def collect(self) -> tuple[tuple[tuple[str, MatchingRule], ...], tuple[PluginProblem, ...]]:
        """Ask every plugin for its rules.

        Returns the ``(plugin name, rule)`` pairs sorted by rule name, and the
        problems of this collection: a plugin that raised or returned
        something other than rules, an invalid or repeated rule name.
        """
        problems: list[PluginProblem] = []
        found: dict[str, tuple[str, MatchingRule]] = {}
        hook = self._manager.hook.threeregs_matching_rules
        implementations = sorted(hook.get_hookimpls(), key=lambda impl: impl.plugin_name)
        for impl in implementations:
            plugin = impl.plugin_name
            # Each implementation is called on its own, so that one plugin
            # that raises does not hide the rules of the others.
            try:
                provided = list(cast("Iterable[object]", impl.function()))
            except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
                problems.append(PluginProblem(plugin, Phase.COLLECT, _describe(exc)))
                continue
            for item in provided:
                checked = self._check_rule(plugin, item, found)
                if isinstance(checked, PluginProblem):
                    problems.append(checked)
                    continue
                found[checked.name] = (plugin, checked)
        for problem in problems:
            _log.warning("matching plugin %s: %s", problem.plugin, problem.message)
        ordered = tuple(found[name] for name in sorted(found))
        return ordered, tuple(problems)

    @staticmethod
    def _check_rule(
        plugin: str, rule: object, found: dict[str, tuple[str, MatchingRule]]
    ) -> MatchingRule | PluginProblem:
        if not isinstance(rule, MatchingRule):
            return PluginProblem(
                plugin, Phase.COLLECT, f"{rule!r} is not a rule: it needs name, label and find"
            )
        try:
            name = rule.name
            check_rule_name(name)
        except ValidationError as exc:
            return PluginProblem(plugin, Phase.COLLECT, str(exc))
        except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
            return PluginProblem(plugin, Phase.COLLECT, _describe(exc))
        if name in found:
            return PluginProblem(
                plugin,
                Phase.COLLECT,
                f"rule name {name!r} is already provided by plugin {found[name][0]!r}",
                rule=name,
            )
        return rule

    def rules(self) -> tuple[MatchingRule, ...]:
        """Return every available rule, sorted by name."""
        pairs, _problems = self.collect()
        return tuple(rule for _plugin, rule in pairs)

    def run(
        self,
        data: MatchInput,
        *,
        rules: Collection[str] | None = None,
        min_score: float = 0.0,
    ) -> MatchResult:
        """Run the rules on *data* and gather their findings.

        *rules* is an allow-list of rule names; by default every rule runs.
        Findings with a score below *min_score* are left out. A rule that
        raises or returns an invalid finding becomes a problem on the result.

        Raises:
            UnknownRuleError: *rules* names a rule that no plugin provides.
        """
        pairs, collect_problems = self.collect()
        available = {rule.name: (plugin, rule) for plugin, rule in pairs}
        chosen = self._choose(available, rules)

        problems = [*self._problems, *collect_problems]
        findings: list[Finding] = []
        for name in chosen:
            plugin, rule = available[name]
            kept, problem = _run_rule(plugin, rule, data)
            if problem is not None:
                _log.warning("matching rule %s of plugin %s: %s", name, plugin, problem.message)
                problems.append(problem)
            findings.extend(f for f in kept if f.score >= min_score)
        return MatchResult(tuple(findings), tuple(chosen), tuple(problems))

    def _choose(
        self, available: dict[str, tuple[str, MatchingRule]], allowed: Collection[str] | None
    ) -> list[str]:
        if allowed is None:
            return sorted(available)
        unknown = sorted(set(allowed) - set(available))
        if unknown:
            known = ", ".join(sorted(available)) or "none"
            broken = sorted({p.plugin for p in self._problems})
            hint = f"; plugins that failed to load: {', '.join(broken)}" if broken else ""
            raise UnknownRuleError(
                f"no plugin provides the rule {unknown[0]!r}; available rules: {known}{hint}"
            )
        return sorted(set(allowed))


def _run_rule(
    plugin: str, rule: MatchingRule, data: MatchInput
) -> tuple[list[Finding], PluginProblem | None]:
    """Run one rule, keeping its valid findings and describing what went wrong."""
    name = rule.name
    try:
        produced: list[Any] = list(rule.find(data))
    except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
        return [], PluginProblem(plugin, Phase.RUN, _describe(exc), rule=name)

    kept: list[Finding] = []
    invalid: list[str] = []
    for finding in produced:
        reason = _invalid_reason(name, finding, data)
        if reason is None:
            kept.append(finding)
        else:
            invalid.append(reason)
    problem = None
    if invalid:
        problem = PluginProblem(
            plugin,
            Phase.RUN,
            f"{len(invalid)} invalid findings left out, the first: {invalid[0]}",
            rule=name,
        )
    return sorted_findings(kept), problem


def _invalid_reason(name: str, finding: object, data: MatchInput) -> str | None:
    if not isinstance(finding, Finding):
        return f"{finding!r} is not a Finding"
    if finding.rule != name:
        return f"the finding names rule {finding.rule!r}"
    if finding.filing_id is not None and not data.has_filing(finding.filing_id):
        return f"filing {finding.filing_id!r} is not in the input"
    if finding.clue_id is not None and not data.has_clue(finding.clue_id):
        return f"clue {finding.clue_id!r} is not in the input"
    return None


def run_rules(
    data: MatchInput,
    *,
    rules: Collection[str] | None = None,
    plugins: Iterable[object] = (),
    entry_points: bool = True,
    min_score: float = 0.0,
) -> MatchResult:
    """Run the built-in rules, installed plugins and *plugins* on *data*.

    A shortcut for :class:`RuleRegistry` followed by :meth:`RuleRegistry.run`.
    """
    registry = RuleRegistry(entry_points=entry_points)
    for plugin in plugins:
        registry.register(plugin)
    return registry.run(data, rules=rules, min_score=min_score)
