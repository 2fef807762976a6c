"""The page: the summary, the "who is late" table, then each escalation's timeline, in one
self-contained file that holds its own script and styles, so that it opens offline and requests
nothing. The script (``page.js``) renders the table from data, and draws a timeline as SVG only
when its escalation is opened or scrolled into view, so that the page scales to thousands of
escalations."""

import datetime as dt
import functools
import html
import importlib.resources
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from escalation_policy._audit import AuditReport, EscalationAudit
from escalation_policy._html._figures import (
    Strings,
    escalation_row,
    lane_count,
    legend,
    severity_names,
    summary_data,
    timeline_data,
    worst_lateness,
)
from escalation_policy._html._timeline import EscalationTimeline, shown_in, timelines, when
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy
from escalation_policy.render import calendar_label, duration, plain

__all__ = ["LANE_HEIGHT", "Progress", "audit_html", "audit_page"]

LANE_HEIGHT = 26
"""Pixels a lane of a timeline takes on a wide screen; the page keeps this much room for a
timeline before it is drawn, so that scrolling does not draw every timeline at once."""

Progress = Callable[[int, int], None]
"""Called as the page is built with the escalations done so far and their number."""


@functools.cache
def _asset(name: str) -> str:
    return importlib.resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def audit_page(
    report: AuditReport,
    escalations: Sequence[EscalationTimeline],
    policy: Policy,
    *,
    title: str = "Compliance audit",
    progress: Progress | None = None,
) -> str:
    """The HTML page: the summary, the "who is late" table (worst first), then each
    escalation's timeline. Self-contained: its script and styles are inline, and its content
    policy forbids it any request. ``progress`` is told how many escalations are done, every
    500 and at the end."""
    audited = {(e.escalation_id, e.opened_at): e for e in report.escalations}
    keys = legend(policy, report)
    codes = {entry["code"]: index for index, entry in enumerate(keys["codes"])}
    rank = {entry["value"]: index for index, entry in enumerate(keys["severities"])}
    found = [audited.get((t.escalation_id, t.opened_at)) for t in escalations]
    rows = [
        escalation_row(number, timeline, audit, rank)
        for number, (timeline, audit) in enumerate(zip(escalations, found, strict=True), 1)
    ]
    order = sorted(range(len(rows)), key=lambda index: _worst_first(rows[index]))
    sections = []
    text = Strings()
    total = len(escalations)
    for done, index in enumerate(order, start=1):
        number = rows[index][0]
        sections.append(
            _escalation_section(number, escalations[index], found[index], policy, codes, text)
        )
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    if progress is not None and not total:
        progress(0, 0)
    data = {
        "legend": keys,
        "summary": summary_data(report),
        "rows": [rows[index] for index in order],
        "unopened": len(report.unopened),
    }
    return _page(report, title, data, sections, text.items)


def _worst_first(row: Sequence[Any]) -> tuple[int, int, int, int]:
    """Most violations first, then the longest late, then the most severe, then the earliest
    opened."""
    number, _, _, _, severity, violations, late, *_ = row
    return (-violations, -(late if late is not None else -1), severity, number)


def _page(
    report: AuditReport,
    title: str,
    data: Mapping[str, Any],
    sections: list[str],
    texts: list[str],
) -> str:
    totals = report.totals
    span = ""
    if report.started_at is not None and report.as_of is not None:
        span = f"from {when(report.started_at)} to {when(report.as_of)}"
    figures = [
        ("facts read", totals_text(report.facts)),
        ("escalations", totals_text(totals.escalations)),
        ("in scope", totals_text(totals.in_scope)),
        ("closed", totals_text(totals.closed)),
        ("violations", totals_text(totals.violations)),
    ]
    if report.unopened:
        figures.append(("about escalations never opened", totals_text(len(report.unopened))))
    if totals.refused:
        figures.append(("facts refused", totals_text(totals.refused)))
    items = "".join(
        f'<li class="{_text(name)}{_none(value)}"><b>{value}</b> {_text(name)}</li>'
        for name, value in figures
    )
    compliant = sum(1 for row in data["rows"] if not row[5])
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CONTENT_POLICY_ATTRIBUTE}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="escalation-policy">
<title>{_text(title)}</title>
<style>{_asset("page.css")}</style>
</head>
<body>
<main>
<h1>{_text(title)}</h1>
<p>{_text(span)}</p>
<p class="policy">Policy <code>{_text(report.policy)}</code></p>
<section id="summary" aria-labelledby="summary-heading">
<h2 id="summary-heading">Summary</h2>
<ul class="figures">{items}</ul>
<div class="summary-charts" id="summary-charts"></div>
</section>
<section id="who-is-late" aria-labelledby="late-heading">
<h2 id="late-heading">Who is late</h2>
<div class="controls" role="search" aria-label="Filter the escalations">
<label for="filter">Filter</label>
<input type="search" id="filter" autocomplete="off" spellcheck="false"
 placeholder="escalation, customer, owner or severity">
