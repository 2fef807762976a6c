"""The audit as an HTML page (``escalation-policy audit FILE --format html``): a summary chart
and a timeline per escalation, self-contained, checked in its text and in a real browser."""

import datetime as dt
import html
import json
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from escalation_policy import AuditReport, Fact, audit, default_policy, make_converter
from escalation_policy._html import LATE, MET, MISSED, OPEN, audit_html, legend, timelines
from escalation_policy.cli import main, read_facts
from escalation_policy.render import audit_markdown, audit_text
from escalation_policy.testing import strategies
from tests.browser import CHROMIUM, DevTools, browser

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "non-compliant.jsonl"

# An escalation whose id and customer would break a page that did not escape them.
AWKWARD_ID = 'ESC-<7>&"q"'
AWKWARD_CUSTOMER = "Initech <script>window.injected = 1</script> & Sons <b>"
AWKWARD = [
    {
        "type": "opened",
        "at": "2026-07-13T09:00:00Z",
        "escalation_id": AWKWARD_ID,
        "customer": AWKWARD_CUSTOMER,
        "segment": "enterprise",
        "severity": "high",
        "initiated_by": "customer_success",
        "tam": "Ann <O'Neil>",
    },
    {
        "type": "severity_changed",
        "at": "2026-07-14T09:00:00Z",
        "escalation_id": AWKWARD_ID,
        "severity": "critical",
    },
    {"type": "closed", "at": "2026-07-15T09:00:00Z", "escalation_id": AWKWARD_ID},
]


def read(path: pathlib.Path = EXAMPLE) -> list[Fact]:
    with path.open("rb") as stream:
        return [fact for _, fact in read_facts(stream)]


def awkward(items: list[dict[str, Any]] = AWKWARD) -> list[Fact]:
    converter = make_converter()
    return [converter.structure(item, Fact) for item in items]


def page_data(page: str) -> dict[str, Any]:
    """The data the page's script renders: the legend, the summary and the table's rows."""
    (text,) = re.findall(r'<script type="application/json" id="page-data">(.*?)</script>', page)
    found: dict[str, Any] = json.loads(text)
    return found


def _texts(page: str) -> list[str]:
    (text,) = re.findall(r'<script type="application/json" id="texts">(.*?)</script>', page)
    found: list[str] = json.loads(text)
    return found


def sections(page: str) -> dict[str, dict[str, Any]]:
    """Each escalation's section, by its escalation id: its number (``esc-N``), its HTML, and
    the timeline its script draws, with its texts read from the page's table of texts."""
    texts = _texts(page)

    def text(value: Any) -> Any:
        return texts[value] if isinstance(value, int) else value

    found = {}
    pattern = r'<details class="escalation" id="esc-(\d+)" data-escalation="([^"]*)".*?</details>'
    for match in re.finditer(pattern, page, flags=re.S):
        (data,) = re.findall(r'<script type="application/json">(.*?)</script>', match.group())
        timeline = json.loads(data)
        timeline["lanes"] = [text(lane) for lane in timeline["lanes"]]
        for band in timeline["bands"]:
            band[3] = [text(line) for line in band[3]]
        for span in timeline["spans"]:
            span[5] = [text(line) for line in span[5]]
        for mark in timeline["marks"]:
            mark[3], mark[4] = text(mark[3]), [text(line) for line in mark[4]]
        for violation in timeline["violations"]:
            violation[2], violation[3] = text(violation[2]), [text(line) for line in violation[3]]
        found[html.unescape(match.group(2))] = {
            "number": int(match.group(1)),
            "html": match.group(),
            "timeline": timeline,
        }
    return found


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit(read())


@pytest.fixture(scope="module")
def page(report: AuditReport) -> str:
    return audit_html(report, read(), default_policy())


