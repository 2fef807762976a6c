"""The native engine's generated functions: for each fact type, the reactions that match a
fact of that type applied as a host would write them by hand, and for a type that opens
nothing, its whole step on an open escalation.

Built from the compiled policy's data alone by each :class:`NativeMatcher`, for a fact type
at its second fact (an engine that never sees a type again never pays for its functions; its
first fact, and a type that cannot be generated, are decided on the generic path): every
condition becomes a Python test of the situation's attribute it reads (``record.in_scope in
V1``), a field the policy computes is read once and only when a condition needs it, and each
effect is a direct call of its handler with its compiled arguments bound (a ``Fulfil`` with
its obligation found). Nothing is looked up by name while a fact applies: no context, no memo
key, no dispatch on the kind of effect. The step sets the attributes the fact type sets,
moves the status as it declares, and plans again only where the type plans.

A condition the generator does not know how to write (not a plain
:class:`~escalation_policy.policy.compiled.Condition`, or a field the context does not
declare) is matched as the generic matcher does, on the fact's context built on demand. The
generic path (:meth:`Matcher.reactions_for` and :data:`HANDLERS`) stays the reference: a
property test checks that both decide the same for any history.
"""

import ast
import builtins
import datetime as dt
import functools
import keyword
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from escalation_policy._core.effects import HANDLERS, PeriodMemo, Work, replanned_first
from escalation_policy._core.escalation import choose_calendar
from escalation_policy._core.matching import Generated, Plan
from escalation_policy._core.obligations import ON_CALENDAR, on_clock, text_of
from escalation_policy._language.codegen import generate
from escalation_policy._language.context import Situation
from escalation_policy._language.frozen import build_lines, construct_lines
from escalation_policy.model import (
    ACTIVE,
    CLOSED,
    AssignOwner,
    EscalationFact,
    SetCadence,
    SetInvolvement,
)
from escalation_policy.periods import BusinessTime, Rolling
from escalation_policy.policy.compiled import CompiledObligation, Condition
from escalation_policy.policy.outputs import CADENCE, IN_SCOPE, INVOLVEMENT, OWNER
from escalation_policy.state import Decision, PendingObligation, next_due_of
from escalation_policy.vocabulary import ApplyPlan, Emit, Fulfil, Require

if TYPE_CHECKING:
    from escalation_policy.policy import Policy

__all__ = ["generated"]

_SITUATION = frozenset(Situation.__slots__)
"""The names a field's dotted path may start with: the reactor's own arguments."""

_SITUATION_VALUES = ("policy", "record", "fact", "status_before", "previous", "owner", "cadence")
"""The slots of the situation, each set to the generated function's local of that name."""

_UNSET = object()
"""A computed field not read yet."""

_NOTHING_BEFORE: dict[str, object] = {}
"""The ``previous`` of a fact that sets no attribute (shared, never changed)."""


def generated(
    policy: "Policy",
    fact_type: str,
    indices: Sequence[int],
    periods: PeriodMemo,
    plans: Mapping[tuple[object, ...], Plan] | None = None,
) -> Generated:
    """The generated functions for ``fact_type``, whose reactions about a known escalation
    are ``policy.reactions[i]`` for ``i`` in ``indices`` (in order); its step shares
    ``periods`` (:class:`Work`), and its opening reads ``plans``, the matcher's plans by the
    values of ``policy.plan_inputs`` in order, before it asks the matcher. A
    :class:`NativeMatcher` calls this at the second fact of that type it decides."""
    source = _Source(policy, fact_type)
    source.namespace["PERIODS"] = periods
    reactions = source.reactions(indices, "    ")
    react = generate(
        [
            "def react(work, status_before, previous, owner, cadence, matched):",
            *(f"    {name} = work.{name}" for name in _WORK_LOCALS),
            *source.locals("    "),
            *reactions,
        ],
        source.namespace,
        f"reactor for {fact_type}",
    )
    declared = policy.contract.facts[fact_type]
    if not issubclass(declared, EscalationFact):
        return Generated(react=react, step=None)
    if declared.OPENS:
        return Generated(
            react=react,
            step=None,
            opening=_opening(policy, fact_type, source, reactions, plans),
        )
    return Generated(react=react, step=_step(policy, fact_type, source, reactions))


