"""The context reactions are matched against, and the native matcher's keys read from it."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import given

from escalation_policy import PolicyEngine, default_policy
from escalation_policy._core.matching import Plan, evaluate_plan
from escalation_policy._engines.native import NativeMatcher
from escalation_policy._language.context import Situation
from escalation_policy.model import Fact
from escalation_policy.rules import Opened, Posted, PostPurpose, Segment, Severity, Team
from escalation_policy.testing import strategies
from tests.conftest import row

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
CONTEXT = default_policy().context
context_of, fields_for, key_reader = CONTEXT.context_of, CONTEXT.fields_for, CONTEXT.key_reader


class Spy:
    """Wraps the native matcher: records each situation and checks the memoised answer."""

    def __init__(self, engine: PolicyEngine) -> None:
        self.native = NativeMatcher(engine.policy)
        self.seen: list[tuple[str, dict[str, object]]] = []

    def table_rows(self, index: int, inputs: Any) -> Sequence[int]:
        return self.native.table_rows(index, inputs)

    def reactions(self, fact_type: str, full: Any) -> Sequence[int]:
        return self.native.reactions(fact_type, full)

    def reactions_about_unknown(self, fact_type: str, full: Any) -> Sequence[int]:
        return self.native.reactions_about_unknown(fact_type, full)

    def plan(self, base: Any) -> Plan:
        return evaluate_plan(self.native._policy, self, base)

    def generated(self, fact_type: str) -> None:
        return None  # every match is checked in reactions_for

    def reactions_for(self, fact_type: str, situation: Situation) -> Sequence[int]:
        full = context_of(fact_type, situation)
        self.seen.append((fact_type, full))
        tested = self.native._tested.get(fact_type, ())
        assert key_reader(tested)(situation) == tuple(full.get(field) for field in tested)
        every = fields_for(fact_type)
        assert key_reader(every)(situation) == tuple(full.get(field) for field in every)
        answer = list(self.native.reactions_for(fact_type, situation))
        unmemoised = [
            index
            for index, compiled in enumerate(self.native._policy.reactions)
            if compiled.known
            and fact_type in compiled.types
            and all(c.matches(full) for c in compiled.conditions)
        ]
        assert answer == unmemoised
        return answer


def spied_engine() -> tuple[PolicyEngine, Spy]:
    engine = PolicyEngine()
    spy = Spy(engine)
    engine._matcher = spy
    return engine, spy


def test_every_context_field_is_declared_once_with_its_reading() -> None:
    assert [f.name for f in CONTEXT.fields] == list(CONTEXT.domains)
    assert len(CONTEXT.fields) == len({f.name for f in CONTEXT.fields})
    for fact_type, own in CONTEXT.fact_fields.items():
        assert own <= set(fields_for(fact_type))
    assert not set(fields_for("tick")) & {f for own in CONTEXT.fact_fields.values() for f in own}


def test_the_context_is_derived_from_the_policys_terms() -> None:
    """The escalation's attributes, the facts' value fields, the engine's own fields, the
    previous value of what a fact sets, and the fields the policy computes."""
    domains = CONTEXT.domains
    assert ("critical", "high", "medium", "low") == domains["severity"]
    assert domains["issue_type"] is None  # free text
    assert ("critical", "high", "medium", "low") == domains["previous_severity"]
    assert {"posted"} == set(CONTEXT.by_name["purpose"].facts or ())
    assert {"active", "risk_reduced", "closed"} == set(domains["status"] or ())
    assert {"tam", "support_engineering", "customer_success", "other"} == set(
        domains["owner"] or ()
    )
    assert {"tam_assigned", "escalation_channel", "by_owner"} <= set(domains)
    assert "channel" not in domains  # free text of a fact: what rules test is computed


def test_a_post_is_matched_against_the_escalation_and_the_post() -> None:
    engine, spy = spied_engine()
    engine.handle(
        Opened(
            at=AT,
            escalation_id="ESC-1",
            customer="Acme",
            segment=Segment.ENTERPRISE,
            severity=Severity.HIGH,
            tam="Alex",
        )
    )
    engine.handle(
        Posted(
            at=AT,
            escalation_id="ESC-1",
            channel=engine.policy.channel,
            purpose=PostPurpose.CREATED,
            by=Team.SUPPORT_ENGINEERING,
        )
    )
    fact_type, full = spy.seen[-1]
    owner = engine.escalation("ESC-1").owner  # type: ignore[union-attr]
    assert fact_type == "posted"
    assert full == {
        "customer": "Acme",
        "tam": "Alex",
        "severity": "high",
        "segment": "enterprise",
        "strategic_partnership": False,
        "broad_impact": False,
        "initiated_by": "other",
        "in_scope": True,
        "owner": owner.value,  # type: ignore[union-attr]
        "cadence": row("severity.levels", severity="high").then["cadence"].value,
        "status": "active",
        "tam_assigned": True,
        "purpose": "created",
        "by": "support_engineering",
        "escalation_channel": True,
        "by_owner": owner is Team.SUPPORT_ENGINEERING,
        "by_initiator": False,
        "linked": False,
        "raise_update_owed": False,
        "tam_opened": False,
        "tam_told": True,  # Alex owns the High escalation: Alex knows of it
        "escalated": True,
    }


@given(strategies.histories())
def test_memo_keys_and_answers_agree_with_the_full_context(history: list[Fact]) -> None:
    engine, spy = spied_engine()
    for fact in history:
        engine.handle(fact)
    for fact_type, full in spy.seen:
        assert set(full) <= set(fields_for(fact_type))
        assert None not in full.values()


def test_a_context_function_counts_open_time_on_the_escalations_calendar() -> None:
    """``Situation.open_time``: the handbook's business days, 09:00 to 17:00, in the zone the
    escalation's calendar is moved to; no time for an end not after the start."""
    policy = default_policy()
    friday = dt.datetime(2026, 3, 6, 16, 30, tzinfo=dt.timezone.utc)

    def open_time(calendar: str, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        record = policy.terms.record.blank()
        record.calendar = calendar
        situation = Situation(policy, record, None, "", {}, None, None)
        return situation.open_time(start, end)

    hours = dt.timedelta(hours=1)
    assert open_time("business_days", friday, friday + 2.25 * hours) == 0.5 * hours
    monday = dt.datetime(2026, 3, 9, 9, 45, tzinfo=dt.timezone.utc)
    assert open_time("business_days", friday, monday) == 1.25 * hours
    assert open_time("business_days", monday, friday) == dt.timedelta(0)
    # 11:30 to 13:45 in New York: all of it open.
    zoned = "business_days@America/New_York"
    assert open_time(zoned, friday, friday + 2.25 * hours) == 2.25 * hours
