"""The impact report for people: text for a terminal, Markdown for a merge request's comment,
and one self-contained HTML page. What a history says (ids, names, details) goes through
:func:`~escalation_policy.render.plain`, :func:`~escalation_policy.render.markdown_text` or
HTML escaping, so that it can neither drive a terminal nor become markup."""

import html
from collections.abc import Mapping
from typing import Any

from escalation_policy._impact._report import (
    ActionChange,
    ChangeCounts,
    EscalationImpact,
    ImpactReport,
)
from escalation_policy.model import ACTION_FIELDS
from escalation_policy.render import markdown_text, plain, refusal, timestamp

__all__ = ["impact_html", "impact_markdown", "impact_text"]

MARKDOWN_ROWS = 200
"""The most changes a Markdown report lists one by one: a merge request's comment has a size
limit. The totals count them all."""

_SIGNS = {"added": "+", "removed": "-", "changed": "~"}
_SKIP = {*ACTION_FIELDS, "type"}


def _value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return "null" if value is None else str(value)


def _fields(data: Mapping[str, Any] | None) -> str:
    """An action's own fields, ``name value``, as its JSON form has them."""
    if data is None:
        return ""
    return ", ".join(f"{name} {_value(value)}" for name, value in data.items() if name not in _SKIP)


def what(change: ActionChange) -> str:
    """What changed, in one line: an action's fields, or each field's old and new value."""
    if change.kind != "changed":
        return _fields(change.after if change.after is not None else change.before)
    before, after = change.before or {}, change.after or {}
    return "; ".join(
        f"{name} {_value(before.get(name))} -> {_value(after.get(name))}" for name in change.fields
    )


def _kind(change: ActionChange) -> str:
    return f"{change.type} {change.code}" if change.code is not None else change.type


def _counts(counts: ChangeCounts) -> str:
    return f"+{counts.added} -{counts.removed} ~{counts.changed}"


def _opened(escalation: EscalationImpact) -> str:
    if escalation.opened_at is None:
        return "never opened"
    return f"opened {timestamp(escalation.opened_at)}"


def summary(report: ImpactReport) -> str:
    totals = report.totals
    if not report.different:
        return f"No difference over {report.facts} facts and {totals.escalations} escalations."
    return (
        f"{totals.affected} of {totals.escalations} escalations change over {report.facts} "
        f"facts: {totals.added} actions added, {totals.removed} removed, "
        f"{totals.changed} changed."
    )


def _tables(report: ImpactReport) -> list[tuple[str, Mapping[str, ChangeCounts]]]:
    totals = report.totals
    return [
        ("rule", totals.by_rule),
        ("action type", totals.by_action_type),
        ("violation code", totals.by_violation_code),
    ]


