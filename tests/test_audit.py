"""The compliance audit: violations with what happened instead, and the figures."""

import datetime as dt
import json
import pathlib

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    AuditRefusal,
    EscalationFact,
    InputError,
    PolicyEngine,
    audit,
    default_policy,
)
from escalation_policy.cli import main, read_facts
from escalation_policy.model import Fact
from escalation_policy.rules.severity import BUSINESS_DAYS
from escalation_policy.rules.terms import Posted
from escalation_policy.testing import strategies
from tests.conftest import examples

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def _facts(name: str) -> list[Fact]:
    with (EXAMPLES / name).open() as stream:
        return [fact for _, fact in read_facts(stream)]


def test_compliant_examples_audit_clean() -> None:
    for name in (
        "critical-outage.jsonl",
        "medium-support-led.jsonl",
        "severity-change.jsonl",
        "strategic-partner.jsonl",
    ):
        report = audit(_facts(name))
        assert () == report.violations, name
        for name, figures in report.totals.obligations.items():
            assert figures.on_time == figures.due, (name, figures)


def test_non_compliant_audit_says_what_was_due_and_what_happened_instead() -> None:
    report = audit(_facts("non-compliant.jsonl"))
    first, second = report.escalations
    late_created = next(v for v in first.violations if v.rule == "communication.post_when_created")
    # opened at 08:00 on a Monday: due two business hours after the day opens at 09:00
    assert (
        dt.datetime(2026, 7, 6, 11, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 7, 6, 11, 30, tzinfo=dt.timezone.utc),
        dt.timedelta(minutes=30),
    ) == (late_created.due, late_created.fulfilled_at, late_created.late_by)
    closing = next(v for v in first.violations if v.rule == "communication.post_when_closed")
    assert (None, dt.timedelta(hours=17)) == (closing.fulfilled_at, closing.late_by)
    missed_update = next(v for v in first.violations if v.code.value == "update_overdue")
    assert missed_update.late_by is None, "a missed period is missed, not late"
    posts, updates = first.obligations["channel_post"], first.obligations["channel_update"]
    # updates by the end of Tuesday (missed) and of Wednesday (made); closed before Thursday's
    assert (0, 2, 1, 2) == (posts.on_time, posts.due, updates.on_time, updates.due)
    assert dt.timedelta(hours=3, minutes=30) == posts.first_met_after, "the late created post"
    assert {"critical": dt.timedelta(days=3, hours=8)} == dict(first.time_at_severity)
    assert 9 == report.totals.violations, "one each, however many periods it missed"
    assert {
        "cadence_missed": 1,
        "channel_misuse": 2,
        "executive_summary_overdue": 1,
        "post_overdue": 2,
        "tam_not_informed": 1,
        "update_overdue": 1,
        "wrong_poster": 1,
    } == dict(report.totals.violations_by_code)
    second_posts = second.obligations["channel_post"]
    assert (2, 2) == (second_posts.on_time, second_posts.due)
    totals = report.totals.obligations
    assert list(report.totals.obligations) == list(default_policy().obligations)
    assert (2, 4) == (totals["channel_post"].on_time, totals["channel_post"].due)
    assert 0.5 == totals["channel_post"].on_time_share


def test_time_at_each_severity_and_changes() -> None:
    report = audit(_facts("severity-change.jsonl"))
    (item,) = report.escalations
    assert 2 == item.severity_changes
    assert ["critical", "high", "medium"] == list(item.time_at_severity)
    assert dt.timedelta(hours=23, minutes=15) == item.time_at_severity["medium"]
    assert dt.timedelta(days=1, hours=23, minutes=15) == item.time_at_severity["critical"]
    assert item.time_to_closure == item.closed_at - item.opened_at  # type: ignore[operator]


def test_as_of_reports_what_fell_due_but_not_what_is_still_to_come() -> None:
    opened = _facts("critical-outage.jsonl")[:2]  # opened, then the created post
    at = opened[-1].at
    # opened on a Monday at 09:41: the first updates and cadence are due by the end of Tuesday
    soon = audit(opened, as_of=at + dt.timedelta(hours=38))  # Tuesday 23:41
    later = audit(opened, as_of=at + dt.timedelta(hours=39))  # Wednesday 00:41
    assert () == soon.violations
    assert {"update_overdue", "cadence_missed"} == {v.code.value for v in later.violations}
    assert later.escalations[0].closed_at is None


