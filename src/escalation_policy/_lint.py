"""Lint a policy package: every check the loader makes (an error stops the policy loading),
then what loads but deserves a look, each with the file and line to look at.

Warnings: a value no rule names (the loader refuses one no fact brings in; one a fact brings in
is then treated as any other value), a rule no history of a given set reaches, a setting given
its default value, an obligation's ``remind_in_open_hours`` no reminder uses, business time in
a policy that declares no calendar (it runs as calendar time), a plan table no reaction applies
(no ``ApplyPlan``), an obligation no reaction fulfils or drops, a setting a module declares
and no rule uses, or one named as a setting the rules use but declared otherwise. A
``PolicyDefinitionError`` is the one error: the loader stops at the first.
"""

import enum
import inspect
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any, TypeVar

import attrs

from escalation_policy._language.wording import label
from escalation_policy.engine import PolicyEngine
from escalation_policy.errors import InputError, PolicyDefinitionError
from escalation_policy.model import Fact
from escalation_policy.periods import (
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    Rolling,
    TimesPerWeek,
)
from escalation_policy.policy import Policy, load_policy
from escalation_policy.policy.load import used_values, value_sets
from escalation_policy.policy.outputs import (
    CADENCE,
    EXTRA_INVOLVEMENT,
    INVOLVEMENT,
    OWNER,
    output_value_sets,
)
from escalation_policy.vocabulary import (
    ApplyPlan,
    Cancel,
    Fulfil,
    Location,
    Reaction,
    Require,
    Setting,
)

__all__ = ["ERROR", "WARNING", "LintFinding", "lint", "lint_loaded"]

ERROR = "error"
WARNING = "warning"


@attrs.frozen(kw_only=True)
class LintFinding:
    """One thing lint found: its ``level`` (``error`` or ``warning``), its ``code``, what is
    wrong (``message``), and where to look: ``file`` and ``line``, the ``module`` and the
    ``rule`` it concerns, where there is one."""

    level: str
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    module: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{_shown(self.file)}:{self.line}: " if self.file and self.line else ""
        if self.file and not self.line:
            where = f"{_shown(self.file)}: "
        rule = f" (rule {self.rule})" if self.rule and self.rule not in self.message else ""
        return f"{where}{self.level}: {self.message}{rule} [{self.code}]"

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _shown(file: str) -> str:
    """``file`` relative to the current directory when it is under it."""
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive
        return file
    return file if relative.startswith("..") else relative


def lint(
    package: str | os.PathLike[str] | Iterable[str | ModuleType] = "escalation_policy.rules",
    *,
    settings: Mapping[str, object] | None = None,
    histories: Iterable[Iterable[Fact | Mapping[str, Any]]] = (),
) -> tuple[LintFinding, ...]:
    """Lint the policy ``package`` (as :func:`~escalation_policy.load_policy` takes it) with
    ``settings``: the error that stops it loading, if any; else the warnings (see the
    module's documentation). Each of ``histories`` is replayed on its own; a fact the policy
    refuses is skipped, and counted in a warning."""
    try:
        policy = load_policy(package, settings=settings)
    except PolicyDefinitionError as error:
        return (
            LintFinding(
                level=ERROR,
                code=error.code,
                message=error.reason,
                file=error.file,
                line=error.line,
                module=error.module,
                rule=error.rule,
            ),
        )
    return lint_loaded(policy, given=settings or {}, histories=histories)


def lint_loaded(
    policy: Policy,
    *,
    given: Mapping[str, object] | None = None,
    histories: Iterable[Iterable[Fact | Mapping[str, Any] | InputError]] = (),
    names: Iterable[str] = (),
) -> tuple[LintFinding, ...]:
    """The warnings about a loaded ``policy``, given these ``settings`` (by name) and
    ``histories`` (each replayed on its own; ``names`` names them in messages)."""
    findings = [
        *_unused_values(policy),
        *_default_settings(policy, given or {}),
        *_reminders_never_asked(policy),
        *_business_time_without_calendar(policy),
        *_plan_unapplied(policy),
        *_obligations_never_met(policy),
        *_settings_unused(policy),
    ]
    histories = list(histories)
    if histories:
        findings += _unreached(policy, histories, list(names))
    return tuple(findings)


