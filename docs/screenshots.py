"""Regenerate every picture in the docs: ``PYTHONPATH=src python docs/screenshots.py``.

The HTML audit's pictures are made here, then those of the Slack posts and the weekly digest
(``docs/slack_pictures.py``, which also runs on its own).

- ``docs/audit-report.png``: the page for ``examples/non-compliant.jsonl`` with 40 more
  escalations of the benchmarks' generated history, on a desktop (1280 px wide): the summary
  and the "who is late" table; ``docs/audit-timeline.png``: the worst escalation's timeline,
  opened from the table.
- ``docs/audit-report-narrow.png`` and ``docs/audit-timeline-narrow.png``: the same, 400 px
  wide, as on a phone.

It runs ``escalation-policy audit`` and opens the page in headless Chromium (``/usr/bin/chromium``,
driven as ``tests/browser.py`` drives it in the tests).
"""

import base64
import datetime as dt
import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks")]

from tests.browser import CHROMIUM, DevTools  # noqa: E402

from escalation_policy.cli import main as cli  # noqa: E402

EXAMPLE = ROOT / "examples" / "non-compliant.jsonl"
SHOTS = {
    # name: (width, height of the picture, whether it shows the worst escalation's timeline,
    # opened from the table, rather than the top of the page)
    "audit-report.png": (1280, 1400, False),
    "audit-timeline.png": (1280, 900, True),
    "audit-report-narrow.png": (400, 1100, False),
    "audit-timeline-narrow.png": (400, 1100, True),
}


def history(folder: pathlib.Path) -> pathlib.Path:
    """The example's escalations, then 40 more from the benchmarks' long history."""
    import workload  # benchmarks/workload.py

    lines = EXAMPLE.read_text().splitlines()
    opened = 0
    # The generated history starts on Monday 5 January 2026: moved to the example's week.
    moved = dt.datetime(2026, 7, 13, 9, tzinfo=dt.timezone.utc) - workload.START
    for line in workload.history_lines(2_000, seed=5):
        fact = json.loads(line)
        if fact["type"] == "opened":
            opened += 1
            if opened > 40:
                break
        fact["at"] = (dt.datetime.fromisoformat(fact["at"]) + moved).isoformat()
        lines.append(json.dumps(fact))
    ordered = sorted(lines, key=lambda text: json.loads(text)["at"])
    path = folder / "history.jsonl"
    path.write_text("\n".join(ordered) + "\n")
    return path


def shoot(devtools: DevTools, page: pathlib.Path, width: int, height: int, timeline: bool) -> bytes:
    target = devtools.send("Target.createTarget", url="about:blank")["targetId"]
    session: str = devtools.send("Target.attachToTarget", targetId=target, flatten=True)[
        "sessionId"
    ]
    devtools.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=width < 600,
    )
    devtools.send("Page.enable", session)
    before = len(devtools.events)
    devtools.send("Page.navigate", session, url=page.as_uri())
    devtools.wait_for("Page.loadEventFired", after=before)
    if timeline:  # opened from the table, as a reader would
        devtools.send(
            "Runtime.evaluate",
            session,
            expression="document.querySelector('#late-table tbody tr a').click()",
        )
    time.sleep(0.5)
    shot = devtools.send("Page.captureScreenshot", session, format="png")
    devtools.send("Target.closeTarget", targetId=target)
    return base64.b64decode(shot["data"])


def main() -> int:
    # Chromium's helper processes may still write its profile as it exits: no error then.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
        page = pathlib.Path(folder) / "report.html"
        status = cli(["audit", str(history(pathlib.Path(folder))), "-o", str(page)])
        if status not in (0, 1):
            return status
        devtools = DevTools(CHROMIUM, str(pathlib.Path(folder) / "profile"))
        try:
            for name, (width, height, timeline) in SHOTS.items():
                (ROOT / "docs" / name).write_bytes(shoot(devtools, page, width, height, timeline))
                print(f"wrote docs/{name}")
        finally:
            devtools.close()
    sys.path.insert(0, str(ROOT / "docs"))
    import slack_pictures  # beside this file: the Slack posts and the digest

    slack_pictures.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
