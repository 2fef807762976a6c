"""The weekly digest: open escalations by severity and age, obligations due by the week's
end, what was missed and by whom, the compliance trend; from a history or a store; as
Markdown, HTML and Slack blocks; ``escalation-policy digest``."""

import datetime as dt
import html.parser
import json
import pathlib
from typing import Any

import pytest

from escalation_policy import (
    Service,
    audit,
    digest,
    digest_html,
    digest_markdown,
    digest_slack,
    load_policy,
)
from escalation_policy.cli import main
from escalation_policy.errors import InputError
from tests.stores import new_store_url, store_kind  # noqa: F401 - fixtures

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
LATER_PROCESS = ROOT / "examples" / "policies" / "later_process"
UTC = dt.timezone.utc
FRIDAY_NOON = dt.datetime(2026, 3, 6, 12, tzinfo=UTC)
"""In ISO week 2026-W10 (Monday 2 March to Sunday 8 March)."""


def opened(
    at: str, escalation_id: str, customer: str, severity: str, **more: Any
) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": at,
        "escalation_id": escalation_id,
        "customer": customer,
        "segment": "enterprise",
        "severity": severity,
        **more,
    }


FOUR_ESCALATIONS = [
    opened("2026-01-05T09:00:00Z", "ESC-3", "Initech", "medium"),  # 8 weeks and more
    opened("2026-02-16T09:00:00Z", "ESC-2", "Globex", "high"),  # 2 to 4 weeks
    opened("2026-03-02T09:00:00Z", "ESC-1", "Acme", "critical", tam="Priya Raman"),
    opened("2026-03-03T09:00:00Z", "ESC-4", "Umbrella", "low"),
    {"type": "closed", "at": "2026-03-04T09:00:00Z", "escalation_id": "ESC-4"},
]
"""Three escalations open on Friday noon of 2026-W10, one of each age group but one; the
fourth, Low, closed on Wednesday."""