def _required(policy: "Policy", effect: Require) -> "_Function | None":
    """``Work._require`` for one :class:`~escalation_policy.vocabulary.Require` of a fixed
    deadline, with what depends only on the effect and its obligation decided here (its key,
    whether it is kept per key, counted on the calendar, reminded, announced), and its
    pending instance built slot by slot: ``required(work, rule, cites)``, written in place
    (:meth:`_Source.in_place`). ``None`` where the pending instance cannot be built so (the
    handler applies the effect)."""
    declared = policy.obligations[effect.obligation.id]
    within = effect.within
    namespace: dict[str, Any] = {
        "NAME": declared.id,
        "DECLARED": declared,
        "WITHIN": within,
        "REMIND": effect.remind_before,
        "ON_CALENDAR": ON_CALENDAR,
        "ON_CLOCK": on_clock,
        "TEXT_OF": text_of,
        "OWNER": OWNER,
        "ANNOUNCE": declared.announce,
        "KEY_FROM": declared.key_from,
        "KEY": None if effect.key is None else text_of(effect.key),
    }
    built = construct_lines(
        PendingObligation,
        {
            "obligation": "NAME",
            "due": "due",
            "rule": "rule",
            "cites": "cites",
            "key": "key",
            "remind_before": "REMIND",
            "period": "clock",
        },
        namespace,
        prefix="pending_",
    )
    if built is None:
        return None
    lines = ["def required(work, rule, cites):"]
    if declared.key_from is not None:
        lines += [
            "    key = getattr(record, KEY_FROM)",
            "    if key is None:",
            "        return  # nothing to key it by: nothing is required",
            "    if type(key) is not str:",
            "        key = TEXT_OF(key)",
        ]
    else:
        lines.append("    key = KEY")
    renewed = " and not pending.overdue" if declared.renew_when_overdue else ""
    lines += [
        "    pending_list = record.pending",
        "    if pending_list:",
        *_found("        ", None if declared.one_at_a_time else "key"),
        "        if index is not None:",
        "            pending = pending_list[index]",
        f"            if pending.key == key{renewed}:",
        "                return",
        "            del pending_list[index]  # renewed, or replaced by one for a new key",
    ]
    if declared.once_per_key:  # met for this key before: nothing more is required
        lines += ["    if key in record.done.get(NAME, ()):", "        return"]
    if isinstance(within, BusinessTime):
        lines += [
            "    calendar = policy.calendar(record.calendar, record.calendar_identity)",
            "    due = WITHIN.due(calendar, at)",
            "    clock = ON_CALENDAR",
        ]
    else:
        lines += ["    due = at + WITHIN", "    clock = None"]
    if declared.early_grace is not None:
        lines += [
            "    if record.early_work and work.met_early(DECLARED, key, due, rule):",
            "        return  # met by work done a little before",
        ]
    lines += built
    if effect.remind_before is not None:
        lines += [
            "    if record.calendar is not None:",
            "        new = ON_CLOCK(policy, record, new)",
        ]
    lines += [
        "    if record.rarely.paused_since is not None:",
        "        new = work._paused(DECLARED, new)",
        "    pending_list.append(new)",
    ]
    lines += _announced(declared)
    return _Function(lines, namespace)


def _found(indent: str, key: str | None) -> list[str]:
    """Lines that set ``index`` as ``Work._find(work, NAME, key)`` does, over
    ``pending_list`` (``key``: the local that holds the key, or ``None``)."""
    test = "found.obligation == NAME"
    if key is not None:
        test += f" and ({key} is None or found.key == {key})"
    return [
        f"{indent}index = None",
        f"{indent}for position, found in enumerate(pending_list):",
        f"{indent}    if {test}:",
        f"{indent}        index = position",
        f"{indent}        break",
    ]


def _announced(declared: CompiledObligation) -> list[str]:
    """Lines that announce ``new``, the pending instance just kept, as ``Work._announce``
    does, if its obligation is announced at all (``ANNOUNCE``)."""
    if declared.announce is None:
        return []
    return [
        "    owner = record.owner",
        "    if owner is None and plan is not None:",
        "        owner = plan.values[OWNER]",
        "    announced.append((new.obligation, new.key, new.due))",
        "    actions.append(ANNOUNCE(escalation_id, at, new, owner, record))",
    ]


