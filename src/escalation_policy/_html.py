"""The audit as one self-contained HTML page: a summary chart and a timeline per escalation.

``timelines(facts, policy)`` replays a history through a
:class:`~escalation_policy.PolicyEngine` and keeps, per escalation, what a reader wants to see
over time: its severity, owner and involvement, each obligation from the moment it was
expected to its due time, the facts, and the violations. It reads the policy's terms and the
engine's state, never the handbook's names. ``audit_page(report, timelines, policy)`` draws
them with plotly (the optional ``html`` extra, imported only here and only when called) into
one page that holds plotly.js itself, so that it opens offline and requests nothing.
"""

import datetime as dt
import enum
import html
import importlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._audit import AuditReport, AuditViolation, EscalationAudit
from escalation_policy._convert import shared_converter
from escalation_policy.engine import Decision, EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import (
    Action,
    AssignOwner,
    EscalationFact,
    Fact,
    Reminder,
    SetInvolvement,
    Tick,
    Violation,
)
from escalation_policy.policy import Policy
from escalation_policy.render import describe, duration, label
from escalation_policy.state import EscalationState, Fulfilment

__all__ = [
    "ENDED",
    "LATE",
    "MET",
    "MISSED",
    "OPEN",
    "OUTCOMES",
    "EscalationTimeline",
    "Mark",
    "ObligationSpan",
    "PlotlyMissingError",
    "SeverityBand",
    "audit_html",
    "audit_page",
    "require_plotly",
    "summary_figure",
    "timeline_figure",
    "timelines",
]

EXTRA = "html"
"""The optional extra that installs plotly."""


class PlotlyMissingError(ImportError):
    """The HTML report needs plotly, which the ``html`` extra installs."""


def require_plotly() -> Any:
    """``plotly.graph_objects``, or :class:`PlotlyMissingError` naming the extra to install."""
    try:
        return importlib.import_module("plotly.graph_objects")
    except ImportError as error:
        raise PlotlyMissingError(
            f"the HTML report needs plotly ({error}); "
            f"install it with: pip install 'escalation-policy[{EXTRA}]'"
        ) from None


# ------------------------------------------------------------------------------------ the data
MET = "met on time"
LATE = "met late"
MISSED = "missed"
ENDED = "no longer required"
OPEN = "still open"
OUTCOMES = (MET, LATE, MISSED, ENDED, OPEN)
"""What became of an obligation, in the order the legend lists them."""


@attrs.frozen(kw_only=True)
class SeverityBand:
    """The escalation stood at ``severity`` (a value of the policy's severities) from
    ``start`` to ``end``."""

    severity: str
    start: dt.datetime
    end: dt.datetime


@attrs.frozen(kw_only=True)
class Mark:
    """Something that happened at one time: ``title`` in a word or two, ``details`` as lines."""

    at: dt.datetime
    title: str
    details: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ObligationSpan:
    """One obligation, from when it was expected (``created``) to when it fell due.

    ``outcome`` is one of :data:`OUTCOMES`; ``settled_at`` when it was met, reported missed or
    dropped (``None``: still open at the end). A missed period of a periodic obligation is a
    span of its own.
    """

    obligation: str
    key: str | None
    rule: str
    cites: str
    created: dt.datetime
    due: dt.datetime
    outcome: str
    settled_at: dt.datetime | None

    @property
    def lane(self) -> str:
        """The row of the timeline it is drawn on: the obligation, and its key if it has one."""
        return _lane(self.obligation, self.key)


def _lane(obligation: str, key: object) -> str:
    return obligation if key is None else f"{obligation} ({_text(key)})"


@attrs.frozen(kw_only=True)
class EscalationTimeline:
    """What one escalation went through, from its opening to its closing (or the end)."""

    escalation_id: str
    customer: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    end: dt.datetime
    """The closing, or the end of the history (its last fact, or ``as_of``)."""
    severities: tuple[SeverityBand, ...]
    owners: tuple[Mark, ...]
    involvement: tuple[Mark, ...]
    obligations: tuple[ObligationSpan, ...]
    reminders: Mapping[str, tuple[Mark, ...]]
    """Reminders sent, by the lane of the obligation they are about."""
    facts: Mapping[str, tuple[Mark, ...]]
    """The facts about the escalation, by fact type, in the policy's order."""


