"""Hypothesis strategies for the library's facts, actions and whole histories.

``histories()`` draws coherent histories: several escalations interleaved, time never going
back, ``opened`` before anything else about an escalation, and after ``closed`` only the posts
closing requires. ``compliant=True`` draws histories in which every obligation is met on
time; ``compliant=False`` draws anything coherent (some comply, most do not).

Importing this module registers its strategies for the library's types, so that
``st.from_type(Opened)``, ``st.from_type(EscalationFact)`` or ``st.from_type(Violation)`` draw
only what the library accepts: timezone-aware timestamps, non-empty identifiers, values the
JSON edge reads back. Hypothesis imports it through the package's ``hypothesis`` entry point,
so a host's tests get them with nothing to configure.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from hypothesis import strategies as st

from escalation_policy.engine import PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import (
    ACTION_TYPES,
    AccountIssue,
    AccountIssueKind,
    Action,
    Closed,
    EnhancementRequested,
    EscalationFact,
    ExecutiveSummaryUpdated,
    Fact,
    MeetingAudience,
    MeetingHeld,
    Opened,
    Posted,
    PostPurpose,
    RiskReduced,
    Segment,
    Severity,
    SeverityChanged,
    StatusChanged,
    TamAssigned,
    TamInformed,
    Team,
    Tick,
)
from escalation_policy.policy import Policy, default_policy
from escalation_policy.state import PendingObligation

__all__ = [
    "START",
    "actions",
    "aware_datetimes",
    "escalation_ids",
    "fact_types",
    "facts",
    "histories",
    "register_type_strategies",
]

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)

_OFFSETS = st.sampled_from(
    [dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=2))]
)


def aware_datetimes() -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware datetimes (whole seconds, years 2000 to 2100)."""
    return st.builds(
        lambda naive, zone: naive.replace(microsecond=0, tzinfo=zone),
        st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
        _OFFSETS,
    )


def escalation_ids() -> st.SearchStrategy[str]:
    """Escalation ids such as ``ESC-42``."""
    return st.from_regex(r"\AESC-[0-9]{1,4}\Z")


_TEXT = st.text(min_size=1, max_size=20)
_OPTIONAL_TEXT = st.none() | _TEXT
_COMMON: dict[str, Any] = {"at": aware_datetimes(), "escalation_id": escalation_ids()}

_FACT_STRATEGIES: dict[type[Fact], st.SearchStrategy[Any]] = {
    Opened: st.builds(
        Opened,
        **_COMMON,
        customer=_TEXT,
        segment=st.sampled_from(Segment),
        severity=st.sampled_from(Severity),
        strategic_partnership=st.booleans(),
        broad_impact=st.booleans(),
        initiated_by=st.sampled_from(Team),
        opened_by=_OPTIONAL_TEXT,
        tam=_OPTIONAL_TEXT,
        issue_type=_OPTIONAL_TEXT,
        summary=_OPTIONAL_TEXT,
    ),
    SeverityChanged: st.builds(SeverityChanged, **_COMMON, severity=st.sampled_from(Severity)),
    TamAssigned: st.builds(TamAssigned, **_COMMON, tam=_TEXT),
    Posted: st.builds(
        Posted,
        **_COMMON,
        # The policy's channel, another, and the policy's without its "#".
        channel=st.deferred(
            lambda: st.sampled_from(
                [default_policy().channel, "#acme-account", default_policy().channel.lstrip("#")]
            )
        ),
        purpose=st.sampled_from(PostPurpose),
        by=st.sampled_from(Team),
        url=_OPTIONAL_TEXT,
    ),
    MeetingHeld: st.builds(MeetingHeld, **_COMMON, audience=st.sampled_from(MeetingAudience)),
    TamInformed: st.builds(TamInformed, **_COMMON),
    StatusChanged: st.builds(
        StatusChanged, **_COMMON, status=_TEXT, milestones=st.lists(_TEXT, max_size=3).map(tuple)
    ),
    ExecutiveSummaryUpdated: st.builds(ExecutiveSummaryUpdated, **_COMMON),
    EnhancementRequested: st.builds(EnhancementRequested, **_COMMON, summary=_TEXT),
    AccountIssue: st.builds(AccountIssue, **_COMMON, kind=st.sampled_from(AccountIssueKind)),
    RiskReduced: st.builds(RiskReduced, **_COMMON),
    Closed: st.builds(Closed, **_COMMON),
    Tick: st.builds(Tick, at=aware_datetimes()),
}


