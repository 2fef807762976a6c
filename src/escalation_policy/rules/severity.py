"""Handbook section "Definitions of Severity Levels".

    - Cadence refers to the cadence of internal and external meetings and communications to the
      customer.
    - Level of involvement defines scope of internal communication and awareness. Others can be
      included based on the type of issues involved.

The cadence column governs meetings (internal, customer or executive) and customer
communication; channel updates are governed by the communication process
(see docs/policy-decisions.md, "Cadence and daily updates").
"""

import datetime as dt

from escalation_policy.vocabulary import (
    ApplyPlan,
    DecisionTable,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
)

from .terms import (
    Cadence,
    MeetingHeld,
    Opened,
    Role,
    Severity,
    SeverityChanged,
    ViolationCode,
)

SEVERITY_LEVELS = "Definitions of Severity Levels"

# The longest allowed gap between two meetings, for each cadence. Days are calendar days.
DAILY = dt.timedelta(days=1)
MULTIPLE_TIMES_PER_WEEK = dt.timedelta(days=3, hours=12)  # twice a week at the least
WEEKLY_TO_BI_WEEKLY = dt.timedelta(days=14)  # bi-weekly at the least

EXECUTIVES = (Role.VP_SALES, Role.PRODUCT, Role.CRO, Role.CEO, Role.VP_CUSTOMER_SUCCESS)

OUTPUTS = {
    "description": "text: the handbook's description of the severity level",
    "meeting_every": "duration or null: the longest allowed gap between meetings",
}

MEETING = Obligation(
    id="meeting",
    violation=ViolationCode.MEETING_OVERDUE,
    missed="no meeting was held by {due}",
)
"""A meeting at the cadence's longest allowed gap (the table output ``meeting_every``)."""

OBLIGATIONS = (MEETING,)

TABLES = (
    DecisionTable(
        id="severity.levels",
        title="Severity levels: description, cadence and levels of involvement",
        cites=SEVERITY_LEVELS,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("description", "cadence", "involvement"),
        columns={
            "severity": "Severity Level",
            "description": "Description",
            "cadence": "Cadence",
            "involvement": "Levels of Involvement",
        },
        rows=(
            Row(
                id="critical",
                when={"severity": Severity.CRITICAL},
                then={
                    "description": (
                        "Major issue(s) significantly impacting a customer's ability to deploy "
                        "and/or use a solution, risking loss of and/or use a solution, risking "
                        "loss of customer and/or significant risk to the relationship and brand."
                    ),
                    "cadence": Cadence.DAILY,
                    "involvement": EXECUTIVES,
                },
            ),
            Row(
                id="high",
                when={"severity": Severity.HIGH},
                then={
                    "description": (
                        "Major issue(s) significantly impacting a customer's ability to deploy "
                        "and/or use a solution, risking current adoption, future growth on the "
                        "account and damage to the relationship."
                    ),
                    "cadence": Cadence.MULTIPLE_PER_WEEK,
                    "involvement": EXECUTIVES,
                },
            ),
            Row(
                id="medium",
                when={"severity": Severity.MEDIUM},
                then={
                    "description": (
                        "Issue(s) impacting a customer's ability to deploy and/or use the "
                        "product, risking current adoption and renewal."
                    ),
                    "cadence": Cadence.WEEKLY_TO_BIWEEKLY,
                    "involvement": (Role.VP_SALES, Role.VP_CUSTOMER_SUCCESS),
                },
            ),
            Row(
                id="low",
                when={"severity": Severity.LOW},
                then={
                    "description": (
                        "Issue(s) impacting a customer's ability to deploy and/or use the "
                        "product, risking customer value realization, timeline, customer "
                        "satisfaction and adoption levels."
                    ),
                    "cadence": Cadence.STANDARD,
                    "involvement": (Role.DIRECTOR_CUSTOMER_SUCCESS, Role.ACCOUNT_MANAGER),
                },
            ),
        ),
    ),
    DecisionTable(
        id="severity.cadence",
        title="How often meetings must be held at each cadence",
        cites=SEVERITY_LEVELS,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("cadence",),
        outputs=("meeting_every",),
        rows=(
            Row(id="daily", when={"cadence": Cadence.DAILY}, then={"meeting_every": DAILY}),
            Row(
                id="multiple_per_week",
                when={"cadence": Cadence.MULTIPLE_PER_WEEK},
                then={"meeting_every": MULTIPLE_TIMES_PER_WEEK},
            ),
            Row(
                id="weekly_to_biweekly",
                when={"cadence": Cadence.WEEKLY_TO_BIWEEKLY},
                then={"meeting_every": WEEKLY_TO_BI_WEEKLY},
            ),
            # "Standard Communication": the ordinary account rhythm, no escalation meetings.
            Row(id="standard", when={"cadence": Cadence.STANDARD}, then={"meeting_every": None}),
        ),
    ),
    DecisionTable(
        id="severity.issue_type_involvement",
        title="Others included based on the type of issues involved",
        cites=SEVERITY_LEVELS,
        hit_policy=HitPolicy.COLLECT,
        inputs=("issue_type",),
        outputs=("extra_involvement",),
        # The handbook names no issue types. A row looks like:
        #   Row(id="enhancement", when={"issue_type": "enhancement"},
        #       then={"extra_involvement": (Role.PRODUCT,)}),
        rows=(),
    ),
)

REACTIONS = (
    Reaction(
        id="severity.plan",
        title="An escalation gets the owner, involvement and meeting cadence of its severity, "
        "re-planned when the severity changes",
        cites=SEVERITY_LEVELS,
        on=(Opened, SeverityChanged),
        then=(ApplyPlan(), Require(obligation=MEETING, every="meeting_every")),
    ),
    Reaction(
        id="severity.meeting_held",
        title="A meeting keeps the cadence",
        cites=SEVERITY_LEVELS,
        on=(MeetingHeld,),
        then=(Fulfil(obligation=MEETING),),
    ),
)
