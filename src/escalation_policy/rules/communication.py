"""Handbook section "Communication Process".

When a customer escalation is defined, the escalation document should be posted into the
#escalated_customers channel by the escalation owner (i.e., Support for Low/Medium severity,
TAM for high/critical severity escalations). The posting to this channel should occur:
  1. when the escalation is identified and created
  2. when incremental updates are required for executive or management visibility (e.g.,
     daily updates for high or critical escalations)
  3. when the escalation is closed or risk reduced to standard business process to manage
The #escalated_customers channel is for awareness only [...] NOT intended for:
  - Initiation of escalations
  - The detailed tracking and interactions for the escalation

Reactions apply to escalations in scope unless they say otherwise: misuse of the channel is
reported for every escalation (``"in_scope": ANY``).
"""

import datetime as dt

from escalation_policy.vocabulary import (
    ANY,
    BOOL,
    Accept,
    BusinessTime,
    Cancel,
    ContextField,
    DecisionTable,
    EachBusinessDay,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    Setting,
    Situation,
    Violation,
    one_of,
)

from .responsibilities import ASSIGN_TAM, INFORM_TAM
from .severity import CADENCE
from .terms import (
    Closed,
    Opened,
    Posted,
    PostPurpose,
    PostReason,
    PostToChannel,
    RiskReduced,
    Severity,
    SeverityChanged,
    Status,
    Team,
    ViolationCode,
)
from .tracker import EXECUTIVE_SUMMARY

COMMUNICATION = "Communication Process"

CHANNEL = "#escalated_customers"

# How soon each required post is due, in business time (the escalation's business days, see
# rules/severity.py): a post owed after hours is owed once the day begins.
ONE_BUSINESS_DAY = dt.timedelta(hours=8)  # the open hours of one business day
CREATED_POST_WITHIN = BusinessTime(dt.timedelta(hours=2))  # "when ... identified and created"
CLOSED_POST_WITHIN = BusinessTime(ONE_BUSINESS_DAY)
RISK_REDUCED_POST_WITHIN = BusinessTime(ONE_BUSINESS_DAY)
# "e.g., daily updates for high or critical escalations": an update each business day, by the
# end of its date, for both.
DAILY_UPDATES = EachBusinessDay()
HIGH_UPDATES = EachBusinessDay()
# Raising the severity into High or Critical, the severities the page's example gives daily
# updates for, calls for the day's update: the page sets no limit but "daily". Raised in the
# morning (half a business day of open time left), the update is due by the end of that day;
# raised later, by the end of the next business day.
UPDATE_AFTER_RAISE_WITHIN = BusinessTime(dt.timedelta(hours=4), to_end_of_day=True)

# Each limit above, as a setting: load_policy(settings=...) changes it without editing rules.
CREATED_POST = Setting(
    name="created_post_within",
    default=CREATED_POST_WITHIN,
    description="how soon after opening the created post is due",
)
# "When the escalation is closed or risk reduced": a team that posts first and records the
# change in the CRM later did what the page asks. A post names its purpose, so a closing or
# risk-reduced post counts for the change recorded up to a business day of open time after it
# (a post on Friday evening, the CRM on Monday).
EARLY_POST_GRACE = BusinessTime(ONE_BUSINESS_DAY)
# A team that posts "raising this to High" and records the raise a few minutes later has posted
# the raise's update. An update does not name the raise it answers, and High escalations post
# one each business day: it counts for a raise recorded up to an hour of open time after it.
EARLY_UPDATE_GRACE = BusinessTime(dt.timedelta(hours=1))
# The created post is made "when the escalation is identified and created": a team that posts
# the escalation document and fills in the CRM record a few minutes later did not initiate the
# escalation in the channel. A post about an escalation not opened yet waits this long for its
# opening (the library's default is five minutes, for two feeds racing): an hour of open time,
# so that a document posted on Friday evening and recorded on Monday morning is the created
# post, not an initiation in the channel.
OPENING_GRACE = BusinessTime(dt.timedelta(hours=1))

CLOSED_POST = Setting(
    name="closed_post_within",
    default=CLOSED_POST_WITHIN,
    description="how soon after closing the closed post is due",
)
RISK_REDUCED_POST = Setting(
    name="risk_reduced_post_within",
    default=RISK_REDUCED_POST_WITHIN,
    description="how soon after risk is reduced the risk-reduced post is due",
)
DAILY_UPDATES_SETTING = Setting(
    name="critical_update_every",
    default=DAILY_UPDATES,
    description="how often a Critical escalation is updated in the channel",
)
HIGH_UPDATES_SETTING = Setting(
    name="high_update_every",
    default=HIGH_UPDATES,
    description="how often a High escalation is updated in the channel",
)
UPDATE_AFTER_RAISE = Setting(
    name="update_after_raise_within",
    default=UPDATE_AFTER_RAISE_WITHIN,
    description="how soon after the severity rises into High or Critical an update is due",
)