def fact_types() -> tuple[type[Fact], ...]:
    """Every concrete fact type, in the order of the JSON contract."""
    return tuple(_FACT_STRATEGIES)


def facts(*types: type[Fact]) -> st.SearchStrategy[Fact]:
    """Single facts of the given types (all types if none given), each valid on its own."""
    chosen = types or tuple(_FACT_STRATEGIES)
    return st.one_of([_FACT_STRATEGIES[cls] for cls in chosen])


def _action(cls: type[Action]) -> st.SearchStrategy[Action]:
    # Every datetime field is timezone-aware; ``due`` may be null on violations.
    times: dict[str, Any] = {
        field.name: (st.none() | aware_datetimes()) if field.default is None else aware_datetimes()
        for field in attrs.fields(cls)
        if field.type in (dt.datetime, dt.datetime | None)
    }
    return st.builds(
        cls,
        escalation_id=escalation_ids(),
        rule=st.from_regex(r"\A[a-z]+\.[a-z_]+\Z"),
        cites=_TEXT,
        **times,
    )


_ACTION_STRATEGIES: dict[type[Action], st.SearchStrategy[Any]] = {
    cls: _action(cls) for cls in ACTION_TYPES.values()
}


def actions(*types: type[Action]) -> st.SearchStrategy[Action]:
    """Single actions of the given types (all types if none given), as the policy might emit
    them: fields valid, values arbitrary."""
    chosen = types or tuple(_ACTION_STRATEGIES)
    return st.one_of([_ACTION_STRATEGIES[cls] for cls in chosen])


def register_type_strategies() -> None:
    """Make ``st.from_type`` draw valid facts and actions of every type the library defines.

    Covers each concrete fact and action type and the bases ``Fact``, ``EscalationFact`` and
    ``Action``. Importing this module calls it; calling it again changes nothing.
    """
    for cls, strategy in _FACT_STRATEGIES.items():
        st.register_type_strategy(cls, strategy)
    st.register_type_strategy(Fact, facts())
    escalation_fact_types = [cls for cls in _FACT_STRATEGIES if issubclass(cls, EscalationFact)]
    st.register_type_strategy(EscalationFact, facts(*escalation_fact_types))
    for action_cls, action_strategy in _ACTION_STRATEGIES.items():
        st.register_type_strategy(action_cls, action_strategy)
    st.register_type_strategy(Action, actions())


# -------------------------------------------------------------------------------------- histories
_STEP_KINDS = (
    "open",
    "severity",
    "tam",
    "post",
    "meeting",
    "tam_informed",
    "status",
    "summary",
    "enhancement",
    "account_issue",
    "risk_reduced",
    "close",
    "tick",
)


@st.composite
def _history(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    max_escalations: int,
    max_steps: int,
    compliant: bool,
    policy: Policy | None,
) -> list[Fact]:
    if compliant:
        return _compliant(draw, max_escalations, policy)
    # The history is simulated as it is drawn: each step sees the policy's current state (who
    # owns the escalation), and a fact the policy would refuse (a post to a closed escalation
    # it has already settled, say) becomes a tick at the same time.
    simulation = PolicyEngine(policy)
    history: list[Fact] = []
    for fact in _draw_steps(draw, max_escalations, max_steps, simulation):
        try:
            simulation.handle(fact)
        except InputError:
            fact = Tick(at=fact.at)
            simulation.handle(fact)
        history.append(fact)
    return history


