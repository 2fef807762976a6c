"""What the page draws, as data for its script: the "who is late" table, the summary, and each
escalation's timeline, in a compact JSON form (times in seconds from the escalation's opening,
texts as the page shows them), with the palette and the shapes of every mark.

The page's script (``page.js``) draws them as SVG; every text it shows is set as text, never
read as HTML, so nothing here escapes for HTML. Texts go through
:func:`~escalation_policy.render.plain` (control characters as escapes, as in the text audit).
"""

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
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
    "CODE_SHAPES",
    "OUTCOME_STYLES",
    "SEVERITY_COLOURS",
    "Strings",
    "escalation_row",
    "lane_count",
    "legend",
    "severity_names",
    "summary_data",
    "timeline_data",
    "worst_lateness",
]

# Okabe and Ito's palette, which reads apart under the common colour-vision deficiencies.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"

SEVERITY_COLOURS = ("#3f007d", "#6a51a3", "#9e9ac8", "#cbc9e2", "#dadaeb", "#efedf5")
"""From the most severe down, darkest first (apart by lightness, whatever the colour vision);
a policy with more severities repeats the last. Each band is also labelled in words."""

OUTCOME_STYLES: Mapping[str, Mapping[str, str]] = {
    MET: {"colour": BLUISH_GREEN, "fill": "solid", "glyph": "check"},
    LATE: {"colour": ORANGE, "fill": "stripes", "glyph": "bang"},
    MISSED: {"colour": VERMILLION, "fill": "cross", "glyph": "x"},
    ENDED: {"colour": GREY, "fill": "none", "glyph": "none"},
    OPEN: {"colour": SKY_BLUE, "fill": "dots", "glyph": "arrow"},
}
"""What became of an obligation: a colour, and a fill and a glyph at its end that tell it
apart without the colour (solid and a tick: met on time; stripes and ``!``: met late; cross
hatching and a cross: missed)."""

CODE_COLOURS = (BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN, BLUE, VERMILLION, REDDISH_PURPLE)
CODE_SHAPES = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "triangle-down",
    "star",
    "plus",
    "x",
    "hexagon",
)
"""Violation codes, in the policy's order, take the next colour and the next shape: with
seven colours and nine shapes, no two of the first 63 codes look alike, whatever the colour
vision, and the legend names each."""


_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d")


class Strings:
    """The page's texts, each kept once: a timeline refers to a text by its position in
    :attr:`items`, the page's table of texts, rather than repeating it (rule ids, citations,
    lane names and fact fields recur in every escalation). A text with a time in it is rarely
    repeated: it stays in its place."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> str | int:
        text = plain(text)
        if _TIME.search(text):
            return text
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.items)
            self.items.append(text)
        return found


def severity_names(policy: Policy) -> dict[str, str]:
    """Each severity's label, by its value."""
    return {text_of(member): label(member) for member in policy.terms.severity}


def legend(policy: Policy, report: AuditReport) -> dict[str, Any]:
    """The page's keys: the severities (most severe first), the outcomes of obligations, the
    violation codes (the policy's, then any other the audit found) with their colour and
    shape, and the fact types."""
    last = len(SEVERITY_COLOURS) - 1
    codes = list(policy.violation_codes)
    codes += sorted({text_of(v.code) for v in report.violations} - set(codes))
    return {
        "severities": [
            {
                "value": text_of(member),
                "label": plain(label(member)),
                "colour": SEVERITY_COLOURS[min(index, last)],
            }
            for index, member in enumerate(policy.terms.severity)
        ],
        "outcomes": [{"name": name, **OUTCOME_STYLES[name]} for name in OUTCOMES],
        "codes": [
            {
                "code": plain(code),
                "colour": CODE_COLOURS[index % len(CODE_COLOURS)],
                "shape": CODE_SHAPES[index % len(CODE_SHAPES)],
            }
            for index, code in enumerate(codes)
        ],
    }


def worst_lateness(audited: EscalationAudit | None) -> dt.timedelta | None:
    """How late the latest of its violations stood (``late_by``), if any says."""
    if audited is None:
        return None
    found = [v.late_by for v in audited.violations if v.late_by is not None]
    return max(found) if found else None


def escalation_row(
    number: int,
    timeline: EscalationTimeline,
    audited: EscalationAudit | None,
    severity_rank: Mapping[str, int],
) -> list[Any]:
    """One row of the "who is late" table: ``[number, escalation, customer, owner, severity
    rank, violations, worst lateness in seconds or null, worst lateness in words, in scope]``."""
    severity = (
        text_of(audited.severity)
        if audited is not None
        else (timeline.severities[-1].severity if timeline.severities else "")
    )
    worst = worst_lateness(audited)
    return [
        number,
        plain(timeline.escalation_id),
        plain(timeline.customer),
        plain(timeline.owner),
        severity_rank.get(severity, len(severity_rank)),
        len(audited.violations) if audited is not None else 0,
        None if worst is None else int(worst.total_seconds()),
        "" if worst is None else duration(worst),
        audited.in_scope if audited is not None else True,
    ]