# ------------------------------------------------------------------------------- the page's data
def test_each_escalation_has_a_row_and_a_timeline_with_every_violation_marked(
    report: AuditReport, page: str
) -> None:
    """Every violation the audit counts is in its escalation's row of the table and on its
    timeline, with its code, rule and citation."""
    found = sections(page)
    codes = [entry["code"] for entry in page_data(page)["legend"]["codes"]]
    rows = {row[1]: row for row in page_data(page)["rows"]}
    assert [e.escalation_id for e in report.escalations] == sorted(
        found, key=lambda escalation: found[escalation]["number"]
    )
    for escalation in report.escalations:
        marked = found[escalation.escalation_id]["timeline"]["violations"]
        expected = [(v.rule, str(v.code), v.cites) for v in escalation.violations]
        assert expected == [
            (rule, codes[code], hover[3].removeprefix("cites: "))
            for code, _at, rule, hover in marked
        ]
        assert len(escalation.violations) == rows[escalation.escalation_id][5]
    assert report.totals.violations == sum(row[5] for row in rows.values()) + len(report.unopened)


def test_the_summary_counts_each_code_per_iso_week_as_the_audit_does(
    report: AuditReport, page: str
) -> None:
    summary = page_data(page)["summary"]
    assert dict(report.totals.violations_by_code) == summary["codes"]
    by_week = summary["weeks"]
    assert ["2026-W28"] == list(by_week)  # the example's one week
    assert summary["codes"] == by_week["2026-W28"]
    totals = report.totals.obligations
    assert [[name, totals[name].due, totals[name].on_time] for name in totals] == summary[
        "obligations"
    ]


def test_the_table_is_worst_first_and_names_the_owner() -> None:
    """The rows come with the most violations first, then the longest late; the owner is the
    TAM by name where the TAM team owns the escalation, else the owning team."""
    facts = read() + awkward()
    report = audit(facts)
    rows = page_data(audit_html(report, facts, default_policy()))["rows"]
    counts = [row[5] for row in rows]
    assert sorted(counts, reverse=True) == counts
    owners = {row[1]: row[3] for row in rows}
    # ESC-600 is Critical with a TAM: the TAM owns it; the awkward one is High with a TAM.
    assert "Rita Moreno" == owners["ESC-600"]
    assert "Ann <O'Neil>" == owners[AWKWARD_ID]
    assert "Support Engineering" == owners["ESC-601"]
    (timeline,) = [t for t in timelines(facts) if t.escalation_id == "ESC-600"]
    assert "Rita Moreno" == timeline.owners[0].title, "the owner lane names the person"


def test_the_palette_tells_outcomes_and_codes_apart_without_colour() -> None:
    """On time and late or missed differ in fill and glyph, not only in colour; every
    violation code of the policy has a shape and colour of its own; a page without
    violations shows its zero in no alarm colour."""
    keys = legend(default_policy(), audit(read()))
    styles = {o["name"]: (o["fill"], o["glyph"]) for o in keys["outcomes"]}
    assert len(set(styles.values())) == len(styles)
    looks = [(code["shape"], code["colour"]) for code in keys["codes"]]
    assert len(default_policy().violation_codes) == len(set(looks))
    compliant = read(EXAMPLE.parent / "critical-outage.jsonl")
    page = audit_html(audit(compliant), compliant, default_policy())
    assert '<li class="violations none"><b>0</b> violations</li>' in page
    assert '<li class="violations none">violations: <b>0</b></li>' in page
    assert '<span class="badge none">0 violations</span>' in page


def test_the_obligations_drawn_are_those_the_audit_counts(report: AuditReport) -> None:
    """Each obligation that fell due in the audit is one span on a timeline, met on time, met
    late or missed: the replay and the audit agree."""
    drawn = [span for timeline in timelines(read()) for span in timeline.obligations]
    for name, totals in report.totals.obligations.items():
        due = [s for s in drawn if s.obligation == name and s.outcome in (MET, LATE, MISSED)]
        assert (totals.due, totals.on_time) == (len(due), sum(s.outcome == MET for s in due))


