"""Handbook section "Definitions of Severity Levels".

    - Cadence refers to the cadence of internal and external meetings and communications to the
      customer.
    - Level of involvement defines scope of internal communication and awareness. Others can be
      included based on the type of issues involved.

The cadence column governs meetings (internal, customer or executive) and customer
communication; channel updates are governed by the communication process
(see docs/policy-decisions.md, "Cadence and daily updates"). An escalation of broad impact
keeps no meeting or customer-communication cadence: "the customer engagement model will
differ" (Scope).
"""

import datetime as dt

from escalation_policy.vocabulary import (
    BOOL,
    ApplyPlan,
    ContextField,
    DecisionTable,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    Setting,
    Situation,
    one_of,
)

from .terms import (
    Cadence,
    CustomerContacted,
    IssueTypeChanged,
    MeetingAudience,
    MeetingHeld,
    Opened,
    Role,
    Severity,
    SeverityChanged,
    TamAssigned,
    ViolationCode,
)

SEVERITY_LEVELS = "Definitions of Severity Levels"

# The longest allowed gap between two meetings, for each cadence. Days are calendar days.
DAILY = dt.timedelta(days=1)
MULTIPLE_TIMES_PER_WEEK = dt.timedelta(days=3, hours=12)  # twice a week at the least
WEEKLY_TO_BI_WEEKLY = dt.timedelta(days=14)  # bi-weekly at the least

# The gaps as settings: load_policy(settings=...) changes them without editing rules.
DAILY_GAP = Setting(
    name="daily_gap",
    default=DAILY,
    description="the longest gap between meetings, and communications, at a Daily cadence",
)
MULTIPLE_PER_WEEK_GAP = Setting(
    name="multiple_per_week_gap",
    default=MULTIPLE_TIMES_PER_WEEK,
    description="the same at a cadence of Multiple times per week",
)
BIWEEKLY_GAP = Setting(
    name="weekly_to_biweekly_gap",
    default=WEEKLY_TO_BI_WEEKLY,
    description="the same at a Weekly to Bi-weekly cadence",
)

EXECUTIVES = (Role.VP_SALES, Role.PRODUCT, Role.CRO, Role.CEO, Role.VP_CUSTOMER_SUCCESS)

OUTPUTS = {
    "description": "text: the handbook's description of the severity level",
    "meeting_every": "duration or null: the longest allowed gap between meetings",
    "contact_every": "duration or null: the longest allowed gap between communications to "
    "the customer",
}

_ORDER = {severity.value: rank for rank, severity in enumerate(Severity)}  # most severe first


def _ranks(situation: Situation) -> tuple[int, int]:
    """The severity's rank before the fact and after it (0: the most severe)."""
    before: Severity = situation.previous["severity"]  # type: ignore[assignment]
    now: Severity = situation.record.severity
    return _ORDER[before.value], _ORDER[now.value]


def _raised(situation: Situation) -> bool:
    before, now = _ranks(situation)
    return now < before


def _lowered(situation: Situation) -> bool:
    before, now = _ranks(situation)
    return now > before


CONTEXT = (
    ContextField("severity_raised", BOOL, _raised, frozenset({SeverityChanged.TYPE})),
    ContextField("severity_lowered", BOOL, _lowered, frozenset({SeverityChanged.TYPE})),
)
"""Whether a change of severity raised it or lowered it, by the severities' order."""

MEETING = Obligation(
    id="meeting",
    violation=ViolationCode.MEETING_OVERDUE,
    missed="no meeting was held by {due}",
)
"""A meeting at the cadence's longest allowed gap (the table output ``meeting_every``)."""

CUSTOMER_COMMUNICATION = Obligation(
    id="customer_communication",
    violation=ViolationCode.CUSTOMER_COMMUNICATION_OVERDUE,
    missed="the customer was not communicated with by {due}",
)
"""Communication to the customer at the cadence (the table output ``contact_every``): a
message, or a meeting with the customer or its executives."""