<label class="toggle"><input type="checkbox" id="only-violations"> only with violations</label>
</div>
<p id="table-status" class="status" aria-live="polite"></p>
<div class="table-scroll">
<table id="late-table">
<caption>Escalations, worst first: most violations, then the longest late. Sort by a column
with its heading; open an escalation's timeline with its name.</caption>
<thead><tr>
{_HEADINGS}
</tr></thead>
<tbody></tbody>
</table>
</div>
<p class="more"><button type="button" id="show-more" hidden>Show more</button></p>
<noscript><p>The table and the timelines need JavaScript.</p></noscript>
</section>
<script type="application/json" id="page-data">{_json(data)}</script>
<script>{_asset("page.js")}</script>
{_coverage_section(report)}
<section id="timelines" aria-labelledby="timelines-heading">
<h2 id="timelines-heading">Timelines</h2>
<p class="note">Worst first, as the table. Escalations with violations are open; the
{compliant} compliant are closed: open one to draw its timeline.</p>
{"".join(sections)}
</section>
</main>
<script type="application/json" id="texts">{_json(texts)}</script>
<div id="tip" role="tooltip" hidden></div>
</body>
</html>
"""
    # ASCII throughout, so that the page survives any encoding of standard output.
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")


_COLUMNS = (
    ("escalation", "Escalation", ""),
    ("customer", "Customer", ""),
    ("owner", "Owner", ""),
    ("severity", "Severity", ""),
    ("violations", "Violations", "number"),
    ("late", "Worst lateness", "number"),
)
_HEADINGS = "\n".join(
    f'<th scope="col" data-key="{key}"'
    + (f' class="{kind}"' if kind else "")
    + f' aria-sort="{"descending" if key == "violations" else "none"}">'
    + f'<button type="button">{name}</button></th>'
    for key, name, kind in _COLUMNS
)
"""The table's column headings: each sorts the table by its column (``aria-sort`` says how)."""


def totals_text(value: int) -> str:
    return f"{value:,}"


def _none(value: str) -> str:
    return " none" if value == "0" else ""


def _text(value: str) -> str:
    """Text for the page, in an element or an attribute: on one line, control characters as
    escapes (as :func:`~escalation_policy.render.plain` has them), and ``&``, ``<``, ``>`` and
    quotes as HTML entities. Every text the page's HTML shows goes through it; the script sets
    the texts it shows as text."""
    return html.escape(plain(value))


_CONTENT_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)
"""The page may run its own inline scripts and styles and nothing else: no request leaves it."""
_CONTENT_POLICY_ATTRIBUTE = html.escape(_CONTENT_POLICY, quote=False)


def _json(value: object) -> str:
    """``value`` as JSON safe inside a script element: ASCII, no ``<``, ``>`` or ``&``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text


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
    number: int,
    timeline: EscalationTimeline,
    audited: EscalationAudit | None,
    policy: Policy,
    codes: Mapping[str, int],
    text: Strings,
) -> str:
    names = severity_names(policy)
    severity = timeline.severities[-1].severity if timeline.severities else "-"
    zone = shown_in(timeline.calendar)
    count = len(audited.violations) if audited is not None else 0
    facts = [
        ("opened", when(timeline.opened_at, zone)),
        ("closed", when(timeline.closed_at, zone) if timeline.closed_at else "still open"),
        ("severity", names.get(severity, severity)),
        ("owner", timeline.owner),
        ("calendar", calendar_label(timeline.calendar)),
    ]
    if audited is not None:
        facts.append(("violations", str(count)))
        worst = worst_lateness(audited)
        if worst is not None:
            facts.append(("worst lateness", duration(worst)))
        if not audited.in_scope:
            facts.append(("scope", "out of scope"))
    items = "".join(
        f'<li class="{_text(name)}{_none(value) if name == "violations" else ""}">'
        f"{_text(name)}: <b>{_text(value)}</b></li>"
        for name, value in facts
    )
    badge = f"{count} violation{'' if count == 1 else 's'}"
    height = 60 + LANE_HEIGHT * lane_count(timeline)
    return (
        f'<details class="escalation" id="esc-{number}"'
        f' data-escalation="{_text(timeline.escalation_id)}" data-violations="{count}"'
        f"{' open' if count else ''}>\n"
        f"<summary><h3>{_text(timeline.escalation_id)} · {_text(timeline.customer)}</h3>"
        f' <span class="badge{_none(str(count))}">{badge}</span></summary>\n'
        f'<ul class="figures">{items}</ul>\n'
        f'<div class="chart" style="min-height:{height}px"></div>\n'
        f'<script type="application/json">'
        f"{_json(timeline_data(timeline, audited, policy, codes, text))}</script>\n"
        "</details>\n"
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
    return audit_page(report, timelines(facts, policy, as_of=as_of, engine=engine), policy)