def _draw_steps(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    max_escalations: int,
    max_steps: int,
    simulation: PolicyEngine,
) -> Iterator[Fact]:
    """Facts, drawn one at a time: each is applied to ``simulation`` before the next is drawn."""
    now = START
    channel = simulation.policy.channel
    open_ids: list[str] = []
    closed_ids: list[str] = []
    opened = 0

    def owner(escalation_id: str) -> Team:
        state = simulation.escalation(escalation_id)
        return state.owner if state is not None and state.owner is not None else Team.OTHER

    steps = draw(st.integers(min_value=1, max_value=max_steps))
    for _ in range(steps):
        now += dt.timedelta(minutes=draw(st.sampled_from([0, 5, 30, 90, 600, 1500, 3000, 6000])))
        kind = draw(st.sampled_from(_STEP_KINDS))
        if kind == "open" or not (open_ids or closed_ids):
            if opened >= max_escalations:
                yield Tick(at=now)
                continue
            opened += 1
            escalation_id = f"ESC-{opened}"
            severity = draw(st.sampled_from(Severity))
            yield Opened(
                at=now,
                escalation_id=escalation_id,
                customer=f"Customer {opened}",
                segment=draw(st.sampled_from(Segment)),
                severity=severity,
                strategic_partnership=draw(st.booleans()),
                broad_impact=draw(st.booleans()),
                initiated_by=draw(st.sampled_from(Team)),
                tam=draw(st.sampled_from([None, "alex", "sam"])),
            )
            open_ids.append(escalation_id)
            continue
        if kind == "tick":
            yield Tick(at=now)
            continue
        if kind == "post" and closed_ids and draw(st.booleans()):
            escalation_id = draw(st.sampled_from(closed_ids))
            yield Posted(
                at=now,
                escalation_id=escalation_id,
                channel=channel,
                purpose=draw(st.sampled_from([PostPurpose.CLOSED, PostPurpose.RISK_REDUCED])),
                by=draw(st.sampled_from([owner(escalation_id), Team.OTHER])),
            )
            continue
        if not open_ids:
            yield Tick(at=now)
            continue
        escalation_id = draw(st.sampled_from(open_ids))
        common: dict[str, Any] = {"at": now, "escalation_id": escalation_id}
        if kind == "severity":
            severity = draw(st.sampled_from(Severity))
            yield SeverityChanged(**common, severity=severity)
        elif kind == "tam":
            yield TamAssigned(**common, tam=draw(st.sampled_from(["alex", "sam", "kim"])))
        elif kind == "post":
            yield Posted(
                **common,
                channel=draw(st.sampled_from([channel, "#acme-account"])),
                purpose=draw(st.sampled_from(PostPurpose)),
                by=draw(st.sampled_from([owner(escalation_id), Team.OTHER])),
            )
        elif kind == "meeting":
            yield MeetingHeld(**common, audience=draw(st.sampled_from(MeetingAudience)))
        elif kind == "tam_informed":
            yield TamInformed(**common)
        elif kind == "status":
            yield StatusChanged(**common, status="investigating", milestones=("fix",))
        elif kind == "summary":
            yield ExecutiveSummaryUpdated(**common)
        elif kind == "enhancement":
            yield EnhancementRequested(**common, summary="an API for exports")
        elif kind == "account_issue":
            yield AccountIssue(**common, kind=draw(st.sampled_from(AccountIssueKind)))
        elif kind == "risk_reduced":
            yield RiskReduced(**common)
        elif kind == "close":
            yield Closed(**common)
            open_ids.remove(escalation_id)
            closed_ids.append(escalation_id)


