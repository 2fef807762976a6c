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
    Cancel,
    ContextField,
    DecisionTable,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    Situation,
    Violation,
    one_of,
)

from .responsibilities import INFORM_TAM
from .severity import MEETING
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
    ViolationCode,
)
from .tracker import EXECUTIVE_SUMMARY

COMMUNICATION = "Communication Process"

CHANNEL = "#escalated_customers"

# How soon each required post is due. Calendar time.
CREATED_POST_WITHIN = dt.timedelta(hours=2)  # "when the escalation is identified and created"
CLOSED_POST_WITHIN = dt.timedelta(hours=24)
RISK_REDUCED_POST_WITHIN = dt.timedelta(hours=24)
DAILY_UPDATES = dt.timedelta(days=1)  # "daily updates for high or critical escalations"

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


def _by_owner(situation: Situation) -> bool:
    by: str = situation.fact.by
    owner: object = situation.record.owner
    return by == owner


CONTEXT = (
    ContextField("escalation_channel", BOOL, _escalation_channel, frozenset({Posted.TYPE})),
    ContextField("by_owner", BOOL, _by_owner, frozenset({Posted.TYPE})),
)
"""Whether a post went to the escalation channel, and whether its owner made it."""

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
)
"""A post the owner must make to the channel, one per reason (created, closed, risk reduced);
the host is told again when the owner changes."""

CHANNEL_UPDATE = Obligation(
    id="channel_update",
    violation=ViolationCode.UPDATE_OVERDUE,
    missed="no update was posted by {due}",
    announce=PostToChannel,
    announce_with={"channel": CHANNEL, "reason": PostReason.UPDATE},
    owner_field="by",
)
"""The periodic update to the channel; each next one is announced as a post."""

OBLIGATIONS = (CHANNEL_POST, CHANNEL_UPDATE)

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
                id="critical_and_high",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)},
                then={"update_every": DAILY_UPDATES},
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
        then=(
            Require(obligation=CHANNEL_POST, key=PostReason.CREATED, within=CREATED_POST_WITHIN),
        ),
    ),
    Reaction(
        id="communication.daily_updates",
        title="Critical and high escalations get daily updates in the channel",
        cites=COMMUNICATION,
        on=(Opened, SeverityChanged),
        then=(Require(obligation=CHANNEL_UPDATE, every="update_every"),),
    ),
    Reaction(
        id="communication.post_when_risk_reduced",
        title="The owner posts when risk is reduced to the standard business process",
        cites=COMMUNICATION,
        on=(RiskReduced,),
        when={"status": Status.ACTIVE},
        then=(
            Cancel(obligations=(CHANNEL_UPDATE, MEETING)),
            Require(
                obligation=CHANNEL_POST,
                key=PostReason.RISK_REDUCED,
                within=RISK_REDUCED_POST_WITHIN,
            ),
        ),
    ),
    Reaction(
        id="communication.closing_ends_tracking",
        title="Closing ends updates, meetings and pending follow-ups",
        cites=COMMUNICATION,
        on=(Closed,),
        then=(Cancel(obligations=(CHANNEL_UPDATE, MEETING, INFORM_TAM, EXECUTIVE_SUMMARY)),),
    ),
    Reaction(
        id="communication.post_when_closed",
        title="The owner posts when the escalation is closed",
        cites=COMMUNICATION,
        on=(Closed,),
        when={"status": Status.ACTIVE},
        then=(
            Cancel(obligations=(CHANNEL_POST,)),
            Require(obligation=CHANNEL_POST, key=PostReason.CLOSED, within=CLOSED_POST_WITHIN),
        ),
    ),
    Reaction(
        id="communication.required_post_made",
        title="A post to the channel discharges the post required for its purpose",
        cites=COMMUNICATION,
        on=(Posted,),
        when={
            "escalation_channel": True,
            "purpose": one_of(PostPurpose.CREATED, PostPurpose.CLOSED, PostPurpose.RISK_REDUCED),
        },
        then=(Fulfil(obligation=CHANNEL_POST, key="purpose"),),
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
            "purpose": AWARENESS_POSTS,
            "by_owner": False,
        },
        then=(
            Violation(
                code=ViolationCode.WRONG_POSTER,
                detail="posted by a team other than the escalation owner",
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