def _member_line(kind: type[enum.Enum], member: enum.Enum) -> dict[str, Any]:
    """``file`` and ``line`` where a value set declares ``member``."""
    try:
        lines, start = inspect.getsourcelines(kind)
        file = inspect.getsourcefile(kind)
    except (OSError, TypeError):
        return {}
    pattern = re.compile(rf"^\s*{re.escape(member.name)}\s*=")
    for offset, text in enumerate(lines):
        if pattern.match(text):
            return {"file": file, "line": start + offset}
    return {"file": file, "line": start}


def _unused_values(policy: Policy) -> list[LintFinding]:
    used = used_values(policy.tables, policy.reactions, policy.obligations)
    calendars = policy.calendars
    if calendars is not None:
        used.update(key for key in calendars.choose if isinstance(key, enum.Enum))
    outputs = output_value_sets([(compiled.table, compiled.module) for compiled in policy.tables])
    sets, _ = value_sets(policy.terms, outputs, policy.reactions, policy.obligations)
    return [
        LintFinding(
            level=WARNING,
            code="value_unused",
            message=f"{kind.__name__}.{member.name} ({member.value!r}) is declared but no table "
            "row, reaction or obligation names it: the policy treats it as any other value",
            module=kind.__module__,
            **_member_line(kind, member),
        )
        for kind in sets
        for member in kind
        if member not in used
    ]


def _default_settings(policy: Policy, given: Mapping[str, object]) -> list[LintFinding]:
    findings = []
    for name in given:
        setting = policy.setting_declarations.get(name)
        if setting is None or policy.settings.get(name) != setting.default:
            continue
        location = setting.defined_at
        findings.append(
            LintFinding(
                level=WARNING,
                code="setting_default",
                message=f"the setting {name} is given {given[name]!r}, which is its default",
                **_located(location),
            )
        )
    return findings


def _reminders_never_asked(policy: Policy) -> list[LintFinding]:
    """Obligations that say when their reminders fall (``remind_in_open_hours``) though no
    ``Require`` of theirs asks for a reminder (``remind_before``): the setting does nothing."""
    reminded = {
        effect.obligation.id
        for effect in _effects(policy, Require)
        if effect.remind_before is not None
    }
    findings = []
    for name, compiled in policy.obligations.items():
        if not compiled.remind_in_open_hours or name in reminded:
            continue
        location = compiled.obligation.defined_at
        findings.append(
            LintFinding(
                level=WARNING,
                code="reminder_unused",
                message=f"the obligation {name} sets remind_in_open_hours, but no Require of it "
                "has a remind_before: it is never reminded of, so the setting does nothing",
                **_located(location),
                module=compiled.module,
            )
        )
    return findings


_E = TypeVar("_E")


def _effects(policy: Policy, kind: type[_E]) -> Iterator[_E]:
    """Every effect of one kind in the policy's reactions (a reaction compiled twice, for
    known and unknown escalations, gives its effects twice)."""
    for compiled in policy.reactions:
        for effect in compiled.reaction.then:
            if isinstance(effect, kind):
                yield effect


def _obligations_never_met(policy: Policy) -> list[LintFinding]:
    """Obligations that reactions require but no reaction fulfils nor drops: every instance
    ends in a violation. (One only dropped is a timer: a violation unless something comes.)"""
    ended = {effect.obligation.id for effect in _effects(policy, Fulfil)} | {
        obligation.id for effect in _effects(policy, Cancel) for obligation in effect.obligations
    }
    findings = []
    for name, compiled in policy.obligations.items():
        if name in ended:
            continue
        findings.append(
            LintFinding(
                level=WARNING,
                code="obligation_never_met",
                message=f"no reaction fulfils the obligation {name} (a Fulfil of it) or drops "
                "it (a Cancel): every instance required falls due unmet, a violation",
                **_located(compiled.obligation.defined_at),
                module=compiled.module,
            )
        )
    return findings


