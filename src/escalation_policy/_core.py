"""The pure core: one escalation's record and one fact in, the record changed and actions out.

No I/O, no clock but the facts' own times, no globals. Which table rows and reactions match is
asked of a :class:`Matcher`, so that the same core runs on every engine.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from escalation_policy import vocabulary as vocab
from escalation_policy._context import Situation
from escalation_policy._matching import Matcher, Plan
from escalation_policy._record import Record
from escalation_policy._typed import LATEST
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
    Opened,
    OutOfScope,
    Posted,
    PostPurpose,
    PostReason,
    PostToChannel,
    Reminder,
    RequestProductEscalation,
    RiskReduced,
    Role,
    SetCadence,
    SetInvolvement,
    SeverityChanged,
    StatusChanged,
    TamAssigned,
    Team,
    UpdateExecutiveSummary,
    Violation,
    ViolationCode,
)
from escalation_policy.model import RouteToTam as RouteToTamAction
from escalation_policy.policy import Policy
from escalation_policy.state import (
    Decision,
    Fulfilment,
    PendingObligation,
)
from escalation_policy.vocabulary import Obligation, Status

_OVERDUE_CODE = {
    Obligation.CHANNEL_POST: ViolationCode.POST_OVERDUE,
    Obligation.CHANNEL_UPDATE: ViolationCode.UPDATE_OVERDUE,
    Obligation.MEETING: ViolationCode.MEETING_OVERDUE,
    Obligation.INFORM_TAM: ViolationCode.TAM_NOT_INFORMED,
    Obligation.EXECUTIVE_SUMMARY: ViolationCode.EXECUTIVE_SUMMARY_OVERDUE,
}


_A = TypeVar("_A", bound=Action)


def _moved(pending: PendingObligation, due: dt.datetime, overdue: bool) -> PendingObligation:
    """``pending`` with a new due time and overdue flag (an unrolled ``attrs.evolve``)."""
    return PendingObligation(
        obligation=pending.obligation,
        due=due,
        rule=pending.rule,
        cites=pending.cites,
        reason=pending.reason,
        tam=pending.tam,
        every=pending.every,
        overdue=overdue,
        remind_before=pending.remind_before,
    )


def _plan_inputs(policy: Policy, source: Record | Opened) -> dict[str, object]:
    """The attributes the decision tables read, from a record or an ``opened`` fact."""
    return {field: getattr(source, field) for field in policy.plan_inputs}


# ---------------------------------------------------------------------------------------- checks
def check_time(policy: Policy, at: dt.datetime, path: str) -> None:
    """Refuse a time the policy cannot schedule from: what it schedules must stay within the
    range of timestamps the library supports."""
    latest = policy.latest
    if at >= latest:
        raise InvalidFactError(
            f"got {at.isoformat()}, expected a time before {latest.isoformat()} (the policy "
            f"schedules up to {policy.horizon} ahead, and times end at {LATEST.isoformat()})",
            path=path,
        )


def check(record: Record | None, fact: Fact) -> None:
    """Raise the input error this fact would cause for this escalation, if any."""
    if not isinstance(fact, EscalationFact):
        raise InvalidFactError(
            f"got a {fact.TYPE!r} fact, expected a fact about one escalation", path="$.type"
        )
    if isinstance(fact, Opened):
        if record is not None and not record.settled:
            raise DuplicateEscalationError(
                f"escalation {fact.escalation_id!r} is already open (opened "
                f"{record.opened_at.isoformat()}); expected a new escalation_id",
                path="$.escalation_id",
            )
        return
    if record is None:
        raise UnknownEscalationError(
            f"no open escalation {fact.escalation_id!r}; expected an 'opened' fact first",
            path="$.escalation_id",
        )
    if fact.at < record.clock:
        raise StaleFactError(
            f"got {fact.at.isoformat()}, older than the escalation's last fact at "
            f"{record.clock.isoformat()}; facts must arrive in time order",
            path="$.at",
        )
    if record.status is Status.CLOSED and not isinstance(fact, Posted):
        raise EscalationClosedError(
            f"escalation {fact.escalation_id!r} is closed; got a {fact.TYPE!r} fact, expected "
            "only the posts its closing requires",
            path="$.type",
        )


# --------------------------------------------------------------------------------------- advance
def advance(policy: Policy, record: Record, to: dt.datetime) -> list[Action]:
    """Let time pass up to ``to`` on ``record`` (changed in place): report each obligation that
    falls due unmet, once. The caller forgets the record if it is then ``settled``.

    The work is bounded by the number of obligations, however far ``to`` lies: consecutive
    missed periods of a periodic obligation are one violation that counts them.
    """
    next_due = record.next_due
    if next_due is None or next_due >= to:
        return []
    pending = record.pending
    actions: list[Action] = []
    rescheduled_update: PendingObligation | None = None
    late = sorted((p.due, i) for i, p in enumerate(pending) if not p.overdue and p.due < to)
    for _, index in late:
        missed = pending[index]
        every = missed.every
        if every is None:
            actions.append(_overdue(record.escalation_id, missed, to))
            pending[index] = _moved(missed, missed.due, overdue=True)
            continue
        periods = -((missed.due - to) // every)  # due times before ``to``: ceil(gap / every)
        last_due = missed.due + (periods - 1) * every
        actions.append(_overdue(record.escalation_id, missed, to, periods, last_due))
        pending[index] = _moved(missed, last_due + every, overdue=False)
        if missed.obligation is Obligation.CHANNEL_UPDATE:
            rescheduled_update = pending[index]
    if rescheduled_update is not None:
        actions.append(
            _post_action(policy, record.escalation_id, record.owner, rescheduled_update, to)
        )
    # What falls due soon (at or after ``to``) and asked for a reminder: nudge the owner, once.
    soon = [
        (remind_at, i)
        for i, p in enumerate(pending)
        if p.remind_before is not None and (remind_at := p.remind_at) is not None and remind_at < to
    ]
    soon.sort()
    for _, index in soon:
        due = pending[index]
        actions.append(
            Reminder(
                escalation_id=record.escalation_id,
                at=to,
                rule=due.rule,
                cites=due.cites,
                obligation=due.obligation,
                due=due.due,
                owner=record.owner,
                reason=due.reason if due.obligation is Obligation.CHANNEL_POST else None,
            )
        )
        pending[index] = attrs.evolve(due, reminded=True)
    if (
        record.status is Status.CLOSED
        and record.retain_until is None
        and any(p.overdue for p in pending)
    ):
        record.retain_until = (
            max(p.due for p in pending if p.overdue) + policy.late_fulfilment_window
        )
    if to > record.clock:
        record.clock = to
    record.refresh()
    return actions


def _overdue(
    escalation_id: str,
    missed: PendingObligation,
    at: dt.datetime,
    periods: int = 1,
    last_due: dt.datetime | None = None,
) -> Violation:
    due = missed.due.isoformat()
    if periods > 1 and last_due is not None:
        due = f"{due} nor by any of the {periods - 1} later due times to {last_due.isoformat()}"
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
        escalation_id=escalation_id,
        at=at,
        rule=missed.rule,
        cites=missed.cites,
        code=_OVERDUE_CODE[missed.obligation],
        detail=detail,
        due=missed.due,
        periods=periods,
        last_due=last_due if periods > 1 else None,
    )


def _post_action(
    policy: Policy,
    escalation_id: str,
    owner: Team | None,
    pending: PendingObligation,
    at: dt.datetime,
) -> PostToChannel:
    return PostToChannel(
        escalation_id=escalation_id,
        at=at,
        rule=pending.rule,
        cites=pending.cites,
        channel=policy.channel,
        by=owner or _no_owner(escalation_id),
        reason=pending.reason or PostReason.UPDATE,
        due=pending.due,
    )


def _no_owner(escalation_id: str) -> Any:
    raise PolicyDefinitionError(
        f"escalation {escalation_id!r} needs a post but has no owner: a reaction that "
        "requires a post must run after ApplyPlan"
    )


# ---------------------------------------------------------------------------------------- decide
def decide(
    policy: Policy,
    matcher: Matcher,
    record: Record | None,
    fact: EscalationFact,
) -> tuple[Record | None, Decision]:
    """Apply ``fact`` to the escalation's ``record`` (``None`` for ``opened``), in place; the
    record it returns is ``None`` once the escalation is settled (forget it). The caller has
    checked the fact's time (:func:`check_time`).

    Raises an :class:`~escalation_policy.errors.InputError` for a fact the escalation cannot
    take. The record may be half-changed after an error: callers pass a copy they own and
    keep it only when this returns.
    """
    at = fact.at
    earlier: list[Action] = []
    if record is not None and record.next_due is not None and record.next_due < at:
        # Time passes first, for this escalation as for every other: what fell due before
        # the fact is reported, and an escalation that this settles is forgotten.
        earlier = advance(policy, record, at)
        if record.settled:
            if not isinstance(fact, Opened):
                raise UnknownEscalationError(
                    f"escalation {fact.escalation_id!r} was closed and settled before "
                    f"{at.isoformat()}; expected an 'opened' fact first",
                    path="$.escalation_id",
                )
            record = None  # what time reported stands: the new escalation follows it
    check(record, fact)
    plan: Plan | None = None
    if isinstance(fact, Opened):
        plan = matcher.plan(_plan_inputs(policy, fact))
        record = _open(fact, plan)
        status_before = record.status
        severity_before = record.severity
    else:
        assert record is not None  # check() guarantees it
        status_before = record.status
        severity_before = record.severity
        _record(record, fact)
        if isinstance(fact, SeverityChanged):
            plan = matcher.plan(_plan_inputs(policy, record))
    if plan is not None and record.in_scope:
        owner, cadence = plan.values["owner"], plan.values["cadence"]  # as planned
    else:
        owner, cadence = record.owner, record.cadence
    situation = Situation(
        record, fact, status_before, severity_before, owner, cadence, policy.channel_key
    )
    work = _Work(policy, record, fact, plan)
    matched = list(plan.rows) if plan is not None else []
    reactions = policy.reactions
    for index in matcher.reactions_for(fact.TYPE, situation):
        reaction = reactions[index].reaction
        matched.append(reaction.id)
        for effect in reaction.then:
            _HANDLERS[type(effect)](work, effect, reaction.id, reaction.cites)
    record.refresh()
    if earlier:
        if not isinstance(fact, Opened):
            # A next update announced while time passed, then cancelled by this very fact
            # (closing, risk reduced), was never really due: do not announce it.
            still_due = {p.due for p in record.pending if p.obligation is Obligation.CHANNEL_UPDATE}
            earlier = [
                action
                for action in earlier
                if not (
                    isinstance(action, PostToChannel)
                    and action.reason is PostReason.UPDATE
                    and action.due not in still_due
                )
            ]
        work.actions[:0] = earlier
    settled = record.status is Status.CLOSED and record.settled
    return None if settled else record, Decision(
        fact=fact,
        actions=tuple(work.actions),
        fulfilled=tuple(work.fulfilled),
        matched=tuple(matched),
    )


def _open(fact: Opened, plan: Plan) -> Record:
    record: Record = Record.__new__(Record)
    record.escalation_id = fact.escalation_id
    record.customer = fact.customer
    record.segment = fact.segment
    record.severity = fact.severity
    record.strategic_partnership = fact.strategic_partnership
    record.broad_impact = fact.broad_impact
    record.initiated_by = fact.initiated_by
    record.opened_by = fact.opened_by
    record.tam = fact.tam
    record.issue_type = fact.issue_type
    record.summary = fact.summary
    record.opened_at = fact.at
    record.clock = fact.at
    record.status = Status.ACTIVE
    record.in_scope = bool(plan.values["in_scope"])
    record.owner = None
    record.cadence = None
    record.involvement = ()
    record.pending = []
    record.informed_tam = None
    record.engagement_status = None
    record.milestones = ()
    record.severity_changes = 0
    record.closed_at = None
    record.retain_until = None
    record.next_due = None
    return record


def _record(record: Record, fact: EscalationFact) -> None:
    """The fact's own changes to the record, before any rule runs."""
    record.clock = fact.at
    if isinstance(fact, SeverityChanged):
        if fact.severity is not record.severity:
            record.severity_changes += 1
        record.severity = fact.severity
        if record.status is Status.RISK_REDUCED:
            record.status = Status.ACTIVE  # a new severity re-escalates
    elif isinstance(fact, TamAssigned):
        record.tam = fact.tam
    elif isinstance(fact, StatusChanged):
        record.engagement_status = fact.status
        record.milestones = fact.milestones
    elif isinstance(fact, RiskReduced):
        if record.status is Status.ACTIVE:
            record.status = Status.RISK_REDUCED
    elif isinstance(fact, Closed):
        record.status = Status.CLOSED
        record.closed_at = fact.at