def test_a_missed_obligation_is_counted_and_drawn_as_itself_among_those_sharing_its_code() -> None:
    """The created post, the update after a raise and the risk-reduced post are all reported as
    `post_overdue`: each missed one is counted under its own obligation and drawn on its lane."""
    escalation = {"escalation_id": "ESC-9"}
    history = awkward(
        [
            {
                "type": "opened",
                "at": "2026-07-13T09:00:00Z",
                "customer": "Acme",
                "segment": "enterprise",
                "severity": "medium",
                **escalation,
            },
            {
                "type": "severity_changed",
                "at": "2026-07-13T09:30:00Z",
                "severity": "high",
                **escalation,
            },
            # after the raise's update fell due (a business day after the raise)
            {"type": "risk_reduced", "at": "2026-07-14T12:00:00Z", **escalation},
            {"type": "closed", "at": "2026-07-16T09:00:00Z", **escalation},
        ]
    )
    obligations = default_policy().obligations
    posts = {name for name in obligations if obligations[name].violation == "post_overdue"}
    report = audit(history)
    (timeline,) = timelines(history)
    missed = [(s.obligation, s.key) for s in timeline.obligations if s.outcome == MISSED]
    assert [
        ("channel_post", "created"),
        ("raise_update", "update"),
        ("risk_reduced_post", "risk_reduced"),
    ] == sorted(key for key in missed if key[0] in posts)
    assert dict.fromkeys(posts, 1) == {name: report.totals.obligations[name].due for name in posts}


def test_the_timeline_follows_the_severity_owner_and_facts_of_an_escalation() -> None:
    (timeline,) = timelines(awkward())
    assert [("high", "2026-07-13", "2026-07-14"), ("critical", "2026-07-14", "2026-07-15")] == [
        (band.severity, band.start.date().isoformat(), band.end.date().isoformat())
        for band in timeline.severities
    ]
    assert ["opened", "severity_changed", "closed"] == list(timeline.facts)
    assert 1 <= len(timeline.owners)
    assert AWKWARD_CUSTOMER == timeline.customer


def test_as_of_ends_the_timeline_of_an_open_escalation_with_what_is_still_open() -> None:
    as_of = dt.datetime(2026, 7, 13, 10, 0, tzinfo=dt.timezone.utc)
    (timeline,) = timelines(awkward(AWKWARD[:1]), as_of=as_of)
    assert (None, as_of) == (timeline.closed_at, timeline.end)
    assert {OPEN} == {span.outcome for span in timeline.obligations if span.due > as_of}


def test_the_page_names_the_policy_audited_against(page: str) -> None:
    assert f"Policy <code>{default_policy().identity}</code>" in page


# ------------------------------------------------------------------- one count in every format
def counts_in_every_format(
    report: AuditReport, facts: list[Fact], as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """Each escalation's violation count, and the total, as each format of the audit shows it."""
    data = json.loads(json.dumps(report.to_json()))
    text = audit_text(report)
    blocks = text.split("\n\n")[1 : 1 + len(report.escalations)]
    markdown = audit_markdown(report).splitlines()
    table = markdown.index(next(line for line in markdown if line.startswith("| escalation |")))
    rows = markdown[table + 2 : table + 2 + len(report.escalations)]
    page = audit_html(report, facts, default_policy(), as_of=as_of)
    return {
        "json": (
            [len(e["violations"]) for e in data["escalations"]],
            data["totals"]["violations"],
        ),
        "text": (
            [int((re.findall(r"\n  violations \((\d+)\):", block) or [0])[0]) for block in blocks],
            int(re.findall(r"\n  violations (\d+)", text)[-1]),
        ),
        "markdown": (
            [int(re.findall(r"(\d+) \|$", row)[0]) for row in rows],
            int(re.findall(r"(\d+) violations, ", markdown[2])[0]),
        ),
        "html": (
            # The table's rows (worst first), in order of opening, and the summary's total.
            [row[5] for row in sorted(page_data(page)["rows"])],
            int(
                re.findall(r'<li class="violations[^"]*"><b>([\d,]+)</b> violations</li>', page)[
                    0
                ].replace(",", "")
            ),
        ),
    }


def test_each_format_counts_the_violations_of_each_escalation_alike(report: AuditReport) -> None:
    """A violation counts one in every format, whatever number of periods it missed.

    The example as it is: ESC-600 has 8 violations, the history 9. Left open (its closings left
    out) and audited to Wednesday 15 July, ESC-600 misses its cadence and its updates each
    business day to the end: the Monday and Tuesday after the last tick are one violation of
    two periods each, and ESC-600 has 13, the history 14."""
    formats = ("json", "text", "markdown", "html")
    assert dict.fromkeys(formats, ([8, 1], 9)) == counts_in_every_format(report, read())
    left_open = [fact for fact in read() if fact.TYPE != "closed"]
    as_of = dt.datetime(2026, 7, 15, 9, tzinfo=dt.timezone.utc)
    longer = audit(left_open, as_of=as_of)
    assert dict.fromkeys(formats, ([13, 1], 14)) == counts_in_every_format(longer, left_open, as_of)
    assert [2, 2] == [v.periods for v in longer.violations if v.periods > 1]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories())
