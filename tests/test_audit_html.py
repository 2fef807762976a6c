"""The audit as an HTML page (``escalation-policy audit FILE --format html``): a summary chart
and a timeline per escalation, self-contained, checked in its text and in a real browser."""

import datetime as dt
import html
import json
import pathlib
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from escalation_policy import AuditReport, Fact, audit, default_policy, make_converter
from escalation_policy._html import LATE, MET, MISSED, OPEN, audit_html, timelines
from escalation_policy.cli import main, read_facts
from escalation_policy.render import audit_markdown, audit_text
from escalation_policy.testing import strategies
from tests.browser import DevTools, browser
from tests.test_audit import TOKYO_AS_OF, tokyo_history

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


def charts(page: str) -> dict[str, dict[str, Any]]:
    """Each chart's figure (``data`` and ``layout``), by the id of the element it is drawn in."""
    found = re.findall(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', page)
    return {chart: json.loads(text) for chart, text in found}


def traces(figure: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [trace for trace in figure["data"] if trace.get("name") == name]


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit(read())


@pytest.fixture(scope="module")
def page(report: AuditReport) -> str:
    return audit_html(report, read(), default_policy())


# ------------------------------------------------------------------------------- the page's data
def test_each_escalation_has_a_timeline_with_every_violation_marked(
    report: AuditReport, page: str
) -> None:
    figures = charts(page)
    assert ["summary-chart", "timeline-1", "timeline-2"] == list(figures)
    for number, escalation in enumerate(report.escalations, start=1):
        assert f'data-escalation="{escalation.escalation_id}"' in page
        (marked,) = traces(figures[f"timeline-{number}"], "violation")
        expected = [[v.rule, str(v.code), v.cites] for v in escalation.violations]
        assert expected == marked["customdata"]
    marked_rules = [
        rule
        for name, figure in figures.items()
        if name.startswith("timeline-")
        for rule, _code, _cites in traces(figure, "violation")[0]["customdata"]
    ]
    assert [v.rule for v in report.violations] == marked_rules


def test_the_summary_counts_each_code_per_iso_week_as_the_audit_does(
    report: AuditReport, page: str
) -> None:
    summary = charts(page)["summary-chart"]
    codes = [trace for trace in summary["data"] if trace["legendgroup"] == "codes"]
    assert dict(report.totals.violations_by_code) == {t["name"]: sum(t["y"]) for t in codes}
    assert report.totals.violations == sum(sum(t["y"]) for t in codes)
    assert {"2026-W28"} == {week for t in codes for week in t["x"]}  # the example's one week
    assert {v.rule for v in report.violations} == {
        rule for t in codes for rules in t["customdata"] for rule in rules
    }
    totals = report.totals.obligations
    (on_time,) = traces(summary, "on time")
    (not_on_time,) = traces(summary, "late or missed")
    assert list(totals) == on_time["y"]
    assert [totals[name].on_time for name in totals] == on_time["x"]
    assert [totals[name].due - totals[name].on_time for name in totals] == not_on_time["x"]


def test_the_obligations_drawn_are_those_the_audit_counts(report: AuditReport) -> None:
    """Each obligation that fell due in the audit is one span on a timeline, met on time, met
    late or missed: the replay and the audit agree."""
    drawn = [span for timeline in timelines(read()) for span in timeline.obligations]
    for name, totals in report.totals.obligations.items():
        due = [s for s in drawn if s.obligation == name and s.outcome in (MET, LATE, MISSED)]
        assert (totals.due, totals.on_time) == (len(due), sum(s.outcome == MET for s in due))


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
            [int(n) for n in re.findall(r'<li class="violations">violations: <b>(\d+)</b>', page)],
            int(re.findall(r'<li class="violations"><b>(\d+)</b> violations</li>', page)[0]),
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
    facts = read() + awkward()
    page = audit_html(audit(facts), facts, default_policy())
    assert f"<h2>{html.escape(AWKWARD_ID)} &#183; {html.escape(AWKWARD_CUSTOMER)}</h2>" in page
    assert "<script>window.injected" not in page
    for text in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page):
        assert not {"<", ">", "&"} & set(text), "chart data cannot end its script element"
    # Plotly reads hover text as HTML: what the history says is escaped there too.
    hovers = " ".join(
        text for f in charts(page).values() for t in f["data"] for text in t.get("hovertext", ())
    )
    assert html.escape(AWKWARD_CUSTOMER) in hovers
    assert AWKWARD_CUSTOMER not in hovers


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in _strings(item)] if isinstance(value, list) else []


def test_a_tam_named_as_a_link_is_text_in_the_timelines_lanes() -> None:
    """The lane of an obligation kept per TAM names the TAM, and plotly reads axis labels,
    legend entries and mark labels as HTML of its own: a TAM named ``<a href=...>`` is
    escaped there as everywhere, and no string of the chart holds the tag as it came."""
    tam = "<a href='https://evil.example/'>click</a>"
    opened = {**AWKWARD[0], "tam": tam, "severity": "medium"}
    facts = awkward([opened, {**AWKWARD[2], "at": "2026-07-20T09:00:00Z"}])
    page = audit_html(audit(facts), facts, default_policy())
    timeline = charts(page)["timeline-1"]
    lane = f"obligation: inform_tam ({html.escape(tam, quote=False)})"
    assert lane in timeline["layout"]["yaxis"]["categoryarray"]
    assert lane in [y for trace in timeline["data"] for y in trace.get("y", ())]
    assert [] == [text for text in _strings(timeline) if "<a " in text]


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


