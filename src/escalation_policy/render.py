"""Rendering for people: decision tables as Markdown, actions as timeline lines, audits."""

import datetime as dt
import enum
import inspect
import itertools
import json
import re
import types
import typing
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from escalation_policy._audit._report import AuditListing
from escalation_policy._language.context import scalar
from escalation_policy._language.wording import duration, label, timestamp
from escalation_policy.errors import position, unit_of
from escalation_policy.model import (
    ACTION_FIELDS,
    Action,
    AssignOwner,
    OutOfScope,
    OverdueNotice,
    Reminder,
    SetCadence,
    SetInvolvement,
    Violation,
)
from escalation_policy.policy import Policy
from escalation_policy.vocabulary import (
    AnyValue,
    DecisionTable,
    NoneOf,
    OneOf,
    Reaction,
    Require,
)

if TYPE_CHECKING:
    from escalation_policy._audit import (
        AuditCalendar,
        AuditRefusal,
        AuditReport,
        AuditViolation,
        EscalationAudit,
    )
    from escalation_policy.calendar import Calendar

__all__ = [
    "audit_lines",
    "audit_markdown",
    "audit_text",
    "calendar_label",
    "decision_table",
    "decision_table_cells",
    "describe",
    "duration",
    "label",
    "markdown_text",
    "plain",
    "policy_reference",
    "refusal",
    "tables",
    "timestamp",
    "violation_outcome",
]


def _cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped, line breaks and control characters
    shown as escapes, so that a value can never break the table."""
    return plain(text).replace("|", "\\|")


def plain(text: str) -> str:
    """Text for one line of a terminal or a file: control characters (a newline in an id, an
    ESC, a BEL, a right-to-left override) as escapes, so that what a fact says can neither
    drive the terminal nor reorder the line. Every text output goes through it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


_MARKDOWN_SYNTAX = re.compile(
    r"[&<>\\`*\[\]|~$]"  # HTML, code, emphasis, links and images, table cells, strikes, maths
    r"|(?<![^\W_])_|_(?![^\W_])"  # an underscore that could open or close emphasis
    # What a renderer would turn into a link: https://, www. and an e-mail address.
    r"|:(?=//)|(?<=[wW]{3})\.|@(?=[\w.+-]+\.\w)"
)


def markdown_text(text: str) -> str:
    """What a history says (an id, a name, a reason), as Markdown that shows it as written: on
    one line (control characters as escapes, as :func:`plain` has them), every character that
    Markdown or HTML would read as markup as a numeric character reference, which CommonMark and
    every other Markdown show as the character itself. So no tag, link, image, emphasis or
    table cell comes of it, in a merge request's comment or anywhere else."""
    return _MARKDOWN_SYNTAX.sub(lambda match: f"&#{ord(match.group())};", plain(text))


_FIELD_PATH = re.compile(r"\$(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*")


def _field_path(path: str) -> str:
    """A field's path (``$.severity``, ``$.milestones[2]``) as code; a path that names a key
    the fact brought (``$['<b>']``) as :func:`markdown_text`."""
    return f"`{path}`" if _FIELD_PATH.fullmatch(path) else markdown_text(path)


def _condition(cell: object) -> str:
    if isinstance(cell, AnyValue):
        return "-"
    if cell is None:  # the field is not set: not "-", which is any value
        return "none"
    if isinstance(cell, OneOf):
        return " or ".join(label(value) for value in cell.values)
    if isinstance(cell, NoneOf):
        return "not " + " nor ".join(label(value) for value in cell.values)
    return label(cell)


def _title(table: DecisionTable, field: str) -> str:
    return table.columns.get(field) or field.replace("_", " ").capitalize()


def decision_table_cells(policy: Policy, table_id: str) -> tuple[list[str], list[list[str]]]:
    """One of the policy's decision tables as its column titles and its rows of cells, in the
    policy's wording, each through :func:`plain`: for a table drawn on a terminal."""
    table = policy.table(table_id)
    fields = (*table.inputs, *table.outputs)
    rows = [
        [_condition(row.when[field]) for field in table.inputs]
        + [label(row.then[field]) for field in table.outputs]
        for row in table.rows
    ]
    return [plain(_title(table, field)) for field in fields], [
        [plain(cell) for cell in row] for row in rows
    ]


