"""Rendering for people: the severity table as Markdown, actions as timeline lines."""

import datetime as dt

from escalation_policy.model import (
    Action,
    AssignOwner,
    CreateTrackerDocument,
    InformTam,
    OutOfScope,
    PostToChannel,
    RequestProductEscalation,
    RouteToTam,
    SetCadence,
    SetInvolvement,
    Severity,
    UpdateExecutiveSummary,
    Violation,
)
from escalation_policy.policy import Policy

__all__ = ["describe", "severity_table", "timestamp"]

SEVERITY_TABLE_ID = "severity.levels"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
    return action.TYPE
