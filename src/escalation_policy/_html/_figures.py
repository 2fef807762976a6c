"""The page's charts, drawn with plotly (the optional ``html`` extra, imported only here and
only when called): a summary of the audit, and one escalation's timeline."""

import datetime as dt
import html
import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from escalation_policy._audit import AuditReport, AuditViolation, EscalationAudit
from escalation_policy._html._timeline import (
    ENDED,
    LATE,
    MET,
    MISSED,
    OPEN,
    OUTCOMES,
    EscalationTimeline,
    Mark,
    ObligationSpan,
    shown_in,
    text_of,
    when,
)
from escalation_policy.policy import Policy
from escalation_policy.render import duration, label, plain, violation_outcome

__all__ = [
    "CODE_COLOURS",
    "EXTRA",
    "LANE_HEIGHT",
    "NO_TEMPLATE",
    "OUTCOME_COLOURS",
    "SEVERITY_COLOURS",
    "VIOLATION_COLOUR",
    "PlotlyMissingError",
    "chart_text",
    "require_plotly",
    "severity_names",
    "summary_figure",
    "timeline_figure",
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


def chart_text(text: str) -> str:
    """A text as a chart draws it (a legend entry, an axis label, a mark's label, a line of a
    hover). plotly reads every such text as HTML of its own (``<b>``, ``<a href=...>``, ``<span
    style=...>``): ``&``, ``<`` and ``>`` become the entities it decodes back (it decodes no
    ``&quot;``), and control characters escapes, as the text audit shows them. Every text a
    chart is given goes through here, whether the history or the policy wrote it."""
    return html.escape(plain(text), quote=False)


def _hover(title: str, lines: Iterable[str]) -> str:
    """Hover text: a bold title over lines, each of them :func:`chart_text`."""
    return "<br>".join([f"<b>{chart_text(title)}</b>", *(chart_text(line) for line in lines)])


def _week(value: dt.datetime) -> str:
    year, week, _ = value.astimezone(dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def severity_names(policy: Policy) -> dict[str, str]:
    """Each severity's label, by its value."""
    return {text_of(member): label(member) for member in policy.terms.severity}


def _severity_colours(policy: Policy) -> dict[str, str]:
    last = len(SEVERITY_COLOURS) - 1
    return {
        text_of(member): SEVERITY_COLOURS[min(index, last)]
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
        name=chart_text(name),
        legendgroup="obligations",
        legendgrouptitle_text="obligations",
        orientation="h",
        marker_color=colour,
        hovertemplate="%{hovertext}<extra></extra>",
        **fields,
    )


def summary_figure(report: AuditReport, policy: Policy) -> Any:
    """Violations per ISO week of their time, stacked by code (one each, however many periods
    it missed, as the audit counts them), and each obligation's due instances (or periods): on
    time, or not."""
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
        code, week = text_of(violation.code), _week(violation.detected_at)
        by_week = counts.setdefault(code, {})
        by_week[week] = by_week.get(week, 0) + 1
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
                name=chart_text(code),
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
                y=[chart_text(name) for name in names],
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
    zone = shown_in(timeline.calendar)
    data: list[Any] = []
    shapes: list[dict[str, Any]] = []
    names = severity_names(policy)
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
                name=chart_text(names[severity]),
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
                        [f"from {when(band.start, zone)}", f"to {when(band.end, zone)}"],
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
                y=[chart_text(f"obligation: {span.lane}") for span in spans],
                base=[_x(span.created) for span in spans],
                x=[max(_ms(span.created, span.due), 60_000.0) for span in spans],
                marker_line={"color": "#555", "width": 0.5},
                hovertext=[_span_hover(span, zone) for span in spans],
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
                name=chart_text(name),
                legendgroup="marks",
                legendgrouptitle_text="what happened",
                showlegend=lane.startswith("fact: "),
                mode="markers+text" if lane == "owner" else "markers",
                y=[chart_text(lane)] * len(items),
                x=[_x(item.at) for item in items],
                text=[chart_text(item.title) for item in items],
                textposition="middle right",
                textfont_size=10,
                cliponaxis=False,
                marker={
                    "symbol": symbol,
                    "size": 10,
                    "color": colour,
                    "line": {"width": 1, "color": "#333"},
                },
                hovertext=[
                    _hover(item.title, [when(item.at, zone), *item.details]) for item in items
                ],
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
                customdata=[[v.rule, text_of(v.code), v.cites] for v in violations],
                hovertext=[_violation_hover(v, zone) for v in violations],
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
                "categoryarray": [chart_text(lane) for lane in lanes],
                "range": [len(lanes) - 0.5, -0.5],
                "automargin": True,
                "tickfont": {"size": 11},
            },
        },
    )


def _span_hover(span: ObligationSpan, zone: dt.tzinfo | None) -> str:
    lines = [
        f"{span.outcome}" + (f" at {when(span.settled_at, zone)}" if span.settled_at else ""),
        f"expected from {when(span.created, zone)}",
        f"due {when(span.due, zone)}",
    ]
    if span.outcome == LATE and span.settled_at is not None:
        lines.append(f"{duration(span.settled_at - span.due)} late")
    lines += [f"rule: {span.rule}", f"cites: {span.cites}"]
    return _hover(span.lane, lines)


def _violation_hover(violation: AuditViolation, zone: dt.tzinfo | None) -> str:
    lines = [
        f"at {when(violation.detected_at, zone)}",
        f"rule: {violation.rule}",
        f"cites: {violation.cites}",
        violation.detail,
    ]
    if violation.due is not None:
        # As the text and Markdown audits say it, in the escalation's zone.
        lines.append(violation_outcome(violation, zone))
    return _hover(text_of(violation.code), lines)
