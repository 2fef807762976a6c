"""The audit as one self-contained HTML page: a summary chart and a timeline per escalation.

``timelines(facts, policy)`` replays a history as the audit does (``_timeline``: what each
escalation went through, observed on the replay); ``audit_page(report, timelines, policy)``
draws them with plotly (``_figures``; the optional ``html`` extra, imported only there and only
when called) into one page that holds plotly.js itself (``_page``), so that it opens offline and
requests nothing.
"""

from escalation_policy._html._figures import (
    EXTRA,
    PlotlyMissingError,
    require_plotly,
    summary_figure,
    timeline_figure,
)
from escalation_policy._html._page import audit_html, audit_page
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
    timelines,
)

__all__ = [
    "ENDED",
    "EXTRA",
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
    "TimelineObserver",
    "audit_html",
    "audit_page",
    "require_plotly",
    "summary_figure",
    "timeline_figure",
    "timelines",
]