class _Span:
    """An obligation while the history is replayed (its outcome may still change)."""

    __slots__ = ("at", "cites", "created", "due", "every", "key", "obligation", "outcome", "rule")

    def __init__(
        self,
        *,
        obligation: str,
        key: str | None,
        rule: str,
        cites: str,
        created: dt.datetime,
        due: dt.datetime,
        every: dt.timedelta | None = None,
    ) -> None:
        self.obligation = obligation
        self.key = key
        self.rule = rule
        self.cites = cites
        self.created = min(created, due)
        self.due = due
        self.every = every
        self.outcome: str | None = None
        self.at: dt.datetime | None = None

    def settle(self, outcome: str, at: dt.datetime) -> None:
        self.outcome = outcome
        self.at = at

    def frozen(self) -> ObligationSpan:
        return ObligationSpan(
            obligation=self.obligation,
            key=self.key,
            rule=self.rule,
            cites=self.cites,
            created=self.created,
            due=self.due,
            outcome=self.outcome or OPEN,
            settled_at=self.at,
        )


_Identity = tuple[str, str | None, str, dt.datetime]
"""A pending obligation as the engine keeps it: (obligation, key, rule, due)."""


class _Builder:
    """What the replay keeps about one escalation while the history streams by."""

    def __init__(self, fact: Any, policy: Policy) -> None:
        self.policy = policy
        self.escalation_id: str = fact.escalation_id
        self.customer = str(fact.customer)
        self.opened_at: dt.datetime = fact.at
        self.closed_at: dt.datetime | None = None
        self.severity = _text(fact.severity)  # every policy's opening fact has one
        self.since: dt.datetime = fact.at
        self.bands: list[SeverityBand] = []
        self.owners: list[Mark] = []
        self.involvement: list[Mark] = []
        self.spans: list[_Span] = []
        self.pending: dict[_Identity, _Span] = {}
        self.reminders: dict[str, list[Mark]] = {}
        self.facts: dict[str, list[Mark]] = {}
        self.forgotten = False
        """Settled: the engine no longer holds it, and nothing about it changes any more."""
        self.obligation_of_code = {
            _text(compiled.violation): name for name, compiled in policy.obligations.items()
        }

    # -- what the engine said
    def action(self, action: Action) -> None:
        if isinstance(action, AssignOwner):
            self.owners.append(_action_mark(action, label(action.owner)))
        elif isinstance(action, SetInvolvement):
            self.involvement.append(_action_mark(action, f"{len(action.roles)} roles"))
        elif isinstance(action, Reminder):
            lane = _lane(action.obligation, action.key)
            self.reminders.setdefault(lane, []).append(_action_mark(action, "reminder"))
        elif isinstance(action, Violation):
            self._missed(action)

    def _missed(self, violation: Violation) -> None:
        obligation = self.obligation_of_code.get(_text(violation.code))
        if violation.due is None or obligation is None:
            return  # conduct, not a missed obligation: a mark, not a span
        span = self._find(violation.rule, violation.due, obligation)
        if span is None:
            span = self._add(obligation, None, violation.rule, violation.cites, violation.due)
        span.settle(MISSED, violation.at)
        # Consecutive missed periods reported as one violation: each period is a span.
        if span.every is not None:
            for period in range(1, violation.periods):
                due = violation.due + period * span.every
                extra = self._add(
                    span.obligation, span.key, span.rule, span.cites, due, due - span.every
                )
                extra.every = span.every
                extra.settle(MISSED, violation.at)

    def fulfilled(self, fulfilment: Fulfilment) -> None:
        key = None if fulfilment.key is None else _text(fulfilment.key)
        span = self._find(fulfilment.rule, fulfilment.due, fulfilment.obligation, key)
        if span is None:  # expected and met within one fact: never seen pending
            rule = self.policy.rules.get(fulfilment.rule)
            span = self._add(
                fulfilment.obligation,
                key,
                fulfilment.rule,
                rule.cites if rule is not None else "",
                fulfilment.due,
            )
        span.settle(LATE if fulfilment.late else MET, fulfilment.at)

    def _find(
        self,
        rule: str,
        due: dt.datetime,
        obligation: str | None = None,
        key: str | None = None,
    ) -> _Span | None:
        for (name, span_key, span_rule, span_due), span in self.pending.items():
            if span_rule != rule or span_due != due or span.outcome not in (None, MISSED):
                continue
            if obligation is not None and name != obligation:
                continue
            if key is not None and span_key is not None and key != span_key:
                continue
            return span
        return None

    def _add(
        self,
        obligation: str,
        key: str | None,
        rule: str,
        cites: str,
        due: dt.datetime,
        created: dt.datetime | None = None,
    ) -> _Span:
        if created is None:
            created = self._previous_end(obligation, key, rule)
        span = _Span(
            obligation=obligation, key=key, rule=rule, cites=cites, created=created, due=due
        )
        self.spans.append(span)
        return span

    def _previous_end(self, obligation: str, key: str | None, rule: str) -> dt.datetime:
        """When the period after the last one of this obligation began: it was met, or missed."""
        for span in reversed(self.spans):
            if (span.obligation, span.key, span.rule) == (obligation, key, rule):
                return span.at if span.outcome in (MET, LATE) and span.at else span.due
        return self.opened_at

    # -- what the escalation now is
    def refresh(self, state: EscalationState | None, at: dt.datetime) -> None:
        """Bring the pending obligations and the severity up to the engine's ``state``
        (``None``: settled and forgotten)."""
        now: dict[_Identity, Any] = {}
        self.forgotten = state is None
        if state is not None:
            for pending in state.pending:
                key = None if pending.key is None else _text(pending.key)
                now[(pending.obligation, key, pending.rule, pending.due)] = pending
            self.severity_now(_text(getattr(state, "severity", self.severity)), at)
            if state.closed_at is not None and self.closed_at is None:
                self.closed_at = state.closed_at
        for identity, span in list(self.pending.items()):
            if identity not in now:
                if span.outcome is None:
                    span.settle(ENDED, at)
                del self.pending[identity]
        for identity, pending in now.items():
            if identity in self.pending:
                continue
            created = at if pending.every is None else pending.due - pending.every
            span = _Span(
                obligation=pending.obligation,
                key=identity[1],
                rule=pending.rule,
                cites=pending.cites,
                created=max(created, self.opened_at),
                due=pending.due,
                every=pending.every,
            )
            self.spans.append(span)
            self.pending[identity] = span

    def severity_now(self, severity: str, at: dt.datetime) -> None:
        if severity == self.severity or self.closed_at is not None:
            return
        if at > self.since:
            self.bands.append(SeverityBand(severity=self.severity, start=self.since, end=at))
        self.severity = severity
        self.since = max(at, self.since)

    def fact(self, fact: EscalationFact, fulfilled: Sequence[Fulfilment], policy: Policy) -> None:
        data = shared_converter(policy).unstructure(fact, Fact)
        details = [
            f"{name}: {_json_text(value)}"
            for name, value in data.items()
            if name not in ("type", "at", "escalation_id", "id")
        ]
        for fulfilment in fulfilled:
            if fulfilment.escalation_id == self.escalation_id:
                what = fulfilment.obligation + (f" ({fulfilment.key})" if fulfilment.key else "")
                when = "late" if fulfilment.late else "on time"
                details.append(f"meets {what}, due {_when(fulfilment.due)}: {when}")
        self.facts.setdefault(fact.TYPE, []).append(
            Mark(at=fact.at, title=fact.TYPE, details=tuple(details))
        )

    def finish(self, end: dt.datetime) -> EscalationTimeline:
        stop = self.closed_at or end
        self.bands.append(
            SeverityBand(severity=self.severity, start=self.since, end=max(stop, self.since))
        )
        fact_order = {name: index for index, name in enumerate(self.policy.terms.facts)}
        order = {name: index for index, name in enumerate(self.policy.obligations)}
        spans = sorted(
            (span.frozen() for span in self.spans),
            key=lambda s: (order.get(s.obligation, len(order)), s.key or "", s.created, s.due),
        )
        return EscalationTimeline(
            escalation_id=self.escalation_id,
            customer=self.customer,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            end=max(stop, self.opened_at),
            severities=tuple(self.bands),
            owners=tuple(self.owners),
            involvement=tuple(self.involvement),
            obligations=tuple(spans),
            reminders={lane: tuple(marks) for lane, marks in self.reminders.items()},
            facts={
                name: tuple(self.facts[name])
                for name in sorted(self.facts, key=lambda n: fact_order.get(n, len(fact_order)))
            },
        )


