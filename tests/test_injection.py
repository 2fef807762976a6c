"""What a history says is shown as written in every output, and does nothing else.

Every id and text field of the facts carries a payload that would do something if an output
passed it through: HTML and script, JavaScript and remote addresses, Slack mentions, links and
formatting, Markdown links, images and emphasis, terminal escapes, bidirectional controls. Each
output is then read as its reader reads it: the HTML page in Chromium (no element, link, script
or request comes of the history), the Markdown audit through a Markdown renderer (no tag, link,
image or emphasis), the terminal outputs line by line (no control character), the Slack
messages as Slack reads mrkdwn (no mention, link or formatting). And each shows the payload
literally, where it shows it.
"""

import datetime as dt
import html
import html.parser
import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import (
    PolicyEngine,
    audit,
    digest,
    digest_html,
    digest_markdown,
    digest_slack,
)
from escalation_policy.cli import main
from escalation_policy.render import markdown_text, plain
from tests.browser import DevTools, browser
from tests.conftest import examples

PAYLOADS = (
    "<a href='https://evil.example/'>click</a>",
    "<script>window.injected = 1</script>",
    '<img src="https://evil.example/pixel.png" onerror="window.injected = 2">',
    "<b>bold</b> <i>it</i> <span style='color:red'>red</span> <br> <sup>up</sup>",
    "[click](javascript:alert(1)) ![pixel](https://evil.example/pixel.png)",
    "<https://evil.example/auto> https://evil.example/bare www.evil.example a@evil.example",
    "<!channel> <!here> <@U123> <#C123|general> <!subteam^S1> @channel",
    "<http://evil.example|click here> <!date^0^{date}|x>",
    "*bold* _italic_ ~strike~ `code` ```block```",
    "> quoted",
    "**strong** __under__ ~~gone~~ $x^2$ | a | cell | # heading",
    "&lt;b&gt;entity&lt;/b&gt; &amp; &#60;i&#62; &quot; \\*escaped\\*",
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x07\x08\r\n",
    "\x9b31m c1 \x85 next \u2028 separator \x7f \x1b[2J",
    "abc\u202edcba \u2066isolate\u2069 \u200fmark \u061c",
    "\"' ></section></script><!-- --> %{hovertext} $& $1",
)
"""One per escalation: its id, its customer, its TAM and every other text of its facts."""

EVIL = ("evil.example", "javascript:")
"""What no link, image or request may point to."""
HISTORY_START = dt.datetime(2026, 7, 6, 8, tzinfo=dt.timezone.utc)  # a Monday


def _at(number: int, minutes: int) -> str:
    return (HISTORY_START + dt.timedelta(minutes=10 * number + minutes)).isoformat()


def escalation_facts(number: int, payload: str) -> list[dict[str, Any]]:
    """An escalation whose every id and text field holds ``payload``, its facts each at a time
    of its own."""
    escalation_id = f"ESC-{number} {payload}"
    common = {"escalation_id": escalation_id}
    facts = [
        {
            "type": "opened",
            "at": _at(number, 0),
            **common,
            "customer": f"Customer {number} {payload}",
            "segment": "enterprise",
            "severity": "medium",
            "initiated_by": "support_engineering",
            "opened_by": f"Opener {number} {payload}",
            "tam": f"TAM {number} {payload}",
            "issue_type": f"Issue {number} {payload}",
            "summary": f"Summary {number} {payload}",
        },
        {
            "type": "posted",
            "at": _at(number, 1),
            **common,
            "channel": "#escalated_customers",
            "purpose": "created",
            "by": "support_engineering",
            "url": f"https://docs.example.com/{number}?{payload}",
        },
        {
            "type": "posted",
            "at": _at(number, 2),
            **common,
            "channel": f"#account-{number} {payload}",
            "purpose": "tracking",
            "by": "tam",
            "url": payload,
        },
        {
            "type": "status_changed",
            "at": _at(number, 3),
            **common,
            "status": f"Status {number} {payload}",
            "milestones": [f"Milestone {number} {payload}", payload],
        },
        {
            "type": "enhancement_requested",
            "at": _at(number, 4),
            **common,
            "summary": f"Enhancement {number} {payload}",
        },
        {"type": "tam_assigned", "at": _at(number, 5), **common, "tam": f"New TAM {payload}"},
        {
            "type": "issue_type_changed",
            "at": _at(number, 6),
            **common,
            "issue_type": f"New issue {payload}",
        },
    ]
    return [
        {**fact, "id": f"fact-{number}-{index}-{fact['type']} {payload}"}
        for index, fact in enumerate(facts)
    ]


