"""Re-planning under a changed policy: a snapshot or a store planned under one policy is refused
under another unless the host asks to re-plan, and re-planning derives each open escalation's
plan and periodic obligations again and says what it added, removed and changed.

The policies are the tests' office policy (``tests/policies/office``) and copies of it with one
row of its plan table, or one reaction, changed.
"""

import datetime as dt
import functools
import json
import pathlib
import types
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from escalation_policy import (
    InvalidSnapshotError,
    Policy,
    PolicyChangedError,
    PolicyEngine,
    Service,
    default_policy,
    load_policy,
    make_converter,
)
from escalation_policy._core.replan import replan as replan_record
from escalation_policy._engines import shared_matcher
from escalation_policy.cli import main
from escalation_policy.model import AWAITING_OPENING
from escalation_policy.policy.record import Record
from escalation_policy.testing import strategies
from escalation_policy.vocabulary import EachBusinessDay, TimesPerWeek
from tests.conftest import examples
from tests.test_business_time import fact, ny, office, opened, tick

ROOT = pathlib.Path(__file__).parent.parent


def _office_edited(rows: dict[str, dict[str, Any]], without: tuple[str, ...] = ()) -> Policy:
    """The office policy with outputs of its plan's rows replaced (by row id) and reactions
    left out (by id)."""
    from tests.policies.office import rules

    edited = types.ModuleType(rules.__name__)
    edited.__dict__.update({k: v for k, v in vars(rules).items() if not k.startswith("__")})
    (table,) = rules.TABLES
    table = attrs.evolve(
        table,
        rows=tuple(
            attrs.evolve(row, then={**row.then, **rows.get(row.id, {})}) for row in table.rows
        ),
    )
    edited.TABLES = (table,)  # type: ignore[attr-defined]
    edited.REACTIONS = tuple(r for r in rules.REACTIONS if r.id not in without)  # type: ignore[attr-defined]
    return load_policy([edited])


@functools.cache
def variant(name: str) -> Policy:
    from tests.policies.office.rules import Cadence

    edits: dict[str, tuple[dict[str, dict[str, Any]], tuple[str, ...]]] = {
        "low checks in daily": ({"low": {"check_in_every": EachBusinessDay()}}, ()),
        "high drops its review": ({"high": {"review_every": None}}, ()),
        "high checks in twice a week": ({"high": {"check_in_every": TimesPerWeek(2)}}, ()),
        "cadences swapped": (
            {"high": {"cadence": Cadence.WEEKLY}, "low": {"cadence": Cadence.DAILY}},
            (),
        ),
    }
    return _office_edited(*edits[name])


def _snapshot(engine: PolicyEngine) -> dict[str, Any]:
    return json.loads(json.dumps(make_converter(engine.policy).unstructure(engine.snapshot())))


def _keys(items: Any) -> list[tuple[str, str | None]]:
    return [(item.obligation, item.key) for item in items]


# ------------------------------------------------------------------------ what re-planning says
@pytest.mark.parametrize(
    ("change", "severity", "plan", "added", "removed", "changed"),
    [
        pytest.param(
            "low checks in daily", "low", [], [("check_in", None)], [], [], id="period-added"
        ),
        pytest.param(
            "high drops its review", "high", [], [], [("review", None)], [], id="period-removed"
        ),
        pytest.param(
            "high checks in twice a week",
            "high",
            [],
            [],
            [],
            [("check_in", None)],
            id="period-changed",
        ),
        pytest.param(
            "cadences swapped",
            "high",
            [("cadence", "daily", "weekly")],
            [],
            [],
            [],
            id="cadence-changed",
        ),
    ],
)
def test_re_planning_under_a_changed_policy_says_exactly_what_changed(
    engine_name: str,
    change: str,
    severity: str,
    plan: list[tuple[str, object, object]],
    added: list[tuple[str, str | None]],
    removed: list[tuple[str, str | None]],
    changed: list[tuple[str, str | None]],
) -> None:
    """Opened on Monday 9 March, asked on Tuesday, re-planned on Wednesday at 10:00: each
    change of the policy adds, removes or changes exactly the obligations it touches; the
    others keep their due times."""
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10), severity=severity))
    engine.handle(fact("asked", ny(10, 15)))
    engine.handle(tick(ny(11, 10)))
    before = {(p.obligation, p.key): p for p in engine.escalations()[0].pending}
    new = variant(change)
    restored = PolicyEngine.restore(_snapshot(engine), new, engine=engine_name, replan=True)  # type: ignore[arg-type]
    (replanned,) = restored.replan()
    assert plan == [(c.field, c.before, c.after) for c in replanned.plan]
    assert (added, removed, changed) == (
        _keys(replanned.added),
        _keys(replanned.removed),
        _keys(replanned.changed),
    )
    assert None is replanned.calendar, "the calendar did not change"
    after = {(p.obligation, p.key): p for p in restored.escalations()[0].pending}
    untouched = set(before) - set(_keys(replanned.removed)) - set(_keys(replanned.changed))
    assert {key: before[key] for key in untouched} == {key: after[key] for key in untouched}
    now = dt.datetime.fromisoformat(ny(11, 10))
    for pending in replanned.added:
        assert pending.due > now, "a new period starts when re-planned"
    assert () == restored.replan(), "planned under this policy: nothing more to do"


