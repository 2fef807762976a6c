"""A post for awareness about an escalation that is no longer open is taken as it is.

"The #escalated_customers channel is for awareness only ... NOT intended for: Initiation of
escalations; The detailed tracking and interactions for the escalation" (Communication
Process): an update, closing or risk-reduced post about an escalation that closed (its closing
post made, so the engine no longer holds it) is neither initiation nor tracking, and no one's
mistake to refuse; a tracking post still is the channel's misuse.
"""

import datetime as dt
from typing import Any

import pytest

from escalation_policy import PolicyEngine

OPENED = {
    "type": "opened",
    "at": "2026-03-02T09:00:00Z",
    "escalation_id": "E1",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "medium",
    "initiated_by": "support_engineering",
}
CHANNEL = "#escalated_customers"


def post(at: str, purpose: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "posted",
        "at": at,
        "escalation_id": "E1",
        "channel": CHANNEL,
        "purpose": purpose,
        "by": "support_engineering",
        "url": "https://docs.example/e1",
        **fields,
    }


@pytest.mark.parametrize(
    ("case", "purpose", "codes"),
    [
        ("an update the day after", "update", []),
        ("the closing post again", "closed", []),
        ("risk reduced, late", "risk_reduced", []),
        ("detailed tracking", "tracking", ["channel_misuse"]),
    ],
)
def test_a_post_about_a_closed_escalation(
    engine_name: str, case: str, purpose: str, codes: list[str]
) -> None:
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    for fact in (
        OPENED,
        post("2026-03-02T09:30:00Z", "created"),
        {"type": "closed", "at": "2026-03-03T10:00:00Z", "escalation_id": "E1"},
        post("2026-03-03T11:00:00Z", "closed"),
    ):
        engine.handle(fact)
    assert engine.escalation("E1") is None  # closed, its closing post made: forgotten
    held = engine.handle(post("2026-03-04T11:00:00Z", purpose))
    # Held for an opening (the id might be reused a moment later), which does not come.
    # The grace: an hour of open time, in whichever zone an opening might give.
    ends = engine.policy.held_until(dt.datetime(2026, 3, 4, 11, tzinfo=dt.timezone.utc))
    after = engine.handle({"type": "tick", "at": (ends + dt.timedelta(minutes=10)).isoformat()})
    actions = [*held.actions, *after.actions]
    assert codes == [str(a.code) for a in actions if a.TYPE == "violation"], case
    assert engine.escalation("E1") is None