def decision_table(policy: Policy, table_id: str) -> str:
    """One of the policy's decision tables as a Markdown table, in the policy's wording:
    a column per input and output (titled as the table's ``columns`` say), a row per rule."""
    titles, rows = decision_table_cells(policy, table_id)
    lines = [
        "| " + " | ".join(_cell(title) for title in titles) + " |",
        "| " + " | ".join("-" * max(3, len(title)) for title in titles) + " |",
    ]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def tables(policy: Policy, table_ids: Iterable[str] = ()) -> str:
    """The policy's decision tables (all of them, or those named), each under its title."""
    chosen = list(table_ids) or [compiled.table.id for compiled in policy.tables]
    if len(chosen) == 1:
        return decision_table(policy, chosen[0])
    parts = []
    for table_id in chosen:
        table = policy.table(table_id)
        parts.append(
            f"### {_cell(table.title)} (`{table.id}`)\n\n{decision_table(policy, table_id)}"
        )
    return "\n".join(parts)


def describe(action: Action, zone: dt.tzinfo | None = None) -> str:
    """One plain sentence for an action: the engine's own, or as the policy's action class
    says (its ``describe()``), or its type and fields. The times it gives of its own (a
    reminder's due time) are shown in ``zone``, with their offset there (``None``: as they
    are, in UTC)."""
    if isinstance(action, AssignOwner):
        return f"owner is {label(action.owner)}"
    if isinstance(action, SetInvolvement):
        roles = label(action.roles)
        changes = []
        if action.added:
            changes.append("added " + label(action.added))
        if action.removed:
            changes.append("removed " + label(action.removed))
        return f"involve {roles}" + (f" ({'; '.join(changes)})" if changes else "")
    if isinstance(action, SetCadence):
        return f"cadence is {label(action.cadence)}"
    if isinstance(action, Violation):
        return f"VIOLATION {_text(action.code)}: {action.detail}"
    if isinstance(action, OutOfScope):
        return f"out of scope: {action.reason}"
    if isinstance(action, Reminder):
        what = action.obligation.replace("_", " ")
        if action.key is not None:
            what = f"{what} ({action.key})"
        who = f"{label(action.owner)}: " if action.owner is not None else ""
        return f"reminder: {who}{what} due by {_due(action.due, zone)}"
    if isinstance(action, OverdueNotice):
        what = action.obligation.replace("_", " ")
        if action.key is not None:
            what = f"{what} ({action.key})"
        owner = f" (owner {label(action.owner)})" if action.owner is not None else ""
        return (
            f"overdue, tier {action.tier}: tell {action.notify}: {what} due by "
            f"{_due(action.due, zone)} is not done{owner}"
        )
    own: Any = getattr(action, "describe", None)
    if callable(own):
        return str(own())
    fields = [
        f"{field.name} {_local(value, zone) if isinstance(value, dt.datetime) else label(value)}"
        for field in attrs.fields(type(action))
        if field.name not in ACTION_FIELDS and (value := getattr(action, field.name)) is not None
    ]
    return action.TYPE.replace("_", " ") + (f": {', '.join(fields)}" if fields else "")


def _text(value: object) -> str:
    return str(scalar(value))


# ----------------------------------------------------------------------------------------- audit
def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "none due"


def calendar_label(calendar: "AuditCalendar | None") -> str:
    """Which calendar an escalation's clocks counted on, and the zone its times are shown in:
    ``business_days@Asia/Tokyo (Asia/Tokyo)``, or ``calendar time (UTC)``."""
    if calendar is None:
        return "calendar time (UTC)"
    return f"{calendar.name} ({calendar.zone})"


def _local(value: dt.datetime, zone: dt.tzinfo | None) -> str:
    """``value`` in ``zone``, with its offset there (``None``: as it is, in UTC)."""
    return timestamp(value if zone is None else value.astimezone(zone))


def _due(value: dt.datetime, zone: dt.tzinfo | None) -> str:
    """A due time as :func:`_local` shows it, but one at a local midnight as the end of the
    day before (``2026-06-22 24:00 -07:00``): a day's period is due by its date's end, and
    ``2026-06-23 00:00`` reads as Tuesday's."""
    local = value if zone is None else value.astimezone(zone)
    if local.time() != dt.time(0):
        return timestamp(local)
    before = timestamp(local - _ONE_DAY)  # the same offset: only the date is taken from it
    offset = timestamp(local)[16:]
    return f"{before[:10]} 24:00{offset}"


