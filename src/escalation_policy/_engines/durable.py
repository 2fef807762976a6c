"""The durable engine: the policy's conditions compiled into durable_rules rulesets.

durable_rules (durable-rules 2.0.28) decides which table rows and reactions match; the shared
core does the rest. Its defects are designed around here, in one place:

- An event fires only the first matching rule. Rules are partitioned into *layers* whose rules
  can never match the same event (checked from their conditions), one ruleset per layer; every
  layer sees every event, so every matching rule is honoured.
- A ruleset holds at most 1024 live sessions. Escalation state lives in the core, not in
  durable sessions: every evaluation uses one session id, so exactly one session is ever live.
- A ruleset that has seen an event cannot be freed (``delete_ruleset`` then leaks most of its
  memory, and crashes after ``delete_state``). Since durable only matches, the rulesets compiled
  from one policy are shared by every engine for that policy (:data:`_COMPILED`) and kept for the
  life of the process: creating and dropping engines costs no memory.
- The stock ``Host`` starts self-re-arming dispatcher threads (and they crashed under load).
  :class:`_QuietHost` never starts them; nothing here needs them, as no rule uses timers.
- Its timers use the wall clock: no rule uses them; time comes from facts, in the core.
- An exception in an action is stored in the session instead of raised: actions only record
  the rule's name, and a stored exception is turned into :class:`EngineFailure` with the
  session reset.
- It is not thread-safe: every call into it holds :data:`_DURABLE_LOCK`.
- It calls ``datetime.utcfromtimestamp``, deprecated since Python 3.12: under ``-W error`` every
  action would fail. Its own DeprecationWarnings are ignored while it runs, and only those.
- A condition ``$neq`` does not match an absent field, unlike the native ``none_of``:
  negations compile to "absent or different".
"""

import contextlib
import json
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from escalation_policy._core.matching import Plan, evaluate_plan
from escalation_policy._language.context import Situation
from escalation_policy.errors import EngineFailure, EngineUnavailableError
from escalation_policy.policy import Condition, Policy

__all__ = ["DurableMatcher", "durable_available"]

# durable_rules' extension keeps process-wide state and is not thread-safe: one lock for all
# engines in the process, held by every call into it and by every use of _COMPILED.
_DURABLE_LOCK = threading.Lock()
_SESSION = "0"
# The rulesets compiled from each distinct policy (keyed by their definitions), shared by every
# durable engine and never freed (see the module's notes). With _DURABLE_LOCK, the durable
# engine's only process-wide state, on purpose: it follows durable_rules' own, which is
# process-wide.
_COMPILED: dict[str, "_Rulesets"] = {}
# Only warnings raised by durable_rules' own modules (``durable``, ``durable.engine``).
_DURABLE_DEPRECATION: tuple[str, None, type[Warning], re.Pattern[str], int] = (
    "ignore",
    None,
    DeprecationWarning,
    re.compile(r"durable(\.|$)"),
    0,
)


def durable_available() -> str | None:
    """``None`` if the durable engine can run here, else why it cannot."""
    if sys.version_info >= (3, 13):
        return (
            "durable-rules 2.0.28 does not run on Python 3.13 and later (its extension calls "
            "PyEval_CallObject, which Python 3.13 removed); use engine='native', which gives "
            "the same decisions"
        )
    try:
        import durable.engine  # noqa: F401
    except ImportError as error:
        return (
            f"durable-rules is not installed ({error}); install it with "
            "pip install 'escalation-policy[durable]', or use engine='native'"
        )
    return None