def _scheduled(policy: "Policy", effect: Require) -> "_Function | None":
    """``Work._schedule`` for one :class:`~escalation_policy.vocabulary.Require` of a period
    the plan gives, with what depends only on the effect and its obligation decided here,
    and its pending instance built slot by slot: ``scheduled(work, rule, cites)`` (the rule
    and its citation are the plan's), written in place (:meth:`_Source.in_place`). ``None``
    where the pending instance cannot be built so (the handler applies the effect)."""
    declared = policy.obligations[effect.obligation.id]
    namespace: dict[str, Any] = {
        "NAME": declared.id,
        "DECLARED": declared,
        "EVERY": effect.every,
        "REMIND": effect.remind_before,
        "ON_CLOCK": on_clock,
        "OWNER": OWNER,
        "ANNOUNCE": declared.announce,
        "KEY": None if effect.key is None else text_of(effect.key),
        "ACTIVE": ACTIVE,
        "RULES": policy.rules,
        "timedelta": dt.timedelta,
        "Rolling": Rolling,
        "REPLANNED_FIRST": replanned_first,
    }
    built = construct_lines(
        PendingObligation,
        {
            "obligation": "NAME",
            "due": "due",
            "rule": "rule",
            "cites": "RULES[rule].cites",
            "key": "KEY",
            "every": "duration",
            "remind_before": "REMIND",
            "period": "text",
            "since": "since",
            "required": "required",
            "counts": "counts",
        },
        namespace,
        prefix="pending_",
    )
    if built is None:
        return None
    lines = [
        "def scheduled(work, _rule, _cites):",
        "    assert plan is not None",
        "    every = plan.values[EVERY]",
        "    rule = plan.sources.get(EVERY)",
        "    if record.status != ACTIVE:",
        "        every = None",
        "    pending_list = record.pending",
        *_found("    ", None),
        "    if every is None or rule is None:",
        "        if index is not None:",
        "            del pending_list[index]",
        "        return",
        "    if isinstance(every, timedelta):",
        "        duration, text = every, None",
        "    elif isinstance(every, Rolling) and not every.business and not every.sequential:",
        "        every = every.every  # a plain rolling period: a duration says the same",
        "        duration, text = every, None",
        "    else:",
        "        duration, text = None, every.text",
        "    if index is not None:",
        "        current = pending_list[index]",
        "        if current.every == duration and current.period == text:",
        "            return  # kept as it is: its current period runs on",
        "    counts = ()",
        "    if duration is not None:",
        "        due, since, required = at + duration, None, 1",
        "    else:",
        "        calendar = policy.calendar(record.calendar, record.calendar_identity)",
        "        if index is None:",
        "            bucket = every.first(calendar, at)",
        "        else:",
        "            opened = record.opened_at",
        "            bucket, counts = REPLANNED_FIRST(calendar, every, current, at, opened)",
        "        due, since, required = bucket.due, bucket.since, bucket.required",
        *built,
    ]
    if effect.remind_before is not None:
        lines += [
            "    if record.calendar is not None:",
            "        new = ON_CLOCK(policy, record, new)",
        ]
    lines += [
        "    if record.rarely.paused_since is not None:",
        "        new = work._paused(DECLARED, new)",
        "    if index is None:",
        "        pending_list.append(new)",
        "    else:",
        "        pending_list[index] = new",
        *_announced(declared),
    ]
    return _Function(lines, namespace)


def _applied(policy: "Policy") -> "_Function | None":
    """``Work._apply_plan``, with each action it may take built slot by slot:
    ``applied(work)``, written in place (:meth:`_Source.in_place`). ``None`` where one of
    them cannot be built so (the handler applies the effect)."""
    namespace: dict[str, Any] = {
        "OWNER": OWNER,
        "INVOLVEMENT": INVOLVEMENT,
        "CADENCE": CADENCE,
        "RULES": policy.rules,
    }
    common = {
        "escalation_id": "escalation_id",
        "at": "at",
        "rule": "row",
        "cites": "RULES[row].cites",
    }
    owner = construct_lines(AssignOwner, {**common, "owner": "owner"}, namespace, prefix="own_")
    involvement = construct_lines(
        SetInvolvement,
        {
            **common,
            "roles": "roles",
            # Nothing involved yet (an opening): each role added, none removed.
            "added": "tuple([r for r in roles if r not in current]) if current else tuple(roles)",
            "removed": "tuple([r for r in current if r not in roles]) if current else ()",
        },
        namespace,
        prefix="inv_",
    )
    cadence = construct_lines(
        SetCadence, {**common, "cadence": "cadence"}, namespace, prefix="cad_"
    )
    if owner is None or involvement is None or cadence is None:
        return None

    def inside(lines: list[str]) -> list[str]:
        return [f"    {line}" for line in lines]

    lines = [
        "def applied(work):",
        "    assert plan is not None  # ApplyPlan runs on opened and severity_changed only",
        "    values, sources = plan.values, plan.sources",
        "    owner = values[OWNER]",
        "    if owner != record.owner:  # a restored owner is its text: compare values",
        "        record.owner = owner",
        "        row = sources[OWNER]",
        *inside(owner),
        "        actions.append(new)",
        "        work.new_owner = True  # what stays pending is announced again once all applied",
        "    roles = plan.involvement",
        "    current = record.involvement",
        "    if roles != current:",
        "        record.involvement = roles",
        "        row = sources[INVOLVEMENT]",
        *inside(involvement),
        "        actions.append(new)",
        "    cadence = values[CADENCE]",
        "    if cadence != record.cadence:",
        "        record.cadence = cadence",
        "        row = sources[CADENCE]",
        *inside(cadence),
        "        actions.append(new)",
    ]
    return _Function(lines, namespace)


class _Function(NamedTuple):
    """The source of a function the generated ones do in place (:meth:`_Source.in_place`)."""

    lines: list[str]
    """Its ``def`` line, then its body."""
    namespace: dict[str, Any]
    """The constants it names."""


class _Body(NamedTuple):
    """A :class:`_Function` read once, ready to be written in place under any prefix."""

    parameters: tuple[str, ...]
    """Its parameters after ``work``."""
    read: frozenset[str]
    """The parameters its body reads (one it never reads is not set)."""
    returns: bool
    """Whether it returns anywhere (it then runs in a loop that a ``break`` leaves)."""
    lines: tuple[tuple[str, ...], ...]
    """Its body's lines, one indent less, each cut where one of its constants is named: a
    line written in place is its pieces joined by the prefix of its constants. Its
    parameters and the names it binds already start with :data:`_LOCAL`, and its returns are
    already ``break``."""


