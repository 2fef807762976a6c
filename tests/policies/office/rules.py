"""The office policy's terms and rules (see the package's description)."""

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

from escalation_policy.vocabulary import (
    FRIDAY,
    ApplyPlan,
    BusinessTime,
    Calendar,
    Calendars,
    Cancel,
    DecisionTable,
    EachBusinessDay,
    EscalationFact,
    Fulfil,
    HitPolicy,
    Obligation,
    Pause,
    Reaction,
    Require,
    Resume,
    Row,
    Tier,
    TimesPerWeek,
    Values,
)

OFFICE_HOURS = "Office hours"


class Severity(Values):
    HIGH = "high", "High"
    LOW = "low", "Low"


class Team(Values):
    DESK = "desk", "Desk"


class Cadence(Values):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Region(Values):
    AMERICAS = "americas", "Americas"
    EMEA = "emea", "EMEA"


class Part(Values):
    CALL = "call", "Call"
    NOTES = "notes", "Notes"


class Code(Values):
    CHECK_IN_MISSED = "check_in_missed", "Check-in missed"
    REVIEW_MISSED = "review_missed", "Review missed"
    REPLY_LATE = "reply_late", "Reply late"
    CALL_BACK_LATE = "call_back_late", "Call back late"
    PAGE_UNANSWERED = "page_unanswered", "Page unanswered"


@attrs.frozen(kw_only=True)
class Opened(EscalationFact):
    TYPE: ClassVar[str] = "opened"
    OPENS: ClassVar[bool] = True
    customer: str
    severity: Severity
    region: Region = Region.AMERICAS
    time_zone: str | None = None


@attrs.frozen(kw_only=True)
class CheckedIn(EscalationFact):
    TYPE: ClassVar[str] = "checked_in"


@attrs.frozen(kw_only=True)
class Reviewed(EscalationFact):
    """One part of the weekly review: ``part`` is ``call`` or ``notes``."""

    TYPE: ClassVar[str] = "reviewed"
    part: Part


@attrs.frozen(kw_only=True)
class Asked(EscalationFact):
    TYPE: ClassVar[str] = "asked"


@attrs.frozen(kw_only=True)
class Replied(EscalationFact):
    TYPE: ClassVar[str] = "replied"


@attrs.frozen(kw_only=True)
class Waiting(EscalationFact):
    TYPE: ClassVar[str] = "waiting"


@attrs.frozen(kw_only=True)
class Back(EscalationFact):
    TYPE: ClassVar[str] = "back"


@attrs.frozen(kw_only=True)
class CallRequested(EscalationFact):
    """The customer asks for a call back: due within two business hours, chased if late."""

    TYPE: ClassVar[str] = "call_requested"


@attrs.frozen(kw_only=True)
class CalledBack(EscalationFact):
    TYPE: ClassVar[str] = "called_back"


@attrs.frozen(kw_only=True)
class Paged(EscalationFact):
    """The on-call engineer is paged: acknowledged within twelve hours, round the clock."""

    TYPE: ClassVar[str] = "paged"


@attrs.frozen(kw_only=True)
class Acknowledged(EscalationFact):
    TYPE: ClassVar[str] = "acknowledged"


@attrs.frozen(kw_only=True)
class Closed(EscalationFact):
    TYPE: ClassVar[str] = "closed"
    STATUS: ClassVar[Mapping[str, str]] = {"active": "closed"}


FACTS = (
    Opened,
    CheckedIn,
    Reviewed,
    Asked,
    Replied,
    Waiting,
    Back,
    CallRequested,
    CalledBack,
    Paged,
    Acknowledged,
    Closed,
)

NEW_YORK = Calendar.weekdays(
    "09:00", "17:00", name="new_york", zone="America/New_York", holidays=(dt.date(2026, 7, 3),)
)
LONDON = Calendar(
    name="london",
    zone="Europe/London",
    hours=dict.fromkeys(range(FRIDAY + 1), ("09:00-17:30",)),
)
CALENDARS = Calendars(
    default=NEW_YORK, by="region", choose={Region.EMEA: LONDON}, zone_from="time_zone"
)

CHECK_IN = Obligation(
    id="check_in", violation=Code.CHECK_IN_MISSED, missed="no check-in by {due}", pausable=True
)
REVIEW = Obligation(
    id="review",
    violation=Code.REVIEW_MISSED,
    missed="the weekly review due by {due} lacked {missing}",
    parts=("call", "notes"),
)
REPLY = Obligation(id="reply", violation=Code.REPLY_LATE, missed="no reply by {due}", pausable=True)
CALL_BACK = Obligation(
    id="call_back",
    violation=Code.CALL_BACK_LATE,
    missed="no call back by {due}",
    tiers=(
        Tier(after=dt.timedelta(hours=1), notify="the desk's manager"),
        Tier(after=dt.timedelta(hours=4), notify="the director of support"),
    ),
)
ACKNOWLEDGE = Obligation(
    id="acknowledge",
    violation=Code.PAGE_UNANSWERED,
    missed="the page was not acknowledged by {due}",
    remind_in_open_hours=True,
    tiers=(Tier(after=dt.timedelta(hours=1), notify="the on-call manager"),),
)
OBLIGATIONS = (CHECK_IN, REVIEW, REPLY, CALL_BACK, ACKNOWLEDGE)