def refused_facts(number: int, payload: str) -> list[dict[str, Any]]:
    """Lines the policy refuses, each saying the payload where the refusal repeats it."""
    at = _at(number, 7)
    return [
        {"type": f"bogus {payload}", "at": at, "escalation_id": f"ESC-{number} {payload}"},
        {"type": "closed", "at": at, "escalation_id": f"ESC-{number} {payload}", payload: 1},
        {
            "type": "severity_changed",
            "at": at,
            "escalation_id": f"ESC-{number} {payload}",
            "severity": payload,
        },
        {
            **escalation_facts(number, payload)[0],
            "at": at,
            "escalation_id": f"ZONE-{number} {payload}",
            "id": f"fact-{number}-zone {payload}",
            "time_zone": payload,
        },
    ]


def history() -> list[dict[str, Any]]:
    facts = [fact for n, p in enumerate(PAYLOADS) for fact in escalation_facts(n, p)]
    facts += [fact for n, p in enumerate(PAYLOADS) for fact in refused_facts(n, p)]
    facts.sort(key=lambda fact: fact["at"])  # stable: each escalation's facts in their order
    # Two days on: the TAMs were not informed, the cadence was missed, and so on.
    return [*facts, {"type": "tick", "at": (HISTORY_START + dt.timedelta(days=2)).isoformat()}]


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("injection") / "history.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in history()))
    return path


def texts_of(fact: dict[str, Any]) -> dict[str, str]:
    """The fact's free text fields as they are shown (a list joined by commas)."""
    shown = {}
    for name, value in fact.items():
        if name in ("type", "at", "escalation_id", "id", "segment", "severity", "purpose", "by"):
            continue
        if name == "initiated_by":
            continue
        shown[name] = ", ".join(value) if isinstance(value, list) else value
    return shown


def test_the_history_puts_a_payload_in_every_id_and_text_field_of_the_policys_facts() -> None:
    """So that no field is left out of the tests below: every fact type of the policy that has
    text of its own is in the history, and every text field of each carries the payload
    (``time_zone`` aside: a zone that is no zone is refused, and its refusal says it)."""
    from escalation_policy import default_policy

    payload = PAYLOADS[0]
    carried: dict[str, set[str]] = {}
    for fact in escalation_facts(0, payload):
        carried.setdefault(fact["type"], set()).update(
            name
            for name, value in fact.items()
            if payload in (value if isinstance(value, list) else [value])
            or (isinstance(value, str) and payload in value)
        )
    for tag, cls in default_policy().terms.facts.items():
        text_fields = {
            field.name
            for field in attrs.fields(cls)
            if field.type in (str, str | None, tuple[str, ...]) and field.name != "time_zone"
        }
        if text_fields - {"escalation_id", "id"}:
            assert text_fields <= carried.get(tag, set()), f"{tag}: {sorted(text_fields)}"


# ------------------------------------------------------------------------------------ terminal
def lines_with_control_characters(text: str) -> list[str]:
    return [line for line in text.split("\n") if not line.isprintable()]


