"""Rendering for people: the severity table as Markdown, actions as timeline lines."""

import datetime as dt
from typing import TYPE_CHECKING

from escalation_policy.model import (
    Action,
    AssignOwner,
    CreateTrackerDocument,
    InformTam,
    OutOfScope,
    PostToChannel,
    Reminder,
    RequestProductEscalation,
    RouteToTam,
    SetCadence,
    SetInvolvement,
    Severity,
    UpdateExecutiveSummary,
    Violation,
)
from escalation_policy.policy import Policy

if TYPE_CHECKING:
    from escalation_policy._audit import AuditRefusal, AuditReport, AuditViolation

__all__ = [
    "audit_markdown",
    "audit_text",
    "describe",
    "duration",
    "plain",
    "refusal",
    "severity_table",
    "timestamp",
]

SEVERITY_TABLE_ID = "severity.levels"


def _cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped, line breaks and control characters
    shown as escapes, so that a value can never break the table."""
    return plain(text).replace("|", "\\|")


def plain(text: str) -> str:
    """Text for one line of output: control characters (a newline in an id) as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def severity_table(policy: Policy) -> str:
    """The handbook's severity table, rendered from the policy's ``severity.levels`` rows."""
    table = policy.table(SEVERITY_TABLE_ID)
    lines = [
        "| Severity Level | Description | Cadence | Levels of Involvement |",
        "| -------------- | ----------- | ------- | --------------------- |",
    ]
    for row in table.rows:
        severity = row.when["severity"]
        label = severity.label if isinstance(severity, Severity) else str(severity)
        roles = ", ".join(role.label for role in row.then["involvement"])
        lines.append(
            f"| {_cell(label)} | {_cell(row.then['description'])} | "
            f"{_cell(row.then['cadence'].label)} | {_cell(roles)} |"
        )
    return "\n".join(lines) + "\n"


def timestamp(value: dt.datetime) -> str:
    """``2026-03-02 09:00 +00:00``: minutes, with the offset the host gave."""
    text = value.strftime("%Y-%m-%d %H:%M")
    offset = value.strftime("%z")
    return f"{text} {offset[:3]}:{offset[3:]}" if offset else text


def describe(action: Action) -> str:
    """One plain sentence for an action."""
    if isinstance(action, AssignOwner):
        return f"owner is {action.owner.label}"
    if isinstance(action, SetInvolvement):
        roles = ", ".join(role.label for role in action.roles)
        changes = []
        if action.added:
            changes.append("added " + ", ".join(role.label for role in action.added))
        if action.removed:
            changes.append("removed " + ", ".join(role.label for role in action.removed))
        return f"involve {roles}" + (f" ({'; '.join(changes)})" if changes else "")
    if isinstance(action, SetCadence):
        return f"cadence is {action.cadence.label}"
    if isinstance(action, CreateTrackerDocument):
        return f"create the tracker document {action.title!r}"
    if isinstance(action, PostToChannel):
        return (
            f"{action.by.label} posts to {action.channel} ({action.reason.value}) "
            f"by {timestamp(action.due)}"
        )
    if isinstance(action, InformTam):
        return f"inform the TAM {action.tam} by {timestamp(action.due)}"
    if isinstance(action, UpdateExecutiveSummary):
        return f"update the executive summary by {timestamp(action.due)}"
    if isinstance(action, RequestProductEscalation):
        return f"request Product support: {action.template}"
    if isinstance(action, RouteToTam):
        to = f"the TAM {action.tam}" if action.tam else "the TAM"
        return f"route the {action.kind.label.lower()} issue to {to}"
    if isinstance(action, Violation):
        return f"VIOLATION {action.code.value}: {action.detail}"
    if isinstance(action, OutOfScope):
        return f"out of scope: {action.reason}"
    if isinstance(action, Reminder):
        what = action.obligation.replace("_", " ")
        if action.key is not None:
            what = f"{what} ({action.key})"
        who = f"{action.owner.label}: " if action.owner is not None else ""
        return f"reminder: {who}{what} due by {timestamp(action.due)}"
    return action.TYPE