_LOCAL = "I_"
"""What the parameters and the names a body written in place binds start with: no name of
the function it is written in does, so nothing the body binds changes a local of that
function. The bodies written in one function share these locals, one after the other (a
local of each body's own would cost every call of the function a slot to clear): a body
assigns each local before it reads it, or its call would fail, so none reads what an
earlier one left."""


_STATEMENTS = frozenset(
    (
        ast.Assign,
        ast.AugAssign,
        ast.AnnAssign,
        ast.Expr,
        ast.If,
        ast.For,
        ast.While,
        ast.With,
        ast.Try,
        ast.Raise,
        ast.Assert,
        ast.Delete,
        ast.Pass,
        ast.Break,
        ast.Continue,
        ast.Return,
    )
)
"""The statements a body written in place may hold. Not the others: they bind names other
than where a name stands (a nested function or class, an import, ``global``, a pattern's
captures), or belong to no plain function (``async``)."""

_EXPRESSIONS = frozenset((ast.Lambda, ast.Yield, ast.YieldFrom, ast.Await, ast.JoinedStr))
"""The expressions a body written in place may not hold: a scope of its own, what would make
the function it is written in a generator or a coroutine, and an f-string (Python 3.10 and
3.11 do not always place the names in one right)."""

_BUILTINS = frozenset(dir(builtins))


@functools.lru_cache(maxsize=64)
def _body_of(source: tuple[str, ...], constants: frozenset[str]) -> _Body:
    """A :class:`_Function`, its ``source`` lines and the names of its ``constants``, read
    with :mod:`ast`: its parameters, the names its body binds (assigned, a loop's or a
    comprehension's target, augmented, ``:=``, ``with ... as``, deleted), its ``return``
    statements, and the names it reads. A :exc:`TypeError` for a function that cannot be
    written in place to do what a call of it does: one that returns a value or returns from
    within a loop (a ``break`` would leave that loop only), binds a name it shares with the
    function it is written in (:data:`_SHARED`) or a name of one of its constants, reads a
    name that is none of its own, of the shared ones or of the builtins, or holds a
    statement or an expression the renaming does not follow.

    The last 64 read are kept: a few functions of the same source are written in place by
    many fact types' functions and by every engine, and what is kept holds only texts."""
    header, *body = source
    try:
        tree = ast.parse("\n".join(source))
    except SyntaxError as error:
        raise TypeError(f"written in place, not a function: {error}") from None
    definition = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(definition, ast.FunctionDef) or definition.body[0].lineno == 1:
        raise TypeError(f"written in place, one def, its body on the lines after: {header}")
    arguments = definition.args
    parameters = [argument.arg for argument in arguments.args]
    if (
        parameters[:1] != ["work"]
        or arguments.posonlyargs
        or arguments.vararg
        or arguments.kwonlyargs
        or arguments.kwarg
        or arguments.defaults
        or definition.decorator_list
    ):
        raise TypeError(f"written in place, plain parameters, work first: {header}")
    returns: list[ast.Return] = []

    def statements(block: list[ast.stmt], in_loop: bool) -> None:
        for statement in block:
            kind = type(statement)
            if kind not in _STATEMENTS:
                raise TypeError(f"written in place, no {kind.__name__} in: {header}")
            if isinstance(statement, ast.Return):
                if statement.value is not None:
                    raise TypeError(f"written in place, a function returns nothing: {header}")
                if in_loop:
                    raise TypeError(f"written in place, no return within a loop: {header}")
                returns.append(statement)
            elif isinstance(statement, (ast.Break, ast.Continue)) and not in_loop:
                raise TypeError(f"written in place, no break or continue out of a loop: {header}")
            elif isinstance(statement, (ast.For, ast.While)):
                statements(statement.body, True)
                statements(statement.orelse, in_loop)
            elif isinstance(statement, (ast.If, ast.With)):
                statements(statement.body, in_loop)
                statements(getattr(statement, "orelse", []), in_loop)
            elif isinstance(statement, ast.Try):
                for part in (statement.body, statement.orelse, statement.finalbody):
                    statements(part, in_loop)
                for handler in statement.handlers:
                    if handler.name is not None:
                        raise TypeError(f"written in place, no except ... as: {header}")
                    statements(handler.body, in_loop)

    statements(definition.body, False)
    names: list[ast.Name] = []
    todo: list[Any] = list(definition.body)
    while todo:  # every node of the body, but a Name's context
        node = todo.pop()
        kind = type(node)
        if kind is ast.Name:
            names.append(node)
        elif kind in _EXPRESSIONS:
            raise TypeError(f"written in place, no {kind.__name__} in: {header}")
        elif kind is ast.Constant:
            if node.end_lineno != node.lineno:  # its lines would move with the indent
                raise TypeError(f"written in place, no text over several lines: {header}")
        elif node is not None:  # None: a dictionary display's ** item has no key
            for field in node._fields:
                value = getattr(node, field)
                if type(value) is list:
                    todo.extend(value)
                elif isinstance(value, ast.AST):
                    todo.append(value)
    bound = {name.id for name in names if type(name.ctx) is not ast.Load}
    own = bound | set(parameters[1:])
    clash = sorted(own & (_SHARED | constants))
    if clash:
        shared = "shares with the function it is written in"
        raise TypeError(
            f"written in place, {header} binds {clash[0]!r}, a name it "
            f"{shared if clash[0] in _SHARED else 'gives one of its constants'}"
        )
    own |= constants
    unknown = sorted({name.id for name in names} - own - _SHARED - _BUILTINS)
    if unknown:
        raise TypeError(
            f"written in place, {header} reads {unknown[0]!r}: none of its own, "
            "of what it shares (_WORK_LOCALS), nor a builtin"
        )
    # Where each line of the body changes: a local of its own takes _LOCAL before its name,
    # a return becomes a break, and the line is cut where a constant starts.
    changes: dict[int, list[tuple[int, str]]] = {}
    for name in names:
        if name.id in own:
            change = "constant" if name.id in constants else "local"
            changes.setdefault(name.lineno - 1, []).append((name.col_offset, change))
    for found in returns:
        changes.setdefault(found.lineno - 1, []).append((found.col_offset, "return"))
    lines: list[tuple[str, ...]] = []
    for number, line in enumerate(body, start=1):
        if line and not line.startswith("    "):
            raise TypeError(f"not a line of the function's body: {line!r}")
        if number not in changes:
            lines.append((line[4:],))
            continue
        pieces: list[str] = []
        piece = ""
        start = 4  # one indent less
        for offset, change in sorted(changes[number]):
            at = offset if line.isascii() else len(line.encode()[:offset].decode())  # ast: bytes
            piece += line[start:at]
            start = at
            if change == "local":
                piece += _LOCAL
            elif change == "return":
                piece += "break"
                start += len("return")
            else:
                pieces.append(piece)
                piece = ""
        pieces.append(piece + line[start:])
        lines.append(tuple(pieces))
    read = {name.id for name in names if type(name.ctx) is ast.Load}
    return _Body(
        tuple(parameters[1:]),
        frozenset(read.intersection(parameters[1:])),
        bool(returns),
        tuple(lines),
    )