def test_as_of_before_the_last_fact_is_an_error() -> None:
    facts = _facts("critical-outage.jsonl")
    with pytest.raises(InputError, match="before the last fact"):
        audit(facts, as_of=facts[0].at)


def test_a_bad_fact_in_the_history_names_its_position() -> None:
    facts = _facts("critical-outage.jsonl")
    with pytest.raises(InputError) as caught:
        audit([facts[0], facts[0]])
    assert 2 == caught.value.line


def test_keep_going_reports_each_refused_fact_and_audits_the_rest_as_if_it_never_came() -> None:
    facts = _facts("critical-outage.jsonl")
    stale = attrs.evolve(facts[1], at=facts[0].at - dt.timedelta(hours=1))
    history = [facts[0], facts[0], *facts[1:3], stale, *facts[3:]]
    report = audit(history, keep_going=True)
    assert [
        AuditRefusal(
            line=2,
            code="duplicate_escalation",
            path="$.escalation_id",
            reason=report.refused[0].reason,
        ),
        AuditRefusal(line=5, code="stale_fact", path="$.at", reason=report.refused[1].reason),
    ] == list(report.refused)
    assert "already open" in report.refused[0].reason
    assert 2 == report.totals.refused
    assert len(history) == report.facts
    clean = audit(facts)
    assert (clean.escalations, 0) == (report.escalations, clean.totals.refused)


def test_an_input_error_among_the_facts_is_raised_in_its_place_or_reported() -> None:
    facts = _facts("critical-outage.jsonl")
    unreadable = InputError("not valid JSON (Expecting value at column 1)")
    with pytest.raises(InputError, match="not valid JSON") as caught:
        audit([facts[0], unreadable, *facts[1:]])
    assert 2 == caught.value.line
    report = audit([facts[0], InputError("not valid JSON"), *facts[1:]], keep_going=True)
    assert [(2, "input_error", "not valid JSON")] == [
        (item.line, item.code, item.reason) for item in report.refused
    ]
    assert audit(facts).escalations == report.escalations


def test_as_of_beyond_the_calendar_is_an_input_error_naming_as_of() -> None:
    facts = _facts("critical-outage.jsonl")[:2]
    with pytest.raises(InputError) as caught:
        audit(facts, as_of=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))
    assert "as_of" == caught.value.path


def test_as_of_may_lie_years_after_the_history() -> None:
    """The audit's end is a deliberate jump: the engine's clock-jump limit does not apply."""
    facts = _facts("critical-outage.jsonl")[:2]
    end = facts[-1].at + dt.timedelta(days=3 * 365)
    report = audit(facts, as_of=end)
    updates = [v for v in report.violations if v.code.value == "update_overdue"]
    # updates each business day from the Tuesday after the opening; the audit ends at 09:41,
    # before the end of its day: every business day's before it is missed
    days = BUSINESS_DAYS.business_days(dt.date(2026, 3, 3), (end - DAY).date())
    assert [len(list(days))] == [v.periods for v in updates]


DAY = dt.timedelta(days=1)
SLOW = settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SLOW
@given(strategies.histories(compliant=True))
def test_a_history_generated_as_compliant_audits_clean(history: list[Fact]) -> None:
    assert () == audit(history, as_of=history[-1].at + dt.timedelta(days=30)).violations