Handler = Callable[["_Work", Any, str, str], None]
_HANDLERS: dict[type[vocab.Effect], Handler] = {}
"""The handler of each kind of effect, registered where it is written (:func:`_handles`)."""


def _handles(kind: type[vocab.Effect]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = handler
        return handler

    return register


class _Work:
    """The effects of one fact, applied to the escalation's record in place.

    Each effect type has one method (``_EFFECTS`` maps the type to it): dispatch is one
    dictionary lookup per effect.
    """

    __slots__ = ("actions", "at", "escalation_id", "fact", "fulfilled", "plan", "policy", "record")

    def __init__(
        self, policy: Policy, record: Record, fact: EscalationFact, plan: Plan | None
    ) -> None:
        self.policy = policy
        self.record = record
        self.fact = fact
        self.at = fact.at
        self.escalation_id = record.escalation_id
        self.plan = plan
        self.actions: list[Action] = []
        self.fulfilled: list[Fulfilment] = []

    def _find(self, obligation: Obligation, reason: PostReason | None = None) -> int | None:
        for index, pending in enumerate(self.record.pending):
            if pending.obligation is obligation and (reason is None or pending.reason is reason):
                return index
        return None

    def _owner(self) -> Any:
        owner = self.record.owner
        if owner is None and self.plan is not None:
            owner = self.plan.values["owner"]
        return owner if owner is not None else _no_owner(self.escalation_id)

    def _post(self, pending: PendingObligation, at: dt.datetime) -> PostToChannel:
        return _post_action(self.policy, self.escalation_id, self.record.owner, pending, at)

    # ------------------------------------------------------------------------------- effects
    @_handles(vocab.PostToChannel)
    def _post_to_channel(self, effect: vocab.PostToChannel, rule: str, cites: str) -> None:
        if self._find(Obligation.CHANNEL_POST, effect.reason) is not None:
            return
        due = self.at + effect.within
        self.record.pending.append(
            PendingObligation(
                obligation=Obligation.CHANNEL_POST,
                due=due,
                rule=rule,
                cites=cites,
                reason=effect.reason,
                remind_before=effect.remind_before,
            )
        )
        self.actions.append(
            PostToChannel(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                channel=effect.channel,
                by=self._owner(),
                reason=effect.reason,
                due=due,
            )
        )

    @_handles(vocab.UpdateExecutiveSummary)
    def _update_executive_summary(
        self, effect: vocab.UpdateExecutiveSummary, rule: str, cites: str
    ) -> None:
        index = self._find(Obligation.EXECUTIVE_SUMMARY)
        if index is not None and not self.record.pending[index].overdue:
            return
        if index is not None:
            del self.record.pending[index]
        due = self.at + effect.within
        self.record.pending.append(
            PendingObligation(
                obligation=Obligation.EXECUTIVE_SUMMARY,
                due=due,
                rule=rule,
                cites=cites,
                remind_before=effect.remind_before,
            )
        )
        self.actions.append(
            UpdateExecutiveSummary(
                escalation_id=self.escalation_id, at=self.at, rule=rule, cites=cites, due=due
            )
        )

    @_handles(vocab.InformTam)
    def _inform_tam(self, effect: vocab.InformTam, rule: str, cites: str) -> None:
        tam = self.record.tam
        if tam is None or self.record.informed_tam == tam:
            return
        index = self._find(Obligation.INFORM_TAM)
        if index is not None:
            if self.record.pending[index].tam == tam:
                return
            del self.record.pending[index]  # a new TAM replaces the one not yet informed
        due = self.at + effect.within
        self.record.pending.append(
            PendingObligation(
                obligation=Obligation.INFORM_TAM,
                due=due,
                rule=rule,
                cites=cites,
                tam=tam,
                remind_before=effect.remind_before,
            )
        )
        self.actions.append(
            InformTam(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                tam=tam,
                due=due,
            )
        )

    @_handles(vocab.Fulfil)
    def _fulfil(self, effect: vocab.Fulfil, _rule: str, _cites: str) -> None:
        obligation = effect.obligation
        at = self.at
        reason = None
        if obligation is Obligation.CHANNEL_POST:
            assert isinstance(self.fact, Posted)  # validated at load time
            reason = _REASON_FOR_PURPOSE.get(self.fact.purpose)
            if reason is None:
                return  # no post is ever required for this purpose
        index = self._find(obligation, reason)
        if obligation is Obligation.INFORM_TAM:
            informed = self.record.pending[index].tam if index is not None else self.record.tam
            self.record.informed_tam = informed
        if index is None:
            return
        pending = self.record.pending[index]
        self.fulfilled.append(
            Fulfilment(
                escalation_id=self.escalation_id,
                obligation=obligation,
                rule=pending.rule,
                due=pending.due,
                at=at,
                reason=pending.reason,
            )
        )
        if pending.every is None:
            del self.record.pending[index]
            return
        self.record.pending[index] = _moved(pending, at + pending.every, overdue=False)
        if obligation is Obligation.CHANNEL_UPDATE:
            self.actions.append(self._post(self.record.pending[index], at))

    @_handles(vocab.Cancel)
    def _cancel(self, effect: vocab.Cancel, _rule: str, _cites: str) -> None:
        self.record.pending = [
            p for p in self.record.pending if p.obligation not in effect.obligations
        ]

    @_handles(vocab.Violation)
    def _violation(self, effect: vocab.Violation, rule: str, cites: str) -> None:
        self.actions.append(
            Violation(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                code=effect.code,
                detail=effect.detail,
            )
        )

    @_handles(vocab.OutOfScope)
    def _out_of_scope(self, _effect: vocab.OutOfScope, rule: str, cites: str) -> None:
        reason = self.plan.values.get("out_of_scope_reason") if self.plan else None
        self.actions.append(
            OutOfScope(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                reason=reason or "outside the policy's scope",
            )
        )

    @_handles(vocab.CreateTrackerDocument)
    def _create_tracker_document(
        self, effect: vocab.CreateTrackerDocument, rule: str, cites: str
    ) -> None:
        self.actions.append(
            CreateTrackerDocument(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                title=effect.title.replace("(CUSTOMER)", self.record.customer),
            )
        )

    @_handles(vocab.RouteToTam)
    def _route_to_tam(self, _effect: vocab.RouteToTam, rule: str, cites: str) -> None:
        assert isinstance(self.fact, AccountIssue)  # validated at load time
        self.actions.append(
            RouteToTamAction(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                kind=self.fact.kind,
                tam=self.record.tam,
            )
        )

    @_handles(vocab.RequestProductEscalation)
    def _request_product_escalation(
        self, effect: vocab.RequestProductEscalation, rule: str, cites: str
    ) -> None:
        self.actions.append(
            RequestProductEscalation(
                escalation_id=self.escalation_id,
                at=self.at,
                rule=rule,
                cites=cites,
                template=effect.template,
            )
        )

    @_handles(vocab.ApplyPlan)
    def _apply_plan(self, _effect: vocab.ApplyPlan, _rule: str, _cites: str) -> None:
        assert self.plan is not None  # ApplyPlan runs on opened and severity_changed only
        values, sources = self.plan.values, self.plan.sources
        at = self.at
        owner = values["owner"]
        if owner is not self.record.owner:
            self.record.owner = owner
            self.actions.append(self._from_plan(AssignOwner, sources["owner"], owner=owner))
            for pending in self.record.pending:
                if pending.obligation is Obligation.CHANNEL_POST and not pending.overdue:
                    self.actions.append(self._post(pending, at))
        roles: list[Role] = []
        for role in tuple(values["involvement"]) + tuple(values.get("extra_involvement", ())):
            if role not in roles:
                roles.append(role)
        current = self.record.involvement
        if tuple(roles) != current:
            self.record.involvement = tuple(roles)
            self.actions.append(
                self._from_plan(
                    SetInvolvement,
                    sources["involvement"],
                    roles=tuple(roles),
                    added=tuple(r for r in roles if r not in current),
                    removed=tuple(r for r in current if r not in roles),
                )
            )
        cadence = values["cadence"]
        if cadence is not self.record.cadence:
            self.record.cadence = cadence
            self.actions.append(self._from_plan(SetCadence, sources["cadence"], cadence=cadence))

    def _from_plan(self, cls: type[_A], row: str, **fields: Any) -> _A:
        """An action produced by a table row: it cites the row's table."""
        cites = self.policy.rules[row].cites
        return cls(escalation_id=self.escalation_id, at=self.at, rule=row, cites=cites, **fields)

    @_handles(vocab.ScheduleUpdates)
    def _schedule_updates(self, effect: vocab.ScheduleUpdates, _rule: str, _cites: str) -> None:
        self._schedule(Obligation.CHANNEL_UPDATE, "update_every", effect.remind_before)

    @_handles(vocab.ScheduleMeetings)
    def _schedule_meetings(self, effect: vocab.ScheduleMeetings, _rule: str, _cites: str) -> None:
        self._schedule(Obligation.MEETING, "meeting_every", effect.remind_before)

    def _schedule(
        self, obligation: Obligation, output: str, remind_before: dt.timedelta | None
    ) -> None:
        """Keep, start, re-plan or stop a periodic obligation from the plan's ``output``."""
        assert self.plan is not None  # validated at load time: opened and severity_changed only
        every: dt.timedelta | None = self.plan.values[output]
        rule = self.plan.sources.get(output)
        if self.record.status is not Status.ACTIVE:
            every = None
        index = self._find(obligation)
        if every is None or rule is None:
            if index is not None:
                del self.record.pending[index]
            return
        if index is not None and self.record.pending[index].every == every:
            return
        pending = PendingObligation(
            obligation=obligation,
            due=self.at + every,
            rule=rule,
            cites=self.policy.rules[rule].cites,
            reason=PostReason.UPDATE if obligation is Obligation.CHANNEL_UPDATE else None,
            every=every,
            remind_before=remind_before,
        )
        if index is None:
            self.record.pending.append(pending)
        else:
            self.record.pending[index] = pending
        if obligation is Obligation.CHANNEL_UPDATE:
            self.actions.append(self._post(pending, self.at))


# The post a fact's purpose answers, for the purposes the policy can require.
_REASON_FOR_PURPOSE = {
    purpose: PostReason(purpose.value)
    for purpose in PostPurpose
    if purpose.value in PostReason._value2member_map_
}