def _path(read: object) -> str | None:
    """The Python expression for a field read by a dotted path, or ``None``."""
    if not isinstance(read, str):
        return None
    parts = read.split(".")
    if parts[0] not in _SITUATION:
        return None
    if not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        return None
    return read


class _Source:
    """The lines of one fact type's generated functions, and the constants they name."""

    def __init__(self, policy: "Policy", fact_type: str) -> None:
        self.policy = policy
        self.fact_type = fact_type
        self.namespace: dict[str, Any] = {
            "Situation": Situation,
            "_UNSET": _UNSET,
            "CONTEXT_OF": policy.context.context_of,
            "TYPE": fact_type,
            "FULFIL": Work.fulfil,
        }
        self.computed: dict[str, str] = {}  # field -> the local that holds it once read
        self.uses_context = False
        self._applied: Any = _UNSET
        self.in_place_count = 0  # functions written in place so far

    def applied(self) -> "_Function | None":
        """:func:`_applied` for the policy, written once for all the reactions."""
        if self._applied is _UNSET:
            self._applied = _applied(self.policy)
        applied: _Function | None = self._applied
        return applied

    def in_place(self, function: "_Function", arguments: list[str], indent: str) -> list[str]:
        """Lines that do at ``indent`` what a call of ``function`` (its first argument
        ``work``, then ``arguments``) does, without the call: its parameters set, its body
        run, once in a loop that its returns leave by a ``break`` where it returns. Its
        parameters and the names it binds start with :data:`_LOCAL`, so that nothing it
        binds changes a local of the function it is written in; its constants get a prefix
        of their own (``I0_``, ``I1_``, ...), apart from any other's. Its body reads what
        ``work`` holds from the locals of the same names (``_WORK_LOCALS``), which every
        generated function sets before its reactions, and binds none of them
        (:func:`_body_of`)."""
        body = _body_of(tuple(function.lines), frozenset(function.namespace))
        if len(body.parameters) != len(arguments):
            raise TypeError(f"written in place with work, {arguments}: {function.lines[0]}")
        prefix = f"I{self.in_place_count}_"
        self.in_place_count += 1
        for name, value in function.namespace.items():
            self.namespace[f"{prefix}{name}"] = value
        lines = [
            f"{indent}{_LOCAL}{parameter} = {argument}"
            for parameter, argument in zip(body.parameters, arguments, strict=True)
            if parameter in body.read
        ]
        if body.returns:
            lines.append(f"{indent}while True:  # once: its returns break out")
            indent += "    "
        lines.extend(f"{indent}{prefix.join(pieces)}" for pieces in body.lines)
        if body.returns:
            lines.append(f"{indent}break")
        return lines

    def constant(self, prefix: str, value: object) -> str:
        for name, known in self.namespace.items():
            if known is value and name.startswith(prefix):
                return name
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def value_of(self, field: str) -> str:
        declared = self.policy.context.by_name[field]
        if declared.facts is not None and self.fact_type not in declared.facts:
            return "None"  # not in this fact type's context
        path = _path(declared.read)
        if path is not None:
            return path
        local = self.computed.get(field)
        if local is None:
            local = self.computed[field] = f"v{len(self.computed)}"
            self.namespace[f"R_{local}"] = declared.reader
        return f"({local} if {local} is not _UNSET else ({local} := R_{local}(situation)))"

    def translatable(self, condition: Condition) -> bool:
        return type(condition) is Condition and condition.field in self.policy.context.by_name

    def test(self, condition: Condition) -> str:
        if not self.translatable(condition):
            self.uses_context = True
            return (
                f"{self.constant('C', condition)}.matches(context if context is not None "
                "else (context := CONTEXT_OF(TYPE, situation)))"
            )
        values = self.constant("V", condition.values)
        operator = "not in" if condition.negated else "in"
        return f"{self.value_of(condition.field)} {operator} {values}"

    def reactions(self, indices: Sequence[int], indent: str) -> list[str]:
        """Each reaction's conditions tested, then each matched reaction's effects applied.

        A field the policy computes is read when a test first needs it. Every test runs before
        any effect, as the generic path matches every reaction before it applies any: a field
        reads the escalation as it was before the fact's effects (the obligations still owed
        among them)."""
        lines: list[str] = []
        context = self.policy.context
        matches = []
        for number, index in enumerate(indices):
            compiled = self.policy.reactions[index]
            # The fields every escalation has, read by a path, first: the cheapest first.
            ordered = sorted(
                compiled.conditions,
                key=lambda c: (
                    not self.translatable(c) or _path(context.by_name[c.field].read) is None
                ),
            )
            tests = " and ".join(self.test(condition) for condition in ordered) or "True"
            lines.append(f"{indent}m{number} = {tests}")
            matches.append((compiled, f"m{number}"))
        for compiled, match in matches:
            rule = self.constant("RULE", compiled.reaction.id)
            cites = self.constant("CITES", compiled.reaction.cites)
            lines.append(f"{indent}if {match}:")
            lines.append(f"{indent}    matched.append({rule})")
            for effect, prepared in compiled.then:
                if type(effect) is Require:
                    required = (
                        _required(self.policy, effect)
                        if effect.every is None
                        else _scheduled(self.policy, effect)
                    )
                    if required is not None:  # else: the handler, as for any other effect
                        lines += self.in_place(required, [rule, cites], f"{indent}    ")
                        continue
                if type(effect) is ApplyPlan:
                    applied = self.applied()
                    if applied is not None:  # else: the handler, as for any other effect
                        lines += self.in_place(applied, [], f"{indent}    ")
                        continue
                if type(effect) is Emit:  # Work._emit, unrolled: the emitter called here
                    emitter = self.constant("EMIT", prepared)
                    lines.append(
                        f"{indent}    actions.append({emitter}(escalation_id, at, {rule}, "
                        f"{cites}, record, fact))"
                    )
                    continue
                if type(effect) is Fulfil:  # the obligation found now, not on every fact
                    declared = self.policy.obligations[effect.obligation.id]
                    arguments = ", ".join(
                        self.constant(prefix, value)
                        for prefix, value in (
                            ("O", declared),
                            ("K", effect.key),
                            ("PART", effect.part),
                        )
                    )
                    lines.append(f"{indent}    FULFIL(work, {arguments})")
                    continue
                handler = self.constant("H", HANDLERS[type(effect)])
                arguments = f"{self.constant('E', effect)}, {self.constant('P', prepared)}"
                lines.append(f"{indent}    {handler}(work, {arguments}, {rule}, {cites})")
        return lines

    def locals(self, indent: str) -> list[str]:
        """What the reactions' tests read before they start: the situation, if they need it."""
        lines = []
        if self.computed or self.uses_context:
            # Built slot by slot, as its __init__ builds it, without the call of the class.
            if set(_SITUATION) != set(_SITUATION_VALUES):
                raise TypeError(f"the generated functions set {sorted(_SITUATION_VALUES)}, "
                                f"Situation has {sorted(_SITUATION)}")  # fmt: skip
            self.namespace["new_object"] = object.__new__
            lines.append(f"{indent}situation = new_object(Situation)")
            lines.extend(f"{indent}situation.{name} = {name}" for name in _SITUATION_VALUES)
        lines.extend(f"{indent}{local} = _UNSET" for local in self.computed.values())
        if self.uses_context:
            lines.append(f"{indent}context = None")
        return lines