def _week(value: dt.datetime) -> str:
    year, week, _ = value.astimezone(dt.timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def summary_data(report: AuditReport) -> dict[str, Any]:
    """Violations by code and by ISO week of their time (each counts one, however many
    periods it missed, as the audit counts them), and each obligation's due instances (or
    periods): on time, or not."""
    weeks: dict[str, dict[str, int]] = {}
    for violation in report.violations:
        by_code = weeks.setdefault(_week(violation.detected_at), {})
        code = plain(text_of(violation.code))
        by_code[code] = by_code.get(code, 0) + 1
    totals = report.totals.obligations
    return {
        "codes": {plain(code): count for code, count in report.totals.violations_by_code.items()},
        "weeks": dict(sorted(weeks.items())),
        "obligations": [
            [plain(name), figures.due, figures.on_time] for name, figures in totals.items()
        ],
    }


def _seconds(at: dt.datetime, origin: dt.datetime) -> int:
    return round((at - origin).total_seconds())


def _lines(text: Strings, title: str, lines: Iterable[str]) -> list[str | int]:
    return [text(title), *(text(line) for line in lines)]


def timeline_data(
    timeline: EscalationTimeline,
    audited: EscalationAudit | None,
    policy: Policy,
    codes: Mapping[str, int],
    text: Strings,
) -> dict[str, Any]:
    """One escalation over time, a lane each for its severity, owner, involvement, every fact
    type, every obligation and its violations; times in seconds from its opening (``t0``, in
    seconds since the epoch), texts as the page shows them (a hover: a title, then lines), or
    their position in ``text``, the page's table of texts.

    ``codes`` is the index of each violation code in the legend."""
    zone = shown_in(timeline.calendar)
    origin = timeline.opened_at
    names = severity_names(policy)
    severity_index = {value: index for index, value in enumerate(names)}
    lanes = ["severity", "owner", "involvement"]
    lanes += [f"fact: {name}" for name in timeline.facts]
    for lane in (*(span.lane for span in timeline.obligations), *timeline.reminders):
        if f"obligation: {lane}" not in lanes:
            lanes.append(f"obligation: {lane}")
    lanes.append("violations")
    lane_of = {name: index for index, name in enumerate(lanes)}
    outcome_index = {name: index for index, name in enumerate(OUTCOMES)}

    def at(value: dt.datetime) -> int:
        return _seconds(value, origin)

    bands = [
        [
            severity_index.get(band.severity, len(severity_index)),
            at(band.start),
            at(band.end),
            _lines(
                text,
                names.get(band.severity, band.severity),
                [f"from {when(band.start, zone)}", f"to {when(band.end, zone)}"],
            ),
        ]
        for band in timeline.severities
    ]
    spans = [
        [
            lane_of[f"obligation: {span.lane}"],
            outcome_index[span.outcome],
            at(span.created),
            at(span.due),
            None if span.settled_at is None else at(span.settled_at),
            _span_hover(text, span, zone),
        ]
        for span in timeline.obligations
    ]
    marks: list[list[Any]] = []

    def add(lane: str, kind: str, items: Sequence[Mark], titled: bool = False) -> None:
        for item in items:
            marks.append(
                [
                    lane_of[lane],
                    kind,
                    at(item.at),
                    text(item.title) if titled else "",
                    _lines(text, item.title, [when(item.at, zone), *item.details]),
                ]
            )

    add("owner", "owner", timeline.owners, titled=True)
    add("involvement", "involvement", timeline.involvement)
    for name, items in timeline.facts.items():
        add(f"fact: {name}", "fact", items)
    for lane, items in timeline.reminders.items():
        add(f"obligation: {lane}", "reminder", items)
    violations = audited.violations if audited is not None else ()
    marked = [
        [
            codes.get(text_of(v.code), 0),
            at(v.detected_at),
            text(v.rule),
            _violation_hover(text, v, zone),
        ]
        for v in violations
    ]
    times = [timeline.opened_at, timeline.end, *(v.detected_at for v in violations)]
    times += [t for span in timeline.obligations for t in (span.due, span.settled_at) if t]
    times += [mark.at for items in timeline.facts.values() for mark in items]
    start, end = min(times), max(times)
    margin = max((end - start) * 0.02, dt.timedelta(minutes=30))
    return {
        "t0": int(origin.timestamp()),
        "zone": timeline.calendar.zone if zone is not None and timeline.calendar else "UTC",
        "range": [at(start - margin), at(end + margin)],
        "lanes": [text(lane) for lane in lanes],
        "bands": bands,
        "spans": spans,
        "marks": marks,
        "violations": marked,
    }


def lane_count(timeline: EscalationTimeline) -> int:
    """How many lanes :func:`timeline_data` draws for ``timeline`` (for the room the page keeps
    for a chart before it is drawn)."""
    lanes = {span.lane for span in timeline.obligations} | set(timeline.reminders)
    return 4 + len(timeline.facts) + len(lanes)


def _span_hover(text: Strings, span: ObligationSpan, zone: dt.tzinfo | None) -> list[str | int]:
    lines = [
        f"{span.outcome}" + (f" at {when(span.settled_at, zone)}" if span.settled_at else ""),
        f"expected from {when(span.created, zone)}",
        f"due {when(span.due, zone)}",
    ]
    if span.outcome == LATE and span.settled_at is not None:
        lines.append(f"{duration(span.settled_at - span.due)} late")
    lines += [f"rule: {span.rule}", f"cites: {span.cites}"]
    return _lines(text, span.lane, lines)


def _violation_hover(
    text: Strings, violation: AuditViolation, zone: dt.tzinfo | None
) -> list[str | int]:
    lines = [
        f"at {when(violation.detected_at, zone)}",
        f"rule: {violation.rule}",
        f"cites: {violation.cites}",
        violation.detail,
    ]
    if violation.due is not None:
        # As the text and Markdown audits say it, in the escalation's zone.
        lines.append(violation_outcome(violation, zone))
    return _lines(text, text_of(violation.code), lines)