@SLOW
@given(strategies.histories(compliant=True), st.data())
def test_removing_any_post_that_met_an_obligation_yields_a_violation_naming_its_rule(
    history: list[Fact], data: st.DataObject
) -> None:
    """Compliant histories make each required post once, in its window: none is redundant.
    (What is required, and by which rule, is what the engine says the post met.) A post that
    met two obligations at once (an update required after a raise, and the periodic update)
    moved the next period's due time: without it, at least one of them is missed."""
    engine = PolicyEngine()
    met = {index: engine.handle(fact).fulfilled for index, fact in enumerate(history)}
    closed = {
        fact.escalation_id: (position, fact.at)
        for position, fact in enumerate(history)
        if isinstance(fact, EscalationFact) and fact.TYPE == "closed"
    }
    never = (len(history), dt.datetime.max.replace(tzinfo=dt.timezone.utc))
    # What was due only after closing would have been cancelled by it: that post was early
    # (a period, or a post due in business time the next morning), even one made at the very
    # instant of the closing, before it. What closing requires, the closed post, is made after
    # it.
    missed_without = {
        index: {
            fulfilment.rule
            for fulfilment in done
            if fulfilment.due < closed.get(fulfilment.escalation_id, never)[1]
            or index > closed.get(fulfilment.escalation_id, never)[0]
        }
        for index, done in met.items()
        if isinstance(history[index], Posted)
    }
    needed = [index for index, rules in missed_without.items() if rules]
    # Each post met only what was due after the closing (opened and risk reduced after hours,
    # closed the next night): the closing would have cancelled it, and no post is needed.
    assume(needed)
    index = data.draw(st.sampled_from(needed))
    removed = history[index]
    assert isinstance(removed, EscalationFact)
    report = audit(
        history[:index] + history[index + 1 :], as_of=history[-1].at + dt.timedelta(days=30)
    )
    reported = {v.rule for v in report.violations if v.escalation_id == removed.escalation_id}
    if len(missed_without[index]) == 1:
        assert missed_without[index] <= reported
    else:
        assert missed_without[index] & reported