OBLIGATIONS = (MEETING, CUSTOMER_COMMUNICATION)

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
        outputs=("meeting_every", "contact_every"),
        # "Cadence refers to the cadence of internal and external meetings and communications to
        # the customer": both at the same longest gap.
        rows=(
            Row(
                id="daily",
                when={"cadence": Cadence.DAILY},
                then={"meeting_every": DAILY_GAP, "contact_every": DAILY_GAP},
            ),
            Row(
                id="multiple_per_week",
                when={"cadence": Cadence.MULTIPLE_PER_WEEK},
                then={
                    "meeting_every": MULTIPLE_PER_WEEK_GAP,
                    "contact_every": MULTIPLE_PER_WEEK_GAP,
                },
            ),
            Row(
                id="weekly_to_biweekly",
                when={"cadence": Cadence.WEEKLY_TO_BIWEEKLY},
                then={"meeting_every": BIWEEKLY_GAP, "contact_every": BIWEEKLY_GAP},
            ),
            # "Standard Communication": the ordinary account rhythm, no escalation meetings.
            Row(
                id="standard",
                when={"cadence": Cadence.STANDARD},
                then={"meeting_every": None, "contact_every": None},
            ),
        ),
    ),
    DecisionTable(
        id="severity.issue_type_involvement",
        title="Others included based on the type of issues involved",
        cites=SEVERITY_LEVELS,
        hit_policy=HitPolicy.COLLECT,
        inputs=("issue_type",),
        outputs=("extra_involvement",),
        # The handbook names no issue types; these are the policy's (docs/policy-decisions.md).
        rows=(
            Row(
                id="security",
                when={"issue_type": "security"},
                then={"extra_involvement": (Role.SECURITY,)},
            ),
            Row(
                id="defect",
                when={"issue_type": "defect"},
                then={"extra_involvement": (Role.ENGINEERING,)},
            ),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="severity.plan",
        title="An escalation gets the owner, involvement and cadence of its severity, "
        "re-planned when the severity, the TAM or the type of issue changes",
        cites=SEVERITY_LEVELS,
        on=(Opened, SeverityChanged, TamAssigned, IssueTypeChanged),
        then=(ApplyPlan(),),
    ),
    # "This can also be leveraged for issues that affect a broad number of customers though the
    # customer engagement model will differ": the cadence of meetings and of communication to
    # the customer is a single account's, and a broad-impact escalation has its own.
    Reaction(
        id="severity.account_cadence",
        title="Meetings and communication to the customer keep the cadence of the severity, "
        "for an escalation about one account",
        cites=f"{SEVERITY_LEVELS}; Scope",
        on=(Opened, SeverityChanged, TamAssigned, IssueTypeChanged),
        when={"broad_impact": False},
        then=(
            Require(obligation=MEETING, every="meeting_every"),
            Require(obligation=CUSTOMER_COMMUNICATION, every="contact_every"),
        ),
    ),
    Reaction(
        id="severity.meeting_held",
        title="A meeting keeps the cadence",
        cites=SEVERITY_LEVELS,
        on=(MeetingHeld,),
        then=(Fulfil(obligation=MEETING),),
    ),
    Reaction(
        id="severity.customer_communicated",
        title="Communicating with the customer, or meeting the customer or its executives, "
        "keeps the cadence of customer communication",
        cites=SEVERITY_LEVELS,
        on=(CustomerContacted,),
        then=(Fulfil(obligation=CUSTOMER_COMMUNICATION),),
    ),
    Reaction(
        id="severity.customer_met",
        title="A meeting with the customer or its executives is communication with the customer",
        cites=SEVERITY_LEVELS,
        on=(MeetingHeld,),
        when={"audience": one_of(MeetingAudience.CUSTOMER, MeetingAudience.EXECUTIVE)},
        then=(Fulfil(obligation=CUSTOMER_COMMUNICATION),),
    ),
)