def _settings_unused(policy: Policy) -> list[LintFinding]:
    """Settings a rule module of the package declares (a module-level ``Setting``, each
    declaration once) that no rule uses: the policy does not have them, and ``--setting``
    refuses them (``setting_unused``); or that take the name of one the rules use, declared
    otherwise, which changes nothing (``setting_shadowed``)."""
    modules = sorted(
        {compiled.module for compiled in policy.reactions}
        | {compiled.module for compiled in policy.tables}
        | {compiled.module for compiled in policy.obligations.values()}
    )
    findings = []
    seen: set[tuple[str, Location | None]] = set()
    files = [getattr(sys.modules.get(name), "__file__", None) for name in modules]
    folders = {os.path.dirname(file) for file in files if isinstance(file, str)}
    for name in modules:
        module = sys.modules.get(name)
        for value in vars(module).values() if module is not None else ():
            if not issubclass(type(value), Setting):  # type(): a global's __class__ not asked
                continue
            location = value.defined_at
            if location is not None and os.path.dirname(location.file) not in folders:
                continue  # another package's (the handbook's), imported here: not the owner's
            if not isinstance(value.name, str) or (value.name, location) in seen:
                continue  # no setting's name: no rule could use it by its name
            seen.add((value.name, location))
            used = policy.setting_declarations.get(value.name)
            if used is not None:
                if _differs(used, value):
                    findings.append(_shadowed(value, used, name))
                continue
            findings.append(
                LintFinding(
                    level=WARNING,
                    code="setting_unused",
                    message=f"the setting {value.name} is declared, but no rule uses it: it "
                    "is not one of the policy's settings (a rule that writes its value "
                    "instead does not change with it)",
                    **_located(value.defined_at),
                    module=name,
                )
            )
    return findings


def _differs(used: Setting, value: Setting) -> bool:
    """Whether two settings of one name are declared otherwise (a default whose comparison
    raises cannot be told the same)."""
    try:
        return bool(used != value)
    except Exception:  # a policy's own value: any error it raises
        return True


def _shadowed(value: Setting, used: Setting, module: str) -> LintFinding:
    """A module's ``Setting`` no rule uses, named as one the rules use but declared otherwise:
    the policy runs with the other, whatever this one says."""
    where = used.defined_at
    declared = f", declared at {where.file}:{where.line}" if where is not None else ""
    try:
        field = "default" if value.default != used.default else "description"
    except Exception:  # a policy's own value: any error it raises
        field = "default"
    return LintFinding(
        level=WARNING,
        code="setting_shadowed",
        message=f"the setting {value.name} is declared here with the {field} "
        f"{getattr(value, field)!r}, but the rules use another setting of that name{declared}, "
        f"with the {field} {getattr(used, field)!r}: the policy runs with that one, and this "
        "declaration does nothing (rules that used both would not load)",
        **_located(value.defined_at),
        module=module,
    )


def _located(location: Location | None) -> dict[str, Any]:
    return {} if location is None else {"file": location.file, "line": location.line}


def _reactions(policy: Policy) -> list[tuple[Reaction, str]]:
    """Each reaction once (a reaction may be compiled twice: for known escalations and for
    unknown ones), with its module."""
    found: dict[str, tuple[Reaction, str]] = {}
    for compiled in policy.reactions:
        found.setdefault(compiled.reaction.id, (compiled.reaction, compiled.module))
    return list(found.values())


def _counts_business_time(period: object) -> bool:
    """``period`` (a ``within`` or a table's period) counts the calendar's open time or its
    business days (a number of times a week asks, in its first week, in proportion to the
    business days left)."""
    if isinstance(period, Rolling):
        return period.business
    return isinstance(period, (BusinessTime, EachBusinessDay, EveryBusinessDays, TimesPerWeek))


_NO_CALENDAR = (
    "but the policy declares no CALENDARS: business time then runs as calendar time, so it "
    "falls due at night and on weekends too; declare the business hours in a rule module "
    "(CALENDARS = Calendars(default=Calendar.weekdays(...))), or give a plain timedelta if "
    "calendar time is meant"
)