def facts(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------- known answers
def test_open_escalations_are_counted_by_severity_and_age() -> None:
    result = digest(FOUR_ESCALATIONS, as_of=FRIDAY_NOON)
    expected = {
        "Critical": {"under 1 week": 1},
        "High": {"2\u20134 weeks": 1},
        "Medium": {"4 weeks or more": 1},
        "Low": {},
    }
    actual = {
        severity: {age: count for age, count in ages.items() if count}
        for severity, ages in result.open_by_severity.items()
    }
    assert (expected, "2026-W10") == (actual, result.week)
    assert ["ESC-1", "ESC-2", "ESC-3"] == [item.escalation_id for item in result.open]
    assert dt.timedelta(days=4, hours=3) == result.open[0].age


def test_a_missed_obligation_is_listed_with_the_owner_by_name() -> None:
    """Acme's New post was due two hours after opening and never made: missed by its TAM,
    named; the escalations without a TAM are their team's."""
    result = digest(FOUR_ESCALATIONS, as_of=FRIDAY_NOON)
    acme = [(m.code, m.owner, m.due) for m in result.missed if m.escalation_id == "ESC-1"]
    assert ("post_overdue", "TAM (Priya Raman)", dt.datetime(2026, 3, 2, 11, tzinfo=UTC)) in acme
    assert {"TAM (Priya Raman)", "Support Engineering"} == set(result.missed_by_owner)
    assert len(result.missed) == sum(result.missed_by_owner.values())
    assert all(result.week_start <= m.due < result.week_end for m in result.missed)


def test_the_obligations_due_by_the_end_of_the_week_are_those_still_to_meet() -> None:
    result = digest(FOUR_ESCALATIONS, as_of=FRIDAY_NOON)
    assert result.due, "the open escalations owe updates by Friday evening"
    assert all(FRIDAY_NOON < item.due < result.week_end for item in result.due)
    assert {"ESC-1", "ESC-2"} <= {item.escalation_id for item in result.due}
    assert "ESC-4" not in {item.escalation_id for item in result.due}  # closed


def test_the_trend_goes_back_week_by_week_and_a_missed_week_shows() -> None:
    """The non-compliant example: 9 obligations fell due in its week, 3 met on time."""
    result = digest(facts(ROOT / "examples" / "non-compliant.jsonl"), weeks=3)
    assert ["2026-W26", "2026-W27", "2026-W28"] == [week.week for week in result.trend]
    last = result.trend[-1]
    assert (9, 3, 6, 0.3333) == (last.due, last.on_time, last.missed, last.on_time_share)
    assert ("post_overdue", "TAM (Rita Moreno)") in {(m.code, m.owner) for m in result.missed}


@pytest.mark.parametrize(
    "path",
    [*EXAMPLES, *sorted((LATER_PROCESS / "examples").glob("*.jsonl"))],
    ids=lambda path: path.name,
)
def test_the_trend_counts_as_the_audit_does(path: pathlib.Path) -> None:
    """One replay, two observers: over weeks that cover the history, the obligations due and
    met on time add up to the audit's."""
    policy = load_policy(str(LATER_PROCESS)) if "later_process" in str(path) else None
    history = facts(path)
    end = dt.datetime.fromisoformat(history[-1]["at"].replace("Z", "+00:00"))
    as_of = end + dt.timedelta(days=60)
    report = audit(history, as_of=as_of, policy=policy)
    result = digest(history, as_of=as_of, policy=policy, weeks=20)
    audited = report.totals.obligations.values()
    assert (sum(o.due for o in audited), sum(o.on_time for o in audited)) == (
        sum(week.due or 0 for week in result.trend),
        sum(week.on_time or 0 for week in result.trend),
    )


def test_a_week_in_the_middle_of_a_history_is_its_state_at_the_weeks_end() -> None:
    """Choosing 2026-W09 ends the replay on Monday 2 March at midnight: Acme, opened later,
    is not open yet; Globex and Initech are."""
    result = digest(FOUR_ESCALATIONS, week="2026-W09")
    assert dt.datetime(2026, 3, 2, tzinfo=UTC) == result.as_of
    assert ["ESC-2", "ESC-3"] == [item.escalation_id for item in result.open]


@pytest.mark.parametrize(
    ("options", "path", "says"),
    [
        ({"week": "2026-W54"}, "week", "expected an ISO week such as '2026-W10'"),
        ({"week": "last week"}, "week", "expected an ISO week"),
        ({"week": "2026-W10", "as_of": FRIDAY_NOON}, "week", "expected one of them"),
        ({"weeks": 0}, "weeks", "expected a whole number from 1 to 52"),
        ({"as_of": dt.datetime(2026, 3, 6)}, "as_of", "timezone"),
    ],
)
def test_bad_choices_of_the_week_are_refused_naming_the_option(
    options: dict[str, Any], path: str, says: str
) -> None:
    with pytest.raises(InputError, match=says) as raised:
        digest(FOUR_ESCALATIONS, **options)
    assert path == raised.value.path


def test_a_refused_fact_names_its_line() -> None:
    history = [*FOUR_ESCALATIONS[:2], {"type": "opened", "at": "2026-02-20T09:00:00Z"}]
    with pytest.raises(InputError) as raised:
        digest(history)
    assert 3 == raised.value.line


# ----------------------------------------------------------------------------------- the store
def test_a_store_gives_the_open_escalations_and_the_misses_of_its_outbox(
    new_store_url: Any,  # noqa: F811
) -> None:
    with Service(new_store_url()) as service:
        for fact in FOUR_ESCALATIONS:
            service.handle(fact)
        service.run_due(FRIDAY_NOON)
        from_store = digest(service, now=FRIDAY_NOON)
    from_history = digest(FOUR_ESCALATIONS, as_of=FRIDAY_NOON)
    assert from_history.open_by_severity == from_store.open_by_severity
    assert [(o.escalation_id, o.owner) for o in from_history.open] == [
        (o.escalation_id, o.owner) for o in from_store.open
    ]
    assert [(m.escalation_id, m.code, m.owner, m.due) for m in from_history.missed] == [
        (m.escalation_id, m.code, m.owner, m.due) for m in from_store.missed
    ]
    assert [w.missed for w in from_history.trend] == [w.missed for w in from_store.trend]
    assert {None} == {w.due for w in from_store.trend}  # a store keeps no fulfilments


# ------------------------------------------------------------------------------------- formats
HOSTILE = "<script>alert(1)</script> *x* | <!channel> [a](javascript:1)"


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def hostile_digest() -> Any:
    history = [
        opened("2026-03-02T09:00:00Z", f"ESC-1 {HOSTILE}", HOSTILE, "critical", tam=HOSTILE),
    ]
    return digest(history, as_of=FRIDAY_NOON)


def test_the_html_page_is_self_contained_and_shows_hostile_text_as_written() -> None:
    page = digest_html(hostile_digest())
    parsed = _Elements()
    parsed.feed(page)
    assert set() == parsed.tags - {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "main",
        "h1",
        "h2",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "ul",
        "li",
        "strong",
        "div",
        "code",
    }
    assert set() == {name for name in parsed.attributes if name.startswith("on")} | (
        parsed.attributes & {"href", "src"}
    )
    assert HOSTILE in "".join(parsed.text)
    assert "Content-Security-Policy" in page


def test_the_markdown_shows_hostile_text_as_written() -> None:
    text = digest_markdown(hostile_digest())
    assert [] == [bad for bad in ("<script>", "<!channel>", "](javascript") if bad in text]
    assert "&#60;script&#62;alert(1)&#60;/script&#62;" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| ESC-1")]
    assert [5] == sorted({row.count(" | ") for row in table_rows}), table_rows


def test_the_slack_blocks_are_valid_block_kit_and_mention_no_one() -> None:
    slack_sdk = pytest.importorskip("slack_sdk", reason="pip install 'escalation-policy[slack]'")
    del slack_sdk
    from slack_sdk.models.blocks import Block

    message = digest_slack(hostile_digest())
    assert message.blocks == [Block.parse(block).to_dict() for block in message.blocks]  # type: ignore[union-attr]
    texts = json.dumps(message.blocks)
    assert [] == [bad for bad in ("<!channel>", "<script>") if bad in texts]
    assert "&lt;!channel&gt;" in texts
    for block in message.blocks:
        for text in [block.get("text", {}).get("text", "")] + [
            element["text"] for element in block.get("elements", ())
        ]:
            assert len(text.encode("utf-16-le")) // 2 <= 3000


def test_many_open_escalations_stay_within_slacks_limits() -> None:
    history = [
        opened(f"2026-03-02T09:{n // 60:02d}:{n % 60:02d}Z", f"ESC-{n}", "C" * 500, "high")
        for n in range(300)
    ]
    message = digest_slack(digest(history, as_of=FRIDAY_NOON))
    sections = [block["text"]["text"] for block in message.blocks if block["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert any("\u2026 and 290 more" in text for text in sections)


# ------------------------------------------------------------------------------------------ CLI
@pytest.fixture
def history_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in FOUR_ESCALATIONS))
    return path


@pytest.mark.parametrize("fmt", ["markdown", "html", "slack", "json"])
def test_the_command_writes_each_format(
    fmt: str, history_file: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["digest", str(history_file), "--as-of", "2026-03-06T12:00:00Z", "--format", fmt])
    out = capsys.readouterr().out
    assert 0 == status
    expected_start = {
        "markdown": "# Escalations digest: 2026-W10 (Mar 2, 2026 \u2013 Mar 8, 2026)",
        "html": "<!doctype html>",
        "slack": "{",
        "json": "{",
    }[fmt]
    assert out.startswith(expected_start)
    if fmt == "slack":
        assert {"text", "blocks"} == set(json.loads(out))
    if fmt == "json":
        assert 3 == len(json.loads(out)["open"])


def test_the_command_writes_to_a_file(
    history_file: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "digest.html"
    assert 0 == main(
        ["digest", str(history_file), "--week", "2026-W10", "--format", "html", "-o", str(target)]
    )
    assert ("", True) == (capsys.readouterr().out, target.read_text().startswith("<!doctype html>"))


def status_of(argv: list[str]) -> int | str | None:
    """The exit status of the command line: what ``main`` returns, or argparse's exit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--week", "2026-W99"], "--week: got '2026-W99'"),
        (["--week", "2026-W10", "--as-of", "2026-03-06T12:00:00Z"], "not allowed with"),
        (["--as-of", "yesterday"], "--as-of: got 'yesterday'"),
        (["--weeks", "99"], "expected a whole number from 1 to 52"),
        (["--store", "sqlite:///x.db"], "got FILE and --store"),
    ],
)
def test_the_command_refuses_bad_options_with_status_2(
    arguments: list[str],
    says: str,
    history_file: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = status_of(["digest", str(history_file), *arguments])
    captured = capsys.readouterr()
    assert (2, True, "") == (status, says in captured.err, captured.out)


def test_a_refused_line_stops_the_command_naming_its_file_and_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(FOUR_ESCALATIONS[0]) + "\n\n" + '{"type": "opened"}\n')
    assert 2 == main(["digest", str(path)])
    assert f"{path}: line 3: required field is missing @ $.at" in capsys.readouterr().err


def test_a_store_that_is_not_there_is_status_5(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 5 == main(["digest", "--store", f"sqlite:///{tmp_path / 'none.db'}"])
    assert "no store at" in capsys.readouterr().err


def test_the_command_reads_a_store(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Service(url) as service:
        for fact in FOUR_ESCALATIONS:
            service.handle(fact)
    assert 0 == main(["digest", "--store", url, "--as-of", "2026-03-06T12:00:00Z"])
    out = capsys.readouterr().out
    assert "## Open escalations: 3" in out
    assert "A store keeps no facts" in out
