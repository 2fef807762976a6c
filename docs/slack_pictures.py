"""Pictures for the docs: each Slack post (New, Update, Closure) as Slack shows it, and the
weekly digest, rendered to HTML that looks like Slack and photographed in headless Chromium.

Regenerate them all with one command, from the repository's root::

    PYTHONPATH=src python docs/slack_pictures.py

It writes ``docs/slack-new.png``, ``docs/slack-update.png``, ``docs/slack-closure.png``,
``docs/slack-closure-later-process.png``, ``docs/digest.png`` and ``docs/digest-slack.png``.
Times show in UTC (Slack shows each reader's own zone).
"""

import base64
import datetime as dt
import html
import json
import pathlib
import re
import shutil
import sys
import tempfile
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.browser import CHROMIUM, DevTools  # noqa: E402

from escalation_policy import PolicyEngine, digest, digest_html, digest_slack, load_policy  # noqa: E402
from escalation_policy.slack import SlackMessage, is_post, message  # noqa: E402

DOCS = ROOT / "docs"
CHANNELS = {"#escalated_customers": "C0ESCALATED", "#esc_globex": "C0GLOBEX"}
NAMES = {id_: name for name, id_ in CHANNELS.items()}

STYLE = """
body{margin:0;background:#fff;font:15px/1.46668 Lato,"Slack-Lato","Helvetica Neue",Arial,
sans-serif;color:#1d1c1d}
.msg{display:flex;gap:8px;padding:12px 20px 14px;max-width:680px}
.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;
display:flex;align-items:center;justify-content:center;font-weight:900;flex:none}
.who b{font-weight:900}.who span{color:#616061;font-size:12px;margin-left:6px}
.app{background:#e8e8e8;color:#616061;font-size:10px;padding:1px 3px;border-radius:2px;
margin-left:4px;font-weight:700}
.header{font-size:18px;font-weight:900;margin:6px 0 4px}
.section{margin:6px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px;
margin:8px 0}
.context{color:#616061;font-size:12px;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 12px}
hr{border:0;border-top:1px solid #dddddd;margin:10px 0}
a{color:#1264a3;text-decoration:none}.channel{color:#1264a3;background:#e8f5fa;
border-radius:3px;padding:0 2px}
code{font:12px Monaco,Menlo,monospace;background:#f8f8f8;border:1px solid #e0e0e0;
border-radius:3px;padding:0 3px;color:#e01e5a}
"""

TOKEN = re.compile(r"<([^<>]*)>")


