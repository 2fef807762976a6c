"""The page: the summary chart, then each escalation's timeline, in one self-contained file
that holds plotly.js itself, so that it opens offline and requests nothing."""

import datetime as dt
import html
import importlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from escalation_policy._audit import AuditReport, EscalationAudit
from escalation_policy._html._figures import (
    require_plotly,
    severity_names,
    summary_figure,
    timeline_figure,
)
from escalation_policy._html._timeline import EscalationTimeline, shown_in, timelines, when
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy
from escalation_policy.render import calendar_label, plain

__all__ = ["audit_html", "audit_page"]

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
        span = f"from {when(report.started_at)} to {when(report.as_of)}"
    figures = [
        ("facts read", report.facts),
        ("escalations", totals.escalations),
        ("in scope", totals.in_scope),
        ("closed", totals.closed),
        ("violations", totals.violations),
    ]
    if report.unopened:
        figures.append(("about escalations never opened", len(report.unopened)))
    if totals.refused:
        figures.append(("facts refused", totals.refused))
    items = "".join(
        f'<li class="{_text(name)}"><b>{value}</b> {_text(name)}</li>' for name, value in figures
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
<meta http-equiv="Content-Security-Policy" content="{_CONTENT_POLICY_ATTRIBUTE}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="escalation-policy">
<title>{_text(title)}</title>
<style>{_STYLE}</style>
<script>window.PlotlyConfig = {{MathJaxConfig: "local"}};</script>
<script>{plotlyjs}</script>
</head>
<body>
<main>
<h1>{_text(title)}</h1>
<p>{_text(span)}</p>
<p class="policy">Policy <code>{_text(report.policy)}</code></p>
<section id="summary">
<h2>Summary</h2>
<ul class="figures">{items}</ul>
<div class="chart" id="summary-chart"></div>
</section>
{_coverage_section(report)}
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


def _text(value: str) -> str:
    """Text for the page, in an element or an attribute: on one line, control characters as
    escapes (as :func:`~escalation_policy.render.plain` has them), and ``&``, ``<``, ``>`` and
    quotes as HTML entities. Every text the page shows goes through it; the charts' texts go
    through ``_figures.chart_text``."""
    return html.escape(plain(value))


_CONFIG = {"displaylogo": False, "responsive": True}
_CONTENT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
"""The page may run its own inline scripts and styles and nothing else: no request leaves it."""
_CONTENT_POLICY_ATTRIBUTE = html.escape(_CONTENT_POLICY, quote=False)


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


def _coverage_section(report: AuditReport) -> str:
    """Rule coverage: a small table of every rule, the facts it matched and its actions."""
    if not report.coverage:
        return ""
    rows = "".join(
        f"<tr><td><code>{_text(rule)}</code></td><td>{figures.fired}</td>"
        f"<td>{figures.actions}</td></tr>"
        for rule, figures in report.coverage.items()
    )
    return (
        '<section id="coverage">\n<h2>Rule coverage</h2>\n'
        "<table><thead><tr><th>rule</th><th>fired</th><th>actions</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n</section>"
    )


def _escalation_section(
    timeline: EscalationTimeline,
    audited: EscalationAudit | None,
    chart_id: str,
    policy: Policy,
) -> str:
    names = severity_names(policy)
    severity = timeline.severities[-1].severity if timeline.severities else "-"
    zone = shown_in(timeline.calendar)
    facts = [
        ("opened", when(timeline.opened_at, zone)),
        ("closed", when(timeline.closed_at, zone) if timeline.closed_at else "still open"),
        ("severity", names.get(severity, severity)),
        ("calendar", calendar_label(timeline.calendar)),
    ]
    if audited is not None:
        facts.append(("violations", str(len(audited.violations))))
        if not audited.in_scope:
            facts.append(("scope", "out of scope"))
    items = "".join(
        f'<li class="{_text(name)}">{_text(name)}: <b>{_text(value)}</b></li>'
        for name, value in facts
    )
    return (
        f'<section class="escalation" data-escalation="{_text(timeline.escalation_id)}">\n'
        f"<h2>{_text(timeline.escalation_id)} · {_text(timeline.customer)}</h2>\n"
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