def test_each_format_counts_the_violations_of_a_generated_history_alike(
    history: list[Fact],
) -> None:
    # Ended a fortnight later, so that the periods still open are missed for days in a row.
    as_of = history[-1].at + dt.timedelta(days=14)
    report = audit(history, as_of=as_of)
    counts = counts_in_every_format(report, history, as_of)
    expected = ([len(e.violations) for e in report.escalations], len(report.violations))
    assert dict.fromkeys(("json", "text", "markdown", "html"), expected) == counts


def test_a_violation_about_an_escalation_never_opened_is_counted_on_the_page() -> None:
    post = {
        "type": "posted",
        "at": "2026-07-13T10:00:00Z",
        "escalation_id": "ESC-999",
        "channel": "#escalated_customers",
        "purpose": "created",
        "by": "customer_success",
    }
    facts = awkward([AWKWARD[0], post])
    report = audit(facts)
    page = audit_html(report, facts, default_policy())
    assert 1 == len(report.unopened)
    assert '<li class="violations"><b>1</b> violations</li>' in page
    assert "<b>1</b> about escalations never opened</li>" in page
    assert [AWKWARD_ID] == [timeline.escalation_id for timeline in timelines(facts)]


# -------------------------------------------------------------------------- a page that is safe
def test_the_page_loads_no_script_or_stylesheet_from_elsewhere(page: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.IGNORECASE)
    assert [] == [tag for tag in tags if re.search(r"\b(?:src|href)\s*=", tag, re.IGNORECASE)]
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", page, flags=re.IGNORECASE)
    assert "default-src 'none'" in page, "the content policy forbids the browser any request"
    assert page.isascii(), "the page survives any encoding of standard output"


def test_escalation_ids_and_customers_are_escaped_in_the_page() -> None:
    """What the history says is escaped in the page's HTML, and is data, as written, for the
    page's script, which sets it as text (tested in Chromium below and in test_injection)."""
    facts = read() + awkward()
    page = audit_html(audit(facts), facts, default_policy())
    assert f"<h3>{html.escape(AWKWARD_ID)} &#183; {html.escape(AWKWARD_CUSTOMER)}</h3>" in page
    assert "<script>window.injected" not in page
    for text in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page):
        assert not {"<", ">", "&"} & set(text), "data cannot end its script element"
    (row,) = [row for row in page_data(page)["rows"] if row[1] == AWKWARD_ID]
    assert [AWKWARD_ID, AWKWARD_CUSTOMER] == row[1:3]
    hovers = [line for mark in sections(page)[AWKWARD_ID]["timeline"]["marks"] for line in mark[4]]
    assert f"customer: {AWKWARD_CUSTOMER}" in hovers


# ---------------------------------------------------------------------------------- the command
@pytest.mark.parametrize("output", [[], ["-o", "-"]], ids=["no output", "output -"])
def test_format_html_without_an_output_file_writes_the_page_to_standard_output(
    capsys: pytest.CaptureFixture[str], output: list[str]
) -> None:
    assert 0 == main(["audit", str(EXAMPLE), "--format", "html", *output])
    captured = capsys.readouterr()
    assert captured.out.startswith("<!DOCTYPE html>")
    assert captured.out.rstrip().endswith("</html>")
    assert "" == captured.err


def test_output_writes_the_report_to_a_file_and_nothing_to_standard_output(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], report: AuditReport
) -> None:
    target = tmp_path / "report.html"
    assert 1 == main(
        ["audit", str(EXAMPLE), "--format", "html", "-o", str(target), "--fail-on", "any"]
    )
    assert ("", "") == tuple(capsys.readouterr())
    assert target.read_text(encoding="ascii").startswith("<!DOCTYPE html>")
    assert 0 == main(["audit", str(EXAMPLE), "--output", str(tmp_path / "report.json")])
    written = json.loads((tmp_path / "report.json").read_text())
    assert report.totals.violations == written["totals"]["violations"], "any format, not html only"


