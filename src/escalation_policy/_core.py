"""The pure core: one escalation's state and one fact in, new state and actions out.

No I/O, no clock but the facts' own times, no globals. Which table rows and reactions match is
asked of a :class:`Matcher`, so that the same core runs on every engine.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs

from escalation_policy.errors import (
    DuplicateEscalationError,
    EscalationClosedError,
    InvalidFactError,
    PolicyDefinitionError,
    StaleFactError,
    UnknownEscalationError,
)
from escalation_policy.model import (
    AccountIssue,
    Action,
    AssignOwner,
    Closed,
    CreateTrackerDocument,
    EscalationFact,
    Fact,
    InformTam,
    MeetingHeld,
    Opened,
    OutOfScope,
    Posted,
    PostReason,
    PostToChannel,
    RequestProductEscalation,
    RiskReduced,
    Role,
    SetCadence,
    SetInvolvement,
    SeverityChanged,
    StatusChanged,
    TamAssigned,
    UpdateExecutiveSummary,
    Violation,
    ViolationCode,
)
from escalation_policy.model import RouteToTam as RouteToTamAction
from escalation_policy.policy import Policy, scalar
from escalation_policy.state import EscalationState, Fulfilment, Outcome, PendingObligation
from escalation_policy.vocabulary import (
    ApplyPlan,
    Cancel,
    DeclareOutOfScope,
    Effect,
    EscalateToProduct,
    Flag,
    Fulfil,
    HitPolicy,
    Obligation,
    OpenTrackerDocument,
    RequirePost,
    RequireSummaryUpdate,
    RequireTamInformed,
    RouteToTam,
    ScheduleMeetings,
    ScheduleUpdates,
    Status,
)

_OVERDUE_CODE = {
    Obligation.CHANNEL_POST: ViolationCode.POST_OVERDUE,
    Obligation.CHANNEL_UPDATE: ViolationCode.UPDATE_OVERDUE,
    Obligation.MEETING: ViolationCode.MEETING_OVERDUE,
    Obligation.INFORM_TAM: ViolationCode.TAM_NOT_INFORMED,
    Obligation.EXECUTIVE_SUMMARY: ViolationCode.EXECUTIVE_SUMMARY_OVERDUE,
}

_PLAN_INPUTS = (
    "severity",
    "segment",
    "strategic_partnership",
    "broad_impact",
    "initiated_by",
    "issue_type",
)


class Matcher(Protocol):
    """Answers which rows and reactions match; the engines differ only here."""

    def table_rows(self, index: int, inputs: Mapping[str, object]) -> Sequence[int]:
        """Indices of the rows of ``policy.tables[index]`` whose cells match, in row order."""

    def reactions(self, fact_type: str, context: Mapping[str, object]) -> Sequence[int]:
        """Indices of ``policy.reactions`` that match, in declaration order."""


_T = TypeVar("_T")


def _replacer(cls: type[_T]) -> Any:
    """An unrolled ``attrs.evolve`` for one of the state's classes (they have no validators).

    The core makes one new state per fact; this is its hottest path, and the unrolled copy
    costs a third of ``attrs.evolve``.
    """
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    lines = ["def replace(obj, changes):", "    new = new_object(cls)"]
    lines += [f"    set_slot(new, {name!r}, obj.{name})" for name in names]
    lines += ["    for name, value in changes.items():", "        set_slot(new, name, value)"]
    lines.append("    return new")
    namespace: dict[str, Any] = {
        "new_object": object.__new__,
        "set_slot": object.__setattr__,
        "cls": cls,
    }
    exec("\n".join(lines), namespace)  # generated from the class's own field names only
    return namespace["replace"]


_REPLACERS: dict[type, Any] = {cls: _replacer(cls) for cls in (EscalationState, PendingObligation)}


def _replace(obj: _T, changes: Mapping[str, Any]) -> _T:
    result: _T = _REPLACERS[type(obj)](obj, changes)
    return result


@attrs.frozen
class Plan:
    values: Mapping[str, Any]
    sources: Mapping[str, str]  # output -> the row id that produced it
    rows: tuple[str, ...]  # every row that matched, in table order


def evaluate_plan(policy: Policy, matcher: Matcher, base: Mapping[str, object]) -> Plan:
    """Run the decision tables, in dependency order, over the escalation's attributes.

    A matcher with a ``plan_cache`` (the native one) memoises whole plans: tables are pure
    functions of the escalation's attributes, so they are not evaluated again per fact.
    """
    cache: dict[tuple[object, ...], Plan] | None = getattr(matcher, "plan_cache", None)
    if cache is not None:
        key = tuple([base.get(field) for field in _PLAN_INPUTS])
        plan = cache.get(key)
        if plan is None:
            plan = _evaluate_plan(policy, matcher, base)
            if len(cache) < 4096:  # free-text issue types could otherwise grow it forever
                cache[key] = plan
        return plan
    return _evaluate_plan(policy, matcher, base)


def _evaluate_plan(policy: Policy, matcher: Matcher, base: Mapping[str, object]) -> Plan:
    values: dict[str, Any] = dict(base)
    sources: dict[str, str] = {}
    rows_matched: list[str] = []
    for index, compiled in enumerate(policy.tables):
        table = compiled.table
        inputs = {field: scalar(values.get(field)) for field in table.inputs}
        rows = matcher.table_rows(index, inputs)
        if table.hit_policy is HitPolicy.COLLECT:
            rows_matched.extend(compiled.row_ids[row] for row in rows)
            for field in table.outputs:
                collected: tuple[Any, ...] = ()
                for row in rows:
                    collected += tuple(table.rows[row].then[field])
                values[field] = collected
                if rows:
                    sources[field] = compiled.row_ids[rows[0]]
            continue
        if not rows or (table.hit_policy is HitPolicy.UNIQUE and len(rows) > 1):
            shown = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
            raise PolicyDefinitionError(
                f"{len(rows)} rows match {shown}, hit policy {table.hit_policy.value}",
                module=compiled.module,
                rule=table.id,
            )
        row = rows[0]
        rows_matched.append(compiled.row_ids[row])
        for field in table.outputs:
            values[field] = table.rows[row].then[field]
            sources[field] = compiled.row_ids[row]
    return Plan(values=values, sources=sources, rows=tuple(rows_matched))


def _plan_inputs(source: EscalationState | Opened) -> dict[str, object]:
    """The attributes the decision tables read, from a state or an ``opened`` fact."""
    return {field: getattr(source, field) for field in _PLAN_INPUTS}


# ---------------------------------------------------------------------------------------- checks
def check(state: EscalationState | None, fact: Fact) -> None:
    """Raise the input error this fact would cause for this escalation, if any."""
    if not isinstance(fact, EscalationFact):
        raise InvalidFactError(
            f"got a {fact.TYPE!r} fact, expected a fact about one escalation", path="$.type"
        )
    if isinstance(fact, Opened):
        if state is not None and not state.settled:
            raise DuplicateEscalationError(
                f"escalation {fact.escalation_id!r} is already open (opened "
                f"{state.opened_at.isoformat()}); expected a new escalation_id",
                path="$.escalation_id",
            )
        return
    if state is None:
        raise UnknownEscalationError(
            f"no open escalation {fact.escalation_id!r}; expected an 'opened' fact first",
            path="$.escalation_id",
        )
    if fact.at < state.clock:
        raise StaleFactError(
            f"got {fact.at.isoformat()}, older than the escalation's last fact at "
            f"{state.clock.isoformat()}; facts must arrive in time order",
            path="$.at",
        )
    if state.status is Status.CLOSED and not isinstance(fact, Posted):
        raise EscalationClosedError(
            f"escalation {fact.escalation_id!r} is closed; got a {fact.TYPE!r} fact, expected "
            "only the posts its closing requires",
            path="$.type",
        )


# --------------------------------------------------------------------------------------- advance
def advance(policy: Policy, state: EscalationState, to: dt.datetime) -> Outcome:
    """Let time pass up to ``to``: report each obligation that falls due unmet, once."""
    next_due = state.next_due
    if next_due is None or next_due >= to:
        return Outcome(state=state)
    pending = list(state.pending)
    actions: list[Action] = []
    rescheduled_update: PendingObligation | None = None
    while True:
        late = [(p.due, i) for i, p in enumerate(pending) if not p.overdue and p.due < to]
        if not late:
            break
        _, index = min(late)
        missed = pending[index]
        actions.append(_overdue(state, missed, to))
        if missed.every is not None:
            pending[index] = _replace(missed, {"due": missed.due + missed.every})
            if missed.obligation is Obligation.CHANNEL_UPDATE:
                rescheduled_update = pending[index]
        else:
            pending[index] = _replace(missed, {"overdue": True})
    if rescheduled_update is not None:
        actions.append(_post_action(policy, state, rescheduled_update, to))
    retain_until = state.retain_until
    if state.status is Status.CLOSED and retain_until is None and any(p.overdue for p in pending):
        retain_until = max(p.due for p in pending if p.overdue) + policy.late_fulfilment_window
    new = _replace(
        state,
        {"pending": tuple(pending), "clock": max(state.clock, to), "retain_until": retain_until},
    )
    return Outcome(state=None if new.settled else new, actions=tuple(actions))


def _overdue(state: EscalationState, missed: PendingObligation, at: dt.datetime) -> Violation:
    due = missed.due.isoformat()
    if missed.obligation is Obligation.CHANNEL_POST:
        reason = missed.reason.value if missed.reason else "required"
        detail = f"the {reason!r} post was due by {due} and was not made"
    elif missed.obligation is Obligation.CHANNEL_UPDATE:
        detail = f"no update was posted by {due}"
    elif missed.obligation is Obligation.MEETING:
        detail = f"no meeting was held by {due}"
    elif missed.obligation is Obligation.INFORM_TAM:
        detail = f"the TAM {missed.tam!r} was not informed by {due}"
    else:
        detail = f"the executive summary was not updated by {due}"
    return Violation(
        escalation_id=state.escalation_id,
        at=at,
        rule=missed.rule,
        cites=missed.cites,
        code=_OVERDUE_CODE[missed.obligation],
        detail=detail,
        due=missed.due,
    )


def _post_action(
    policy: Policy, state: EscalationState, pending: PendingObligation, at: dt.datetime
) -> PostToChannel:
    return PostToChannel(
        escalation_id=state.escalation_id,
        at=at,
        rule=pending.rule,
        cites=pending.cites,
        channel=policy.channel,
        by=state.owner or _no_owner(state),
        reason=pending.reason or PostReason.UPDATE,
        due=pending.due,
    )


def _no_owner(state: EscalationState) -> Any:
    raise PolicyDefinitionError(
        f"escalation {state.escalation_id!r} needs a post but has no owner: a reaction that "
        "requires a post must run after ApplyPlan"
    )


# ---------------------------------------------------------------------------------------- decide
def decide(
    policy: Policy,
    matcher: Matcher,
    state: EscalationState | None,
    fact: EscalationFact,
    *,
    checked: bool = False,
) -> Outcome:
    """Apply ``fact`` to the escalation's ``state`` (``None`` for ``opened``).

    Raises an :class:`~escalation_policy.errors.InputError` for a fact the escalation cannot
    take; ``state`` is never modified (it is immutable), so nothing is half-applied.
    """
    if not checked:
        check(state, fact)
    earlier: tuple[Action, ...] = ()
    next_due = state.next_due if state is not None else None
    if (
        state is not None
        and not isinstance(fact, Opened)
        and next_due is not None
        and next_due < fact.at
    ):
        passed = advance(policy, state, fact.at)
        earlier = passed.actions
        if passed.state is None:
            raise UnknownEscalationError(
                f"escalation {fact.escalation_id!r} was closed and settled before "
                f"{fact.at.isoformat()}",
                path="$.escalation_id",
            )
        state = passed.state

    plan: Plan | None = None
    if isinstance(fact, Opened):
        plan = evaluate_plan(policy, matcher, _plan_inputs(fact))
        state = _open(fact, plan)
        changes: dict[str, Any] = {}
    else:
        assert state is not None  # check() guarantees it
        changes = _record(state, fact)
        if isinstance(fact, SeverityChanged):
            plan = evaluate_plan(policy, matcher, {**_plan_inputs(state), **changes})
    context = _context(policy, state, changes, fact, plan)
    work = _Work(policy, state, changes, fact, plan)
    matched = list(plan.rows) if plan is not None else []
    for index in matcher.reactions(fact.TYPE, context):
        compiled = policy.reactions[index]
        matched.append(compiled.reaction.id)
        for effect in compiled.reaction.then:
            work.apply(effect, compiled.reaction.id, compiled.reaction.cites)
    new = work.state()
    if earlier:
        # A next update announced while time passed, then cancelled by this very fact
        # (closing, risk reduced), was never really due: do not announce it.
        still_due = {p.due for p in new.pending if p.obligation is Obligation.CHANNEL_UPDATE}
        earlier = tuple(
            action
            for action in earlier
            if not (
                isinstance(action, PostToChannel)
                and action.reason is PostReason.UPDATE
                and action.due not in still_due
            )
        )
    return Outcome(
        state=None if new.settled else new,
        actions=earlier + tuple(work.actions),
        fulfilled=tuple(work.fulfilled),
        matched=tuple(matched),
    )


def _open(fact: Opened, plan: Plan) -> EscalationState:
    return EscalationState(
        escalation_id=fact.escalation_id,
        customer=fact.customer,
        segment=fact.segment,
        severity=fact.severity,
        strategic_partnership=fact.strategic_partnership,
        broad_impact=fact.broad_impact,
        initiated_by=fact.initiated_by,
        opened_by=fact.opened_by,
        tam=fact.tam,
        issue_type=fact.issue_type,
        summary=fact.summary,
        opened_at=fact.at,
        clock=fact.at,
        status=Status.ACTIVE,
        in_scope=bool(plan.values["in_scope"]),
    )


def _record(state: EscalationState, fact: EscalationFact) -> dict[str, Any]:
    """The fact's own changes to the record, before any rule runs."""
    changes: dict[str, Any] = {"clock": fact.at}
    if isinstance(fact, SeverityChanged):
        changes["severity"] = fact.severity
        if fact.severity is not state.severity:
            changes["severity_changes"] = state.severity_changes + 1
        if state.status is Status.RISK_REDUCED:
            changes["status"] = Status.ACTIVE  # a new severity re-escalates
    elif isinstance(fact, TamAssigned):
        changes["tam"] = fact.tam
    elif isinstance(fact, StatusChanged):
        changes["engagement_status"] = fact.status
        changes["milestones"] = fact.milestones
    elif isinstance(fact, RiskReduced):
        if state.status is Status.ACTIVE:
            changes["status"] = Status.RISK_REDUCED
    elif isinstance(fact, Closed):
        changes["status"] = Status.CLOSED
        changes["closed_at"] = fact.at
    return changes