def _json_cell(condition: Condition) -> dict[str, Any]:
    """A condition as durable_rules reads it. ``None`` stands for an absent field (the context
    leaves out what is not set): ``$nex``, and under a negation ``$ex``."""
    field = condition.field
    values = sorted((v for v in condition.values if v is not None), key=repr)
    unset = None in condition.values
    if condition.negated:
        different = [{"$neq": {field: value}} for value in values]
        if unset:  # set, and none of the values
            return {"$and": [{"$ex": {field: 1}}, *different]} if different else {"$ex": {field: 1}}
        return {"$or": [{"$nex": {field: 1}}, {"$and": different}]}
    parts: list[dict[str, Any]] = [{field: value} for value in values]
    if unset:
        parts.append({"$nex": {field: 1}})
    if len(parts) == 1:
        return parts[0]
    return {"$or": parts}


def _exclusive(first: Sequence[Condition], second: Sequence[Condition]) -> bool:
    """True if no record can satisfy both condition lists (so they may share a ruleset)."""
    by_field = {c.field: c for c in first}
    for other in second:
        mine = by_field.get(other.field)
        if mine is None:
            continue
        if not mine.negated and not other.negated and not (mine.values & other.values):
            return True
        if not mine.negated and other.negated and mine.values <= other.values:
            return True
        if mine.negated and not other.negated and other.values <= mine.values:
            return True
    return False


def layers(rules: Sequence[Sequence[Condition]]) -> list[list[int]]:
    """Greedy partition of rule indices into layers of pairwise exclusive rules."""
    result: list[list[int]] = []
    for index, conditions in enumerate(rules):
        for layer in result:
            if all(_exclusive(conditions, rules[other]) for other in layer):
                layer.append(index)
                break
        else:
            result.append([index])
    return result