@pytest.mark.parametrize(
    ("where", "words"),
    [
        pytest.param("missing/report.html", "no such directory", id="missing folder"),
        pytest.param(".", "it is a directory", id="a folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_and_status_3(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], where: str, words: str
) -> None:
    target = tmp_path / where
    assert 3 == main(["audit", str(EXAMPLE), "--format", "html", "-o", str(target)])
    captured = capsys.readouterr()
    assert "" == captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith(f"escalation-policy: cannot write {target}: {words}")


def test_a_history_refused_leaves_no_output_file(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text(EXAMPLE.read_text() + "{not json\n")
    target = tmp_path / "report.html"
    assert 2 == main(["audit", str(history), "--format", "html", "-o", str(target)])
    assert "line 15: not valid JSON" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.html", "<!DOCTYPE html>"),
        ("REPORT.HTM", "<!DOCTYPE html>"),
        ("report.md", "## Escalation audit"),
        ("report.json", "{"),
        ("report.txt", "Audit of 14 facts"),
        ("report.out", "{"),  # no format named: JSON, as on a pipe
    ],
)
def test_the_output_files_extension_chooses_the_format(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    target = tmp_path / name
    assert 0 == main(["audit", str(EXAMPLE), "-o", str(target)])
    assert ("", "") == tuple(capsys.readouterr())
    assert target.read_text().startswith(expected)


@pytest.mark.parametrize(
    ("given", "name", "named"),
    [
        ("json", "report.html", "html"),
        ("html", "report.md", "markdown"),
        ("text", "a.json", "json"),
    ],
)
def test_a_format_the_extension_contradicts_is_refused_before_reading(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    given: str,
    name: str,
    named: str,
) -> None:
    target = tmp_path / name
    missing = tmp_path / "no-such-history.jsonl"  # refused before it is read
    assert 2 == main(["audit", str(missing), "--format", given, "-o", str(target)])
    captured = capsys.readouterr()
    assert "" == captured.out
    (line,) = captured.err.splitlines()
    assert line == (
        f"escalation-policy: --format {given} does not match the extension of {target} "
        f"({named}); expected --format {named}, no --format, or a file name for {given}"
    )
    assert not target.exists()
    assert 0 == main(["audit", str(EXAMPLE), "--format", given, "-o", str(tmp_path / "report")])


def test_the_html_build_reports_progress_on_a_terminal(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal, building the page shows a bar of how far it is (escalations drawn of how
    many), as reading the history does, and clears it when done."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert 0 == main(["audit", str(EXAMPLE), "-o", str(tmp_path / "report.html")])
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)
    assert "building the page" in err
    assert "2/2" in err.split("building the page")[-1]
    assert "100%" in err.split("building the page")[-1]


# ---------------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def chromium() -> Iterator[DevTools]:
    with browser() as devtools:
        yield devtools


def many() -> list[Fact]:
    """The example's two escalations twelve times over, a day apart, each time with another
    customer and severity; every third left open to the end, so that it misses more."""
    converter = make_converter()
    severities = ("critical", "high", "medium", "low")
    items = []
    for copy in range(12):
        for line in EXAMPLE.read_text().splitlines():
            item = json.loads(line)
            if copy % 3 == 2 and item["type"] == "closed":
                continue
            at = dt.datetime.fromisoformat(item["at"].replace("Z", "+00:00")) + dt.timedelta(
                days=copy
            )
            item["at"] = at.isoformat()
            if "escalation_id" in item:
                item["escalation_id"] = f"{item['escalation_id']}-{copy:02d}"
            if item["type"] == "opened":
                item["customer"] = f"Customer {chr(ord('A') + copy)} {item['customer']}"
                item["severity"] = severities[copy % 4]
            items.append(item)
    items.sort(key=lambda item: item["at"])
    return [converter.structure(item, Fact) for item in items]


def open_page(chromium: DevTools, page: pathlib.Path, width: int = 1280, height: int = 900) -> str:
    """``page`` in a new tab of ``width`` by ``height`` pixels, once its table is ready."""
    target = chromium.send("Target.createTarget", url="about:blank")["targetId"]
    session: str = chromium.send("Target.attachToTarget", targetId=target, flatten=True)[
        "sessionId"
    ]
    chromium.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=width < 600,
    )
    for domain in ("Page", "Runtime", "Log", "Network"):
        chromium.send(f"{domain}.enable", session)
    before = len(chromium.events)
    chromium.send("Page.navigate", session, url=page.as_uri())
    chromium.wait_for("Page.loadEventFired", after=before)
    chromium.evaluate(session, WAIT_FOR_TABLE)
    return session


WAIT_FOR_TABLE = """
(async () => {
  for (let waited = 0; document.body.dataset.table !== "ready"; waited += 20) {
    if (waited > 10000) throw new Error("the table was not ready in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})()
"""

# The table as it shows, and each heading's aria-sort.
TABLE = """
JSON.stringify({
  rows: [...document.querySelectorAll("#late-table tbody tr")].map((row) =>
    [...row.cells].map((cell) => cell.textContent)),
  sort: Object.fromEntries([...document.querySelectorAll("#late-table thead th")].map(
    (th) => [th.dataset.key, th.getAttribute("aria-sort")])),
  status: document.getElementById("table-status").textContent,
})
"""

# Opens each escalation from the table, as a reader does, and reads its drawn timeline.
OPEN_EVERY_TIMELINE = """
(async () => {
  const found = {};
  const more = document.getElementById("show-more");
  while (!more.hidden) more.click();
  for (const link of document.querySelectorAll("#late-table tbody tr a")) {
    link.click();
    const section = document.querySelector(link.getAttribute("href"));
    const chart = section.querySelector(".chart");
    for (let waited = 0; chart.dataset.drawn !== "drawn"; waited += 20) {
      if (waited > 5000) throw new Error(`${section.id} was not drawn in 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    found[section.dataset.escalation] = {
      open: section.open,
      marked: [...chart.querySelectorAll("[data-violations]")].flatMap(
        (mark) => mark.dataset.violations.split(" ").map(Number)),
      listed: [...chart.querySelectorAll("table.violation-list tbody tr")].map(
        (row) => row.cells[3].textContent),
      lanes: [...chart.querySelectorAll(".lane-label")].map(
        (label) => (label.querySelector("title") || label).textContent),
      outcomes: [...chart.querySelectorAll("[data-outcome]")].map((bar) => bar.dataset.outcome),
      links: chart.querySelectorAll("a").length,
      texts: [...chart.querySelectorAll("svg text")].map((text) => text.textContent),
    };
  }
  return JSON.stringify(found);
})()
"""


def written_page(tmp_path: pathlib.Path, facts: list[Fact]) -> pathlib.Path:
    history = tmp_path / "history.jsonl"
    converter = make_converter()
    history.write_text("".join(json.dumps(converter.unstructure(f, Fact)) + "\n" for f in facts))
    target = tmp_path / "report.html"
    assert main(["audit", str(history), "-o", str(target)]) in (0, 1)
    return target


def errors_and_requests(chromium: DevTools, page: pathlib.Path) -> tuple[list[Any], list[str]]:
    errors = [
        event["params"]
        for event in chromium.events
        if event["method"] == "Runtime.exceptionThrown"
        or (
            event["method"] == "Runtime.consoleAPICalled"
            and event["params"]["type"] in ("error", "assert", "warning")
        )
        or (event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
    ]
    requests = [
        event["params"]["request"]["url"]
        for event in chromium.events
        if event["method"] == "Network.requestWillBeSent"
        and not event["params"]["request"]["url"].startswith("data:")
    ]
    return errors, [url for url in requests if url != page.as_uri()]


@pytest.mark.slow
def test_every_violation_is_in_the_table_and_marked_on_its_timeline_in_chromium(
    chromium: DevTools, tmp_path: pathlib.Path
) -> None:
    """The written page, opened in a real browser: its script runs without an error and asks
    for nothing; each escalation's row counts its violations as the audit does, and opening it
    from the table draws its timeline with every one of them marked and listed."""
    facts = read() + awkward()
    page = written_page(tmp_path, facts)
    report = audit(facts)
    session = open_page(chromium, page)
    shown = json.loads(chromium.evaluate(session, TABLE))
    drawn = json.loads(chromium.evaluate(session, OPEN_EVERY_TIMELINE))
    assert ([], []) == errors_and_requests(chromium, page)
    assert chromium.evaluate(session, "window.injected === undefined")

    counts = {row[0].removesuffix(" (out of scope)"): int(row[4]) for row in shown["rows"]}
    assert {e.escalation_id: len(e.violations) for e in report.escalations} == counts
    for escalation in report.escalations:
        timeline = drawn[escalation.escalation_id]
        assert timeline["open"]
        assert list(range(len(escalation.violations))) == sorted(timeline["marked"])
        assert [v.rule for v in escalation.violations] == timeline["listed"]
        assert 0 == timeline["links"]
    # The TAM owns the awkward escalation: the owner lane names the TAM, as written.
    assert "Ann <O'Neil>" in drawn[AWKWARD_ID]["texts"]


@pytest.mark.slow
def test_the_table_sorts_and_filters_in_chromium(
    chromium: DevTools, tmp_path: pathlib.Path
) -> None:
    facts = many()
    report = audit(facts)
    session = open_page(chromium, written_page(tmp_path, facts))
    shown = json.loads(chromium.evaluate(session, TABLE))
    violations = [int(row[4]) for row in shown["rows"]]
    assert len(report.escalations) == len(violations)
    assert sorted(violations, reverse=True) == violations, "worst first"
    assert "descending" == shown["sort"]["violations"]

    chromium.evaluate(session, "document.querySelector('th[data-key=customer] button').click()")
    shown = json.loads(chromium.evaluate(session, TABLE))
    customers = [row[1] for row in shown["rows"]]
    assert sorted(customers) == customers
    assert ("ascending", "none") == (shown["sort"]["customer"], shown["sort"]["violations"])
    chromium.evaluate(session, "document.querySelector('th[data-key=customer] button').click()")
    shown = json.loads(chromium.evaluate(session, TABLE))
    assert sorted(customers, reverse=True) == [row[1] for row in shown["rows"]]
    assert "descending" == shown["sort"]["customer"]

    chromium.evaluate(
        session,
        """(() => { const filter = document.getElementById("filter");
        filter.value = "customer c"; filter.dispatchEvent(new Event("input")); })()""",
    )
    shown = json.loads(chromium.evaluate(session, TABLE))
    expected = sorted(
        e.escalation_id for e in report.escalations if e.customer.startswith("Customer C")
    )
    assert expected == sorted(row[0] for row in shown["rows"])
    assert shown["status"].startswith(
        f"{len(expected)} escalations of {len(report.escalations)} match"
    )

    chromium.evaluate(
        session,
        """(() => { const filter = document.getElementById("filter");
        filter.value = ""; filter.dispatchEvent(new Event("input"));
        document.getElementById("only-violations").click(); })()""",
    )
    shown = json.loads(chromium.evaluate(session, TABLE))
    assert sorted(e.escalation_id for e in report.escalations if e.violations) == sorted(
        row[0] for row in shown["rows"]
    )


def press(chromium: DevTools, session: str, key: str, code: int) -> None:
    for kind in ("rawKeyDown", "char", "keyUp") if key == "Enter" else ("rawKeyDown", "keyUp"):
        chromium.send(
            "Input.dispatchKeyEvent",
            session,
            type=kind,
            key=key,
            code=key,
            windowsVirtualKeyCode=code,
            **({"text": "\r"} if kind == "char" else {}),
        )


@pytest.mark.slow
def test_the_table_works_from_the_keyboard_and_a_timeline_is_drawn_when_opened(
    chromium: DevTools, tmp_path: pathlib.Path
) -> None:
    """A sortable heading is a button Enter presses; Enter on an escalation's name opens its
    timeline. A timeline is drawn only once it is opened or scrolled into view: a compliant
    escalation's is closed and not drawn until opened."""
    facts = sorted(many() + read(EXAMPLE.parent / "critical-outage.jsonl"), key=lambda f: f.at)
    page = written_page(tmp_path, facts)
    session = open_page(chromium, page)
    state = """JSON.stringify(Object.fromEntries([...document.querySelectorAll(
      "details.escalation")].map((d) => [d.dataset.escalation,
      [d.open, d.querySelector(".chart").dataset.drawn === "drawn"]])))"""
    before = json.loads(chromium.evaluate(session, state))
    compliant = [e.escalation_id for e in audit(facts).escalations if not e.violations]
    assert compliant
    assert all(before[name] == [False, False] for name in compliant)
    assert [] == [name for name, (_, is_drawn) in before.items() if is_drawn], "none in view"
    chromium.evaluate(
        session,
        """document.getElementById("timelines").scrollIntoView();
        new Promise((resolve) => setTimeout(resolve, 300))""",
    )
    scrolled = json.loads(chromium.evaluate(session, state))
    drawn = [name for name, (_, is_drawn) in scrolled.items() if is_drawn]
    assert 0 < len(drawn) < len(scrolled) - len(compliant), "those in view, not every one"

    chromium.evaluate(session, "document.querySelector('th[data-key=owner] button').focus()")
    press(chromium, session, "Enter", 13)
    assert "ascending" == chromium.evaluate(
        session, "document.querySelector('th[data-key=owner]').getAttribute('aria-sort')"
    )
    chromium.evaluate(
        session,
        f"""document.querySelector('#late-table tr[data-escalation="{compliant[0]}"] a').focus()""",
    )
    press(chromium, session, "Enter", 13)
    chromium.evaluate(session, "new Promise((resolve) => setTimeout(resolve, 200))")
    after = json.loads(chromium.evaluate(session, state))
    assert [True, True] == after[compliant[0]]
    assert (
        chromium.evaluate(session, "document.activeElement.closest('details').dataset.escalation")
        == compliant[0]
    )


@pytest.mark.slow
def test_a_narrow_screen_gets_a_wide_plot_and_print_hides_the_controls(
    chromium: DevTools, tmp_path: pathlib.Path
) -> None:
    """At 400 px the lanes' names go above the lanes, and the plot takes the width; printed,
    the controls are hidden and no escalation is split across pages."""
    session = open_page(chromium, written_page(tmp_path, read()), width=400, height=800)
    chromium.evaluate(session, "document.querySelector('#late-table tbody tr a').click()")
    chromium.evaluate(session, "new Promise((resolve) => setTimeout(resolve, 200))")
    axis = chromium.evaluate(
        session,
        """(() => { const line = document.querySelector(".chart[data-drawn] .axis line");
        return [+line.getAttribute("x1"), +line.getAttribute("x2"),
          document.documentElement.scrollWidth]; })()""",
    )
    left, right, page_width = axis
    assert right - left >= 300, "the plot is most of 400 px"
    assert page_width <= 400, "nothing wider than the screen"
    chromium.send("Emulation.setEmulatedMedia", session, media="print")
    printed = chromium.evaluate(
        session,
        """JSON.stringify([getComputedStyle(document.querySelector(".controls")).display,
          getComputedStyle(document.querySelector("details.escalation")).breakInside])""",
    )
    assert ["none", "avoid"] == json.loads(printed)


@pytest.mark.slow
def test_the_benchmark_builds_and_opens_a_page_of_200_escalations() -> None:
    """``benchmarks/audit_html.py --quick`` runs (it stops with another status when the page
    fails in the browser), so that the benchmark cannot rot."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    script = pathlib.Path(__file__).parent.parent / "benchmarks" / "audit_html.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("| 200 |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert 11 == len(cells), row  # every figure is measured
    assert float(cells[2].removesuffix(" MB")) > 0, "the page was written"


def test_the_page_lists_the_rule_coverage_the_report_counted(
    report: AuditReport, page: str
) -> None:
    section = page[page.index('<section id="coverage">') :]
    section = section[: section.index("</section>")]
    row = r"<tr><td><code>([^<]+)</code></td><td>(\d+)</td><td>(\d+)</td></tr>"
    rows = re.findall(row, section)
    assert [
        (html.escape(rule), str(figures.fired), str(figures.actions))
        for rule, figures in report.coverage.items()
    ] == rows
    assert len(default_policy().rules) == len(rows)