def _context(
    policy: Policy,
    state: EscalationState,
    changes: Mapping[str, Any],
    fact: EscalationFact,
    plan: Plan | None,
) -> dict[str, object]:
    """The flat record conditions test (``vocabulary.CONTEXT_FIELDS``); nulls are left out.

    ``status`` is the status before the fact; everything else is after it.
    """
    in_scope = state.in_scope
    if plan is not None and in_scope:
        owner, cadence = plan.values["owner"], plan.values["cadence"]
    else:
        owner, cadence = state.owner, state.cadence
    severity = changes.get("severity", state.severity)
    context: dict[str, object] = {
        "severity": severity._value_,
        "segment": state.segment._value_,
        "strategic_partnership": state.strategic_partnership,
        "broad_impact": state.broad_impact,
        "initiated_by": state.initiated_by._value_,
        "in_scope": in_scope,
        "status": state.status._value_,
        "tam_assigned": changes.get("tam", state.tam) is not None,
    }
    if state.issue_type is not None:
        context["issue_type"] = state.issue_type
    if owner is not None:
        context["owner"] = owner._value_
    if cadence is not None:
        context["cadence"] = cadence._value_
    if isinstance(fact, Posted):
        context["purpose"] = fact.purpose._value_
        context["by"] = fact.by._value_
        context["escalation_channel"] = policy.is_escalation_channel(fact.channel)
        context["by_owner"] = fact.by is state.owner
    elif isinstance(fact, SeverityChanged):
        context["previous_severity"] = state.severity._value_
    elif isinstance(fact, MeetingHeld):
        context["audience"] = fact.audience._value_
    elif isinstance(fact, AccountIssue):
        context["kind"] = fact.kind._value_
    return context