def _compliant(
    draw: Callable[[st.SearchStrategy[Any]], Any], max_escalations: int, policy: Policy | None
) -> list[Fact]:
    """Escalations that do everything on time: each obligation the policy sets is met within
    its window (one-off posts early in it, periodic ones just before they fall due).

    What is due, when, and who posts are read from an engine running the policy alongside, so
    the histories comply with whatever policy they are drawn for.
    """
    count = draw(st.integers(min_value=1, max_value=max_escalations))
    timeline: list[tuple[dt.datetime, int, Fact]] = []
    for number in range(1, count + 1):
        start = START + dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=3 * 24 * 60)))
        span = dt.timedelta(days=draw(st.integers(min_value=0, max_value=4)), hours=12)
        minutes = int(span.total_seconds() // 60)
        changes = draw(st.lists(st.integers(min_value=1, max_value=minutes - 1), max_size=3))
        opened = Opened(
            at=start,
            escalation_id=f"ESC-{number}",
            customer=f"Customer {number}",
            segment=Segment.ENTERPRISE,
            severity=draw(st.sampled_from(Severity)),
            initiated_by=draw(st.sampled_from(Team)),
            tam=draw(st.sampled_from([None, "alex"])),
        )
        status_changes = sorted(start + dt.timedelta(minutes=m) for m in set(changes))
        for fact in _complying(opened, start + span, status_changes, policy):
            timeline.append((fact.at, len(timeline), fact))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return [fact for _, _, fact in timeline]


def _complying(
    opened: Opened, end: dt.datetime, status_changes: list[dt.datetime], policy: Policy | None
) -> Iterator[Fact]:
    """One escalation's facts, from ``opened`` to its closing post, meeting every obligation."""
    engine = PolicyEngine(policy)
    escalation_id = opened.escalation_id
    common: dict[str, Any] = {"escalation_id": escalation_id}
    engine.handle(opened)
    yield opened
    now = opened.at
    closed = False
    while (state := engine.escalation(escalation_id)) is not None:
        owner = state.owner if state.owner is not None else Team.OTHER
        moves: list[tuple[dt.datetime, Fact]] = []
        for pending in state.pending:
            window = max(pending.due - now, dt.timedelta(0))
            # A periodic obligation is met just before it falls due, so that each one counts;
            # a one-off early in its window.
            if pending.every is not None:
                at = pending.due - min(window / 8, dt.timedelta(hours=1))
            else:
                at = now + window / 4
            at = max(now, at.replace(microsecond=0))
            moves.append((at, _fulfilling(pending, at, common, owner, engine.policy.channel)))
        if status_changes:
            at = status_changes[0]
            moves.append((at, StatusChanged(at=at, **common, status=f"status {at:%d %H:%M}")))
        if not closed:
            moves.append((end, Closed(at=end, **common)))
        if not moves:  # nothing left to do: it is settled, or waits for nothing the policy sets
            return
        at, fact = min(moves, key=lambda move: move[0])
        if isinstance(fact, StatusChanged):
            status_changes.pop(0)
        closed = closed or isinstance(fact, Closed)
        engine.handle(fact)
        now = at
        yield fact


def _fulfilling(
    pending: PendingObligation, at: dt.datetime, common: dict[str, Any], owner: Team, channel: str
) -> Fact:
    """The fact that meets ``pending``: a post by the owner, a meeting, informing the TAM..."""
    if pending.obligation in ("channel_post", "channel_update"):
        reason = pending.key if pending.key is not None else "update"
        return Posted(at=at, **common, channel=channel, purpose=PostPurpose(reason), by=owner)
    if pending.obligation == "meeting":
        return MeetingHeld(at=at, **common, audience=MeetingAudience.CUSTOMER)
    if pending.obligation == "inform_tam":
        return TamInformed(at=at, **common)
    if pending.obligation == "executive_summary":
        return ExecutiveSummaryUpdated(at=at, **common)
    raise ValueError(f"no fact is known to meet the obligation {pending.obligation!r}")


def histories(
    *,
    max_escalations: int = 4,
    max_steps: int = 40,
    compliant: bool = False,
    policy: Policy | None = None,
) -> st.SearchStrategy[list[Fact]]:
    """Coherent histories of facts in time order (see the module's documentation).

    ``policy`` (default: the handbook's) is the policy the histories must be coherent for.
    """
    return _history(max_escalations, max_steps, compliant, policy)


# Registered on import, not only through hypothesis' entry point: a module that imports these
# strategies before hypothesis is imported cannot be loaded by that entry point (it is still
# being imported when hypothesis runs it), and hypothesis skips entry points altogether
# under HYPOTHESIS_NO_PLUGINS.
register_type_strategies()