def _action_mark(action: Action, title: str) -> Mark:
    return Mark(
        at=action.at,
        title=title,
        details=(describe(action), f"rule: {action.rule}", f"cites: {action.cites}"),
    )


def _text(value: object) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _json_text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_json_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "-" if value is None else str(value)


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def timelines(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy: Policy | None = None,
    *,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
) -> tuple[EscalationTimeline, ...]:
    """Replay ``facts`` (in time order, as :func:`~escalation_policy.audit` takes them) and
    return each escalation's timeline, in order of opening.

    A fact the policy refuses, or an ``InputError`` among the facts, is skipped: the engine is
    as if it had never arrived, as in an audit with ``keep_going``. ``as_of`` ends the history
    later than its last fact, as the audit's ``as_of`` does.
    """
    policy_engine = PolicyEngine(policy, engine=engine)
    policy = policy_engine.policy
    active: dict[str, _Builder] = {}
    finished: list[_Builder] = []
    for fact in facts:
        if isinstance(fact, InputError):
            continue
        try:
            decision = policy_engine.handle(fact)
        except InputError:
            continue
        _apply(decision, policy_engine, active, finished)
    if as_of is not None and policy_engine.clock is not None and as_of > policy_engine.clock:
        policy_engine.max_clock_jump = None  # the end is a deliberate jump, as in the audit
        _apply(policy_engine.handle(Tick(at=as_of)), policy_engine, active, finished)
    end = as_of or policy_engine.clock
    builders = finished + list(active.values())
    builders.sort(key=lambda b: (b.opened_at, b.escalation_id))
    return tuple(builder.finish(end or builder.opened_at) for builder in builders)