def test_without_plotly_html_is_refused_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    assert 2 == main(["audit", str(EXAMPLE), "--format", "html"])
    captured = capsys.readouterr()
    assert "" == captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("escalation-policy: --format html: the HTML report needs plotly")
    assert "pip install 'escalation-policy[html]'" in line


# ---------------------------------------------------------------------------------- the browser
@pytest.fixture
def chromium() -> Iterator[DevTools]:
    with browser() as devtools:
        yield devtools


# Run in the page once it has loaded: waits for every chart, then reads what plotly drew.
RENDERED = """
(async () => {
  for (let waited = 0; document.body.dataset.charts !== "drawn"; waited += 50) {
    if (waited > 10000) throw new Error("the charts were not drawn in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return JSON.stringify({
    injected: window.injected === undefined ? null : window.injected,
    headings: [...document.querySelectorAll("section.escalation h2")].map((h) => h.textContent),
    charts: [...document.querySelectorAll(".js-plotly-plot")].map((chart) => ({
      id: chart.id,
      traces: [...chart.querySelectorAll(".cartesianlayer g.trace")].map((trace) => ({
        name: trace.__data__[0].trace.name,
        marks: trace.querySelectorAll("path.point, g.point > path").length,
      })),
    })),
  });
})()
"""


@pytest.mark.slow
def test_the_page_renders_in_chromium_without_errors_or_requests(
    chromium: DevTools, tmp_path: pathlib.Path
) -> None:
    """The written page, opened in a real browser: its scripts run without an error, it asks
    for nothing over the network, and every mark of every chart is drawn."""
    history = tmp_path / "history.jsonl"
    history.write_text(EXAMPLE.read_text() + "".join(json.dumps(item) + "\n" for item in AWKWARD))
    target = tmp_path / "report.html"
    assert 0 == main(["audit", str(history), "--format", "html", "-o", str(target)])
    page = target.read_text()
    expected = {
        chart: [(trace["name"], len(trace["x"])) for trace in figure["data"]]
        for chart, figure in charts(page).items()
    }
    report = audit(read(history))

    target_id = chromium.send("Target.createTarget", url="about:blank")["targetId"]
    session = chromium.send("Target.attachToTarget", targetId=target_id, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        chromium.send(f"{domain}.enable", session)
    before = len(chromium.events)
    chromium.send("Page.navigate", session, url=target.as_uri())
    chromium.wait_for("Page.loadEventFired", after=before)
    result = chromium.send(
        "Runtime.evaluate", session, expression=RENDERED, awaitPromise=True, returnByValue=True
    )
    assert "exceptionDetails" not in result, result
    rendered = json.loads(result["result"]["value"])

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
    assert [] == errors
    requests = [
        event["params"]["request"]["url"]
        for event in chromium.events
        if event["method"] == "Network.requestWillBeSent"
    ]
    # plotly.js 2 reads an image of its own from a data: URL; that is no request to the network.
    requests = [url for url in requests if not url.startswith(("data:", "blob:"))]
    assert [target.as_uri()] == requests, "the page requests nothing but itself"

    assert rendered["injected"] is None, "a customer's name never runs as a script"
    assert [f"{e.escalation_id} · {e.customer}" for e in report.escalations] == rendered["headings"]
    drawn = {
        chart["id"]: [(trace["name"], trace["marks"]) for trace in chart["traces"]]
        for chart in rendered["charts"]
    }
    assert expected == drawn, "every mark of every chart is drawn"
    for number, escalation in enumerate(report.escalations, start=1):
        marks = dict(drawn[f"timeline-{number}"])
        assert len(escalation.violations) == marks.get("violation", 0)


# ------------------------------------------------------------------ times in the calendar's zone
def test_the_page_shows_each_escalations_calendar_and_its_due_times_in_its_zone() -> None:
    """ESC-T's clocks count on the handbook's calendar moved into Tokyo: its section names that
    calendar, and its times (opened, the created post's due time, the violation's outcome) read
    in Tokyo with the offset there; ESC-U, with no zone, reads in UTC as before."""
    facts = awkward(tokyo_history())
    report = audit(facts, as_of=TOKYO_AS_OF)
    page = audit_html(report, facts, default_policy(), as_of=TOKYO_AS_OF)
    tokyo_section, utc_section = re.findall(r'<section class="escalation".*?</section>', page, re.S)
    assert '<li class="calendar">calendar: <b>business_days@Asia/Tokyo (Asia/Tokyo)</b>' in (
        tokyo_section
    )
    assert '<li class="opened">opened: <b>2026-03-06 17:00 +09:00</b>' in tokyo_section
    assert '<li class="calendar">calendar: <b>business_days (UTC)</b>' in utc_section
    assert '<li class="opened">opened: <b>2026-03-06 08:00 UTC</b>' in utc_section
    drawn = charts(page)
    tokyo, utc = drawn["timeline-1"], drawn["timeline-2"]
    assert "due 2026-03-09 11:00 +09:00" in _hover_of(
        tokyo, LATE, "obligation: channel_post (created)"
    )
    assert "due 2026-03-09 11:00 +09:00; done 2026-03-09 12:00 +09:00 (1h late)" in _hover_of(
        tokyo, "violation", "violations"
    )
    assert "due 2026-03-06 11:00 UTC" in _hover_of(utc, LATE, "obligation: channel_post (created)")


def _hover_of(figure: dict[str, Any], name: str, lane: str) -> str:
    """The hover text of the one mark or bar of trace ``name`` on ``lane``."""
    (hover,) = [
        text
        for trace in traces(figure, name)
        for y, text in zip(trace["y"], trace["hovertext"], strict=True)
        if y == lane
    ]
    return str(hover)


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
