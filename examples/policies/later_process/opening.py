"""Section "On opening".

At once: a case in the CRM, a dedicated public channel for the escalation (named
``#esc_<customer>``), the immediate asks written down, and an automatic announcement in
``#escalated_customers``. Within 24 hours: an internal stand-up, and its cadence set by
severity.

The case in the CRM, the immediate asks and the exit criteria arrive with the opening fact:
an escalation cannot be opened without them. The announcement is in ``messages.py``. The
business calendar the escalation's clocks count on is chosen here, when it opens.
"""

import datetime as dt

from escalation_policy.vocabulary import (
    BOOL,
    BusinessTime,
    Calendar,
    Calendars,
    Cancel,
    ContextField,
    DecisionTable,
    Emit,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    none_of,
)

from .terms import (
    CreateChannel,
    HoldStandup,
    Opened,
    Severity,
    SeverityChanged,
    StandupHeld,
    ViolationCode,
)

ON_OPENING = "On opening"

# "named #esc_<customer>": the customer's short name, as channel names spell it.
DEDICATED_CHANNEL = "#esc_{short_name}"

# The business calendar every escalation's clocks count on: Monday to Friday, 09:00 to 17:00,
# in UTC unless the opening fact gives the customer's time zone (``time_zone``), where the same
# hours are read. A company changes it here (its zone, hours, holidays: docs/calendars.md).
BUSINESS_DAYS = Calendar.weekdays("09:00", "17:00", name="business_days", zone="UTC")
CALENDARS = Calendars(default=BUSINESS_DAYS, zone_from="time_zone")

# "Within 24 hours" of work people do in their working day: one business day, the open hours
# of one day of BUSINESS_DAYS (due at the same time on the next business day).
ONE_BUSINESS_DAY = BusinessTime(dt.timedelta(hours=8))

FIRST_STANDUP_WITHIN = ONE_BUSINESS_DAY
# A Critical escalation is worked around the clock: its first stand-up is due 24 hours after
# opening, weekends and nights included.
FIRST_STANDUP_WITHIN_FOR_CRITICAL = dt.timedelta(hours=24)

CONTEXT = (
    ContextField(
        "standup_held", BOOL, lambda situation: situation.record.meeting_notes is not None
    ),
)
"""Whether the escalation has had a stand-up (each one leaves its meeting notes)."""

FIRST_STANDUP = Obligation(
    id="first_standup",
    violation=ViolationCode.FIRST_STANDUP_OVERDUE,
    missed="no internal stand-up was held by {due}",
    announce=HoldStandup,
    owner_field="by",
    announce_again_on_new_owner=True,
)
"""The stand-up within 24 hours of opening: one business day, or 24 hours for a Critical
escalation (its daily stand-ups, each business day, start with the next business day)."""

OBLIGATIONS = (FIRST_STANDUP,)

TABLES = (
    DecisionTable(
        id="opening.scope",
        title="Every escalation follows the process",
        cites=ON_OPENING,
        hit_policy=HitPolicy.UNIQUE,
        inputs=(),
        outputs=("in_scope",),
        rows=(Row(id="every_escalation", when={}, then={"in_scope": True}),),
    ),
)

REACTIONS = (
    Reaction(
        id="opening.dedicated_channel",
        title="Each escalation gets a dedicated public channel, #esc_<customer>",
        cites=ON_OPENING,
        on=(Opened,),
        then=(Emit(action=CreateChannel, text={"channel": DEDICATED_CHANNEL}),),
    ),
    Reaction(
        id="opening.first_standup",
        title="An internal stand-up within 24 hours of opening: one business day",
        cites=ON_OPENING,
        on=(Opened,),
        when={"severity": none_of(Severity.CRITICAL)},
        then=(Require(obligation=FIRST_STANDUP, within=FIRST_STANDUP_WITHIN),),
    ),
    Reaction(
        id="opening.first_standup_for_critical",
        title="A Critical escalation's first internal stand-up within 24 hours of opening, "
        "nights and weekends included",
        cites=ON_OPENING,
        on=(Opened,),
        when={"severity": Severity.CRITICAL},
        then=(Require(obligation=FIRST_STANDUP, within=FIRST_STANDUP_WITHIN_FOR_CRITICAL),),
    ),
    Reaction(
        id="opening.first_standup_after_critical",
        title="Lowered from Critical before its first stand-up, an escalation still needs one "
        "within one business day of the change",
        cites=ON_OPENING,
        on=(SeverityChanged,),
        when={
            "previous_severity": Severity.CRITICAL,
            "severity": none_of(Severity.CRITICAL),
            "standup_held": False,
        },
        then=(
            Cancel(obligations=(FIRST_STANDUP,)),
            Require(obligation=FIRST_STANDUP, within=FIRST_STANDUP_WITHIN),
        ),
    ),
    Reaction(
        id="opening.first_standup_held",
        title="A stand-up was held",
        cites=ON_OPENING,
        on=(StandupHeld,),
        then=(Fulfil(obligation=FIRST_STANDUP),),
    ),
)