_WORK = {
    "policy": "policy",
    "periods": "PERIODS",
    "record": "record",
    "fact": "fact",
    "at": "at",
    "escalation_id": "escalation_id",
    "plan": "plan",
    "actions": "actions",
    "fulfilled": "[]",
    "new_owner": "False",
    "announced": "announced",
}
"""What ``Work(policy, record, fact, plan, PERIODS)`` sets, slot by slot: the step builds its
:class:`Work` without the call of its ``__init__`` (each value a local of the same name set
first, a constant or a new list)."""

_WORK_LOCALS = ("record", "fact", "at", "plan", "policy", "escalation_id", "actions", "announced")
"""What the generated functions keep as locals of the same names as ``work``'s attributes,
which the lines written in place read instead (``work`` never changes them once built)."""

_SHARED = frozenset(("work", *_WORK_LOCALS))
"""The names a body written in place shares with the function it is written in: ``work``,
and the locals that hold what ``work`` holds. It reads them and never binds them."""


_DECISION = {
    "fact": "fact",
    "actions": "tuple(actions)",
    "fulfilled": "tuple(work.fulfilled)",
    "matched": "tuple(matched)",
    "state": "None",
}
"""The step's :class:`Decision`, field by field."""


def _every_field(
    cls: type[Any], values: dict[str, str], namespace: dict[str, Any], prefix: str
) -> list[str]:
    """Lines that build ``new``, an object of ``cls`` with each field set to its expression
    (:func:`build_lines`), once it is checked that every field has one."""
    names = [field.name for field in attrs.fields(cls)]
    if sorted(names) != sorted(values):  # a field added to the class and not here: say so
        raise TypeError(f"the generated step sets {sorted(values)}, {cls.__name__} has {names}")
    return build_lines(cls, [(name, values[name]) for name in names], namespace, prefix=prefix)