_ONE_DAY = dt.timedelta(days=1)


def _zone(escalation: "EscalationAudit") -> dt.tzinfo | None:
    return None if escalation.calendar is None else escalation.calendar.tzinfo


def violation_outcome(violation: "AuditViolation", zone: dt.tzinfo | None = None) -> str:
    """What happened instead: ``due ...; done ... (1h 30m late)``, ``due ...; missed``, or
    for consecutive periods missed, ``due ...; missed 3 periods, the last due ...``; for
    conduct, the violation's detail. Times are shown in ``zone`` (the zone of the calendar
    the escalation's clocks counted on), with their offset there; a due time at a local
    midnight as the day before's ``24:00``."""
    if violation.due is None:
        return violation.detail
    due = _due(violation.due, zone)
    if violation.fulfilled_at is not None:
        return (
            f"due {due}; done {_local(violation.fulfilled_at, zone)} "
            f"({duration(violation.late_by)} late)"
        )
    if violation.late_by is None:
        if violation.periods > 1 and violation.last_due is not None:
            return (
                f"due {due}; missed {violation.periods} periods, "
                f"the last due {_due(violation.last_due, zone)}"
            )
        return f"due {due}; missed"
    return f"due {due}; not done ({duration(violation.late_by)} late)"


def _violation_lines(
    violation: "AuditViolation", zone: dt.tzinfo | None = None, width: int = 26
) -> list[tuple[str, str | None]]:
    """A violation's two lines: when, the code (in a column ``width`` wide, the longest code's
    width, so that no code pushes the rule out of line), the rule; then what happened."""
    return [
        (
            f"    {_local(violation.detected_at, zone)}  {_text(violation.code):<{width}}  "
            f"{violation.rule} · {violation.cites}",
            "violation",
        ),
        (f"    {'':25}{violation_outcome(violation, zone)}", None),
    ]


def refusal(item: "AuditRefusal") -> str:
    """``facts.jsonl: line 3: got 'lo'; expected ... @ $.severity`` (``row 3`` of a Parquet
    file)."""
    where = position(item.file, item.line)
    if item.file is not None:
        where = f"{item.file}: {where}"
    return f"{where}: {item.reason}" + (f" @ {item.path}" if item.path else "")


def _obligation(name: str) -> str:
    return name.replace("_", " ")


def audit_text(report: "AuditReport", *, only_violations: bool = False) -> str:
    """The audit as readable text, for a terminal: every line goes through :func:`plain`.
    ``only_violations``: list only the escalations with violations (the totals are still
    those of every escalation)."""
    lines = audit_lines(report, only_violations=only_violations)
    return "\n".join(text for text, _ in lines) + "\n"


def audit_lines(
    report: "AuditReport", *, only_violations: bool = False
) -> list[tuple[str, str | None]]:
    """:func:`audit_text`'s lines, each through :func:`plain` and with the kind of line it
    is (``heading``, ``violation``, ``ok``, ``refused`` or ``None``), for a terminal's colours."""
    listing = AuditListing.of(report)
    return list(iter_audit_lines(report, listing, only_violations=only_violations))


def iter_audit_lines(
    report: "AuditReport", listing: AuditListing, *, only_violations: bool = False
) -> Iterator[tuple[str, str | None]]:
    """:func:`audit_lines` one at a time, the escalations read from ``listing`` (``report``
    gives the rest: its own escalations are not read)."""
    end = f" as of {timestamp(report.as_of)}" if report.as_of else ""
    width = listing.code_width
    yield plain(f"Audit of {report.facts} facts, {listing.count} escalations{end}"), "heading"
    yield plain(f"Policy {report.policy}"), None
    if only_violations:
        yield (
            plain(f"Listed: the {listing.with_violations} with violations, of {listing.count}"),
            None,
        )
    yield "", None
    for item in listing.listed(only_violations):
        for text, style in _escalation_lines(item, width):
            yield plain(text), style
    for text, style in _audit_end_lines(report, width):
        yield plain(text), style