class _Work:
    """The effects of one fact, applied to a working copy of the escalation."""

    def __init__(
        self,
        policy: Policy,
        state: EscalationState,
        changes: dict[str, Any],
        fact: EscalationFact,
        plan: Plan | None,
    ) -> None:
        self.policy = policy
        self.fact = fact
        self.plan = plan
        self.changes = changes
        self.base = state
        self.pending = list(state.pending)
        self.actions: list[Action] = []
        self.fulfilled: list[Fulfilment] = []

    def get(self, field: str) -> Any:
        return self.changes.get(field, getattr(self.base, field))

    def state(self) -> EscalationState:
        self.changes["pending"] = tuple(self.pending)
        return _replace(self.base, self.changes)

    def _meta(self, rule: str, cites: str | None = None) -> dict[str, Any]:
        return {
            "escalation_id": self.base.escalation_id,
            "at": self.fact.at,
            "rule": rule,
            "cites": cites if cites is not None else self.policy.rules[rule].cites,
        }

    def _find(self, obligation: Obligation, reason: PostReason | None = None) -> int | None:
        for index, pending in enumerate(self.pending):
            if pending.obligation is obligation and (reason is None or pending.reason is reason):
                return index
        return None

    def _owner(self) -> Any:
        owner = self.get("owner")
        if owner is None and self.plan is not None:
            owner = self.plan.values["owner"]
        return owner if owner is not None else _no_owner(self.base)

    def apply(self, effect: Effect, rule: str, cites: str) -> None:
        at = self.fact.at
        if isinstance(effect, ApplyPlan):
            self._apply_plan()
        elif isinstance(effect, ScheduleUpdates):
            self._schedule(Obligation.CHANNEL_UPDATE, "update_every")
        elif isinstance(effect, ScheduleMeetings):
            self._schedule(Obligation.MEETING, "meeting_every")
        elif isinstance(effect, RequirePost):
            if self._find(Obligation.CHANNEL_POST, effect.reason) is None:
                pending = PendingObligation(
                    obligation=Obligation.CHANNEL_POST,
                    due=at + effect.within,
                    rule=rule,
                    cites=cites,
                    reason=effect.reason,
                )
                self.pending.append(pending)
                self.actions.append(
                    PostToChannel(
                        **self._meta(rule, cites),
                        channel=effect.channel,
                        by=self._owner(),
                        reason=effect.reason,
                        due=pending.due,
                    )
                )
        elif isinstance(effect, RequireTamInformed):
            self._require_tam_informed(effect, rule, cites)
        elif isinstance(effect, RequireSummaryUpdate):
            index = self._find(Obligation.EXECUTIVE_SUMMARY)
            if index is None or self.pending[index].overdue:
                if index is not None:
                    del self.pending[index]
                pending = PendingObligation(
                    obligation=Obligation.EXECUTIVE_SUMMARY,
                    due=at + effect.within,
                    rule=rule,
                    cites=cites,
                )
                self.pending.append(pending)
                self.actions.append(
                    UpdateExecutiveSummary(**self._meta(rule, cites), due=pending.due)
                )
        elif isinstance(effect, Fulfil):
            self._fulfil(effect.obligation)
        elif isinstance(effect, Cancel):
            self.pending = [p for p in self.pending if p.obligation not in effect.obligations]
        elif isinstance(effect, Flag):
            self.actions.append(
                Violation(**self._meta(rule, cites), code=effect.code, detail=effect.detail)
            )
        elif isinstance(effect, DeclareOutOfScope):
            reason = self.plan.values.get("out_of_scope_reason") if self.plan else None
            self.actions.append(
                OutOfScope(**self._meta(rule, cites), reason=reason or "outside the policy's scope")
            )
        elif isinstance(effect, OpenTrackerDocument):
            title = effect.title.replace("(CUSTOMER)", self.base.customer)
            self.actions.append(CreateTrackerDocument(**self._meta(rule, cites), title=title))
        elif isinstance(effect, RouteToTam):
            assert isinstance(self.fact, AccountIssue)  # validated at load time
            self.actions.append(
                RouteToTamAction(
                    **self._meta(rule, cites), kind=self.fact.kind, tam=self.get("tam")
                )
            )
        elif isinstance(effect, EscalateToProduct):
            self.actions.append(
                RequestProductEscalation(**self._meta(rule, cites), template=effect.template)
            )

    def _require_tam_informed(self, effect: RequireTamInformed, rule: str, cites: str) -> None:
        tam = self.get("tam")
        if tam is None or self.get("informed_tam") == tam:
            return
        index = self._find(Obligation.INFORM_TAM)
        if index is not None:
            if self.pending[index].tam == tam:
                return
            del self.pending[index]  # a new TAM replaces the one not yet informed
        pending = PendingObligation(
            obligation=Obligation.INFORM_TAM,
            due=self.fact.at + effect.within,
            rule=rule,
            cites=cites,
            tam=tam,
        )
        self.pending.append(pending)
        self.actions.append(InformTam(**self._meta(rule, cites), tam=tam, due=pending.due))

    def _fulfil(self, obligation: Obligation) -> None:
        at = self.fact.at
        reason = None
        if obligation is Obligation.CHANNEL_POST:
            assert isinstance(self.fact, Posted)  # validated at load time
            reason = PostReason(self.fact.purpose.value)
        index = self._find(obligation, reason)
        if obligation is Obligation.INFORM_TAM:
            informed = self.pending[index].tam if index is not None else self.get("tam")
            self.changes["informed_tam"] = informed
        if index is None:
            return
        pending = self.pending[index]
        self.fulfilled.append(
            Fulfilment(
                escalation_id=self.base.escalation_id,
                obligation=obligation,
                rule=pending.rule,
                due=pending.due,
                at=at,
                reason=pending.reason,
            )
        )
        if pending.every is None:
            del self.pending[index]
            return
        self.pending[index] = _replace(pending, {"due": at + pending.every, "overdue": False})
        if obligation is Obligation.CHANNEL_UPDATE:
            self.actions.append(_post_action(self.policy, self._current(), self.pending[index], at))

    def _current(self) -> EscalationState:
        return _replace(self.base, self.changes)

    def _apply_plan(self) -> None:
        assert self.plan is not None  # ApplyPlan runs on opened and severity_changed only
        values, sources = self.plan.values, self.plan.sources
        at = self.fact.at
        owner = values["owner"]
        if owner is not self.get("owner"):
            self.changes["owner"] = owner
            self.actions.append(AssignOwner(**self._meta(sources["owner"]), owner=owner))
            for pending in self.pending:
                if pending.obligation is Obligation.CHANNEL_POST and not pending.overdue:
                    self.actions.append(_post_action(self.policy, self._current(), pending, at))
        roles: list[Role] = []
        for role in tuple(values["involvement"]) + tuple(values.get("extra_involvement", ())):
            if role not in roles:
                roles.append(role)
        current = tuple(self.get("involvement"))
        if tuple(roles) != current:
            self.changes["involvement"] = tuple(roles)
            self.actions.append(
                SetInvolvement(
                    **self._meta(sources["involvement"]),
                    roles=tuple(roles),
                    added=tuple(r for r in roles if r not in current),
                    removed=tuple(r for r in current if r not in roles),
                )
            )
        cadence = values["cadence"]
        if cadence is not self.get("cadence"):
            self.changes["cadence"] = cadence
            self.actions.append(SetCadence(**self._meta(sources["cadence"]), cadence=cadence))

    def _schedule(self, obligation: Obligation, output: str) -> None:
        """Keep, start, re-plan or stop a periodic obligation from the plan's ``output``."""
        assert self.plan is not None  # validated at load time: opened and severity_changed only
        every: dt.timedelta | None = self.plan.values[output]
        rule = self.plan.sources.get(output)
        if self.get("status") is not Status.ACTIVE:
            every = None
        index = self._find(obligation)
        if every is None or rule is None:
            if index is not None:
                del self.pending[index]
            return
        if index is not None and self.pending[index].every == every:
            return
        pending = PendingObligation(
            obligation=obligation,
            due=self.fact.at + every,
            rule=rule,
            cites=self.policy.rules[rule].cites,
            reason=PostReason.UPDATE if obligation is Obligation.CHANNEL_UPDATE else None,
            every=every,
        )
        if index is None:
            self.pending.append(pending)
        else:
            self.pending[index] = pending
        if obligation is Obligation.CHANNEL_UPDATE:
            self.actions.append(_post_action(self.policy, self._current(), pending, self.fact.at))