@functools.cache
def handbook_without(reaction: str) -> Policy:
    """The handbook's policy without one of its tracker reactions."""
    from escalation_policy import rules
    from escalation_policy.rules import tracker

    edited = types.ModuleType(tracker.__name__)
    edited.__dict__.update({k: v for k, v in vars(tracker).items() if not k.startswith("__")})
    edited.REACTIONS = tuple(r for r in tracker.REACTIONS if r.id != reaction)  # type: ignore[attr-defined]
    return load_policy([edited if name == tracker.__name__ else name for name in rules.MODULES])


def _raised(engine_name: str) -> PolicyEngine:
    """An engine that has taken the first four facts of ``examples/severity-change.jsonl``: a
    Medium escalation opened, then raised."""
    lines = (ROOT / "examples" / "severity-change.jsonl").read_text().splitlines()[:4]
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    for line in lines:
        engine.handle(json.loads(line))
    return engine


def test_an_obligation_whose_rule_is_gone_is_removed(engine_name: str) -> None:
    """Raised from Medium to Critical, an escalation owes an update of its executive summary: a
    policy without that rule removes it, and nothing else (other rules still require such
    updates)."""
    engine = _raised(engine_name)
    pending = engine.escalations()[0].pending
    assert ("executive_summary", None) in _keys(pending)
    new = handbook_without("tracker.summary_on_severity_change")
    restored = PolicyEngine.restore(_snapshot(engine), new, engine=engine_name, replan=True)  # type: ignore[arg-type]
    (replanned,) = restored.replan()
    assert ([], [("executive_summary", None)], []) == (
        _keys(replanned.added),
        _keys(replanned.removed),
        _keys(replanned.changed),
    )
    assert [p for p in pending if p.obligation != "executive_summary"] == list(
        restored.escalations()[0].pending
    )


EARLIER_HANDBOOK = "sha256:49be1d3e30114e184ed12a5daa7fdc8a9046976977ca1b4c631f99d881fac288"
"""The handbook's policy before the update after a raise was an obligation of its own."""


def test_an_obligation_its_rule_no_longer_requires_becomes_the_one_it_does(
    engine_name: str,
) -> None:
    """Under the earlier handbook, raised from Medium to High, an escalation owed the update
    as a `channel_post`; re-planned, it owes it as the `raise_update` its rule requires now,
    due when it was, and lowered back to Medium it no longer owes it."""
    engine = _raised(engine_name)
    earlier = _snapshot(engine)
    earlier["policy"] = EARLIER_HANDBOOK
    (update,) = [
        p for p in earlier["escalations"][0]["pending"] if p["obligation"] == "raise_update"
    ]
    update["obligation"] = "channel_post"
    restored = PolicyEngine.restore(earlier, engine=engine_name, replan=True)  # type: ignore[arg-type]
    (replanned,) = restored.replan()
    assert ([("raise_update", "update")], [("channel_post", "update")]) == (
        _keys(replanned.added),
        _keys(replanned.removed),
    )
    assert engine.escalations()[0].pending == restored.escalations()[0].pending
    lowered = {
        "type": "severity_changed",
        "at": "2026-05-12T08:00:00Z",
        "escalation_id": "ESC-330",
        "severity": "medium",
    }
    restored.handle(lowered)
    assert "raise_update" not in [p.obligation for p in restored.escalations()[0].pending]