# ----------------------------------------------------------------------------------------- audit
def duration(value: dt.timedelta | None) -> str:
    """``3d 4h``, ``2h 30m``, ``45m``, ``0m``; ``-`` for none."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes and not days:
        parts.append(f"{minutes}m")
    return " ".join(parts) or "0m"


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "none due"


def _outcome(violation: "AuditViolation") -> str:
    if violation.due is None:
        return violation.detail
    if violation.fulfilled_at is not None:
        return (
            f"due {timestamp(violation.due)}; done {timestamp(violation.fulfilled_at)} "
            f"({duration(violation.late_by)} late)"
        )
    if violation.late_by is None:
        return f"due {timestamp(violation.due)}; missed"
    return f"due {timestamp(violation.due)}; not done ({duration(violation.late_by)} late)"


def refusal(item: "AuditRefusal") -> str:
    """``facts.jsonl: line 3: got 'lo'; expected ... @ $.severity``."""
    where = f"{item.file}: line {item.line}" if item.file is not None else f"line {item.line}"
    return f"{where}: {item.reason}" + (f" @ {item.path}" if item.path else "")


def audit_text(report: "AuditReport") -> str:
    """The audit as readable text, for a terminal."""
    end = f" as of {timestamp(report.as_of)}" if report.as_of else ""
    lines = [f"Audit of {report.facts} facts, {len(report.escalations)} escalations{end}", ""]
    for item in report.escalations:
        closed = f", closed {timestamp(item.closed_at)}" if item.closed_at else ", open"
        scope = "" if item.in_scope else "  (out of scope)"
        lines.append(
            f"{plain(item.escalation_id)}  {plain(item.customer)}  {item.severity.value}  "
            f"opened {timestamp(item.opened_at)}{closed}{scope}"
        )
        severities = ", ".join(f"{k} {duration(v)}" for k, v in item.time_at_severity.items())
        posts = _ratio(item.required_posts_on_time, item.required_posts_due)
        updates = _ratio(item.updates_on_time, item.updates_due)
        lines.append(f"  required posts on time {posts}; updates on time {updates}")
        lines.append(
            f"  first post after {duration(item.first_post_after)}; "
            f"time at severity: {severities or '-'}; "
            f"severity changes {item.severity_changes}; "
            f"closed after {duration(item.time_to_closure)}"
        )
        if item.violations:
            lines.append(f"  violations ({len(item.violations)}):")
        for violation in item.violations:
            lines.append(
                f"    {timestamp(violation.detected_at)}  {violation.code.value:<26} "
                f"{violation.rule} · {violation.cites}"
            )
            lines.append(f"    {'':23}{_outcome(violation)}")
        lines.append("")
    if report.refused:
        lines.append(f"Refused ({len(report.refused)})")
        lines += [f"  {refusal(item)}" for item in report.refused]
        lines.append("")
    totals = report.totals
    posts = _ratio(totals.required_posts_on_time, totals.required_posts_due)
    by_code = ", ".join(f"{code} {count}" for code, count in totals.violations_by_code.items())
    lines += [
        "Totals",
        f"  escalations {totals.escalations} (in scope {totals.in_scope}, closed {totals.closed})",
        f"  violations {totals.violations}" + (f": {by_code}" if by_code else ""),
        f"  required posts on time {posts}",
        f"  updates on time {_ratio(totals.updates_on_time, totals.updates_due)}",
        f"  mean time to first post {duration(totals.mean_first_post_after)}; "
        f"mean time to closure {duration(totals.mean_time_to_closure)}",
        "  time at severity: "
        + (", ".join(f"{k} {duration(v)}" for k, v in totals.time_at_severity.items()) or "-"),
        f"  refused {totals.refused}",
    ]
    return "\n".join(lines) + "\n"


def audit_markdown(report: "AuditReport") -> str:
    """The audit as Markdown, for a tracker document or a review."""
    totals = report.totals
    posts = _ratio(totals.required_posts_on_time, totals.required_posts_due)
    end = f" as of {timestamp(report.as_of)}" if report.as_of else ""
    lines = [
        f"## Escalation audit{end}",
        "",
        f"{report.facts} facts, {totals.escalations} escalations "
        f"({totals.in_scope} in scope, {totals.closed} closed), "
        f"{totals.violations} violations, {totals.refused} refused.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| required posts on time | {posts} |",
        f"| updates on time | {_ratio(totals.updates_on_time, totals.updates_due)} |",
        f"| mean time to first post | {duration(totals.mean_first_post_after)} |",
        f"| mean time to closure | {duration(totals.mean_time_to_closure)} |",
        "",
        "| escalation | customer | severity | posts on time | updates on time | violations |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for item in report.escalations:
        lines.append(
            f"| {_cell(item.escalation_id)} | {_cell(item.customer)} | {item.severity.value} | "
            f"{_ratio(item.required_posts_on_time, item.required_posts_due)} | "
            f"{_ratio(item.updates_on_time, item.updates_due)} | {len(item.violations)} |"
        )
    violations = report.violations
    if violations:
        lines += [
            "",
            "### Violations",
            "",
            "| escalation | when | code | rule | handbook | what happened |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for violation in violations:
            lines.append(
                f"| {_cell(violation.escalation_id)} | {timestamp(violation.detected_at)} | "
                f"`{violation.code.value}` | `{violation.rule}` | {_cell(violation.cites)} | "
                f"{_cell(_outcome(violation))} |"
            )
    if report.refused:
        lines += [
            "",
            "### Refused",
            "",
            "| file | line | code | field | reason |",
            "| --- | --- | --- | --- | --- |",
        ]
        for refused in report.refused:
            lines.append(
                f"| {_cell(refused.file or '')} | {refused.line} | `{refused.code}` | "
                f"{f'`{_cell(refused.path)}`' if refused.path else ''} | {_cell(refused.reason)} |"
            )
    return "\n".join(lines) + "\n"