class DurableMatcher:
    """Matches by posting each record to durable_rules rulesets compiled from the policy."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        why = durable_available()
        if why is not None:
            raise EngineUnavailableError(why)
        import durable.engine as durable_engine

        prefix = "escalation_policy"  # names are per host, and each set of rulesets has its own
        definitions: dict[str, dict[str, Any]] = {}

        self._table_layers: list[list[str]] = []
        for index, compiled in enumerate(policy.tables):
            kind = f"table{index}"
            rules = [
                [Condition(field="event", values=frozenset({kind})), *conditions]
                for conditions in compiled.conditions
            ]
            self._table_layers.append(_define(definitions, f"{prefix}.{kind}", rules))

        # An event is a fact type, and whether the escalation it is about is known.
        reaction_rules = [
            [
                Condition(field="event", values=compiled.types),
                Condition(field="known", values=frozenset({compiled.known})),
                *compiled.conditions,
            ]
            for compiled in policy.reactions
        ]
        self._reaction_layers = _define(definitions, f"{prefix}.reactions", reaction_rules)

        key = json.dumps(definitions, sort_keys=True)
        with _DURABLE_LOCK:
            rulesets = _COMPILED.get(key)
            if rulesets is None:
                rulesets = _COMPILED[key] = _Rulesets(durable_engine, definitions)
        self._rulesets = rulesets

    def plan(self, base: Mapping[str, object]) -> Plan:
        return evaluate_plan(self._policy, self, base)

    def _post(self, names: Iterable[str], record: Mapping[str, object]) -> list[int]:
        rulesets = self._rulesets
        with _DURABLE_LOCK, _durable_deprecations_ignored():
            rulesets.fired.clear()
            for name in names:
                message = dict(record, sid=_SESSION)
                try:
                    state = rulesets.host.post(name, message)
                except rulesets.not_handled:
                    continue
                except Exception as error:
                    rulesets.reset(name)
                    raise EngineFailure(
                        f"durable_rules failed on ruleset {name}: {error!r}"
                    ) from error
                if isinstance(state, Mapping) and "exception" in state:
                    rulesets.reset(name)
                    raise EngineFailure(
                        f"a durable_rules action failed on ruleset {name}: "
                        f"{str(state['exception'])[:200]}"
                    )
            return sorted(rulesets.fired)

    def table_rows(self, index: int, inputs: Mapping[str, object]) -> Sequence[int]:
        record = {key: value for key, value in inputs.items() if value is not None}
        record["event"] = f"table{index}"
        return self._post(self._table_layers[index], record)

    def reactions(self, fact_type: str, context: Mapping[str, object]) -> Sequence[int]:
        return self._post(self._reaction_layers, dict(context, event=fact_type, known=True))

    def reactions_about_unknown(
        self, fact_type: str, context: Mapping[str, object]
    ) -> Sequence[int]:
        return self._post(self._reaction_layers, dict(context, event=fact_type, known=False))

    def generated(self, fact_type: str) -> None:
        return None  # matched through reactions_for, applied by the core

    def reactions_for(self, fact_type: str, situation: Situation) -> Sequence[int]:
        return self.reactions(fact_type, self._policy.context.context_of(fact_type, situation))


def _define(
    definitions: dict[str, dict[str, Any]], name: str, rules: Sequence[Sequence[Condition]]
) -> list[str]:
    """Add one ruleset per layer of ``rules`` to ``definitions``; rule ``r3`` is ``rules[3]``."""
    names = []
    for number, layer in enumerate(layers(rules)):
        ruleset = f"{name}.layer{number}"
        definitions[ruleset] = {
            f"r{index}": {"all": [{"m": {"$and": [_json_cell(c) for c in rules[index]]}}]}
            for index in layer
        }
        names.append(ruleset)
    return names


class _Rulesets:
    """One policy's rulesets in a durable host: used only with :data:`_DURABLE_LOCK` held.

    A rule's action records its index in :attr:`fired`; :meth:`DurableMatcher._post` clears it
    before posting, so what it reads afterwards is what that post matched.
    """

    def __init__(self, durable_engine: Any, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self.not_handled: type[Exception] = durable_engine.MessageNotHandledException
        self.fired: list[int] = []
        with_actions = {
            name: {
                rule: dict(definition, run=self.recorder(int(rule[1:])))
                for rule, definition in rules.items()
            }
            for name, rules in definitions.items()
        }
        try:
            with _durable_deprecations_ignored():
                self.host = _quiet_host(durable_engine)
                self.host.register_rulesets(with_actions)
        except Exception as error:
            raise EngineFailure(
                f"durable_rules refused the policy's rulesets: {error!r}"
            ) from error

    def recorder(self, index: int) -> Callable[[Any], None]:
        def record(_closure: Any) -> None:
            self.fired.append(index)

        return record

    def reset(self, name: str) -> None:
        # Best effort: if even this fails, the next post starts from a fresh session anyway.
        with contextlib.suppress(Exception):
            self.host.delete_state(name, _SESSION)


@contextlib.contextmanager
def _durable_deprecations_ignored() -> Iterator[None]:
    """Ignore the DeprecationWarnings raised by durable_rules' own code while the block runs.

    The filter matches only warnings attributed to durable's modules, so every other warning
    (the host's, from any thread) meets the host's filters as before. It is added and then
    removed by identity, not with ``warnings.catch_warnings``, which would restore a copy of the
    whole (process-wide) filter list and so undo a change another thread made meanwhile.
    Callers hold :data:`_DURABLE_LOCK`, so no two durable calls overlap. Warnings that filter
    ignores are not remembered in any ``__warningregistry__``: nothing needs resetting after.
    """
    entry = _DURABLE_DEPRECATION
    # Typed as a Sequence, it is the list the warnings machinery reads (and filterwarnings edits).
    filters = cast(list[object], warnings.filters)
    filters.insert(0, entry)
    try:
        yield
    finally:
        for position, item in enumerate(filters):
            if item is entry:
                del filters[position]
                break


def _quiet_host(durable_engine: Any) -> Any:
    class QuietHost(durable_engine.Host):  # type: ignore[misc]
        """A durable ``Host`` that never starts its dispatcher threads.

        ``Host._run`` is private; overriding it is the only way to stop the self-re-arming
        timer threads the constructor starts (they crashed the process under load). Nothing
        here needs them: no rule uses durable timers or queued actions.
        """

        def _run(self) -> None:
            return None

    return QuietHost()