def test_an_overdue_obligation_keeps_its_due_time(engine_name: str) -> None:
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10)))
    engine.handle(fact("asked", ny(9, 11)))
    engine.handle(tick(ny(11, 10)))
    (reply,) = [p for p in engine.escalations()[0].pending if p.obligation == "reply"]
    assert reply.overdue
    restored = PolicyEngine.restore(
        _snapshot(engine),
        variant("high checks in twice a week"),
        engine=engine_name,  # type: ignore[arg-type]
        replan=True,
    )
    (replanned,) = restored.replan()
    assert [("check_in", None)] == _keys(replanned.changed)
    assert [reply] == [p for p in restored.escalations()[0].pending if p.obligation == "reply"]


@pytest.mark.parametrize(
    ("change", "severity"),
    [
        ("low checks in daily", "low"),
        ("high drops its review", "high"),
        ("high checks in twice a week", "high"),
        ("cadences swapped", "high"),
    ],
)
def test_planned_again_at_its_opening_it_decides_as_if_opened_under_the_new_policy(
    engine_name: str, change: str, severity: str
) -> None:
    """Re-planned at the moment it opened, an escalation holds what it would hold had it
    opened under the new policy, and every later fact decides the same."""
    new = variant(change)
    old = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    fresh = PolicyEngine(new, engine=engine_name)  # type: ignore[arg-type]
    opening = opened(ny(9, 10), severity=severity)
    old.handle(opening)
    fresh.handle(opening)
    restored = PolicyEngine.restore(_snapshot(old), new, engine=engine_name, replan=True)  # type: ignore[arg-type]
    restored.replan()
    assert fresh.escalations() == restored.escalations()
    later = [
        fact("checked_in", ny(10, 11)),
        fact("reviewed", ny(11, 12), part="call"),
        fact("asked", ny(12, 9)),
        tick(ny(18, 9)),
        fact("replied", ny(18, 10)),
        tick(ny(25, 9)),
    ]
    for item in later:
        assert fresh.handle(item).actions == restored.handle(item).actions
    assert fresh.snapshot() == restored.snapshot()


# --------------------------------------------------------------------------------- refusals
def test_a_snapshot_of_another_policy_is_refused_and_names_both_policies() -> None:
    engine = PolicyEngine(office())
    engine.handle(opened(ny(9, 10)))
    snapshot = _snapshot(engine)
    new = variant("cadences swapped")
    with pytest.raises(PolicyChangedError) as refused:
        PolicyEngine.restore(snapshot, new)
    error = refused.value
    assert isinstance(error, InvalidSnapshotError)
    assert ("policy_changed", office().identity, new.identity) == (
        error.code,
        error.planned,
        error.loaded,
    )
    assert office().identity in str(error)
    assert new.identity in str(error)
    assert "replan=True" in str(error)
    assert "$.policy" == error.path
    assert snapshot == _snapshot(engine), "the snapshot is as it was"


def test_facts_wait_until_the_host_re_plans() -> None:
    """Restored to be re-planned: the escalations can be read, a snapshot still says which
    policy planned them, and a fact is refused (changing nothing) until `replan()`."""
    engine = PolicyEngine(office())
    engine.handle(opened(ny(9, 10)))
    new = variant("cadences swapped")
    restored = PolicyEngine.restore(_snapshot(engine), new, replan=True)
    held = restored.escalations()
    with pytest.raises(PolicyChangedError, match=r"call replan\(\) first"):
        restored.handle(tick(ny(9, 11)))
    assert (held, dt.datetime.fromisoformat(ny(9, 10))) == (restored.escalations(), restored.clock)
    assert office().identity == restored.snapshot().policy
    with pytest.raises(PolicyChangedError):
        PolicyEngine.restore(make_converter(new).unstructure(restored.snapshot()), new)
    restored.replan()
    assert new.identity == restored.snapshot().policy
    assert [] == [a.TYPE for a in restored.handle(tick(ny(9, 11))).actions]