def _apply(
    decision: Decision,
    policy_engine: PolicyEngine,
    active: dict[str, _Builder],
    finished: list[_Builder],
) -> None:
    fact = decision.fact
    policy = policy_engine.policy
    touched: set[str] = set()
    if isinstance(fact, EscalationFact):
        if fact.OPENS:
            old = active.pop(fact.escalation_id, None)
            if old is not None:
                finished.append(old)  # an id reused after its escalation was settled
            active[fact.escalation_id] = _Builder(fact, policy)
        touched.add(fact.escalation_id)
    elif isinstance(fact, Tick):
        touched.update(key for key, builder in active.items() if not builder.forgotten)
    for action in decision.actions:
        builder = active.get(action.escalation_id)
        if builder is not None:
            builder.action(action)
            touched.add(action.escalation_id)
    for fulfilment in decision.fulfilled:
        builder = active.get(fulfilment.escalation_id)
        if builder is not None:
            builder.fulfilled(fulfilment)
            touched.add(fulfilment.escalation_id)
    if isinstance(fact, EscalationFact) and fact.escalation_id in active:
        active[fact.escalation_id].fact(fact, decision.fulfilled, policy)
    for escalation_id in sorted(touched):
        if escalation_id in active:
            active[escalation_id].refresh(policy_engine.escalation(escalation_id), fact.at)


# ---------------------------------------------------------------------------------- the charts
VIOLATION_COLOUR = "#d62728"
SEVERITY_COLOURS = ("#3f007d", "#6a51a3", "#9e9ac8", "#cbc9e2", "#dadaeb", "#efedf5")
"""From the most severe down, darkest first; a policy with more severities repeats the last."""
OUTCOME_COLOURS = {
    MET: "#2ca02c",
    LATE: "#ff9f40",
    MISSED: "#f2a0a0",
    ENDED: "#c7c7c7",
    OPEN: "#9ecae1",
}
CODE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#e7ba52",
    "#843c39",
    "#5254a3",
    "#ad494a",
    "#6b6ecf",
)
"""For violation codes and fact types, in the policy's order (neither green nor red, which
say met and missed)."""
LANE_HEIGHT = 30
NO_TEMPLATE: dict[str, Any] = {}
"""plotly.js's own look: every colour the charts use is set here. A plotly.py template would
be copied into each chart, and costs more time to build than the chart itself."""


