"""Section "On opening".

At once: a case in the CRM, a dedicated public channel for the escalation (named
``#esc_<customer>``), the immediate asks written down, and an automatic announcement in
``#escalated_customers``. Within 24 hours: an internal stand-up, and its cadence set by
severity.

The case in the CRM, the immediate asks and the exit criteria arrive with the opening fact:
an escalation cannot be opened without them. The announcement is in ``messages.py``.
"""

import datetime as dt

from escalation_policy.vocabulary import (
    BOOL,
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

FIRST_STANDUP_WITHIN = dt.timedelta(hours=24)

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
"""The stand-up within 24 hours of opening. A Critical escalation needs none of its own: its
daily stand-ups start at opening, and the first of them is due 24 hours later."""

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
        title="An internal stand-up within 24 hours of opening",
        cites=ON_OPENING,
        on=(Opened,),
        when={"severity": none_of(Severity.CRITICAL)},
        then=(Require(obligation=FIRST_STANDUP, within=FIRST_STANDUP_WITHIN),),
    ),
    Reaction(
        id="opening.first_standup_after_critical",
        title="Lowered from Critical before its first stand-up, an escalation still needs one "
        "within 24 hours",
        cites=ON_OPENING,
        on=(SeverityChanged,),
        when={
            "previous_severity": Severity.CRITICAL,
            "severity": none_of(Severity.CRITICAL),
            "standup_held": False,
        },
        then=(Require(obligation=FIRST_STANDUP, within=FIRST_STANDUP_WITHIN),),
    ),
    Reaction(
        id="opening.first_standup_held",
        title="A stand-up was held",
        cites=ON_OPENING,
        on=(StandupHeld,),
        then=(Fulfil(obligation=FIRST_STANDUP),),
    ),
)