def _escalation_lines(item: "EscalationAudit", width: int) -> list[tuple[str, str | None]]:
    zone = _zone(item)
    closed = f", closed {_local(item.closed_at, zone)}" if item.closed_at else ", open"
    scope = "" if item.in_scope else "  (out of scope)"
    lines: list[tuple[str, str | None]] = [
        (
            f"{item.escalation_id}  {item.customer}  {item.severity}  "
            f"opened {_local(item.opened_at, zone)}{closed}{scope}",
            "heading",
        )
    ]
    lines.append((f"  calendar: {calendar_label(item.calendar)}", None))
    severities = ", ".join(f"{k} {duration(v)}" for k, v in item.time_at_severity.items())
    kept = "; ".join(
        f"{_obligation(name)} {_ratio(figures.on_time, figures.due)}"
        + (
            f", first after {duration(figures.first_met_after)}"
            if figures.first_met_after is not None
            else ""
        )
        for name, figures in item.obligations.items()
    )
    lines.append((f"  on time: {kept or 'nothing due'}", None))
    lines.append(
        (
            f"  time at severity: {severities or '-'}; "
            f"severity changes {item.severity_changes}; "
            f"closed after {duration(item.time_to_closure)}",
            None,
        )
    )
    if item.violations:
        lines.append((f"  violations ({len(item.violations)}):", "violation"))
    lines += [
        line for violation in item.violations for line in _violation_lines(violation, zone, width)
    ]
    lines.append(("", None))
    return lines


def _audit_end_lines(report: "AuditReport", width: int) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    if report.unopened:
        lines.append(
            (
                f"About escalations never opened: violations ({len(report.unopened)}):",
                "violation",
            )
        )
        for violation in report.unopened:
            lines.append((f"  {violation.escalation_id}", "heading"))
            lines += _violation_lines(violation, None, width)
        lines.append(("", None))
    if report.refused:
        lines.append((f"Refused ({len(report.refused)})", "refused"))
        lines += [(f"  {refusal(item)}", None) for item in report.refused]
        lines.append(("", None))
    totals = report.totals
    by_code = ", ".join(f"{code} {count}" for code, count in totals.violations_by_code.items())
    lines += [
        ("Totals", "heading"),
        (
            f"  escalations {totals.escalations} (in scope {totals.in_scope}, "
            f"closed {totals.closed})",
            None,
        ),
        (
            f"  violations {totals.violations}" + (f": {by_code}" if by_code else ""),
            "violation" if totals.violations else "ok",
        ),
    ]
    for name, figures in totals.obligations.items():
        lines.append(
            (
                f"  {_obligation(name)} on time {_ratio(figures.on_time, figures.due)}; "
                f"mean time to the first {duration(figures.mean_first_met_after)}",
                None,
            )
        )
    lines += [
        (f"  mean time to closure {duration(totals.mean_time_to_closure)}", None),
        (
            "  time at severity: "
            + (", ".join(f"{k} {duration(v)}" for k, v in totals.time_at_severity.items()) or "-"),
            None,
        ),
        (f"  refused {totals.refused}", "refused" if totals.refused else None),
    ]
    if totals.redelivered:
        lines.append((f"  redelivered {totals.redelivered} (each taken once)", None))
    if report.coverage:
        width = max(len(rule) for rule in report.coverage)
        lines += [("", None), (f"Rule coverage ({_reached(report)})", "heading")]
        lines += [
            (f"  {rule:<{width}}  fired {figures.fired:>6}  actions {figures.actions:>6}", None)
            for rule, figures in report.coverage.items()
        ]
    return lines


def _reached(report: "AuditReport") -> str:
    """``12 of 30 rules fired``: how much of the policy the history reached."""
    fired = sum(1 for figures in report.coverage.values() if figures.fired or figures.actions)
    return f"{fired} of {len(report.coverage)} rules fired"


def audit_markdown(report: "AuditReport", *, only_violations: bool = False) -> str:
    """The audit as Markdown, for a tracker document or a review. What the history says (ids,
    customers, what happened, why a line was refused) goes through :func:`markdown_text`.
    ``only_violations``: list only the escalations with violations (the totals are still
    those of every escalation)."""
    listing = AuditListing.of(report)
    lines = iter_audit_markdown(report, listing, only_violations=only_violations)
    return "\n".join(lines) + "\n"