def _finish(namespace: dict[str, Any], policy: "Policy") -> list[str]:
    """Lines that do what ``work.finish()`` does, in place: to a new owner, announce again
    what is still pending of the obligations announced again on a new owner, unless the fact
    announced it anew."""
    namespace["OBLIGATIONS"] = policy.obligations
    namespace["AGAIN"] = frozenset(
        name
        for name, declared in policy.obligations.items()
        if declared.announce_again_on_new_owner
    )
    return [
        "    if work.new_owner:",
        "        for again in record.pending:",
        "            if again.obligation not in AGAIN or again.overdue:",
        "                continue",
        "            if (again.obligation, again.key, again.due) not in announced:",
        "                work._announce(OBLIGATIONS[again.obligation], again)",
    ]


def _new_work(namespace: dict[str, Any], periods: str = "PERIODS") -> list[str]:
    """Lines that build ``work`` as :class:`Work`'s ``__init__`` does, every slot set
    (``periods``: the expression of its period memo)."""
    if set(_WORK) != set(Work.__slots__):  # a slot added to Work and not here: say so now
        raise TypeError(f"the generated step sets {sorted(_WORK)}, Work has {Work.__slots__}")
    namespace["new_object"] = object.__new__
    slots = {**_WORK, "periods": periods}
    return [
        "    escalation_id = record.escalation_id",
        "    actions = []",
        "    announced = []",
        "    work = new_object(Work)",
        *(f"    work.{name} = {value}" for name, value in slots.items()),
    ]


def _step(policy: "Policy", fact_type: str, source: _Source, reactions: list[str]) -> Any:
    """The fact type's whole step for the common case: a fact about an open escalation with
    nothing due before it, checked (``decide``). What ``_apply`` does, with what depends
    only on the fact type decided here: the attributes it sets, the status it moves, whether
    it plans again."""
    namespace = source.namespace
    namespace.update(
        Work=Work,
        Decision=Decision,
        CLOSED=CLOSED,
        NOTHING=_NOTHING_BEFORE,
        PLAN_INPUTS=policy.plan_inputs,
        OWNER=OWNER,
        CADENCE=CADENCE,
        IN_SCOPE=IN_SCOPE,
        NEXT_DUE_OF=next_due_of,
    )
    lines = [
        "def step(policy, matcher, record, fact):",
        "    at = fact.at",
        "    status_before = record.status",
        "    record.clock = at",
    ]
    sets, moves, when = policy.changes.get(fact_type, ((), {}, None))
    if sets:
        # As _core.escalation._change: an attribute set from the fact's time only if another
        # one it sets changed (or it sets no other).
        values = [(attribute, field) for attribute, field in sets if field != "at"]
        times = [attribute for attribute, field in sets if field == "at"]
        lines.append("    previous = {}")
        for attribute, field in values:
            lines.append(f"    previous[{attribute!r}] = record.{attribute}")
            lines.append(f"    record.{attribute} = fact.{field}")
        if times and values:
            changed = " or ".join(
                f"record.{attribute} != previous[{attribute!r}]" for attribute, _ in values
            )
            lines.append(f"    sets_changed = {changed}")
        for attribute in times:
            lines.append(f"    previous[{attribute!r}] = record.{attribute}")
            if values:
                lines.append(f"    if sets_changed: record.{attribute} = at")
            else:
                lines.append(f"    record.{attribute} = at")
    else:
        lines.append("    previous = NOTHING")
    if moves:
        namespace["MOVES"] = dict(moves)
        namespace["WHEN"] = when
        lines += [
            "    after = MOVES.get(record.status)",
            "    if after is not None:"
            if when is None
            else "    if after is not None and WHEN(previous['severity'], record.severity):",
            "        record.status = after",
            "        if after == CLOSED:",
            "            record.closed_at = at",
        ]
    if fact_type in policy.planning:
        lines += [
            "    plan = matcher.plan({field: getattr(record, field) for field in PLAN_INPUTS})",
            "    in_scope = bool(plan.values[IN_SCOPE])",
            "    if in_scope != record.in_scope:",
            "        record.in_scope = in_scope",
            "        if not in_scope:",
            "            record.pending = []",
            "    if record.in_scope:",
            "        owner, cadence = plan.values[OWNER], plan.values[CADENCE]",
            "    else:",
            "        owner, cadence = record.owner, record.cadence",
            "    matched = list(plan.rows)",
        ]
    else:
        lines += [
            "    plan = None",
            "    owner, cadence = record.owner, record.cadence",
            "    matched = []",
        ]
    lines += [
        *_new_work(namespace),
        *source.locals("    "),
        *reactions,
        *_finish(namespace, policy),
        "    record.next_due = NEXT_DUE_OF(record.pending, record.rarely.retain_until)",
        *_every_field(Decision, _DECISION, namespace, "decision_"),
        "    decision = new",
        "    if record.status == CLOSED and record.settled:",
        "        return None, decision",
        "    return record, decision",
    ]
    return generate(lines, namespace, f"step for {fact_type}")