def test_a_snapshot_holding_no_escalation_is_taken_under_any_policy() -> None:
    engine = PolicyEngine(office())
    engine.handle(tick(ny(9, 10)))
    restored = PolicyEngine.restore(_snapshot(engine), variant("cadences swapped"))
    assert variant("cadences swapped").identity == restored.snapshot().policy


def test_a_dry_run_changes_nothing(engine_name: str) -> None:
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    engine.handle(opened(ny(9, 10)))
    restored = PolicyEngine.restore(
        _snapshot(engine),
        variant("high drops its review"),
        engine=engine_name,  # type: ignore[arg-type]
        replan=True,
    )
    before = restored.snapshot()
    would = restored.replan(dry_run=True)
    assert before == restored.snapshot()
    with pytest.raises(PolicyChangedError):
        restored.handle(tick(ny(9, 11)))
    assert would == restored.replan()
    assert before != restored.snapshot()


# ---------------------------------------------------------------------------------- stores
def _states(url: str) -> list[tuple[str, str | None]]:
    from escalation_policy import open_store

    with open_store(url) as store:
        return [(row.escalation_id, row.state) for row in store.states()]


def test_a_store_planned_under_another_policy_is_refused_until_re_planned(
    new_store_url: Any, engine_name: str
) -> None:
    url = new_store_url()
    new = variant("high drops its review")
    with Service(url, office(), engine=engine_name) as service:  # type: ignore[arg-type]
        service.handle(opened(ny(9, 10)))
    kept = _states(url)
    with pytest.raises(PolicyChangedError, match="escalation-policy replan") as refused:
        Service(url, new, engine=engine_name)  # type: ignore[arg-type]
    assert (office().identity, new.identity) == (refused.value.planned, refused.value.loaded)
    with Service(url, new, engine=engine_name, replan=True) as service:  # type: ignore[arg-type]
        assert 1 == service.status().escalations, "it reads"
        with pytest.raises(PolicyChangedError, match=r"call replan\(now\) first"):
            service.handle(tick(ny(9, 11)))
        with pytest.raises(PolicyChangedError):
            service.run_due(dt.datetime.fromisoformat(ny(20, 9)))
        assert office().identity == service.snapshot().policy
        now = dt.datetime.fromisoformat(ny(9, 12))
        (would,) = service.replan(now, dry_run=True)
        assert kept == _states(url)
        with pytest.raises(PolicyChangedError):
            service.handle(tick(ny(9, 11)))
        (done,) = service.replan(now)
        assert would == done
        assert [("review", None)] == _keys(done.removed)
        assert new.identity == service.snapshot().policy
        service.handle(tick(ny(9, 13)))
    assert kept != _states(url)
    with Service(url, new, engine=engine_name) as service:  # type: ignore[arg-type]
        assert [] == [p for p in service.escalations()[0].pending if p.obligation == "review"]
        assert () == service.replan(now)
    with pytest.raises(PolicyChangedError):
        Service(url, office(), engine=engine_name)  # type: ignore[arg-type]


def test_a_store_and_an_engine_re_plan_alike(new_store_url: Any, engine_name: str) -> None:
    url = new_store_url()
    new = variant("high checks in twice a week")
    history = [opened(ny(9, 10)), fact("asked", ny(10, 15)), tick(ny(11, 10))]
    engine = PolicyEngine(office(), engine=engine_name)  # type: ignore[arg-type]
    with Service(url, office(), engine=engine_name) as service:  # type: ignore[arg-type]
        for item in history:
            engine.handle(item)
            service.handle(item)
    now = dt.datetime.fromisoformat(ny(11, 10))
    restored = PolicyEngine.restore(_snapshot(engine), new, engine=engine_name, replan=True)  # type: ignore[arg-type]
    with Service(url, new, engine=engine_name, replan=True) as service:  # type: ignore[arg-type]
        assert restored.replan(now) == service.replan(now)
        assert restored.escalations() == service.escalations()


def test_an_unreadable_state_names_the_policies_when_re_planning(new_store_url: Any) -> None:
    """A store of the office policy re-planned under the handbook's: the handbook cannot read
    its states, and the error says which policy planned them."""
    url = new_store_url()
    with Service(url, office()) as service:
        service.handle(opened(ny(9, 10)))
    with (
        Service(url, default_policy(), replan=True) as service,
        pytest.raises(PolicyChangedError, match="cannot read the state of 'E1'") as refused,
    ):
        service.replan(dt.datetime.fromisoformat(ny(9, 12)))
    assert office().identity in str(refused.value)
    assert "Structuring" not in str(refused.value)