# "initiated by Support (low and medium) or Customer Success (Medium and High), the escalation
# document should be posted": the initiating team may post the created post then.
INITIATORS_WHO_POST = {
    Team.SUPPORT_ENGINEERING: (Severity.LOW, Severity.MEDIUM),
    Team.CUSTOMER_SUCCESS: (Severity.MEDIUM, Severity.HIGH),
}
# Where the page names Customer Success, a TAM counts: TAMs are part of Customer Success (the
# page links the "TAM Handbook homepage", /handbook/customer-success/tam/).
PART_OF = {Team.TAM: Team.CUSTOMER_SUCCESS}

AWARENESS_POSTS = one_of(
    PostPurpose.CREATED, PostPurpose.UPDATE, PostPurpose.CLOSED, PostPurpose.RISK_REDUCED
)


def _channel_key(channel: str) -> str:
    """A channel's name as channels are compared: ``#`` and case do not matter."""
    return channel.lstrip("#").casefold()


_CHANNEL_KEY = _channel_key(CHANNEL)


def _escalation_channel(situation: Situation) -> bool:
    channel: str = situation.fact.channel
    return channel.lstrip("#").casefold() == _CHANNEL_KEY


_INITIATORS = {
    (team.value, severity.value)
    for team, severities in INITIATORS_WHO_POST.items()
    for severity in severities
}


def _linked(situation: Situation) -> bool:
    url: object = situation.fact.url
    return url is not None


def _by_initiator(situation: Situation) -> bool:
    record = situation.record
    by: Team = situation.fact.by
    initiated_by: Team = record.initiated_by
    team = PART_OF.get(by, by)
    if team != PART_OF.get(initiated_by, initiated_by):
        return False
    return (team._value_, record.severity._value_) in _INITIATORS


_TAM_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})


def _by_owner(situation: Situation) -> bool:
    """Whether the owner made the post. With no TAM assigned yet, Support Engineering owns a
    Critical or High escalation (responsibilities.owner), and a TAM who posts for it is the
    owner the page names too: "TAM for high/critical severity escalations". An update a High
    or Critical spell still owes (the raise's update, lowered since) is that spell's: its
    owner, the TAM, may post it."""
    fact = situation.fact
    by: str = fact.by
    record = situation.record
    owner: object = record.owner
    if by == owner:
        return True
    if by != Team.TAM:
        return False
    if record.tam is None and record.severity in _TAM_SEVERITIES:
        return True
    return fact.purpose == PostPurpose.UPDATE and any(
        pending.obligation == RAISE_UPDATE.id for pending in record.pending
    )


# A change of severity this soon after the one before undoes it: a raise corrected, not an
# escalation that was High or Critical for a while. Two hours on the clock, at any hour: a
# Critical escalation is worked at any hour, and one Critical for longer (an evening, a
# night, a weekend) stood, whatever share of it fell in business hours.
CORRECTED_WITHIN = dt.timedelta(hours=2)


def _raise_update_owed(situation: Situation) -> bool:
    """Whether the update a raise into High or Critical called for is still owed."""
    return any(pending.obligation == RAISE_UPDATE.id for pending in situation.record.pending)


def _created_post_owed(situation: Situation) -> bool:
    """Whether the created post is still due (owed, not overdue): the escalation is being set
    up, and not yet told to the channel with its document."""
    return any(
        pending.obligation == CHANNEL_POST.id
        and pending.key == PostReason.CREATED
        and not pending.overdue
        for pending in situation.record.pending
    )


def _corrects(situation: Situation) -> bool:
    """Whether this change of severity takes the escalation out of High or Critical within
    ``CORRECTED_WITHIN`` of the change before (or the escalation's state does not know when
    that was: written by an earlier release)."""
    if situation.previous.get("severity") not in _TAM_SEVERITIES:
        return False  # it was not High or Critical: there is no raise to undo
    before: object = situation.previous.get("severity_changed_at")
    at: dt.datetime = situation.fact.at
    return not isinstance(before, dt.datetime) or at - before <= CORRECTED_WITHIN


