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

from escalation_policy.vocabulary import (
    BOOL,
    ApplyPlan,
    Calendar,
    Calendars,
    ContextField,
    DecisionTable,
    EachBusinessDay,
    Fulfil,
    HitPolicy,
    Obligation,
    Pause,
    Reaction,
    Require,
    Resume,
    Row,
    Setting,
    Situation,
    TimesPerWeek,
    one_of,
)

from .terms import (
    Cadence,
    CustomerContacted,
    CustomerResponded,
    IssueTypeChanged,
    MeetingAudience,
    MeetingHeld,
    Opened,
    RiskReduced,
    Role,
    Severity,
    SeverityChanged,
    Status,
    TamAssigned,
    ViolationCode,
    WaitingOnCustomer,
)

SEVERITY_LEVELS = "Definitions of Severity Levels"

# The business calendar every escalation's clocks count on: Monday to Friday, 09:00 to 17:00,
# in UTC unless the opening fact gives the customer's time zone (``time_zone``), where the same
# hours are read. A company changes it here (its zone, hours, holidays: docs/calendars.md).
BUSINESS_DAYS = Calendar.weekdays("09:00", "17:00", name="business_days", zone="UTC")
CALENDARS = Calendars(default=BUSINESS_DAYS, zone_from="time_zone")

# Each cadence, as people read it: "Daily" is each business day (by its date's end), "Multiple times
# per week" at least twice each calendar week, "Weekly to Bi-weekly" at least once every two
# calendar weeks. As settings: load_policy(settings=...) changes them without editing rules.
DAILY = Setting(
    name="daily_cadence",
    default=EachBusinessDay(),
    description="how often meetings and communication to the customer happen at a Daily cadence",
)
MULTIPLE_TIMES_PER_WEEK = Setting(
    name="multiple_per_week_cadence",
    default=TimesPerWeek(2),
    description="the same at a cadence of Multiple times per week",
)
WEEKLY_TO_BI_WEEKLY = Setting(
    name="weekly_to_biweekly_cadence",
    default=TimesPerWeek(1, weeks=2),
    description="the same at a Weekly to Bi-weekly cadence",
)

EXECUTIVES = (Role.VP_SALES, Role.PRODUCT, Role.CRO, Role.CEO, Role.VP_CUSTOMER_SUCCESS)

OUTPUTS = {
    "description": "text: the handbook's description of the severity level",
    "cadence_every": "period or null: how often meetings and communication to the customer happen",
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

CADENCE = Obligation(
    id="cadence",
    violation=ViolationCode.CADENCE_MISSED,
    missed="the cadence due by {due} lacked {missing}",
    parts=("meeting", "customer_communication"),
    pausable=True,
)
"""The cadence of the severity (the table output ``cadence_every``): in each of its periods, a
meeting (internal or with the customer) and communication to the customer (a message, or a
meeting with the customer or its executives). A period that lacks either is one violation,
naming what it lacked. Its clock stops while the escalation waits on the customer."""

OBLIGATIONS = (CADENCE,)

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
        title="How often meetings and communication to the customer happen at each cadence",
        cites=SEVERITY_LEVELS,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("cadence",),
        outputs=("cadence_every",),
        # "Cadence refers to the cadence of internal and external meetings and communications to
        # the customer": both in the same periods, as one cadence of two parts (CADENCE).
        rows=(
            Row(
                id="daily",
                when={"cadence": Cadence.DAILY},
                then={"cadence_every": DAILY},
            ),
            Row(
                id="multiple_per_week",
                when={"cadence": Cadence.MULTIPLE_PER_WEEK},
                then={"cadence_every": MULTIPLE_TIMES_PER_WEEK},
            ),
            Row(
                id="weekly_to_biweekly",
                when={"cadence": Cadence.WEEKLY_TO_BIWEEKLY},
                then={"cadence_every": WEEKLY_TO_BI_WEEKLY},
            ),
            # "Standard Communication": the ordinary account rhythm, no escalation meetings.
            Row(
                id="standard",
                when={"cadence": Cadence.STANDARD},
                then={"cadence_every": None},
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
        then=(Require(obligation=CADENCE, every="cadence_every"),),
    ),
    Reaction(
        id="severity.meeting_held",
        title="A meeting keeps the cadence",
        cites=SEVERITY_LEVELS,
        on=(MeetingHeld,),
        then=(Fulfil(obligation=CADENCE, part="meeting"),),
    ),
    Reaction(
        id="severity.customer_communicated",
        title="Communicating with the customer, or meeting the customer or its executives, "
        "keeps the cadence of customer communication",
        cites=SEVERITY_LEVELS,
        on=(CustomerContacted,),
        then=(Fulfil(obligation=CADENCE, part="customer_communication"),),
    ),
    Reaction(
        id="severity.customer_met",
        title="A meeting with the customer or its executives is communication with the customer",
        cites=SEVERITY_LEVELS,
        on=(MeetingHeld,),
        when={"audience": one_of(MeetingAudience.CUSTOMER, MeetingAudience.EXECUTIVE)},
        then=(Fulfil(obligation=CADENCE, part="customer_communication"),),
    ),
    Reaction(
        id="severity.waiting_on_customer",
        title="While the escalation waits on the customer, the cadence stops",
        cites=SEVERITY_LEVELS,
        on=(WaitingOnCustomer,),
        then=(Pause(),),
    ),
    Reaction(
        id="severity.customer_responded",
        title="When the customer responds, the cadence runs again",
        cites=SEVERITY_LEVELS,
        on=(CustomerResponded,),
        then=(Resume(),),
    ),
    # Risk reduced "to standard business process to manage" hands the escalation back: the
    # cadence stops (communication.post_when_risk_reduced), and the wait on the customer ends
    # with it. A raise that re-escalates it later runs the new cadence from the raise.
    Reaction(
        id="severity.risk_reduced_ends_the_wait",
        title="Once the risk is reduced, the escalation no longer waits on the customer",
        cites=f"{SEVERITY_LEVELS}; Communication Process",
        on=(RiskReduced,),
        when={"status": Status.ACTIVE},
        then=(Resume(),),
    ),
)