TABLES = (
    DecisionTable(
        id="office.plan",
        title="Who owns an escalation and how often it is checked",
        cites=OFFICE_HOURS,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("in_scope", "owner", "cadence", "involvement", "check_in_every", "review_every"),
        rows=(
            Row(
                id="high",
                when={"severity": Severity.HIGH},
                then={
                    "in_scope": True,
                    "owner": Team.DESK,
                    "cadence": Cadence.DAILY,
                    "involvement": (),
                    "check_in_every": EachBusinessDay(),
                    "review_every": TimesPerWeek(1),
                },
            ),
            Row(
                id="low",
                when={"severity": Severity.LOW},
                then={
                    "in_scope": True,
                    "owner": Team.DESK,
                    "cadence": Cadence.WEEKLY,
                    "involvement": (),
                    "check_in_every": None,
                    "review_every": None,
                },
            ),
        ),
    ),
)

OUTPUTS = {
    "check_in_every": "period or null: how often the desk checks in",
    "review_every": "period or null: how often the weekly review is held",
}

REACTIONS = (
    Reaction(
        id="office.plan_applies",
        title="An escalation gets its owner and its periods",
        cites=OFFICE_HOURS,
        on=(Opened,),
        then=(
            ApplyPlan(),
            Require(obligation=CHECK_IN, every="check_in_every"),
            Require(obligation=REVIEW, every="review_every"),
        ),
    ),
    Reaction(
        id="office.check_in",
        title="A check-in keeps the daily check-in",
        cites=OFFICE_HOURS,
        on=(CheckedIn,),
        then=(Fulfil(obligation=CHECK_IN),),
    ),
    Reaction(
        id="office.review_call",
        title="The review's call",
        cites=OFFICE_HOURS,
        on=(Reviewed,),
        when={"part": Part.CALL},
        then=(Fulfil(obligation=REVIEW, part="call"),),
    ),
    Reaction(
        id="office.review_notes",
        title="The review's notes",
        cites=OFFICE_HOURS,
        on=(Reviewed,),
        when={"part": Part.NOTES},
        then=(Fulfil(obligation=REVIEW, part="notes"),),
    ),
    Reaction(
        id="office.asked",
        title="A question from the customer is answered within four business hours",
        cites=OFFICE_HOURS,
        on=(Asked,),
        then=(Require(obligation=REPLY, within=BusinessTime(dt.timedelta(hours=4))),),
    ),
    Reaction(
        id="office.replied",
        title="A reply answers the question",
        cites=OFFICE_HOURS,
        on=(Replied,),
        then=(Fulfil(obligation=REPLY),),
    ),
    Reaction(
        id="office.call_requested",
        title="A call back is due within two business hours; the desk is reminded when less "
        "than an hour and three quarters of them is left",
        cites=OFFICE_HOURS,
        on=(CallRequested,),
        then=(
            Require(
                obligation=CALL_BACK,
                within=BusinessTime(dt.timedelta(hours=2)),
                remind_before=dt.timedelta(hours=1, minutes=45),
            ),
        ),
    ),
    Reaction(
        id="office.called_back",
        title="The call back",
        cites=OFFICE_HOURS,
        on=(CalledBack,),
        then=(Fulfil(obligation=CALL_BACK),),
    ),
    Reaction(
        id="office.paged",
        title="A page is acknowledged within twelve hours; the reminder two hours before waits "
        "for office hours",
        cites=OFFICE_HOURS,
        on=(Paged,),
        then=(
            Require(
                obligation=ACKNOWLEDGE,
                within=dt.timedelta(hours=12),
                remind_before=dt.timedelta(hours=2),
            ),
        ),
    ),
    Reaction(
        id="office.acknowledged",
        title="The page's acknowledgement",
        cites=OFFICE_HOURS,
        on=(Acknowledged,),
        then=(Fulfil(obligation=ACKNOWLEDGE),),
    ),
    Reaction(
        id="office.closing",
        title="Closing ends every clock",
        cites=OFFICE_HOURS,
        on=(Closed,),
        then=(Cancel(obligations=(CHECK_IN, REVIEW, REPLY, CALL_BACK, ACKNOWLEDGE)),),
    ),
    Reaction(
        id="office.waiting",
        title="Waiting on the customer stops the clocks",
        cites=OFFICE_HOURS,
        on=(Waiting,),
        then=(Pause(),),
    ),
    Reaction(
        id="office.back",
        title="The customer's answer starts them again",
        cites=OFFICE_HOURS,
        on=(Back,),
        then=(Resume(),),
    ),
)