# ---------------------------------------------------------------------------- the command line
def _package(tmp_path: pathlib.Path) -> pathlib.Path:
    """The office policy with the high row's review dropped, as a package folder."""
    package = tmp_path / "office_without_review"
    package.mkdir()
    (package / "__init__.py").write_text(
        'MODULES = ("office_without_review.rules",)\nSECTIONS = ("Office hours",)\n'
    )
    (package / "rules.py").write_text(
        "import attrs\n\n"
        "from tests.policies.office.rules import *  # noqa: F403\n"
        "from tests.policies.office.rules import TABLES as _TABLES\n\n"
        "(_PLAN,) = _TABLES\n"
        "TABLES = (\n"
        "    attrs.evolve(\n"
        "        _PLAN,\n"
        "        rows=tuple(\n"
        "            attrs.evolve(row, then={**row.then, 'review_every': None})\n"
        "            for row in _PLAN.rows\n"
        "        ),\n"
        "    ),\n"
        ")\n"
    )
    return package


def test_the_commands_refuse_a_changed_policy_and_replan_says_what_changed(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_store_url()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(opened(ny(9, 10))) + "\n")
    office_policy = ["--policy", "tests.policies.office"]
    assert 0 == main(["run", "--store", url, "--format", "json", *office_policy, str(feed)])
    changed = ["--store", url, "--policy", str(_package(tmp_path))]
    later = tmp_path / "later.jsonl"
    later.write_text(json.dumps(tick(ny(9, 13))) + "\n")
    capsys.readouterr()
    assert 2 == main(["run", *changed, "--format", "json", str(later)])
    error = capsys.readouterr().err
    assert office().identity in error
    assert "escalation-policy replan" in error
    for command in (["status"], ["refused"], ["dead-letters"]):
        assert 0 == main([*command, *changed]), command
    capsys.readouterr()
    now = ["--now", ny(9, 12)]
    assert 0 == main(["replan", *changed, *now, "--dry-run", "--format", "text"])
    text = capsys.readouterr().out
    assert text.startswith("E1: would re-plan\n")
    assert "  removed  review: due " in text
    assert "[office.plan/high]" in text
    assert 0 == main(["replan", *changed, *now])
    (done,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (True, [], []) == (done["applied"], done["added"], done["changed"])
    assert ["review"] == [item["obligation"] for item in done["removed"]]
    assert 0 == main(["run", *changed, "--format", "json", str(later)])
    assert 0 == main(["replan", *changed, *now])
    assert "" == capsys.readouterr().out


# ------------------------------------------------------------------------------- properties
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories(policy=office()))
def test_re_deriving_under_the_same_policy_changes_nothing(history: list[Any]) -> None:
    """Whatever the history, deriving an escalation's plan again under the policy that made
    it reports nothing and changes nothing."""
    policy = office()
    engine = PolicyEngine(policy)
    for item in history:
        engine.handle(item)
    for state in engine.escalations():
        if state.status == AWAITING_OPENING:
            continue
        record = Record.thaw(state)
        assert engine.clock is not None
        at = engine.clock
        assert None is replan_record(policy, shared_matcher(policy), record, at, rederive=True)
        assert state == record.freeze()


# --------------------------------------------------------------------------------- status
def test_status_counts_the_escalations_awaiting_their_opening_apart(
    new_store_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A post about an escalation whose opening has not arrived yet is held for it: the
    escalation is not open, and `status` says how many wait so."""
    url = new_store_url()
    policy = load_policy("escalation_policy.rules", opening_grace=dt.timedelta(minutes=5))
    post = {
        "type": "posted",
        "at": "2026-03-02T09:41:00Z",
        "escalation_id": "E9",
        "channel": "#escalated_customers",
        "purpose": "update",
        "by": "tam",
    }
    with Service(url, policy) as service:
        service.handle(post)
        status = service.status()
    assert (0, 1) == (status.escalations, status.awaiting_opening)
    assert 0 == main(["status", "--store", url])
    shown = json.loads(capsys.readouterr().out)
    assert (0, 1) == (shown["escalations"], shown["awaiting_opening"])
