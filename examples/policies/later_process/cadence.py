"""Section "Cadence".

Internal stand-ups and updates follow the severity's cadence (Critical daily, High several
times a week, Medium weekly, Low as usual). The dedicated channel gets an update at least daily
while the escalation is open. The customer hears from the team about three times a week for
Critical and High.

Periods are counted on the escalation's business calendar (``opening.BUSINESS_DAYS``): "daily"
is each business day, by the end of its date; "N times a week" is N in each calendar week, by
its end. A period starts afresh at opening and at a change of severity that changes it.
"""

from escalation_policy.vocabulary import (
    DecisionTable,
    EachBusinessDay,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    TimesPerWeek,
    one_of,
)

from .terms import (
    Cadence,
    ChannelUpdated,
    ContactCustomer,
    CustomerContacted,
    HoldStandup,
    Opened,
    Role,
    Severity,
    SeverityChanged,
    StandupHeld,
    UpdateChannel,
    ViolationCode,
)

CADENCE = "Cadence"

DAILY = EachBusinessDay()
SEVERAL_TIMES_A_WEEK = TimesPerWeek(3)  # "several": more than a couple, three in each week
WEEKLY = TimesPerWeek(1)
ABOUT_THREE_TIMES_A_WEEK = TimesPerWeek(3)

EXECUTIVES = (Role.VP_SALES, Role.PRODUCT, Role.CRO, Role.CEO, Role.VP_CUSTOMER_SUCCESS)

OUTPUTS = {
    "standup_every": "period or null: how often internal stand-ups are held",
    "update_message_every": "period or null: how often Update messages are posted",
    "customer_contact_every": "period or null: how often the customer hears from the team",
    "channel_update_every": "period: how often the dedicated channel gets an update",
}

STANDUP = Obligation(
    id="standup",
    violation=ViolationCode.STANDUP_OVERDUE,
    missed="fewer internal stand-ups than the cadence asks for were held by {due}",
    announce=HoldStandup,
    owner_field="by",
    announce_again_on_new_owner=True,
)

CUSTOMER_CONTACT = Obligation(
    id="customer_contact",
    violation=ViolationCode.CUSTOMER_CONTACT_OVERDUE,
    missed="the customer heard from the team less often than the cadence asks for by {due}",
    announce=ContactCustomer,
    owner_field="by",
    announce_again_on_new_owner=True,
)

CHANNEL_UPDATE = Obligation(
    id="channel_update",
    violation=ViolationCode.CHANNEL_UPDATE_OVERDUE,
    missed="no update was posted in the dedicated channel by {due}",
    announce=UpdateChannel,
    owner_field="by",
    announce_again_on_new_owner=True,
)

OBLIGATIONS = (STANDUP, CUSTOMER_CONTACT, CHANNEL_UPDATE)

TABLES = (
    DecisionTable(
        id="cadence.levels",
        title="Cadence and who is kept informed, by severity",
        cites=f"{CADENCE}; Messages",
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("cadence", "involvement"),
        columns={"severity": "Severity", "cadence": "Cadence", "involvement": "Kept informed"},
        rows=(
            Row(
                id="critical",
                when={"severity": Severity.CRITICAL},
                then={"cadence": Cadence.DAILY, "involvement": EXECUTIVES},
            ),
            Row(
                id="high",
                when={"severity": Severity.HIGH},
                then={"cadence": Cadence.SEVERAL_TIMES_A_WEEK, "involvement": EXECUTIVES},
            ),
            Row(
                id="medium",
                when={"severity": Severity.MEDIUM},
                then={
                    "cadence": Cadence.WEEKLY,
                    "involvement": (Role.VP_SALES, Role.VP_CUSTOMER_SUCCESS),
                },
            ),
            Row(
                id="low",
                when={"severity": Severity.LOW},
                then={
                    "cadence": Cadence.AS_USUAL,
                    "involvement": (Role.DIRECTOR_CUSTOMER_SUCCESS, Role.ACCOUNT_MANAGER),
                },
            ),
        ),
    ),
    DecisionTable(
        id="cadence.periods",
        title="How often stand-ups are held and Update messages posted at each cadence",
        cites=CADENCE,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("cadence",),
        outputs=("standup_every", "update_message_every"),
        rows=(
            Row(
                id="daily",
                when={"cadence": Cadence.DAILY},
                then={"standup_every": DAILY, "update_message_every": DAILY},
            ),
            Row(
                id="several_times_a_week",
                when={"cadence": Cadence.SEVERAL_TIMES_A_WEEK},
                then={
                    "standup_every": SEVERAL_TIMES_A_WEEK,
                    "update_message_every": SEVERAL_TIMES_A_WEEK,
                },
            ),
            Row(
                id="weekly",
                when={"cadence": Cadence.WEEKLY},
                then={"standup_every": WEEKLY, "update_message_every": WEEKLY},
            ),
            # "As usual": the account's ordinary rhythm, nothing due on a schedule.
            Row(
                id="as_usual",
                when={"cadence": Cadence.AS_USUAL},
                then={"standup_every": None, "update_message_every": None},
            ),
        ),
    ),
    DecisionTable(
        id="cadence.customer_contact",
        title="How often the customer hears from the team",
        cites=CADENCE,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("customer_contact_every",),
        rows=(
            Row(
                id="critical_and_high",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)},
                then={"customer_contact_every": ABOUT_THREE_TIMES_A_WEEK},
            ),
            # Medium and Low: the customer hears from the team as the work needs.
            Row(
                id="medium_and_low",
                when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
                then={"customer_contact_every": None},
            ),
        ),
    ),
    DecisionTable(
        id="cadence.dedicated_channel",
        title="The dedicated channel gets an update at least daily while the escalation is open",
        cites=CADENCE,
        hit_policy=HitPolicy.UNIQUE,
        inputs=(),
        outputs=("channel_update_every",),
        rows=(Row(id="every_escalation", when={}, then={"channel_update_every": DAILY}),),
    ),
)

REACTIONS = (
    Reaction(
        id="cadence.standups",
        title="Internal stand-ups at the severity's cadence, re-planned when it changes",
        cites=CADENCE,
        on=(Opened, SeverityChanged),
        then=(Require(obligation=STANDUP, every="standup_every"),),
    ),
    Reaction(
        id="cadence.standup_held",
        title="A stand-up keeps the cadence",
        cites=CADENCE,
        on=(StandupHeld,),
        then=(Fulfil(obligation=STANDUP),),
    ),
    Reaction(
        id="cadence.customer_contact",
        title="Critical and High: the customer hears from the team about three times a week",
        cites=CADENCE,
        on=(Opened, SeverityChanged),
        then=(Require(obligation=CUSTOMER_CONTACT, every="customer_contact_every"),),
    ),
    Reaction(
        id="cadence.customer_contacted",
        title="Contact with the customer keeps its rhythm",
        cites=CADENCE,
        on=(CustomerContacted,),
        then=(Fulfil(obligation=CUSTOMER_CONTACT),),
    ),
    Reaction(
        id="cadence.dedicated_channel",
        title="The dedicated channel gets an update at least daily",
        cites=CADENCE,
        on=(Opened,),
        then=(Require(obligation=CHANNEL_UPDATE, every="channel_update_every"),),
    ),
    Reaction(
        id="cadence.channel_updated",
        title="An update in the dedicated channel keeps it daily",
        cites=CADENCE,
        on=(ChannelUpdated,),
        then=(Fulfil(obligation=CHANNEL_UPDATE),),
    ),
)
