"""The weekly digest as people read it: Markdown, one self-contained HTML page, and a Slack
message. Every text the history or the store holds (ids, customers, owners, details) goes
through each format's own escaping: ``render.markdown_text``, ``html.escape``,
``slack.escape``."""

import datetime as dt
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from escalation_policy._language.wording import duration
from escalation_policy.render import markdown_text, plain
from escalation_policy.slack.rendering import (
    CONTEXT_TEXT_LIMIT,
    HEADER_LIMIT,
    SECTION_TEXT_LIMIT,
    TEXT_LIMIT,
    SlackMessage,
    _date,
    _fit,
    _units,
    escape,
)

if TYPE_CHECKING:
    from escalation_policy._digest._weekly import Digest, WeekFigures

__all__ = ["digest_html", "digest_markdown", "digest_slack"]


def _ages(digest: "Digest") -> list[str]:
    """The age groups, as the digest counts them."""
    return list(next(iter(digest.open_by_severity.values()), {}))


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%a %Y-%m-%d %H:%M UTC")


def _day(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%b %-d, %Y")


def _span(digest: "Digest") -> str:
    last = digest.week_end - dt.timedelta(days=1)
    return f"{_day(digest.week_start)} \u2013 {_day(last)}"


def _identity(digest: "Digest") -> str:
    """The policy's identity, short: the first hexadecimal digits of its digest."""
    return digest.policy.rpartition(":")[2][:12]


def _share(week: "WeekFigures") -> str:
    share = week.on_time_share
    return "-" if share is None else f"{share:.0%}"


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _age(age: dt.timedelta) -> str:
    return duration(age)


def _owners_line(digest: "Digest") -> list[tuple[str, int]]:
    return list(digest.missed_by_owner.items())


# ------------------------------------------------------------------------------------ Markdown
def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(row) for row in rows), ""]


