"""A new owner is told, once, what is still due of the obligations announced again on a new
owner: with the due time the same fact re-planned, and nothing of what it dropped."""

import datetime as dt
from typing import Any

import pytest

from escalation_policy import PolicyEngine, load_policy

POLICY = load_policy("tests.policies.new_owner")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def _fact(type_: str, at: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "at": at.isoformat(), "escalation_id": "E", **fields}


@pytest.mark.parametrize(
    ("severity", "announced"),
    [
        pytest.param("low", [("desk", T0 + 2 * dt.timedelta(hours=1) + 3 * DAY)], id="new period"),
        pytest.param("medium", [("desk", T0 + DAY)], id="same period"),
        pytest.param("minor", [], id="no period"),
    ],
)
def test_a_new_owner_is_told_once_what_stays_due(
    engine_name: str, severity: str, announced: list[tuple[str, dt.datetime]]
) -> None:
    """High (the leads, updates daily) changed two hours later: Low (the desk, every three
    days) announces the new due time only, not the old one first; Medium (the desk, daily)
    announces the old due time to the desk; Minor (no updates) announces nothing."""
    engine = PolicyEngine(POLICY, engine=engine_name)  # type: ignore[arg-type]
    opened = engine.handle(_fact("opened", T0, customer="Acme", severity="high"))
    assert [("leads", T0 + DAY)] == [
        (a.by.value, a.due) for a in opened.actions if a.TYPE == "update_due"
    ]
    changed = T0 + dt.timedelta(hours=2)
    decision = engine.handle(_fact("severity_changed", changed, severity=severity))
    assert announced == [(a.by.value, a.due) for a in decision.actions if a.TYPE == "update_due"]
    state = engine.escalation("E")
    assert state is not None
    assert [due for _, due in announced] == [p.due for p in state.pending]