def _token(match: re.Match[str]) -> str:
    inner = match.group(1)
    if inner.startswith("!date^"):
        unix = int(inner.split("^")[1])
        at = dt.datetime.fromtimestamp(unix, dt.timezone.utc)
        return at.strftime("%b %-d at %-I:%M %p UTC")
    if inner.startswith("#"):
        return f'<span class="channel">{html.escape(NAMES.get(inner[1:], inner[1:]))}</span>'
    address, _, text = inner.partition("|")
    return f'<a href="{address}">{text or address}</a>'  # both escaped for mrkdwn already


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn as HTML: the library's output escapes &, < and > of every text it
    shows, so what is left of < and > is its own markup (links, channels, times)."""
    text = TOKEN.sub(_token, text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    text = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", text)
    return text.replace("\n", "<br>")


def block_html(block: dict[str, Any]) -> str:
    kind = block["type"]
    if kind == "header":
        return f'<div class="header">{html.escape(block["text"]["text"])}</div>'
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        return (
            '<div class="context">'
            + "".join(f"<span>{mrkdwn(element['text'])}</span>" for element in block["elements"])
            + "</div>"
        )
    parts = []
    if "text" in block:
        parts.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
    if "fields" in block:
        parts.append(
            '<div class="fields">'
            + "".join(f"<div>{mrkdwn(field['text'])}</div>" for field in block["fields"])
            + "</div>"
        )
    return "".join(parts)


def page(rendered: SlackMessage, at: str) -> str:
    body = "".join(block_html(block) for block in rendered.blocks)
    return (
        f"<!doctype html><meta charset=utf-8><style>{STYLE}</style><div class=msg>"
        '<div class="avatar">EP</div><div><div class="who"><b>Escalation policy</b>'
        f'<span class="app">APP</span><span>{html.escape(at)}</span></div>{body}</div></div>'
    )


def posts(policy: Any, path: pathlib.Path) -> list[SlackMessage]:
    """Each post of the history, each one told what the last one showed."""
    engine = PolicyEngine(policy)
    found: list[SlackMessage] = []
    last: dict[str, SlackMessage] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for action in engine.handle(json.loads(line)).actions:
            if is_post(action):
                state = engine.escalation(action.escalation_id)
                rendered = message(
                    action,
                    state,  # type: ignore[arg-type]
                    policy=policy,
                    since=last.get(action.escalation_id),
                    channels=CHANNELS,
                    document="https://docs.example.com/esc-101-tracker" if policy is None else None,
                )
                last[action.escalation_id] = rendered
                found.append(rendered)
    return found


def digest_history() -> list[dict[str, Any]]:
    """Four weeks of escalations, for the digest's picture."""

    def opened(at: str, number: int, customer: str, severity: str, **more: Any) -> dict[str, Any]:
        return {
            "type": "opened",
            "at": at,
            "escalation_id": f"ESC-{number}",
            "customer": customer,
            "segment": "enterprise",
            "severity": severity,
            **more,
        }

    facts = [
        opened(
            "2026-02-09T09:00:00Z", 310, "Initech", "medium", initiated_by="support_engineering"
        ),
        opened("2026-02-23T10:00:00Z", 318, "Globex", "high", tam="Priya Raman"),
        opened("2026-03-02T09:00:00Z", 325, "Acme & Sons", "critical", tam="Luis Ortega"),
        opened("2026-03-03T14:00:00Z", 327, "Umbrella", "low", initiated_by="support_engineering"),
    ]
    for day in range(0, 12):
        at = dt.datetime(2026, 2, 23, 10, 30, tzinfo=dt.timezone.utc) + dt.timedelta(days=day)
        if at.weekday() < 5:
            facts.append(
                {
                    "type": "posted",
                    "at": at.isoformat(),
                    "escalation_id": "ESC-318",
                    "channel": "#escalated_customers",
                    "purpose": "update" if day else "created",
                    "by": "tam",
                }
            )
    facts.append(
        {
            "type": "posted",
            "at": "2026-03-02T09:30:00Z",
            "escalation_id": "ESC-325",
            "channel": "#escalated_customers",
            "purpose": "created",
            "by": "tam",
        }
    )
    facts.sort(key=lambda fact: fact["at"])
    return facts


def shoot(devtools: DevTools, source: str, target: pathlib.Path, width: int) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="escalation-policy-pictures-"))
    try:
        file = folder / "page.html"
        file.write_text(source, encoding="utf-8")
        session = devtools.load(file.as_uri())
        devtools.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=600,
            deviceScaleFactor=1,
            mobile=False,
        )
        height = devtools.evaluate(session, "document.documentElement.scrollHeight")
        shot = devtools.send(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )
        target.write_bytes(base64.b64decode(shot["data"]))
        print(f"wrote {target.relative_to(ROOT)} ({width}x{height})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    handbook = posts(None, ROOT / "examples" / "critical-outage.jsonl")
    new, update, closure = (
        handbook[0],
        next(m for m in handbook if m.text.count("Changed since")),
        handbook[-1],
    )
    later = load_policy(str(ROOT / "examples" / "policies" / "later_process"))
    later_posts = posts(
        later,
        ROOT
        / "examples"
        / "policies"
        / "later_process"
        / "examples"
        / "critical-product-outage.jsonl",
    )
    weekly = digest(digest_history(), as_of=dt.datetime(2026, 3, 6, 12, tzinfo=dt.timezone.utc))
    profile = tempfile.mkdtemp(prefix="escalation-policy-chromium-")
    devtools = DevTools(CHROMIUM, profile)
    try:
        for name, rendered in (
            ("new", new),
            ("update", update),
            ("closure", closure),
            ("closure-later-process", later_posts[-1]),
        ):
            shoot(devtools, page(rendered, "11:12 AM"), DOCS / f"slack-{name}.png", 720)
        shoot(devtools, digest_html(weekly), DOCS / "digest.png", 1000)
        shoot(
            devtools, page(digest_slack(weekly), "Monday 8:00 AM"), DOCS / "digest-slack.png", 720
        )
    finally:
        devtools.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