CONTEXT = (
    ContextField("escalation_channel", BOOL, _escalation_channel, frozenset({Posted.TYPE})),
    ContextField("by_owner", BOOL, _by_owner, frozenset({Posted.TYPE})),
    ContextField("by_initiator", BOOL, _by_initiator, frozenset({Posted.TYPE})),
    ContextField("linked", BOOL, _linked, frozenset({Posted.TYPE})),
    ContextField("corrects", BOOL, _corrects, frozenset({SeverityChanged.TYPE})),
    ContextField("raise_update_owed", BOOL, _raise_update_owed, frozenset({Posted.TYPE})),
    ContextField("created_post_owed", BOOL, _created_post_owed, frozenset({SeverityChanged.TYPE})),
)
"""Whether a post went to the escalation channel; whether its owner made it, or the team that
initiated the escalation where the handbook lets it post; whether it links the document;
whether a change of severity corrects the one before; whether a raise's update is owed;
whether the created post is still due when the severity changes."""

OUTPUTS = {"update_every": "duration or null: periodic channel updates"}

CHANNEL_POST = Obligation(
    id="channel_post",
    violation=ViolationCode.POST_OVERDUE,
    missed="the {reason!r} post was due by {due} and was not made",
    key="reason",
    announce=PostToChannel,
    announce_with={"channel": CHANNEL},
    owner_field="by",
    announce_again_on_new_owner=True,
    early_grace=EARLY_POST_GRACE,
)
"""A post the owner must make to the channel, one per reason (created, closed); the host is
told again when the owner changes."""

# The two posts below are worded and announced as CHANNEL_POST is, but are obligations of their
# own because a fact other than their own post ends them: a Cancel drops every instance of the
# obligations it names, and a Fulfil finds the instance it meets by a field of its fact.
RISK_REDUCED_CHANNEL_POST = Obligation(
    id="risk_reduced_post",
    violation=ViolationCode.POST_OVERDUE,
    missed="the {reason!r} post was due by {due} and was not made",
    key="reason",
    announce=PostToChannel,
    announce_with={"channel": CHANNEL},
    owner_field="by",
    announce_again_on_new_owner=True,
    early_grace=EARLY_POST_GRACE,
)
"""The post when risk is reduced to the standard business process. "When the escalation is
closed or risk reduced" is one occasion: a closed post, once the escalation is closed, makes it
too."""

CHANNEL_UPDATE = Obligation(
    id="channel_update",
    violation=ViolationCode.UPDATE_OVERDUE,
    missed="no update was posted by {due}",
    announce=PostToChannel,
    announce_with={"channel": CHANNEL, "reason": PostReason.UPDATE},
    owner_field="by",
)
"""The periodic update to the channel; each next one is announced as a post."""

RAISE_UPDATE = Obligation(
    id="raise_update",
    violation=ViolationCode.POST_OVERDUE,
    missed="the {reason!r} post was due by {due} and was not made",
    key="reason",
    announce=PostToChannel,
    announce_with={"channel": CHANNEL},
    owner_field="by",
    announce_again_on_new_owner=True,
    early_grace=EARLY_UPDATE_GRACE,
    covered_by=(CHANNEL_UPDATE,),
)
"""The day's update after the severity rises into High or Critical; withdrawn if the severity
falls back below High within two hours on the clock (a correction) before it is made. An
update posted a little before the raise is recorded is the raise's update. Raised late in the
day, it is due with the next day's daily update: one missing post, reported once, as that
update (``update_overdue``)."""

OBLIGATIONS = (CHANNEL_POST, RISK_REDUCED_CHANNEL_POST, RAISE_UPDATE, CHANNEL_UPDATE)