def _x(value: dt.datetime) -> str:
    """A time as plotly's date axes read it (they know no offsets): UTC, without one."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _ms(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() * 1000


def _hover(title: str, lines: Iterable[str]) -> str:
    """Hover text: every piece of the history escaped, as plotly reads hover text as HTML."""
    return "<br>".join([f"<b>{html.escape(title)}</b>", *(html.escape(line) for line in lines)])


def _week(value: dt.datetime) -> str:
    year, week, _ = value.astimezone(dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _severity_names(policy: Policy) -> dict[str, str]:
    return {_text(member): label(member) for member in policy.terms.severity}


def _severity_colours(policy: Policy) -> dict[str, str]:
    last = len(SEVERITY_COLOURS) - 1
    return {
        _text(member): SEVERITY_COLOURS[min(index, last)]
        for index, member in enumerate(policy.terms.severity)
    }


def _code_colours(policy: Policy) -> dict[str, str]:
    return {
        code: CODE_COLOURS[index % len(CODE_COLOURS)]
        for index, code in enumerate(policy.violation_codes)
    }


def _obligation_bars(go: Any, name: str, colour: str, **fields: Any) -> Any:
    """Horizontal bars of obligations, in the legend's "obligations" group, with a hover text
    for each (``fields``: the bars, their ``hovertext`` and anything else plotly takes)."""
    return go.Bar(
        name=name,
        legendgroup="obligations",
        legendgrouptitle_text="obligations",
        orientation="h",
        marker_color=colour,
        hovertemplate="%{hovertext}<extra></extra>",
        **fields,
    )


def summary_figure(report: AuditReport, policy: Policy) -> Any:
    """Violations per ISO week of their time, stacked by code (missed periods counted as the
    audit's totals count them), and each obligation's due instances: on time, or not."""
    go = require_plotly()
    subplots = importlib.import_module("plotly.subplots")
    figure = subplots.make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.18,
        subplot_titles=("Violations by week and code", "Obligations due: on time or not"),
        figure=go.Figure(layout={"template": NO_TEMPLATE}),
    )
    counts: dict[str, dict[str, int]] = {}
    rules: dict[tuple[str, str], set[str]] = {}
    for violation in report.violations:
        code, week = _text(violation.code), _week(violation.detected_at)
        by_week = counts.setdefault(code, {})
        by_week[week] = by_week.get(week, 0) + violation.periods
        rules.setdefault((code, week), set()).add(violation.rule)
    weeks = sorted({week for by_week in counts.values() for week in by_week})
    colours = _code_colours(policy)
    for code in [c for c in policy.violation_codes if c in counts] + sorted(
        set(counts) - set(policy.violation_codes)
    ):
        by_week = counts[code]
        shown = [week for week in weeks if week in by_week]
        figure.add_trace(
            go.Bar(
                name=code,
                legendgroup="codes",
                legendgrouptitle_text="violation code",
                x=shown,
                y=[by_week[week] for week in shown],
                marker_color=colours.get(code, VIOLATION_COLOUR),
                customdata=[sorted(rules[(code, week)]) for week in shown],
                hovertext=[
                    _hover(
                        f"{code}: {by_week[week]}",
                        [f"week {week}", *(f"rule: {r}" for r in sorted(rules[(code, week)]))],
                    )
                    for week in shown
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    names = list(report.totals.obligations)
    totals = report.totals.obligations
    for kind, colour, values in (
        ("on time", OUTCOME_COLOURS[MET], [totals[n].on_time for n in names]),
        ("late or missed", VIOLATION_COLOUR, [totals[n].due - totals[n].on_time for n in names]),
    ):
        figure.add_trace(
            _obligation_bars(
                go,
                kind,
                colour,
                y=names,
                x=values,
                hovertext=[
                    _hover(name, [f"{kind}: {value} of {totals[name].due} due"])
                    for name, value in zip(names, values, strict=True)
                ],
            ),
            row=1,
            col=2,
        )
    figure.update_layout(
        barmode="stack",
        # Tall enough for the bars and for the legend: a code and an outcome a line.
        height=max(360, 120 + 26 * len(names), 110 + 21 * (len(counts) + 6)),
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"groupclick": "toggleitem"},
    )
    figure.update_xaxes(type="category", title_text="ISO week", row=1, col=1)
    figure.update_yaxes(title_text="violations", rangemode="tozero", row=1, col=1)
    figure.update_xaxes(title_text="instances due", rangemode="tozero", row=1, col=2)
    figure.update_yaxes(autorange="reversed", automargin=True, row=1, col=2)
    return figure


def timeline_figure(
    timeline: EscalationTimeline, audited: EscalationAudit | None, policy: Policy
) -> Any:
    """One escalation over time: a lane each for its severity, owner, involvement, every
    fact type, every obligation and its violations."""
    go = require_plotly()
    data: list[Any] = []
    shapes: list[dict[str, Any]] = []
    names = _severity_names(policy)
    colours = _severity_colours(policy)
    lanes = ["severity", "owner", "involvement"]
    fact_lanes = [f"fact: {name}" for name in timeline.facts]
    obligation_lanes: list[str] = []
    for span in timeline.obligations:
        if f"obligation: {span.lane}" not in obligation_lanes:
            obligation_lanes.append(f"obligation: {span.lane}")
    for lane in timeline.reminders:
        if f"obligation: {lane}" not in obligation_lanes:
            obligation_lanes.append(f"obligation: {lane}")
    lanes += fact_lanes + obligation_lanes + ["violations"]

    for severity in names:
        bands = [band for band in timeline.severities if band.severity == severity]
        if not bands:
            continue
        data.append(
            go.Bar(
                name=names[severity],
                legendgroup="severity",
                legendgrouptitle_text="severity",
                orientation="h",
                y=["severity"] * len(bands),
                base=[_x(band.start) for band in bands],
                x=[_ms(band.start, band.end) for band in bands],
                marker_color=colours[severity],
                hovertext=[
                    _hover(
                        names[severity],
                        [f"from {_when(band.start)}", f"to {_when(band.end)}"],
                    )
                    for band in bands
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
        shapes += [
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _x(band.start),
                "x1": _x(band.end),
                "y0": 0,
                "y1": 1,
                "fillcolor": colours[severity],
                "opacity": 0.07,
                "line": {"width": 0},
                "layer": "below",
            }
            for band in bands
        ]
    for outcome in OUTCOMES:
        spans = [span for span in timeline.obligations if span.outcome == outcome]
        if not spans:
            continue
        data.append(
            _obligation_bars(
                go,
                outcome,
                OUTCOME_COLOURS[outcome],
                y=[f"obligation: {span.lane}" for span in spans],
                base=[_x(span.created) for span in spans],
                x=[max(_ms(span.created, span.due), 60_000.0) for span in spans],
                marker_line={"color": "#555", "width": 0.5},
                hovertext=[_span_hover(span) for span in spans],
            )
        )
    fact_colours = {
        name: CODE_COLOURS[index % len(CODE_COLOURS)]
        for index, name in enumerate(policy.terms.facts)
    }
    marks: list[tuple[str, str, str, str, Sequence[Mark]]] = [
        ("owner", "owner", "diamond", "#444", timeline.owners),
        ("involvement", "involvement", "triangle-up", "#888", timeline.involvement),
    ]
    marks += [
        (f"fact: {name}", name, "circle", fact_colours.get(name, "#444"), items)
        for name, items in timeline.facts.items()
    ]
    marks += [
        (f"obligation: {lane}", f"reminder ({lane})", "triangle-down", "#444", items)
        for lane, items in timeline.reminders.items()
    ]
    for lane, name, symbol, colour, items in marks:
        if not items:
            continue
        data.append(
            go.Scatter(
                name=name,
                legendgroup="marks",
                legendgrouptitle_text="what happened",
                showlegend=lane.startswith("fact: "),
                mode="markers+text" if lane == "owner" else "markers",
                y=[lane] * len(items),
                x=[_x(item.at) for item in items],
                text=[html.escape(item.title) for item in items],
                textposition="middle right",
                textfont_size=10,
                cliponaxis=False,
                marker={
                    "symbol": symbol,
                    "size": 10,
                    "color": colour,
                    "line": {"width": 1, "color": "#333"},
                },
                hovertext=[_hover(item.title, [_when(item.at), *item.details]) for item in items],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    violations = audited.violations if audited is not None else ()
    if violations:
        data.append(
            go.Scatter(
                name="violation",
                legendgroup="violations",
                legendgrouptitle_text="violations",
                mode="markers",
                y=["violations"] * len(violations),
                x=[_x(v.detected_at) for v in violations],
                marker={"symbol": "x", "size": 13, "color": VIOLATION_COLOUR},
                customdata=[[v.rule, _text(v.code), v.cites] for v in violations],
                hovertext=[_violation_hover(v) for v in violations],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    times = [timeline.opened_at, timeline.end, *(v.detected_at for v in violations)]
    times += [t for span in timeline.obligations for t in (span.due, span.settled_at) if t]
    times += [mark.at for items in timeline.facts.values() for mark in items]
    start, end = min(times), max(times)
    margin = max((end - start) * 0.02, dt.timedelta(minutes=30))
    # One figure built at once: plotly validates a figure's layout each time it is updated.
    return go.Figure(
        data=data,
        layout={
            "barmode": "overlay",
            "bargap": 0.35,
            "height": 140 + LANE_HEIGHT * len(lanes),
            "margin": {"l": 20, "r": 20, "t": 30, "b": 40},
            "template": NO_TEMPLATE,
            "hoverlabel": {"align": "left"},
            "legend": {"groupclick": "toggleitem"},
            "shapes": shapes,
            "xaxis": {
                "type": "date",
                "title": {"text": "time (UTC)"},
                "range": [_x(start - margin), _x(end + margin)],
            },
            "yaxis": {
                "type": "category",
                "categoryorder": "array",
                "categoryarray": lanes,
                "range": [len(lanes) - 0.5, -0.5],
                "automargin": True,
                "tickfont": {"size": 11},
            },
        },
    )


def _span_hover(span: ObligationSpan) -> str:
    lines = [
        f"{span.outcome}" + (f" at {_when(span.settled_at)}" if span.settled_at else ""),
        f"expected from {_when(span.created)}",
        f"due {_when(span.due)}",
    ]
    if span.outcome == LATE and span.settled_at is not None:
        lines.append(f"{duration(span.settled_at - span.due)} late")
    lines += [f"rule: {span.rule}", f"cites: {span.cites}"]
    return _hover(span.lane, lines)


def _violation_hover(violation: AuditViolation) -> str:
    lines = [
        f"at {_when(violation.detected_at)}",
        f"rule: {violation.rule}",
        f"cites: {violation.cites}",
        violation.detail,
    ]
    if violation.due is not None:
        lines.append(f"due {_when(violation.due)}")
    if violation.periods > 1:
        lines.append(f"{violation.periods} periods missed")
    if violation.fulfilled_at is not None:
        lines.append(f"done {_when(violation.fulfilled_at)}, {duration(violation.late_by)} late")
    elif violation.late_by is not None:
        lines.append(f"not done: {duration(violation.late_by)} late")
    return _hover(_text(violation.code), lines)


# ------------------------------------------------------------------------------------ the page
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #222; background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.2em; margin: 0 0 0.2em; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 16px;
  margin: 16px 0; }
.figures { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 0.4em 0; padding: 0;
  list-style: none; color: #444; font-size: 0.92em; }
.figures b { color: #111; }
.violations b { color: #d62728; }
.chart { width: 100%; }
"""


def audit_page(
    report: AuditReport,
    escalations: Sequence[EscalationTimeline],
    policy: Policy,
    *,
    title: str = "Compliance audit",
) -> str:
    """The HTML page: the summary chart, then each escalation's timeline. Self-contained:
    plotly.js is inline, and the page's content policy forbids it any request."""
    require_plotly()
    offline = importlib.import_module("plotly.offline")
    audited = {(e.escalation_id, e.opened_at): e for e in report.escalations}
    totals = report.totals
    charts: list[tuple[str, Any]] = [("summary-chart", summary_figure(report, policy))]
    sections = []
    for number, timeline in enumerate(escalations, start=1):
        found = audited.get((timeline.escalation_id, timeline.opened_at))
        chart_id = f"timeline-{number}"
        charts.append((chart_id, timeline_figure(timeline, found, policy)))
        sections.append(_escalation_section(timeline, found, chart_id, policy))
    span = ""
    if report.started_at is not None and report.as_of is not None:
        span = f"from {_when(report.started_at)} to {_when(report.as_of)}"
    figures = [
        ("facts read", report.facts),
        ("escalations", totals.escalations),
        ("in scope", totals.in_scope),
        ("closed", totals.closed),
        ("violations", totals.violations),
    ]
    if totals.refused:
        figures.append(("facts refused", totals.refused))
    items = "".join(
        f'<li class="{html.escape(name)}"><b>{value}</b> {html.escape(name)}</li>'
        for name, value in figures
    )
    plotlyjs = _ascii(offline.get_plotlyjs()).replace("</script", "<\\/script")
    data = "\n".join(
        f'<script type="application/json" data-chart="{chart_id}">{_figure_json(figure)}</script>'
        for chart_id, figure in charts
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(_CONTENT_POLICY, quote=False)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="escalation-policy">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script>window.PlotlyConfig = {{MathJaxConfig: "local"}};</script>
<script>{plotlyjs}</script>
</head>
<body>
<main>
<h1>{html.escape(title)}</h1>
<p>{html.escape(span)}</p>
<p class="policy">Policy <code>{html.escape(report.policy)}</code></p>
<section id="summary">
<h2>Summary</h2>
<ul class="figures">{items}</ul>
<div class="chart" id="summary-chart"></div>
</section>
{"".join(sections)}
</main>
{data}
<script>
const drawn = [];
for (const element of document.querySelectorAll("script[data-chart]")) {{
  const figure = JSON.parse(element.textContent);
  const config = {json.dumps(_CONFIG)};
  drawn.push(Plotly.newPlot(element.dataset.chart, figure.data, figure.layout, config));
}}
// For whoever waits on the page (a screenshot, a test): every chart is drawn.
Promise.all(drawn).then(() => {{ document.body.dataset.charts = "drawn"; }});
</script>
</body>
</html>
"""
    # ASCII throughout, so that the page survives any encoding of standard output.
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")


_CONFIG = {"displaylogo": False, "responsive": True}
_CONTENT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
"""The page may run its own inline scripts and styles and nothing else: no request leaves it."""


def _figure_json(figure: Any) -> str:
    """The figure as JSON safe inside a script element: ASCII, no ``<``, ``>`` or ``&``."""
    text: str = importlib.import_module("plotly.io").to_json(figure, validate=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return _ascii(text)


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def _ascii(script: str) -> str:
    """JSON or JavaScript with every other character as a ``\\u`` escape, which both read
    the same inside strings and regular expressions (the only places plotly.js has them)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code < 0x10000:
            return f"\\u{code:04x}"
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

    return _NOT_ASCII.sub(escape, script)


def _escalation_section(
    timeline: EscalationTimeline,
    audited: EscalationAudit | None,
    chart_id: str,
    policy: Policy,
) -> str:
    names = _severity_names(policy)
    severity = timeline.severities[-1].severity if timeline.severities else "-"
    facts = [
        ("opened", _when(timeline.opened_at)),
        ("closed", _when(timeline.closed_at) if timeline.closed_at else "still open"),
        ("severity", names.get(severity, severity)),
    ]
    if audited is not None:
        count = sum(v.periods for v in audited.violations)
        facts.append(("violations", str(count)))
        if not audited.in_scope:
            facts.append(("scope", "out of scope"))
    items = "".join(
        f'<li class="{html.escape(name)}">{html.escape(name)}: <b>{html.escape(value)}</b></li>'
        for name, value in facts
    )
    return (
        f'<section class="escalation" data-escalation="{html.escape(timeline.escalation_id)}">\n'
        f"<h2>{html.escape(timeline.escalation_id)} · {html.escape(timeline.customer)}</h2>\n"
        f'<ul class="figures">{items}</ul>\n'
        f'<div class="chart" id="{chart_id}"></div>\n'
        "</section>\n"
    )


def audit_html(
    report: AuditReport,
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    policy: Policy,
    *,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
) -> str:
    """The page for ``report``, the audit of ``facts`` under ``policy``."""
    require_plotly()
    return audit_page(report, timelines(facts, policy, as_of=as_of, engine=engine), policy)