def test_cli_audit_formats_and_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(EXAMPLES / "non-compliant.jsonl")
    assert 0 == main(["audit", path, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert 9 == data["totals"]["violations"]
    assert {
        "policy",
        "facts",
        "started_at",
        "as_of",
        "escalations",
        "totals",
        "refused",
        "coverage",
    } == set(data)
    assert default_policy().identity == data["policy"]
    assert ([], 0) == (data["refused"], data["totals"]["refused"])
    assert 1 == main(["audit", path, "--format", "markdown", "--fail-on", "wrong_poster"])
    assert "| ESC-600 |" in capsys.readouterr().out
    assert 1 == main(["audit", path, "--format", "text", "--fail-on", "any"])
    assert "Totals" in capsys.readouterr().out
    clean = str(EXAMPLES / "critical-outage.jsonl")
    assert 0 == main(["audit", clean, "--format", "text", "--fail-on", "any"])


def test_cli_audit_refuses_an_unknown_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["audit", str(EXAMPLES / "non-compliant.jsonl"), "--fail-on", "post_overdu"])
    assert "did you mean 'post_overdue'" in capsys.readouterr().err


def test_cli_audit_as_of(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    path = tmp_path / "open.jsonl"
    path.write_text((EXAMPLES / "critical-outage.jsonl").read_text().splitlines()[0] + "\n")
    assert 1 == main(["audit", str(path), "--as-of", "2026-03-04T00:00:00Z", "--fail-on", "any"])
    capsys.readouterr()
    assert 2 == main(["audit", str(path), "--as-of", "yesterday"])
    assert "--as-of" in capsys.readouterr().err


@pytest.mark.slow
def test_long_audits_report_progress_every_ten_thousand_facts() -> None:
    import sys

    sys.path.insert(0, str(EXAMPLES.parent / "benchmarks"))
    import workload

    seen: list[int] = []
    report = audit(
        (json.loads(line) for line in workload.history_lines(20_000)), progress=seen.append
    )
    assert [10_000, 20_000] == seen
    assert 20_000 == report.facts


OPENED = {
    "type": "opened",
    "at": "2026-07-06T08:00:00Z",
    "escalation_id": "ESC-600",
    "customer": "Vandelay Industries",
    "segment": "enterprise",
    "severity": "medium",
    "initiated_by": "customer_success",
    "tam": "Rita Moreno",
}
POST_ABOUT_UNOPENED = {
    "type": "posted",
    "at": "2026-07-06T08:05:00Z",
    "escalation_id": "ESC-999",
    "channel": "#escalated_customers",
    "purpose": "created",
    "by": "customer_success",
}


def test_a_post_about_an_escalation_never_opened_is_reported_apart_from_the_escalations() -> None:
    """The policy reports a post to the channel about an escalation it does not know as
    misuse: the audit lists it, counts it and lets ``--fail-on`` see it, under no escalation."""
    report = audit([OPENED, POST_ABOUT_UNOPENED])
    (violation,) = report.unopened
    assert ("ESC-999", "channel_misuse", "communication.initiated_in_the_channel") == (
        violation.escalation_id,
        violation.code.value,
        violation.rule,
    )
    assert ["ESC-600"] == [e.escalation_id for e in report.escalations]
    assert () == report.escalations[0].violations
    assert (violation,) == report.violations
    assert (1, {"channel_misuse": 1}) == (
        report.totals.violations,
        dict(report.totals.violations_by_code),
    )
    assert [violation.rule] == [v["rule"] for v in report.to_json()["unopened"]]


def test_cli_audit_of_a_post_about_an_escalation_never_opened(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "unopened.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in (OPENED, POST_ABOUT_UNOPENED)))
    assert 1 == main(["audit", str(path), "--format", "json", "--fail-on", "channel_misuse"])
    data = json.loads(capsys.readouterr().out)
    assert (["ESC-999"], 1) == (
        [v["escalation_id"] for v in data["unopened"]],
        data["totals"]["violations"],
    )
    assert 0 == main(["audit", str(path), "--format", "text"])
    text = capsys.readouterr().out
    assert "About escalations never opened: violations (1):\n  ESC-999\n" in text
    assert 0 == main(["audit", str(path), "--format", "markdown"])
    assert "| ESC-999 |" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
@pytest.mark.parametrize("purpose", ["created", "initiation", "tracking", "update", "closed"])
def test_cli_audit_of_posts_about_escalations_never_opened_only(
    fmt: str, purpose: str, capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    """A history of nothing but posts about escalations never opened, whatever their purpose:
    every format reports it (this once ended in a KeyError, exit 4)."""
    path = tmp_path / "unopened.jsonl"
    posts = [
        {**POST_ABOUT_UNOPENED, "purpose": purpose},
        {**POST_ABOUT_UNOPENED, "escalation_id": "ESC-998", "at": "2026-07-06T09:00:00Z"},
    ]
    path.write_text("".join(json.dumps(item) + "\n" for item in posts))
    assert 0 == main(["audit", str(path), "--format", fmt])
    captured = capsys.readouterr()
    assert "" == captured.err
    if fmt == "json":
        report = json.loads(captured.out)
        assert [] == report["escalations"]
        unopened = {v["escalation_id"] for v in report["unopened"]}
        assert "ESC-998" in unopened, "a post initiating an escalation in the channel"
        assert unopened <= {"ESC-998", "ESC-999"}
        assert len(report["unopened"]) == report["totals"]["violations"]


def test_the_json_report_names_unopened_only_when_there_are_any() -> None:
    assert "unopened" not in audit(_facts("non-compliant.jsonl")).to_json()


# ------------------------------------------------------------------ times in the calendar's zone
def tokyo_history() -> list[dict[str, object]]:
    """Two Critical escalations opened on Friday 6 March 2026 at 08:00 UTC, each with its
    created post an hour late: ESC-T for a customer in Tokyo (opened 17:00 there, after the
    close, so its post is due 2 business hours after Monday's 09:00 opening), ESC-U with no
    zone (on the handbook's calendar, in UTC)."""
    opened = {
        "type": "opened",
        "at": "2026-03-06T08:00:00Z",
        "customer": "Kaisha",
        "segment": "enterprise",
        "severity": "critical",
        "initiated_by": "customer_success",
        "tam": "Aiko Sato",
    }
    post = {
        "type": "posted",
        "channel": default_policy().channel,
        "purpose": "created",
        "by": "tam",
        "url": "https://docs.example.com/tracker",
    }
    return [
        {**opened, "escalation_id": "ESC-T", "time_zone": "Asia/Tokyo"},
        {**opened, "escalation_id": "ESC-U", "customer": "Acme"},
        {**post, "at": "2026-03-06T12:00:00Z", "escalation_id": "ESC-U"},
        {**post, "at": "2026-03-09T03:00:00Z", "escalation_id": "ESC-T"},
    ]


TOKYO_AS_OF = dt.datetime(2026, 3, 9, 4, tzinfo=dt.timezone.utc)
TOKYO_LATE_POST = "due 2026-03-09 11:00 +09:00; done 2026-03-09 12:00 +09:00 (1h late)"
UTC_LATE_POST = "due 2026-03-06 11:00 +00:00; done 2026-03-06 12:00 +00:00 (1h late)"


def test_the_json_audit_names_each_escalations_calendar_and_keeps_due_times_in_utc() -> None:
    """JSON stays machine-readable: instants in UTC under the keys it always had, and each
    escalation names the calendar its clocks counted on and that calendar's zone."""
    report = audit(tokyo_history(), as_of=TOKYO_AS_OF)
    data = json.loads(json.dumps(report.to_json()))
    tokyo, utc = data["escalations"]
    assert [
        {"name": "business_days@Asia/Tokyo", "zone": "Asia/Tokyo"},
        {"name": "business_days", "zone": "UTC"},
    ] == [tokyo["calendar"], utc["calendar"]]
    (late,) = tokyo["violations"]
    assert ("post_overdue", "2026-03-09T02:00:00+00:00", "2026-03-09T03:00:00+00:00", 3600.0) == (
        late["code"],
        late["due"],
        late["fulfilled_at"],
        late["late_by"],
    )
    others = {f.name for f in attrs.fields(type(report.escalations[0]))} - {"calendar"}
    assert {"calendar"} == set(tokyo) - others, "the one key added"


def test_text_and_markdown_show_due_times_in_the_calendars_zone_with_its_offset() -> None:
    """ESC-T's created post, due Monday 11:00 in Tokyo and made at 12:00 there, reads so in
    the text and Markdown audits, beside the name of its calendar; ESC-U, with no zone, reads
    in UTC."""
    from escalation_policy.render import audit_markdown, audit_text

    report = audit(tokyo_history(), as_of=TOKYO_AS_OF)
    text, markdown = audit_text(report), audit_markdown(report)
    for shown in (TOKYO_LATE_POST, UTC_LATE_POST):
        assert shown in text
        assert shown in markdown
    assert "ESC-T  Kaisha  critical  opened 2026-03-06 17:00 +09:00, open\n" in text
    assert "  calendar: business_days@Asia/Tokyo (Asia/Tokyo)\n" in text
    assert "ESC-U  Acme  critical  opened 2026-03-06 08:00 +00:00, open\n" in text
    assert "  calendar: business_days (UTC)\n" in text
    assert "| ESC-T | Kaisha | critical | business_days@Asia/Tokyo (Asia/Tokyo) | " in markdown
    assert "| ESC-U | Acme | critical | business_days (UTC) | " in markdown
    assert "| ESC-T | 2026-03-09 12:00 +09:00 | `post_overdue` |" in markdown


def test_cli_audit_shows_the_calendar_in_every_format(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "tokyo.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in tokyo_history()))
    shown = {}
    for fmt in ("json", "text", "markdown"):
        assert 0 == main(["audit", str(path), "--format", fmt])
        shown[fmt] = capsys.readouterr().out
    calendars = [e["calendar"] for e in json.loads(shown["json"])["escalations"]]
    assert ["business_days@Asia/Tokyo", "business_days"] == [c["name"] for c in calendars]
    assert "calendar: business_days@Asia/Tokyo (Asia/Tokyo)" in shown["text"]
    assert "| business_days@Asia/Tokyo (Asia/Tokyo) |" in shown["markdown"]
    assert TOKYO_LATE_POST in shown["text"]
    assert TOKYO_LATE_POST in shown["markdown"]


def test_a_policy_without_calendars_audits_in_calendar_time_shown_in_utc() -> None:
    """A policy that declares no calendars (here the handbook's without its CALENDARS) counts
    calendar time: its JSON calendar is null and its times read in UTC, as before calendars
    existed."""
    import types

    from escalation_policy import load_policy
    from escalation_policy.render import audit_markdown, audit_text
    from escalation_policy.rules import MODULES, severity

    without = types.ModuleType("severity_without_calendars")
    without.__dict__.update({k: v for k, v in vars(severity).items() if k != "CALENDARS"})
    later_process = load_policy(
        [without if name == severity.__name__ else name for name in MODULES]
    )
    assert None is later_process.calendars
    with (EXAMPLES / "non-compliant.jsonl").open() as stream:
        facts = [fact for _, fact in read_facts(stream, later_process)]
    report = audit(facts, policy=later_process)
    assert {None} == {e["calendar"] for e in report.to_json()["escalations"]}
    text = audit_text(report)
    assert "  calendar: calendar time (UTC)\n" in text
    assert "| calendar time (UTC) |" in audit_markdown(report)
    offsets = {line[21:27] for line in text.splitlines() if line.startswith("    20")}
    assert {"+00:00"} == offsets, "every violation's time in UTC"


# ------------------------------------------------------------------------------- rule coverage
@SLOW
@given(strategies.histories())
def test_rule_coverage_counts_what_the_engine_matched_and_emitted_for_every_rule(
    history: list[Fact],
) -> None:
    """Each rule of the policy is listed, in the policy's order, zero for one the history
    never reached; its counts are the facts whose decision matched it and the actions that
    name it, as the engine returns them fact by fact."""
    engine = PolicyEngine()
    fired: dict[str, int] = {}
    actions: dict[str, int] = {}
    for fact in history:
        decision = engine.handle(fact)
        for rule in decision.matched:
            fired[rule] = fired.get(rule, 0) + 1
        for action in decision.actions:
            actions[action.rule] = actions.get(action.rule, 0) + 1
    for action in engine.release_held():
        actions[action.rule] = actions.get(action.rule, 0) + 1
    coverage = audit(history).coverage
    assert list(default_policy().rules) == list(coverage)
    assert fired == {rule: c.fired for rule, c in coverage.items() if c.fired}
    assert actions == {rule: c.actions for rule, c in coverage.items() if c.actions}


def test_rule_coverage_of_an_example_names_the_rules_it_reached_and_those_it_did_not() -> None:
    coverage = audit(_facts("critical-outage.jsonl")).coverage
    assert (1, 1) == attrs.astuple(coverage["responsibilities.owner/critical_and_high"])
    assert (0, 0) == attrs.astuple(coverage["responsibilities.owner/medium_and_low"])
    # the periodic update is required once, on opening; its later announcements are its own
    assert coverage["communication.updates/critical"].actions > 1


def test_cli_audit_shows_rule_coverage_in_every_format(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = str(EXAMPLES / "critical-outage.jsonl")
    rules = len(default_policy().rules)
    main(["audit", path, "--format", "json"])
    data = json.loads(capsys.readouterr().out)["coverage"]
    assert rules == len(data)
    assert {"fired": 0, "actions": 0} == data["responsibilities.owner/medium_and_low"]
    main(["audit", path, "--format", "text"])
    text = capsys.readouterr().out
    reached = sum(1 for figures in data.values() if figures["fired"] or figures["actions"])
    assert f"Rule coverage ({reached} of {rules} rules fired)" in text
    assert any(
        line.split() == ["responsibilities.owner/medium_and_low", "fired", "0", "actions", "0"]
        for line in text.splitlines()
    )
    main(["audit", path, "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert "### Rule coverage" in markdown
    assert "| `responsibilities.owner/critical_and_high` | 1 | 1 |" in markdown


def test_a_days_period_reads_as_due_by_its_dates_end() -> None:
    """A daily cadence is due by the end of its business day: shown in the escalation's zone as
    that date's 24:00, not the next date's 00:00 (which reads as the next day's); the JSON
    keeps the instant."""
    from escalation_policy.render import audit_markdown, audit_text

    opened = {
        "type": "opened",
        "at": "2026-06-19T16:00:00Z",  # Friday 09:00 in Los Angeles
        "escalation_id": "ESC-LA",
        "customer": "Hollywood",
        "segment": "enterprise",
        "severity": "critical",
        "initiated_by": "tam",
        "tam": "Dana",
        "time_zone": "America/Los_Angeles",
    }
    created = {
        "type": "posted",
        "at": "2026-06-19T16:20:00Z",
        "escalation_id": "ESC-LA",
        "channel": "#escalated_customers",
        "purpose": "created",
        "by": "tam",
        "url": "https://docs.example.com/esc-la",
    }
    # Monday 22 June goes by with no meeting and no word to the customer
    report = audit([opened, created], as_of=dt.datetime(2026, 6, 23, 8, tzinfo=dt.timezone.utc))
    (escalation,) = report.to_json()["escalations"]
    cadence = [v for v in escalation["violations"] if v["code"] == "cadence_missed"]
    assert ["2026-06-23T07:00:00+00:00"] == [v["due"] for v in cadence]
    shown = "due 2026-06-22 24:00 -07:00; missed"
    assert shown in audit_text(report)
    assert shown in audit_markdown(report)
    assert "2026-06-23 00:00" not in audit_text(report)