TABLES = (
    DecisionTable(
        id="communication.updates",
        title="Incremental updates to the channel for executive and management visibility",
        cites=COMMUNICATION,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("update_every",),
        rows=(
            Row(
                id="critical",
                when={"severity": Severity.CRITICAL},
                then={"update_every": DAILY_UPDATES_SETTING},
            ),
            Row(
                id="high",
                when={"severity": Severity.HIGH},
                then={"update_every": HIGH_UPDATES_SETTING},
            ),
            # Medium and low: updates are posted when needed; none is due on a schedule.
            Row(
                id="medium_and_low",
                when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
                then={"update_every": None},
            ),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="communication.post_when_created",
        title="The owner posts the escalation document when the escalation is created",
        cites=f"{COMMUNICATION}; Responsibilities > Medium and Low Level Issues",
        on=(Opened,),
        then=(Require(obligation=CHANNEL_POST, key=PostReason.CREATED, within=CREATED_POST),),
    ),
    Reaction(
        id="communication.daily_updates",
        title="Critical and high escalations get daily updates in the channel",
        cites=COMMUNICATION,
        on=(Opened, SeverityChanged),
        then=(Require(obligation=CHANNEL_UPDATE, every="update_every"),),
    ),
    Reaction(
        id="communication.update_when_raised",
        title="Raising the severity into High or Critical calls for the day's update in the "
        "channel",
        cites=COMMUNICATION,
        on=(SeverityChanged,),
        when={"severity_raised": True, "severity": one_of(Severity.CRITICAL, Severity.HIGH)},
        then=(Require(obligation=RAISE_UPDATE, key=PostReason.UPDATE, within=UPDATE_AFTER_RAISE),),
    ),
    # A raise corrected (back below High within two hours, before the update is made): the
    # escalation posts updates only "when incremental updates are required", and a TAM is no
    # longer awaited (responsibilities.tam_no_longer_needed); the raise's update is not owed.
    # Lowered later, the escalation was High or Critical for a while, and the day's update
    # stays owed.
    Reaction(
        id="communication.update_when_raised_withdrawn",
        title="A raise corrected, lowered to Medium or Low soon after, no longer owes the update "
        "it called for",
        cites=COMMUNICATION,
        on=(SeverityChanged,),
        when={"severity": one_of(Severity.MEDIUM, Severity.LOW), "corrects": True},
        then=(Cancel(obligations=(RAISE_UPDATE,)),),
    ),
    Reaction(
        id="communication.post_when_risk_reduced",
        title="The owner posts when risk is reduced to the standard business process",
        cites=COMMUNICATION,
        on=(RiskReduced,),
        when={"status": Status.ACTIVE},
        then=(
            # Handed back, the escalation owes no more updates, the raise's among them: the
            # risk-reduced post tells the channel what an update would have.
            Cancel(obligations=(CHANNEL_UPDATE, CADENCE, RAISE_UPDATE)),
            Require(
                obligation=RISK_REDUCED_CHANNEL_POST,
                key=PostReason.RISK_REDUCED,
                within=RISK_REDUCED_POST,
            ),
        ),
    ),
    Reaction(
        id="communication.closing_ends_tracking",
        title="Closing ends updates, meetings and pending follow-ups",
        cites=COMMUNICATION,
        on=(Closed,),
        then=(
            Cancel(
                obligations=(
                    CHANNEL_UPDATE,
                    CADENCE,
                    INFORM_TAM,
                    ASSIGN_TAM,
                    EXECUTIVE_SUMMARY,
                )
            ),
        ),
    ),
    Reaction(
        id="communication.post_when_closed",
        title="The owner posts when the escalation is closed",
        cites=COMMUNICATION,
        on=(Closed,),
        when={"status": Status.ACTIVE},
        then=(
            Cancel(obligations=(CHANNEL_POST, RISK_REDUCED_CHANNEL_POST, RAISE_UPDATE)),
            Require(obligation=CHANNEL_POST, key=PostReason.CLOSED, within=CLOSED_POST),
        ),
    ),
    Reaction(
        id="communication.required_post_made",
        title="A post to the channel discharges the post required for its purpose",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": AWARENESS_POSTS,
        },
        then=(
            Fulfil(obligation=CHANNEL_POST, key="purpose"),
            Fulfil(obligation=RISK_REDUCED_CHANNEL_POST, key="purpose"),
            Fulfil(obligation=RAISE_UPDATE, key="purpose"),
        ),
    ),
    # "1. when the escalation is identified and created": a created post made after a raise
    # tells the channel of the escalation at its new severity; it is the raise's update. (One
    # made before the raise told of the old severity: only a post made while the update is
    # owed counts.)
    Reaction(
        id="communication.created_post_after_a_raise",
        title="A created post made after a raise into High or Critical is the raise's update",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": PostPurpose.CREATED,
            "raise_update_owed": True,
        },
        then=(Fulfil(obligation=RAISE_UPDATE),),
    ),
    # "3. when the escalation is closed or risk reduced": one occasion. A risk-reduced post
    # makes the closed post unnecessary (post_when_closed is for an active escalation); the
    # other way round, a closed post is the risk-reduced post, whether owed already (made
    # after the risk was reduced, before or after the closing) or about to be (made a little
    # before the risk is recorded reduced: the post's early grace).
    Reaction(
        id="communication.closed_post_for_risk_reduced",
        title="The escalation's closed post is also its risk-reduced post",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": PostPurpose.CLOSED,
        },
        then=(Fulfil(obligation=RISK_REDUCED_CHANNEL_POST),),
    ),
    Reaction(
        id="communication.update_made",
        title="An update posted to the channel keeps the update schedule",
        cites=COMMUNICATION,
        on=(Posted,),
        when={"escalation_channel": True, "purpose": PostPurpose.UPDATE},
        then=(Fulfil(obligation=CHANNEL_UPDATE),),
    ),
    Reaction(
        id="communication.posted_by_owner",
        title="Posts to the channel are made by the escalation owner",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": one_of(PostPurpose.UPDATE, PostPurpose.CLOSED, PostPurpose.RISK_REDUCED),
            "by_owner": False,
        },
        then=(
            Violation(
                code=ViolationCode.WRONG_POSTER,
                detail="posted by {by}, not by the escalation owner ({owner})",
            ),
        ),
    ),
    Reaction(
        id="communication.created_by_owner_or_initiator",
        title="The escalation document is posted by the owner, or by the team that initiated "
        "the escalation",
        cites=f"{COMMUNICATION}; Responsibilities > Medium and Low Level Issues",
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": PostPurpose.CREATED,
            "by_owner": False,
            "by_initiator": False,
        },
        then=(
            Violation(
                code=ViolationCode.WRONG_POSTER,
                detail="posted by {by}: at {severity} severity the escalation owner ({owner}) "
                "posts it, or the team that initiated it ({initiated_by}) where the page lets it",
            ),
        ),
    ),
    Reaction(
        id="communication.document_linked",
        title="The created, closed and risk-reduced posts link the escalation document",
        cites=f"{COMMUNICATION}; Escalation Tracker Template",
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": one_of(PostPurpose.CREATED, PostPurpose.CLOSED, PostPurpose.RISK_REDUCED),
            "linked": False,
        },
        then=(
            Violation(
                code=ViolationCode.DOCUMENT_LINK_MISSING,
                detail="the escalation document is posted as its link (url); this post has none",
            ),
        ),
    ),
    Reaction(
        id="communication.not_for_initiation",
        title="The channel is not for the initiation of escalations",
        cites=COMMUNICATION,
        on=(Posted,),
        when={"in_scope": ANY, "escalation_channel": True, "purpose": PostPurpose.INITIATION},
        then=(
            Violation(
                code=ViolationCode.CHANNEL_MISUSE,
                detail="escalations are initiated in the account or support channels",
            ),
        ),
    ),
    # Only a post that could start an escalation is initiation: an update or a closing post
    # about an escalation the engine no longer knows is about one closed and settled.
    Reaction(
        id="communication.initiated_in_the_channel",
        title="An escalation the channel hears of first was initiated in it",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "known": False,
            "escalation_channel": True,
            "purpose": one_of(PostPurpose.CREATED, PostPurpose.INITIATION),
        },
        then=(
            Violation(
                code=ViolationCode.CHANNEL_MISUSE,
                detail="a post about an escalation that is not open: escalations are initiated "
                "in the account or support channels, then posted",
            ),
        ),
    ),
    Reaction(
        id="communication.not_for_tracking_when_not_open",
        title="The channel is not for the detailed tracking of an escalation, open or not",
        cites=COMMUNICATION,
        on=(Posted,),
        when={"known": False, "escalation_channel": True, "purpose": PostPurpose.TRACKING},
        then=(
            Violation(
                code=ViolationCode.CHANNEL_MISUSE,
                detail="detailed tracking belongs in the account or support channels",
            ),
        ),
    ),
    Reaction(
        id="communication.awareness_after_closing",
        title="A post for awareness about an escalation no longer open (closed, and its closing "
        "post made) is taken as it is: it is neither initiation nor tracking",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "known": False,
            "escalation_channel": True,
            "purpose": one_of(PostPurpose.UPDATE, PostPurpose.CLOSED, PostPurpose.RISK_REDUCED),
        },
        then=(Accept(),),
    ),
    Reaction(
        id="communication.not_for_tracking",
        title="The channel is not for the detailed tracking and interactions",
        cites=COMMUNICATION,
        on=(Posted,),
        when={"in_scope": ANY, "escalation_channel": True, "purpose": PostPurpose.TRACKING},
        then=(
            Violation(
                code=ViolationCode.CHANNEL_MISUSE,
                detail="detailed tracking belongs in the account or support channels",
            ),
        ),
    ),
)