def digest_markdown(digest: "Digest") -> str:
    """The digest in Markdown: every text of the history as :func:`markdown_text` shows it."""
    md = markdown_text
    lines = [
        f"# Escalations digest: {digest.week} ({_span(digest)})",
        "",
        f"As of {_when(digest.as_of)}, from a {digest.source}; policy `{_identity(digest)}`.",
        "",
        f"## Open escalations: {len(digest.open)}",
        "",
    ]
    if digest.open:
        lines += _table(
            ["Severity", *_ages(digest), "Total"],
            [
                [md(severity), *(str(ages[age]) for age in _ages(digest)), str(sum(ages.values()))]
                for severity, ages in digest.open_by_severity.items()
            ],
        )
        lines += _table(
            ["Escalation", "Customer", "Severity", "Owner", "Open for", "Violations"],
            [
                [
                    md(item.escalation_id),
                    md(item.customer),
                    md(item.severity),
                    md(item.owner),
                    _age(item.age),
                    str(item.violations),
                ]
                for item in digest.open
            ],
        )
    else:
        lines += ["None.", ""]
    lines += [f"## Due by the end of the week: {len(digest.due)}", ""]
    if digest.due:
        lines += _table(
            ["Due", "Escalation", "Customer", "Obligation", "Owner"],
            [
                [
                    _when(item.due) + (" (overdue)" if item.overdue else ""),
                    md(item.escalation_id),
                    md(item.customer),
                    md(item.obligation),
                    md(item.owner),
                ]
                for item in digest.due
            ],
        )
    else:
        lines += ["Nothing.", ""]
    lines += [f"## Missed this week: {len(digest.missed)}", ""]
    if digest.missed:
        lines += [
            "By owner: "
            + ", ".join(f"{md(owner)} {count}" for owner, count in _owners_line(digest)),
            "",
        ]
        lines += _table(
            ["Due", "Escalation", "Customer", "Owner", "Violation", "What"],
            [
                [
                    _when(item.due),
                    md(item.escalation_id),
                    md(item.customer),
                    md(item.owner),
                    md(item.code),
                    md(item.detail),
                ]
                for item in digest.missed
            ],
        )
    else:
        lines += ["Nothing.", ""]
    lines += ["## Compliance, week over week", ""]
    lines += _table(
        ["Week", "Due", "Met on time", "Missed", "On time"],
        [
            [week.week, _number(week.due), _number(week.on_time), str(week.missed), _share(week)]
            for week in digest.trend
        ],
    )
    if digest.source == "store":
        lines += ["A store keeps no facts: the weeks show the obligations missed only.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- HTML
_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1c1d;
margin:0;background:#f6f6f7}
main{max-width:960px;margin:0 auto;padding:24px 20px 40px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#616061;margin:0 0 16px}
table{border-collapse:collapse;width:100%;background:#fff;margin:0 0 12px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e8e8e8;vertical-align:top}
th{background:#f0f0f2;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td:first-child{white-space:nowrap}
.zero{color:#9a9a9a}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:13px;border:1px solid}
.overdue{color:#8a3b00;border-color:#d55e00;background:#fff3e8}
.owners{margin:0 0 10px;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:8px}
.owners li{background:#fff;border:1px solid #d0d0d4;border-radius:14px;padding:2px 10px}
.bars{display:grid;grid-template-columns:84px 1fr 150px;gap:4px 10px;align-items:center}
.bar{height:14px;background:#e6e6ea;border-radius:3px;position:relative;overflow:hidden}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#0072b2}
.legend{color:#616061;font-size:13px}
@media (max-width:600px){td,th{padding:4px 6px;font-size:13px}.bars{grid-template-columns:70px 1fr}
.bars .legend-cell{grid-column:1/-1}}
@media print{body{background:#fff}table{box-shadow:none}}
"""


def _cell(text: str, *, number: bool = False) -> str:
    css = ' class="n"' if number else ""
    return f"<td{css}>{text}</td>"


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], numbers: set[int]) -> str:
    heads = "".join(
        f'<th scope="col"{" class=n" if index in numbers else ""}>{html.escape(name)}</th>'
        for index, name in enumerate(head)
    )
    body = "".join(
        "<tr>" + "".join(_cell(cell, number=i in numbers) for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"


def _e(text: str) -> str:
    """Text of the history for the page: on one line, control characters as escapes, every
    character HTML reads as markup escaped."""
    return html.escape(plain(text), quote=True)


def _count(value: int) -> str:
    return '<span class="zero">0</span>' if value == 0 else str(value)


def digest_html(digest: "Digest") -> str:
    """The digest as one HTML page that needs nothing else: no script, no fetched resource."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>Escalations digest {html.escape(digest.week)}</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        f"<h1>Escalations digest: {html.escape(digest.week)}</h1>",
        f'<p class="meta">{html.escape(_span(digest))} \u00b7 as of '
        f"{html.escape(_when(digest.as_of))} \u00b7 from a {html.escape(digest.source)}</p>",
        f"<h2>Open escalations: {len(digest.open)}</h2>",
    ]
    if digest.open:
        parts.append(
            _html_table(
                ["Severity", *_ages(digest), "Total"],
                [
                    [
                        _e(severity),
                        *(_count(ages[age]) for age in _ages(digest)),
                        str(sum(ages.values())),
                    ]
                    for severity, ages in digest.open_by_severity.items()
                ],
                numbers={1, 2, 3, 4, 5},
            )
        )
        parts.append(
            _html_table(
                ["Escalation", "Customer", "Severity", "Owner", "Open for", "Violations"],
                [
                    [
                        _e(item.escalation_id),
                        _e(item.customer),
                        _e(item.severity),
                        _e(item.owner),
                        html.escape(_age(item.age)),
                        _count(item.violations),
                    ]
                    for item in digest.open
                ],
                numbers={4, 5},
            )
        )
    else:
        parts.append("<p>None.</p>")
    parts.append(f"<h2>Due by the end of the week: {len(digest.due)}</h2>")
    if digest.due:
        parts.append(
            _html_table(
                ["Due", "Escalation", "Customer", "Obligation", "Owner"],
                [
                    [
                        html.escape(_when(item.due))
                        + (' <span class="tag overdue">overdue</span>' if item.overdue else ""),
                        _e(item.escalation_id),
                        _e(item.customer),
                        _e(item.obligation),
                        _e(item.owner),
                    ]
                    for item in digest.due
                ],
                numbers=set(),
            )
        )
    else:
        parts.append("<p>Nothing.</p>")
    parts.append(f"<h2>Missed this week: {len(digest.missed)}</h2>")
    if digest.missed:
        parts.append(
            '<ul class="owners" aria-label="Missed by owner">'
            + "".join(
                f"<li>{_e(owner)}: <strong>{count}</strong></li>"
                for owner, count in _owners_line(digest)
            )
            + "</ul>"
        )
        parts.append(
            _html_table(
                ["Due", "Escalation", "Customer", "Owner", "What"],
                [
                    [
                        html.escape(_when(item.due)),
                        _e(item.escalation_id),
                        _e(item.customer),
                        _e(item.owner),
                        _e(item.detail),
                    ]
                    for item in digest.missed
                ],
                numbers=set(),
            )
        )
    else:
        parts.append("<p>Nothing.</p>")
    parts.append("<h2>Compliance, week over week</h2>")
    parts.append('<div class="bars" role="list">')
    for week in digest.trend:
        share = week.on_time_share
        width = 0 if share is None else round(share * 100)
        text = (
            f"{week.on_time} of {week.due} on time ({_share(week)})"
            if week.due
            else f"{week.missed} missed"
            if week.due is None
            else "nothing due"
        )
        parts.append(
            f'<div role="listitem">{html.escape(week.week)}</div>'
            f'<div class="bar" aria-hidden="true"><span style="width:{width}%"></span></div>'
            f'<div class="legend legend-cell">{html.escape(text)}</div>'
        )
    parts.append("</div>")
    if digest.source == "store":
        parts.append(
            '<p class="legend">A store keeps no facts: the weeks show the misses only.</p>'
        )
    parts.append(
        '<p class="legend">Policy '
        f"<code>{html.escape(_identity(digest))}</code>. Weeks are ISO weeks, in UTC.</p>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------- Slack
_LINES = 10
"""The most lines a list of the Slack message shows, and then how many more there are."""


def _lines(title: str, lines: list[str], total: int) -> str:
    """A section's mrkdwn: the title, then whole lines (escaped already) within the limit."""
    text = f"*{escape(title)}*"
    shown = 0
    for line in lines[:_LINES]:
        if _units(text) + _units(line) + 40 > SECTION_TEXT_LIMIT:
            break
        text += "\n" + line
        shown += 1
    if total > shown:
        text += f"\n\u2026 and {total - shown} more"
    return text


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _short(text: str, limit: int = 120) -> str:
    return _fit(escape(text), limit, escaped=True)


def digest_slack(digest: "Digest") -> SlackMessage:
    """The digest as a Slack message: the counts, the lists cut to their first lines, the
    trend as bars of text; every text of the history through :func:`escape`."""
    blocks: list[dict[str, object]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _fit(f"Escalations digest: {digest.week}", HEADER_LIMIT),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _fit(
                        escape(f"{_span(digest)} \u00b7 as of {_when(digest.as_of)}"),
                        CONTEXT_TEXT_LIMIT,
                        escaped=True,
                    ),
                    "verbatim": True,
                }
            ],
        },
    ]
    by_severity = [
        f"\u2022 {_short(severity, 60)}: *{sum(ages.values())}*"
        + (
            " ("
            + ", ".join(f"{escape(age)}: {count}" for age, count in ages.items() if count)
            + ")"
            if sum(ages.values())
            else ""
        )
        for severity, ages in digest.open_by_severity.items()
    ]
    blocks.append(
        _section(_lines(f"Open escalations: {len(digest.open)}", by_severity, len(by_severity)))
    )
    oldest = sorted(digest.open, key=lambda item: -item.age)
    if oldest:
        blocks.append(
            _section(
                _lines(
                    "Open longest",
                    [
                        f"\u2022 {_short(item.escalation_id, 60)} \u00b7 "
                        f"{_short(item.customer, 80)} \u00b7 {_short(item.severity, 30)} "
                        f"\u00b7 {_short(item.owner, 80)}"
                        f" \u00b7 {duration(item.age)}"
                        for item in oldest
                    ],
                    len(oldest),
                )
            )
        )
    blocks.append({"type": "divider"})
    due_lines = [
        f"\u2022 {_date(item.due)}{' *overdue*' if item.overdue else ''} \u00b7 "
        f"{_short(item.escalation_id, 60)} \u00b7 {_short(item.obligation, 80)} \u00b7 "
        f"{_short(item.owner, 80)}"
        for item in digest.due
    ]
    blocks.append(
        _section(
            _lines(f"Due by the end of the week: {len(digest.due)}", due_lines, len(due_lines))
        )
    )
    owner_lines = [
        f"\u2022 {_short(owner, 120)}: *{count}*" for owner, count in _owners_line(digest)
    ]
    blocks.append(
        _section(
            _lines(
                f"Missed this week: {len(digest.missed)}, by owner", owner_lines, len(owner_lines)
            )
        )
    )
    blocks.append({"type": "divider"})
    trend = [_trend_line(week) for week in digest.trend]
    blocks.append(_section(_lines("Compliance, week over week", trend, len(trend))))
    fallback = (
        f"Escalations digest {digest.week}: {len(digest.open)} open, {len(digest.due)} due by "
        f"the end of the week, {len(digest.missed)} missed this week."
    )
    return SlackMessage(text=_fit(escape(fallback), TEXT_LIMIT, escaped=True), blocks=blocks)


def _trend_line(week: "WeekFigures") -> str:
    share = week.on_time_share
    filled = 0 if share is None else round(share * 10)
    bar = "\u2588" * filled + "\u2591" * (10 - filled) if week.due else "\u2591" * 10
    if week.due is None:
        said = f"{week.missed} missed"
    elif week.due:
        said = f"{week.on_time}/{week.due} on time ({_share(week)}), {week.missed} missed"
    else:
        said = "nothing due"
    return f"`{week.week}` {bar} {escape(said)}"