def impact_text(report: ImpactReport) -> str:
    """The report as readable text, for a terminal: every line goes through :func:`plain`."""
    lines = [
        f"Impact of policy {report.policy}",
        f"  against the base {report.base}",
        summary(report),
    ]
    if report.renamed:
        lines.append(
            "Renamed: " + ", ".join(f"{old} -> {new}" for old, new in report.renamed.items())
        )
    lines.append("")
    for escalation in report.escalations:
        lines.append(f"{escalation.escalation_id}  {_opened(escalation)}")
        for change in escalation.changes:
            lines.append(
                f"  {_SIGNS[change.kind]} {timestamp(change.at)}  {_kind(change)}  [{change.rule}]"
            )
            lines.append(f"      {what(change)}")
        lines.append("")
    for title, table in _tables(report):
        if table:
            lines.append(f"By {title} (+added -removed ~changed)")
            width = max(len(key) for key in table)
            lines += [f"  {key:<{width}}  {_counts(counts)}" for key, counts in table.items()]
            lines.append("")
    for title, items in (
        ("Skipped for the base", report.skipped_by_base),
        ("Refused", report.refused),
    ):
        if items:
            lines.append(f"{title} ({len(items)})")
            lines += [f"  {refusal(item)}" for item in items]
            lines.append("")
    return "\n".join(plain(line) for line in lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return markdown_text(text)


def impact_markdown(report: ImpactReport) -> str:
    """The report as Markdown, for a merge request's comment: the totals, then each change
    (at most :data:`MARKDOWN_ROWS`)."""
    lines = [
        "## Impact of the policy change",
        "",
        _cell(summary(report)),
        "",
        f"Policy `{report.policy}` against the base `{report.base}`.",
    ]
    if report.renamed:
        lines += [
            "",
            "Renamed: "
            + ", ".join(f"`{_code(old)}` → `{_code(new)}`" for old, new in report.renamed.items())
            + ".",
        ]
    for title, table in _tables(report):
        if table:
            lines += ["", f"| {title} | added | removed | changed |", "| --- | --- | --- | --- |"]
            lines += [
                f"| `{_code(key)}` | {c.added} | {c.removed} | {c.changed} |"
                for key, c in table.items()
            ]
    changes = [(e, c) for e in report.escalations for c in e.changes]
    if changes:
        lines += [
            "",
            "### Changes",
            "",
            "| escalation | when | change | action | rule | what |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for escalation, change in changes[:MARKDOWN_ROWS]:
            lines.append(
                f"| {_cell(escalation.escalation_id)} | {timestamp(change.at)} | {change.kind} | "
                f"`{_code(_kind(change))}` | `{_code(change.rule)}` | {_cell(what(change))} |"
            )
        if len(changes) > MARKDOWN_ROWS:
            lines += [
                "",
                f"… and {len(changes) - MARKDOWN_ROWS} more changes (see the JSON report).",
            ]
    for title, items in (
        ("Skipped for the base", report.skipped_by_base),
        ("Refused", report.refused),
    ):
        if items:
            lines += ["", f"### {title}", ""]
            lines += [f"- {_cell(refusal(item))}" for item in items[:MARKDOWN_ROWS]]
            if len(items) > MARKDOWN_ROWS:
                lines.append(f"- … and {len(items) - MARKDOWN_ROWS} more")
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """Text for inside a code span: on one line, without the backticks that would end it."""
    return plain(text).replace("`", "'")


def _h(text: object) -> str:
    return html.escape(plain(str(text)))


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #222; background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.added { color: #2ca02c; } .removed { color: #d62728; } .changed { color: #ff7f0e; }
"""

_CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
"""The page runs no script and requests nothing."""


def impact_html(report: ImpactReport) -> str:
    """The report as one self-contained HTML page (no script, nothing requested), ASCII."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CONTENT_POLICY}">',
        '<meta name="generator" content="escalation-policy">',
        "<title>Impact of the policy change</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>Impact of the policy change</h1>",
        f"<p>{_h(summary(report))}</p>",
        f'<p class="policies">Policy <code>{_h(report.policy)}</code> against the base '
        f"<code>{_h(report.base)}</code></p>",
    ]
    if report.renamed:
        renamed = ", ".join(
            f"<code>{_h(old)}</code> &#8594; <code>{_h(new)}</code>"
            for old, new in report.renamed.items()
        )
        parts.append(f"<p>Renamed: {renamed}</p>")
    for title, table in _tables(report):
        if table:
            rows = "".join(
                f"<tr><td><code>{_h(key)}</code></td><td>{c.added}</td><td>{c.removed}</td>"
                f"<td>{c.changed}</td></tr>"
                for key, c in table.items()
            )
            parts.append(
                f'<section class="totals"><h2>By {_h(title)}</h2><table><thead><tr>'
                f"<th>{_h(title)}</th><th>added</th><th>removed</th><th>changed</th></tr>"
                f"</thead><tbody>{rows}</tbody></table></section>"
            )
    for escalation in report.escalations:
        rows = "".join(
            f'<tr class="{change.kind}"><td>{_h(timestamp(change.at))}</td>'
            f"<td>{change.kind}</td><td><code>{_h(_kind(change))}</code></td>"
            f"<td><code>{_h(change.rule)}</code></td><td>{_h(what(change))}</td></tr>"
            for change in escalation.changes
        )
        parts.append(
            f'<section class="escalation" data-escalation="{_h(escalation.escalation_id)}">'
            f"<h2>{_h(escalation.escalation_id)}</h2><p>{_h(_opened(escalation))}</p>"
            "<table><thead><tr><th>when</th><th>change</th><th>action</th><th>rule</th>"
            f"<th>what</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    for title, items in (
        ("Skipped for the base", report.skipped_by_base),
        ("Refused", report.refused),
    ):
        if items:
            listed = "".join(f"<li>{_h(refusal(item))}</li>" for item in items)
            parts.append(f"<section><h2>{_h(title)}</h2><ul>{listed}</ul></section>")
    parts += ["</main>", "</body>", "</html>", ""]
    page = "\n".join(parts)
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")