def _opening(
    policy: "Policy",
    fact_type: str,
    source: _Source,
    reactions: list[str],
    plans: Mapping[tuple[object, ...], Plan] | None,
) -> Any:
    """The fact type's whole opening of an escalation no record holds (``decide``): what
    ``_apply`` does for it, with what depends only on the policy decided here: the
    attributes the tables read, whether the escalation counts on a calendar. ``frozen``:
    the decision carries the new escalation's state (``None`` once settled), as the public
    :func:`~escalation_policy.decide` returns it, built once."""
    namespace = source.namespace
    namespace.update(
        Work=Work,
        Decision=Decision,
        CLOSED=CLOSED,
        NOTHING=_NOTHING_BEFORE,
        OWNER=OWNER,
        CADENCE=CADENCE,
        IN_SCOPE=IN_SCOPE,
        RECORDS=policy.terms.record,
        CHOOSE_CALENDAR=choose_calendar,
        NEXT_DUE_OF=next_due_of,
    )
    inputs = policy.plan_inputs
    if not all(field.isidentifier() and not keyword.iskeyword(field) for field in inputs):
        raise TypeError(f"the generated opening reads the fact's fields by name: {inputs}")
    read = ", ".join(f"{field!r}: fact.{field}" for field in inputs)
    lines = ["def opening(policy, matcher, fact, frozen=False):", "    at = fact.at"]
    if plans is None:
        lines.append(f"    plan = matcher.plan({{{read}}})")
    else:  # the matcher's memo first, by the key it keeps its plans under
        namespace["PLANS"] = plans
        lines += [
            f"    plan = PLANS.get(({''.join(f'fact.{field}, ' for field in inputs)}))",
            "    if plan is None:",
            f"        plan = matcher.plan({{{read}}})",
        ]
    lines += [
        "    record = RECORDS.open(fact, bool(plan.values[IN_SCOPE]))",
    ]
    calendars = policy.calendars
    zone_from = None if calendars is None else calendars.zone_from
    if (
        calendars is not None
        and calendars.by is None
        and (zone_from is None or (zone_from.isidentifier() and not keyword.iskeyword(zone_from)))
    ):
        # The policy's one calendar, unless the fact names a zone: its identity read once.
        namespace["CALENDAR"] = calendars.default.name
        namespace["IDENTITY"] = []  # the calendar's identity, once read
        zone = "None" if zone_from is None else f"fact.{zone_from}"
        lines += [
            f"    if {zone}:",
            "        record.calendar = CHOOSE_CALENDAR(policy, fact)",
            "        record.calendar_identity = policy.calendar(record.calendar).identity",
            "    else:",
            "        record.calendar = CALENDAR",
            "        if not IDENTITY:",
            "            IDENTITY.append(policy.calendar(CALENDAR).identity)",
            "        record.calendar_identity = IDENTITY[0]",
        ]
    elif calendars is not None:
        lines += [
            "    record.calendar = CHOOSE_CALENDAR(policy, fact)",
            "    if record.calendar is not None:",
            "        record.calendar_identity = policy.calendar(record.calendar).identity",
        ]
    else:  # choose_calendar would say None, as the record opens
        lines += [
            "    record.calendar = None",
        ]
    lines += [
        "    status_before = record.status",
        "    previous = NOTHING",
        "    if record.in_scope:",
        "        owner, cadence = plan.values[OWNER], plan.values[CADENCE]",
        "    else:",
        "        owner, cadence = record.owner, record.cadence",
        *_new_work(namespace, periods="None"),
        "    matched = list(plan.rows)",
        *source.locals("    "),
        *reactions,
        *_finish(namespace, policy),
        "    record.next_due = NEXT_DUE_OF(record.pending, record.rarely.retain_until)",
        "    settled = record.status == CLOSED and record.settled",
        "    state = RECORDS.freeze(record) if frozen and not settled else None",
        *_every_field(Decision, {**_DECISION, "state": "state"}, namespace, "decision_"),
        "    if settled:",
        "        return None, new",
        "    return record, new",
    ]
    return generate(lines, namespace, f"opening for {fact_type}")