def test_terminal_outputs_show_every_control_character_as_an_escape(
    history_file: pathlib.Path,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """replay and run as tables, the text audit and every error line: no ESC, BEL, carriage
    return or bidirectional control reaches the terminal; each id reads as :func:`plain`
    writes it."""
    commands = {
        "replay": ["replay", str(history_file), "--format", "table", "--keep-going"],
        "run": [
            "run",
            str(history_file),
            "--format",
            "table",
            "--keep-going",
            "--store",
            f"sqlite:///{tmp_path / 'store.db'}",
        ],
        "audit": ["audit", str(history_file), "--format", "text", "--keep-going"],
        "replay without --keep-going": ["replay", str(history_file), "--format", "table"],
        # Every action of the run fails to be delivered, and the worker says which.
        "worker": [
            "worker",
            "--once",
            "--deliver",
            "exit 3",
            "--store",
            f"sqlite:///{tmp_path / 'store.db'}",
        ],
    }
    shown = {}
    for name, command in commands.items():
        assert (0 if name == "worker" else 2) == main(command), name
        captured = capsys.readouterr()
        assert ([], []) == (
            lines_with_control_characters(captured.out),
            lines_with_control_characters(captured.err),
        ), name
        shown[name] = captured.out + captured.err
    for number, payload in enumerate(PAYLOADS):
        escalation_id = plain(f"ESC-{number} {payload}")
        assert f"  {escalation_id}" in shown["replay"]
        assert f"  {escalation_id}/1\n" in shown["run"], "the action's id, after the action"
        assert f"delivery of ESC-{number} " in shown["worker"]
        assert (
            f"{escalation_id}  {plain(f'Customer {number} {payload}')}  medium" in (shown["audit"])
        )
    for refused in audit(history(), keep_going=True).refused:
        assert plain(refused.reason) in shown["audit"]
        assert plain(refused.reason) in shown["replay"]


# ------------------------------------------------------------------------------------ Markdown
class _Elements(html.parser.HTMLParser):
    """The elements of an HTML fragment, and the text of each table cell, row by row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attributes))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


MARKDOWN_EXTENSIONS = ["tables", "pymdownx.magiclink", "pymdownx.tilde"]
"""Tables as GitLab and GitHub have them, and what they add: bare web addresses and e-mail
addresses as links, and ``~~strike~~``."""


def rendered_markdown(text: str) -> _Elements:
    markdown = pytest.importorskip("markdown", reason="the Markdown renderer (mkdocs has it)")
    pytest.importorskip("pymdownx", reason="pymdown-extensions (mkdocs-material has it)")
    elements = _Elements()
    elements.feed(markdown.markdown(text, extensions=MARKDOWN_EXTENSIONS))
    elements.close()
    return elements


AUDIT_ELEMENTS = {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code"}


def test_the_markdown_audit_renders_what_the_history_says_literally(
    history_file: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rendered as a merge request's comment would be: no element but the report's own (no
    script, image, link, emphasis or strike from the history), no cell split by a ``|``, and
    every id, customer and refusal reading as written, on one line."""
    assert 2 == main(["audit", str(history_file), "--format", "markdown", "--keep-going"])
    text = capsys.readouterr().out
    for raw in ("://", "www.", "](", "<script", "<img", "<a "):
        assert raw not in text, f"{raw!r} from the history is written as it came"
    page = rendered_markdown(text)
    assert set() == {tag for tag, _ in page.elements} - AUDIT_ELEMENTS
    assert [] == [(tag, attrs) for tag, attrs in page.elements if attrs]

    report = audit(history(), keep_going=True)
    rows = {tuple(row[:2]) for row in page.rows}
    for escalation in report.escalations:
        assert (plain(escalation.escalation_id), plain(escalation.customer)) in rows
    violations = [row[0] for row in page.rows if len(row) == 6][1:]
    assert [plain(violation.escalation_id) for violation in report.violations] == violations
    refused = [row[1:] for row in page.rows if len(row) == 5][1:]
    assert [
        [str(item.line), item.code, plain(item.path or ""), plain(item.reason)]
        for item in report.refused
    ] == [row[:4] for row in refused]


@settings(max_examples=examples(100))
@given(text=st.text() | st.sampled_from(PAYLOADS))
def test_markdown_text_renders_as_the_text_itself_and_nothing_else(text: str) -> None:
    page = rendered_markdown(f"| a |\n| --- |\n| {markdown_text(text)} |\n")
    assert [["a"], [plain(text).strip()]] == page.rows
    assert {"table", "thead", "tbody", "tr", "th", "td"} == {tag for tag, _ in page.elements}


# --------------------------------------------------------------------------------------- Slack
LOOK_ALIKES = {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`", "\u02cc": ""}


def as_read(text: str) -> str:
    """``text`` as a reader reads it: a look-alike as what it stands for."""
    for look_alike, meant in LOOK_ALIKES.items():
        text = text.replace(look_alike, meant)
    return text


def as_slack_shows(mrkdwn: str) -> str:
    """The text a reader sees of ``mrkdwn`` that formats nothing: the look-alikes read as what
    they stand for, and the entities as their characters."""
    return as_read(mrkdwn).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_problems(text: str) -> list[str]:
    """What in a mrkdwn text (the library's own markup taken out) Slack would act on."""
    text = re.sub(
        r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>", "", text
    )  # a time, in the reader's zone
    text = re.sub(r"(?m)^\u2022 \*[A-Z][A-Za-z ]*:\* | \u2192 ", "\n", text)  # what changed
    text = re.sub(r"^\*[A-Z][A-Za-z ]*:?\*(\n| )|\n\*Milestones:\*\n|\u2022 ", "", text)
    problems = []
    if not all(line.isprintable() for line in text.split("\n")):
        problems.append("a control character")
    if "<" in text:
        problems.append("a <: a mention, a link or a command")
    if "`" in text:
        problems.append("a backtick: code")
    for match in re.finditer(r"[*_~]", text):
        before = text[match.start() - 1 : match.start()]
        after = text[match.end() : match.end() + 1]
        if not (before.isalnum() and after.isalnum()):
            problems.append(f"{match.group()!r} at the edge of a word: formatting")
    if any(line.lstrip().startswith("&gt;") for line in text.split("\n")):
        problems.append("a line starting with >: a quote")
    return problems


@settings(max_examples=examples(200))
@given(text=st.text() | st.sampled_from(PAYLOADS))
def test_slack_escape_shows_any_text_as_written_and_formats_nothing(text: str) -> None:
    pytest.importorskip("slack_sdk", reason="pip install 'escalation-policy[slack]'")
    from escalation_policy.slack import escape

    escaped = escape(text)
    # A look-alike written in the text reads as what it looks like, as the escaped one does.
    assert ([], as_read(plain(text))) == (slack_problems(escaped), as_slack_shows(escaped))


def slack_texts(rendered: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in rendered.blocks:
        items = [*block.get("fields", ()), *block.get("elements", ())]
        if isinstance(block.get("text"), dict):
            items.append(block["text"])
        for item in items:
            yield item["text"], item


def test_slack_messages_show_what_the_history_says_without_mentions_links_or_formatting() -> None:
    """Each escalation's post, with its state at the end of the history (customer, TAM,
    executive summary, status, milestones) and the tracker document's address from the
    history: nothing in any block or in the fallback mentions, links, formats or controls the
    terminal, and each text reads as written."""
    pytest.importorskip("slack_sdk", reason="pip install 'escalation-policy[slack]'")
    from escalation_policy.rules import PostReason
    from escalation_policy.slack import is_post, message

    engine = PolicyEngine()
    posts = {}
    for fact in history():
        try:
            decision = engine.handle(fact)
        except ValueError:
            continue  # the refused lines
        for action in decision.actions:
            if is_post(action):
                posts.setdefault(action.escalation_id, action)
    assert len(PAYLOADS) == len(posts)
    for number, payload in enumerate(PAYLOADS):
        escalation_id = f"ESC-{number} {payload}"
        state = engine.escalation(escalation_id)
        assert state is not None
        rendered = message(posts[escalation_id], state, document=payload)
        mrkdwn = [(text, item) for text, item in slack_texts(rendered) if item["type"] == "mrkdwn"]
        assert [] == [item for _, item in mrkdwn if item.get("verbatim") is not True]
        assert [] == [(text, slack_problems(text)) for text, _ in mrkdwn if slack_problems(text)]
        assert [] == slack_problems(rendered.text), "the fallback"
        assert rendered.blocks[0]["text"]["text"].isprintable(), "the header"
        shown = [as_slack_shows(text) for text, _ in mrkdwn]
        attributes = state.attributes
        for expected in (
            f"*Customer*\n{plain(attributes['customer'])}",
            f"*TAM*\n{plain(attributes['tam'])}",
            f"*Executive summary*\n{plain(attributes['summary'])}",
            f"*Tracker document*\n{plain(payload)}",
            plain(escalation_id),
        ):
            assert expected in shown
        (standing,) = [text for text in shown if text.startswith("*Status:*")]
        assert plain(attributes["engagement_status"]) in standing
        for milestone in attributes["milestones"]:
            assert f"\u2022 {plain(milestone)}" in standing
        # An Update says what changed since the last post: the same text, as harmless.
        before = attrs.evolve(
            state,
            customer="Before",
            tam="Before",
            summary="Before",
            engagement_status="Before",
            milestones=("Before",),
        )
        update = attrs.evolve(posts[escalation_id], reason=PostReason.UPDATE)
        news = message(update, state, since=before, document=payload)
        mrkdwn = [text for text, item in slack_texts(news) if item["type"] == "mrkdwn"]
        assert [] == [(text, slack_problems(text)) for text in mrkdwn if slack_problems(text)]
        (changes,) = [as_slack_shows(text) for text in mrkdwn if text.startswith("*What changed")]
        for name in ("Customer", "TAM", "Executive summary", "Engagement status"):
            value = plain(attributes[name.lower().replace(" ", "_").replace("executive_", "")])
            assert f"\u2022 *{name}:* Before \u2192 {value[:10]}" in changes  # cut if long


# ------------------------------------------------------------------------------ weekly digest
def digest_of_payloads() -> Any:
    """The digest two days into the history of the escalations (the refused lines left out):
    each one open, and its TAM's misses listed by the TAM's name, which holds the payload."""
    facts = [fact for n, p in enumerate(PAYLOADS) for fact in escalation_facts(n, p)]
    facts.sort(key=lambda fact: fact["at"])
    return digest(facts, as_of=HISTORY_START + dt.timedelta(days=2))


DIGEST_ELEMENTS = {"h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "code"}


def test_the_markdown_digest_renders_what_the_history_says_literally() -> None:
    weekly = digest_of_payloads()
    text = digest_markdown(weekly)
    for raw in ("://", "www.", "](", "<script", "<img", "<a "):
        assert raw not in text, f"{raw!r} from the history is written as it came"
    page = rendered_markdown(text)
    assert set() == {tag for tag, _ in page.elements} - DIGEST_ELEMENTS
    assert [] == [(tag, attrs) for tag, attrs in page.elements if attrs]
    rows = {tuple(row[:2]) for row in page.rows}
    assert len(PAYLOADS) == len(weekly.open)
    for item in weekly.open:
        assert (plain(item.escalation_id), plain(item.customer)) in rows
    owners = {row[3] for row in page.rows if len(row) == 6}
    assert weekly.missed
    assert {plain(item.owner) for item in weekly.missed} <= owners


def test_the_html_digest_shows_what_the_history_says_and_runs_nothing() -> None:
    weekly = digest_of_payloads()
    page = _Elements()
    page.feed(digest_html(weekly))
    page.close()
    allowed = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p"}
    allowed |= {"table", "thead", "tbody", "tr", "th", "td", "span", "ul", "li", "strong"}
    allowed |= {"div", "code"}
    assert set() == {tag for tag, _ in page.elements} - allowed
    names = {name for _, attributes in page.elements for name, _ in attributes}
    assert set() == {name for name in names if name.startswith("on") or name in ("href", "src")}
    cells = {cell for row in page.rows for cell in row}
    assert {plain(item.escalation_id) for item in weekly.open} <= cells
    assert {plain(item.customer) for item in weekly.open} <= cells


def test_the_slack_digest_mentions_links_and_formats_nothing_of_the_history() -> None:
    pytest.importorskip("slack_sdk", reason="pip install 'escalation-policy[slack]'")
    weekly = digest_of_payloads()
    rendered = digest_slack(weekly)
    mrkdwn = [text for text, item in slack_texts(rendered) if item["type"] == "mrkdwn"]
    assert [] == [item for text, item in slack_texts(rendered) if item.get("verbatim") is False]
    for text in [*mrkdwn, rendered.text]:
        without_times = re.sub(
            r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>|]*>", "", text
        )
        assert "<" not in without_times, text
        assert all(line.isprintable() for line in text.split("\n"))
    shown = as_slack_shows("\n".join(mrkdwn))
    for item in weekly.open[:5]:  # the list shows the first ones
        assert plain(item.escalation_id)[:12] in shown


# ----------------------------------------------------------------------------------- HTML page
IN_THE_PAGE = """
(async () => {
  for (let waited = 0; document.readyState !== "complete"
    || document.body.dataset.table !== "ready"; waited += 50) {
    if (waited > 20000) throw new Error("the page was not ready in 20 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const more = document.getElementById("show-more");
  while (!more.hidden) more.click();
  const found = {injected: window.injected === undefined ? null : window.injected, sections: {}};
  found.rows = [...document.querySelectorAll("#late-table tbody tr")].map(
    (row) => [...row.cells].map((cell) => cell.textContent));
  // Open every escalation from the table, as a reader does, and hover every mark and bar.
  for (const link of document.querySelectorAll("#late-table tbody tr a")) {
    link.click();
    const section = document.querySelector(link.getAttribute("href"));
    const chart = section.querySelector(".chart");
    for (let waited = 0; chart.dataset.drawn !== "drawn"; waited += 20) {
      if (waited > 5000) throw new Error(`${section.id} was not drawn in 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const hovers = [];
    for (const mark of chart.querySelectorAll("[data-tip]")) {
      mark.dispatchEvent(new PointerEvent("pointerover", {bubbles: true}));
      const tip = document.getElementById("tip");
      let lines = [];
      for (const node of tip.childNodes) {
        if (node.nodeName === "HR") { hovers.push(lines); lines = []; }
        else lines.push(...node.textContent.split("\\n"));
      }
      hovers.push(lines);
    }
    found.sections[section.dataset.escalation] = {
      heading: section.querySelector("h3").textContent,
      figures: [...section.querySelectorAll(".figures li")].map((item) => item.textContent),
      lanes: [...chart.querySelectorAll(".lane-label")].map(
        (label) => (label.querySelector("title") || label).textContent),
      texts: [...chart.querySelectorAll("svg text")].map((text) => text.textContent),
      legend: [...chart.querySelectorAll(".legend li")].map((item) => item.textContent),
      hovers,
    };
  }
  // No link, image, frame or handler anywhere, but the table's links to its own timelines.
  const linked = (element) => [...element.attributes].some(
    (attribute) => /^(href|src|xlink:href|srcdoc|action|formaction)$|^on/i.test(attribute.name));
  found.linked = [...document.querySelectorAll("*")]
    .filter((element) => (linked(element) || element.localName === "a")
      && !(element.localName === "a" && /^#esc-\\d+$/.test(element.getAttribute("href"))
        && element.closest("#late-table")))
    .map((element) => element.outerHTML.slice(0, 200));
  return JSON.stringify(found);
})()
"""


@pytest.fixture
def chromium() -> Iterator[DevTools]:
    with browser() as devtools:
        yield devtools


def test_the_html_page_shows_what_the_history_says_literally_in_chromium(
    chromium: DevTools,
    history_file: pathlib.Path,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The page opened in Chromium, every escalation opened from its table and every mark and
    bar hovered: no script of the history runs, no element of the page links anywhere (but to
    its own timelines) or loads anything, and every id, customer, TAM and text of the history
    reads as written where the page shows it (the table, the escalation's heading, the
    timeline's lanes and its hovers)."""
    page = tmp_path / "audit.html"
    command = ["audit", str(history_file), "--format", "html", "-o", str(page), "--keep-going"]
    assert 2 == main(command)
    capsys.readouterr()
    session = chromium.load(page.as_uri())
    found = json.loads(chromium.evaluate(session, IN_THE_PAGE))

    assert (None, []) == (found["injected"], found["linked"])
    requests = [
        event["params"]["request"]["url"]
        for event in chromium.events
        if event["method"] == "Network.requestWillBeSent"
    ]
    assert [page.as_uri()] == [url for url in requests if not url.startswith(("data:", "blob:"))]
    errors = [
        event["params"]
        for event in chromium.events
        if event["method"] == "Runtime.exceptionThrown"
        or (event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
    ]
    assert [] == errors

    assert len(PAYLOADS) == len(found["sections"])
    shown = {row[0]: row for row in found["rows"]}
    for number, payload in enumerate(PAYLOADS):
        facts = escalation_facts(number, payload)
        escalation_id = plain(facts[0]["escalation_id"])
        section = found["sections"][escalation_id]
        assert f"{escalation_id} \u00b7 {plain(facts[0]['customer'])}" == section["heading"]
        assert plain(facts[0]["customer"]) == shown[escalation_id][1]
        for tam in (facts[0]["tam"], f"New TAM {payload}"):
            assert f"obligation: inform_tam ({plain(tam)})" in section["lanes"]
        hovered = {line for label in section["hovers"] for line in label}
        for fact in facts:
            for name, value in texts_of(fact).items():
                assert f"{name}: {plain(value)}" in hovered, (escalation_id, fact["type"], name)
        assert f"inform_tam ({plain(facts[0]['tam'])})" in hovered, "an obligation's own hover"