def iter_audit_markdown(
    report: "AuditReport", listing: AuditListing, *, only_violations: bool = False
) -> Iterator[str]:
    """:func:`audit_markdown`'s lines one at a time, the escalations read from ``listing``
    (twice: the table, then their violations)."""
    totals = report.totals
    end = f" as of {timestamp(report.as_of)}" if report.as_of else ""
    names = list(totals.obligations)
    yield from [
        f"## Escalation audit{end}",
        "",
        f"{report.facts} facts, {totals.escalations} escalations "
        f"({totals.in_scope} in scope, {totals.closed} closed), "
        f"{totals.violations} violations, {totals.refused} refused"
        + (f", {totals.redelivered} redelivered (each taken once)." if totals.redelivered else "."),
        "",
        f"Policy `{report.policy}`.",
        "",
        "| obligation | on time | mean time to the first |",
        "| --- | --- | --- |",
    ]
    for name, figures in totals.obligations.items():
        yield (
            f"| {_obligation(name)} | {_ratio(figures.on_time, figures.due)} | "
            f"{duration(figures.mean_first_met_after)} |"
        )
    yield from ["", f"Mean time to closure: {duration(totals.mean_time_to_closure)}.", ""]
    if only_violations:
        yield (
            f"Listed: the {listing.with_violations} escalations with violations, "
            f"of {listing.count}."
        )
        yield ""
    yield (
        "| escalation | customer | severity | calendar | "
        + "".join(f"{_obligation(name)} on time | " for name in names)
        + "violations |"
    )
    yield "| --- | --- | --- | --- | " + "--- | " * len(names) + "--- |"
    for item in listing.listed(only_violations):
        kept = "".join(
            f"{_ratio(item.obligations[name].on_time, item.obligations[name].due)} | "
            if name in item.obligations
            else "none due | "
            for name in names
        )
        yield (
            f"| {markdown_text(item.escalation_id)} | {markdown_text(item.customer)} | "
            f"{markdown_text(item.severity)} | {markdown_text(calendar_label(item.calendar))} | "
            f"{kept}{len(item.violations)} |"
        )
    heading = [
        "",
        "### Violations",
        "",
        "| escalation | when | code | rule | handbook | what happened |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    violations = ((v, _zone(item)) for item in listing.listed(True) for v in item.violations)
    for violation, zone in itertools.chain(violations, ((v, None) for v in report.unopened)):
        if heading:
            yield from heading
            heading = []
        yield (
            f"| {markdown_text(violation.escalation_id)} | "
            f"{_local(violation.detected_at, zone)} | `{_text(violation.code)}` | "
            f"`{violation.rule}` | {_cell(violation.cites)} | "
            f"{markdown_text(violation_outcome(violation, zone))} |"
        )
    if report.refused:
        kinds = sorted({unit_of(refused.file) for refused in report.refused})  # line, row
        yield from [
            "",
            "### Refused",
            "",
            f"| file | {' or '.join(kinds)} | code | field | reason |",
            "| --- | --- | --- | --- | --- |",
        ]
        for refused in report.refused:
            yield (
                f"| {markdown_text(refused.file or '')} | {refused.line} | `{refused.code}` | "
                f"{_field_path(refused.path) if refused.path else ''} | "
                f"{markdown_text(refused.reason)} |"
            )
    if report.coverage:
        yield from [
            "",
            "### Rule coverage",
            "",
            f"{_reached(report)}.",
            "",
            "| rule | fired | actions |",
            "| --- | --- | --- |",
        ]
        for rule, counts in report.coverage.items():
            yield f"| `{rule}` | {counts.fired} | {counts.actions} |"


# ------------------------------------------------------------------------------ policy reference
def _kind(kind: object) -> str:
    """A field's type as the JSON contract reads: ``text``, ``one of a, b``, ``list of ...``."""
    optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(kind)
    if optional:
        others = [a for a in typing.get_args(kind) if a is not type(None)]
        kind = others[0] if len(others) == 1 else kind
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        text = "one of " + ", ".join(f"`{member.value}`" for member in kind)
    elif typing.get_origin(kind) is tuple:
        text = "list of " + _kind(typing.get_args(kind)[0])
    else:
        text = {str: "text", bool: "true or false", int: "integer", dt.datetime: "timestamp"}.get(
            kind,
            str(kind),  # type: ignore[call-overload]
        )
    return f"{text}, or null" if optional else text


def _fields_table(cls: type[Any], skip: Iterable[str]) -> list[str]:
    hints = typing.get_type_hints(cls)
    rows = []
    for field in attrs.fields(cls):
        if field.name in skip:
            continue
        default = "" if field.default is attrs.NOTHING else f" (default `{_json(field.default)}`)"
        rows.append(f"| `{field.name}` | {_kind(hints[field.name])}{default} |")
    if not rows:
        return ["No fields of its own.", ""]
    return ["| field | holds |", "| --- | --- |", *rows, ""]


def _json(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def policy_reference(policy: Policy, title: str) -> str:
    """A policy's reference page, generated from the loaded policy: its facts and actions
    (the JSON contract), its values, its obligations, its calendars, its settings, its decision
    tables and its reactions, with every rule's id and citation; what each reaction requires
    and by when; the context fields conditions may test."""
    terms = policy.terms
    lines = [
        f"# {title}",
        "",
        "Generated from the loaded policy; do not edit by hand. Every action names one of its",
        "rule ids in `rule`, and that rule's citation in `cites`.",
        "",
        "## Facts",
        "",
        "Every fact has `type`, `at` (a timestamp with a timezone) and, but for `tick`,",
        "`escalation_id`.",
        "",
    ]
    for tag, cls in terms.facts.items():
        does = []
        if cls.OPENS:
            does.append("opens an escalation: its fields are the escalation's attributes")
        for attribute, field in terms.sets[tag]:
            does.append(f"sets the attribute `{attribute}` from `{field}`")
        when = terms.move_when.get(tag)
        for before, after in terms.moves[tag].items():
            does.append(
                f"moves the status from `{before}` to `{after}`"
                + (f" when the severity it sets is {when}" if when else "")
            )
        if cls.AFTER_CLOSING:
            does.append("is taken once the escalation is closed")
        lines += [f"### `{tag}`", ""]
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
            lines += [inspect.cleandoc(cls.__doc__), ""]
        if does:
            lines += ["It " + "; ".join(does) + ".", ""]
        lines += _fields_table(cls, ("at", "escalation_id"))
    lines += ["## Actions", ""]
    for tag, action in terms.actions.items():
        lines += [f"### `{tag}`", ""]
        lines += _fields_table(action, ACTION_FIELDS)
    lines += ["## Values", ""]
    for values in _value_sets(policy):
        lines += [f"### `{values.__name__}`", "", "| value | reads |", "| --- | --- |"]
        lines += [f"| {_code(str(member.value))} | {_md(label(member))} |" for member in values]
        lines.append("")
    lines += [
        "## Obligations",
        "",
        "| obligation | missed: violation | detail | announced as | counts work done before "
        "| covered by (`covered_by`): a miss reported as theirs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, compiled in policy.obligations.items():
        declared = compiled.obligation
        announced = f"`{declared.announce.TYPE}`" if declared.announce is not None else "-"
        early = f"up to {label(compiled.early_grace)}" if compiled.early_grace else "-"
        covered = ", ".join(f"`{other}`" for other in sorted(compiled.covered_by)) or "-"
        lines.append(
            f"| {_code(name)} | {_code(_text(compiled.violation))} | {_md(declared.missed)} "
            f"| {announced} "
            f"| {early} | {covered} |"
        )
    lines += _calendars_section(policy)
    lines += ["", "## Settings", ""]
    if policy.settings:
        lines += [
            "The limits the rules leave to the policy's owner, and their values here "
            "(`load_policy(settings=...)`, `--setting NAME=VALUE`).",
            "",
            "| setting | value | default | what it is |",
            "| --- | --- | --- | --- |",
        ]
        for name, value in policy.settings.items():
            setting = policy.setting_declarations[name]
            lines.append(
                f"| {_code(name)} | {_md(label(value))} | {_md(label(setting.default))} | "
                f"{_md(setting.description)} |"
            )
    else:
        lines.append("None.")
    lines += ["", "## Decision tables", ""]
    for compiled_table in policy.tables:
        table = compiled_table.table
        lines += [
            f"### `{table.id}`: {_md(table.title)}",
            "",
            f"Module `{compiled_table.module}`; cites *{_md(table.cites)}*; hit policy "
            f"{table.hit_policy.value}; inputs {', '.join(table.inputs)}; outputs "
            f"{', '.join(table.outputs)}.",
            "",
        ]
        if not table.rows:
            lines += ["(No rows.)", ""]
            continue
        titles, cells = decision_table_cells(policy, table.id)
        lines += [
            "| rule id | " + " | ".join(_md(title) for title in titles) + " | cites |",
            "| --- |" + " --- |" * (len(titles) + 1),
        ]
        outputs = table.outputs
        for row_id, row in zip(compiled_table.row_ids, cells, strict=True):
            row_cells = [_md(cell) for cell in row]
            for index, output in enumerate(outputs, start=len(table.inputs)):
                setting_name = policy.setting_places.get((row_id, output))
                if setting_name is not None:
                    row_cells[index] += f" (`{setting_name}`)"
            lines.append(
                f"| `{row_id}` | "
                + " | ".join(row_cells)
                + f" | {_md(policy.rules[row_id].cites)} |"
            )
        lines.append("")
    lines += ["## Reactions", "", "| rule id | on | what | cites |", "| --- | --- | --- | --- |"]
    seen: dict[str, list[str]] = {}
    reactions: dict[str, Reaction] = {}
    for compiled_reaction in policy.reactions:
        reaction = compiled_reaction.reaction
        reactions[reaction.id] = reaction
        for fact_type in sorted(compiled_reaction.types):
            on = fact_type if compiled_reaction.known else f"{fact_type} (unknown escalation)"
            seen.setdefault(reaction.id, []).append(on)
    for rule_id, reaction in reactions.items():
        on = ", ".join(seen[rule_id])
        lines.append(f"| `{rule_id}` | {on} | {_md(reaction.title)} | {_md(reaction.cites)} |")
    lines += _requirements_section(policy, reactions)
    lines += _context_section(policy)
    lines += ["", "## Violation codes", ""]
    lines += [f"- `{code}`" for code in policy.violation_codes]
    return "\n".join(lines).rstrip() + "\n"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOLIDAYS_NAMED = 12
"""A calendar with more holidays shows their count and first and last dates."""


def _open_hours(calendar: "Calendar") -> str:
    """A calendar's weekly hours, days with the same windows together: ``Mon-Fri
    09:00-17:00``."""
    runs: list[tuple[int, int, str]] = []
    for day, windows in enumerate(calendar.hours):
        text = ", ".join(map(str, windows))
        if runs and runs[-1][2] == text and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, text)
        else:
            runs.append((day, day, text))
    shown = []
    for first, last, text in runs:
        if not text:
            continue
        days = _WEEKDAYS[first] if first == last else f"{_WEEKDAYS[first]}-{_WEEKDAYS[last]}"
        shown.append(f"{days} {text}")
    return "; ".join(shown) or "never"


def _calendar_row(calendar: "Calendar", chosen: str) -> str:
    named = [
        f"{holiday.date}" + (f" {holiday.name}" if holiday.name else "")
        for holiday in calendar.holidays
    ]
    holidays = (
        "none"
        if not named
        else "; ".join(named)
        if len(named) <= _HOLIDAYS_NAMED
        else f"{len(named)}, from {calendar.holidays[0].date} to {calendar.holidays[-1].date}"
    )
    extra = [
        f"{len(dated)} {what}"
        for dated, what in ((calendar.closures, "closures"), (calendar.open_days, "open days"))
        if dated
    ]
    if extra:
        holidays += "; " + ", ".join(extra)
    return (
        f"| {_code(calendar.name)} | {_cell(chosen)} | {_md(calendar.zone)} | "
        f"{_open_hours(calendar)} | {_md(holidays)} | `{calendar.identity}` |"
    )


def _calendars_section(policy: Policy) -> list[str]:
    """Which calendar an escalation's clocks count on: each with its zone, weekly hours,
    holidays and identity."""
    lines = ["", "## Calendars", ""]
    calendars = policy.calendars
    if calendars is None:
        return [*lines, "None: every clock counts calendar time, at every hour of every day."]
    chosen = "every escalation" if calendars.by is None else f"any other `{calendars.by}`"
    rows = [_calendar_row(calendars.default, chosen)]
    for value, calendar in calendars.choose.items():
        rows.append(_calendar_row(calendar, f"`{calendars.by}` is `{_text(value)}`"))
    said = (
        "A business time (`2h of business time`) is open time on the calendar an escalation "
        "gets as it opens, kept for its life"
    )
    if calendars.by is not None:
        said += f", chosen by the opening fact's `{calendars.by}`"
    if calendars.zone_from is not None:
        said += (
            f"; an opening fact's `{calendars.zone_from}`, when it gives an IANA time zone, "
            "moves the calendar's hours into that zone"
        )
    said += (
        ". A period of business days (`each business day`) ends at the end of its local "
        "date, not when the calendar closes; work done on a closed day counts toward the next "
        "business day"
    )
    return [
        *lines,
        said + ".",
        "",
        "| calendar | for | time zone | open | holidays | identity |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]


def _requirements_section(policy: Policy, reactions: dict[str, Reaction]) -> list[str]:
    """What each reaction requires, and by when: the due times of its obligations."""
    lines = [
        "",
        "## What reactions require",
        "",
        "| rule id | requires | due | key | reminder before |",
        "| --- | --- | --- | --- | --- |",
    ]
    found = False
    for rule_id, reaction in reactions.items():
        for index, effect in enumerate(reaction.then):
            if not isinstance(effect, Require):
                continue
            found = True
            place = f"{rule_id}", f"{index}."
            due = (
                f"every period the table output `{effect.every}` gives"
                if effect.every is not None
                else f"within {_with_setting(policy, place, 'within', effect.within)}"
            )
            key = "-" if effect.key is None else _code(_text(effect.key))
            remind = _with_setting(policy, place, "remind_before", effect.remind_before)
            lines.append(f"| `{rule_id}` | `{effect.obligation.id}` | {due} | {key} | {remind} |")
    return lines if found else [*lines[:3], "None."]


def _with_setting(policy: Policy, place: tuple[str, str], name: str, value: object) -> str:
    """A value of a rule's effect as the reference shows it, and the setting it comes from,
    if any (``place``: the rule's id and the effect's index, as ``setting_places`` keys
    them)."""
    setting = policy.setting_places.get((place[0], place[1] + name))
    return _md(label(value)) + (f" (`{setting}`)" if setting else "")


def _value_sets(policy: Policy) -> list[type[enum.Enum]]:
    """The policy's value sets: those of its facts, actions and attributes, then those its
    decision tables give (an owner, a cadence, roles to involve)."""
    found = list(policy.terms.values)
    for compiled in policy.tables:
        for row in compiled.table.rows:
            for value in row.then.values():
                for item in value if isinstance(value, tuple) else (value,):
                    kind = type(item)
                    if isinstance(item, enum.Enum) and kind not in found:
                        found.append(kind)
    return found


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"(])")
"""Where a docstring's first sentence ends ("i.e. more" goes on)."""


def _context_section(policy: Policy) -> list[str]:
    """The fields conditions may test: what each is, its values and the facts that have it."""
    context = policy.terms.context
    lines = [
        "",
        "## Context fields",
        "",
        "What a reaction's `when` may test: the escalation's attributes, the engine's, the "
        "facts' fields and the fields the policy computes (`CONTEXT`); `known` besides.",
        "",
        "| field | values | on | what it is |",
        "| --- | --- | --- | --- |",
    ]
    for field in context.fields:
        values = (
            "text"
            if field.domain is None
            else ", ".join(
                _code(json.dumps(v) if isinstance(v, bool) else str(v)) for v in field.domain
            )
        )
        on = "every fact" if field.facts is None else ", ".join(sorted(field.facts))
        what = _md(context.origin.get(field.name, "-"))
        read = field.read
        if not isinstance(read, str) and context.origin.get(field.name, "").startswith(
            "the computed field"
        ):
            name = getattr(read, "__qualname__", "")
            what = (
                f"computed by a lambda in {_code(read.__module__)}"
                if name.endswith("<lambda>")
                else f"computed by {_code(f'{read.__module__}.{name}')}"
            )
            doc = " ".join((inspect.getdoc(read) or "").split())
            if doc:  # its first sentence: up to a full stop before a capital letter
                what += ": " + _md(_SENTENCE_END.split(doc, maxsplit=1)[0].rstrip(".") + ".")
        lines.append(f"| {_code(field.name)} | {values} | {_md(on)} | {what} |")
    return lines


def _md(text: str) -> str:
    """A policy's own words in its reference (a title, a value's wording, a holiday's name, a
    docstring): on one line, shown as written, no markup of Markdown or HTML taken from them
    (see :func:`markdown_text`)."""
    return markdown_text(text)


def _code(text: str) -> str:
    """A name or value of the policy as code in a table cell: on one line, its pipes escaped,
    fenced so that a backtick in it does not end it."""
    text = plain(text).replace("|", "\\|")
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"