def _business_time_without_calendar(policy: Policy) -> list[LintFinding]:
    """Business time (a ``BusinessTime`` within, a period of business days or open hours) in
    a policy with no calendar: every instant is open, so it counts calendar time, silently."""
    if policy.calendars is not None:
        return []
    findings = []
    periods: dict[str, list[str]] = {}  # table output: the obligations due every period
    for reaction, module in _reactions(policy):
        for effect in reaction.then:
            if not isinstance(effect, Require):
                continue
            name = effect.obligation.id
            if effect.every is not None:
                periods.setdefault(effect.every, []).append(name)
            if not _counts_business_time(effect.within):
                continue
            findings.append(
                LintFinding(
                    level=WARNING,
                    code="business_time_without_calendar",
                    message=f"the obligation {name} is due within {effect.within} "
                    f"({reaction.id}), {_NO_CALENDAR}",
                    module=module,
                    rule=reaction.id,
                    **_located(reaction.defined_at),
                )
            )
    for compiled in policy.tables:
        for row_id, row in zip(compiled.row_ids, compiled.table.rows, strict=True):
            for output, value in row.then.items():
                if output not in periods or not _counts_business_time(value):
                    continue
                names = ", ".join(dict.fromkeys(periods[output]))
                findings.append(
                    LintFinding(
                        level=WARNING,
                        code="business_time_without_calendar",
                        message=f"{output} is {value} in {row_id}, the period of {names}, "
                        f"{_NO_CALENDAR}",
                        module=compiled.module,
                        rule=row_id,
                        **_located(row.defined_at),
                    )
                )
    for name, obligation in policy.obligations.items():
        if obligation.remind_in_open_hours:
            findings.append(
                LintFinding(
                    level=WARNING,
                    code="business_time_without_calendar",
                    message=f"the obligation {name} sets remind_in_open_hours, but the policy "
                    "declares no CALENDARS: every hour is then open, so its reminders are never "
                    "moved; declare the business hours in a rule module, or leave the setting "
                    "out",
                    module=obligation.module,
                    **_located(obligation.obligation.defined_at),
                )
            )
        if isinstance(obligation.early_grace, BusinessTime):
            findings.append(
                LintFinding(
                    level=WARNING,
                    code="business_time_without_calendar",
                    message=f"the obligation {name} counts work done up to "
                    f"{label(obligation.early_grace)} before it is required, {_NO_CALENDAR}",
                    module=obligation.module,
                    **_located(obligation.obligation.defined_at),
                )
            )
    return findings


_APPLIED = (OWNER, CADENCE, INVOLVEMENT, EXTRA_INVOLVEMENT)
"""The plan outputs only ``ApplyPlan`` applies to an escalation."""


def _plan_unapplied(policy: Policy) -> list[LintFinding]:
    """Tables that give the plan (owner, cadence, involvement) in a policy where no reaction
    applies it (``ApplyPlan``) to an escalation as it opens: escalations get no owner,
    involvement or cadence (until a later fact applies it, if one does)."""
    opening_type = policy.terms.opening
    if any(
        isinstance(effect, ApplyPlan)
        for reaction, _ in _reactions(policy)
        if opening_type in reaction.on
        for effect in reaction.then
    ):
        return []
    opening = opening_type.__name__
    findings = []
    for compiled in policy.tables:
        table = compiled.table
        gives = [output for output in table.outputs if output in _APPLIED]
        if not gives:
            continue
        findings.append(
            LintFinding(
                level=WARNING,
                code="plan_unapplied",
                message=f"the table {table.id} gives the plan ({', '.join(gives)}), but no "
                f"reaction on {opening} applies it (none has ApplyPlan() in its then): "
                "escalations open with no owner, involvement or cadence and no assign_owner "
                "action, though the audit counts the table's rows as fired; add ApplyPlan() "
                f"to the reaction on {opening}",
                module=compiled.module,
                rule=table.id,
                **_located(table.defined_at),
            )
        )
    return findings


def _rule_locations(policy: Policy) -> dict[str, Location | None]:
    found: dict[str, Location | None] = {}
    for compiled in policy.tables:
        for row_id, row in zip(compiled.row_ids, compiled.table.rows, strict=True):
            found[row_id] = row.defined_at
    for reaction, _ in _reactions(policy):
        found.setdefault(reaction.id, reaction.defined_at)
    return found


def _unreached(
    policy: Policy,
    histories: list[Iterable[Fact | Mapping[str, Any] | InputError]],
    names: list[str],
) -> list[LintFinding]:
    reached: set[str] = set()
    findings = []
    for number, history in enumerate(histories):
        name = names[number] if number < len(names) else f"history {number + 1}"
        engine = PolicyEngine(policy)
        read = refused = 0
        first: str | None = None
        for item in history:
            read += 1
            try:
                if isinstance(item, InputError):
                    raise item
                reached.update(engine.handle(item).matched)
            except InputError as error:
                refused += 1
                first = first or str(error)
        if refused:
            findings.append(
                LintFinding(
                    level=WARNING,
                    code="history_refused",
                    message=f"{name}: the policy refused {refused} of {read} lines, which lint "
                    f"skipped (the first: {first})",
                )
            )
    locations = _rule_locations(policy)
    for rule, info in policy.rules.items():
        if rule in reached:
            continue
        location = locations.get(rule)
        findings.append(
            LintFinding(
                level=WARNING,
                code="rule_unreached",
                message=f"no history given reaches {rule} ({info.title})",
                **_located(location),
                module=info.module,
                rule=rule,
            )
        )
    return findings
