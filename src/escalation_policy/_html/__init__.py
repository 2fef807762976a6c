"""The audit as one self-contained HTML page: the "who is late" table, a summary, and a
timeline per escalation.

``timelines(facts, policy)`` replays a history as the audit does (``_timeline``: what each
escalation went through, observed on the replay), and ``audit_with_timelines`` observes the
audit and the timelines on one replay; ``audit_page(report, timelines, policy)`` turns them
into data for the page (``_figures``) and writes the page (``_page``), whose own script
(``page.js``) renders the table and draws each timeline as SVG when it is opened or scrolled
into view. The page needs nothing else: it opens offline and requests nothing.
"""

from escalation_policy._html._figures import (
    CODE_COLOURS,
    CODE_SHAPES,
    OUTCOME_STYLES,
    SEVERITY_COLOURS,
    legend,
    summary_data,
    timeline_data,
)
from escalation_policy._html._page import LANE_HEIGHT, Progress, audit_html, audit_page
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
    SeverityBand,
    TimelineObserver,
    audit_with_timelines,
    owner_name,
    timelines,
)

__all__ = [
    "CODE_COLOURS",
    "CODE_SHAPES",
    "ENDED",
    "LANE_HEIGHT",
    "LATE",
    "MET",
    "MISSED",
    "OPEN",
    "OUTCOMES",
    "OUTCOME_STYLES",
    "SEVERITY_COLOURS",
    "EscalationTimeline",
    "Mark",
    "ObligationSpan",
    "Progress",
    "SeverityBand",
    "TimelineObserver",
    "audit_html",
    "audit_page",
    "audit_with_timelines",
    "legend",
    "owner_name",
    "summary_data",
    "timeline_data",
    "timelines",
]
