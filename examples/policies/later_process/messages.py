"""Section "Messages", with "On opening" (the automatic announcement).

Three templates are posted to #escalated_customers: New, Update and Closure. Fields:
customer, dedicated channel, meeting notes, CRM link, severity, status, product DRI, support
DRI, description, and who is kept informed.

New is the automatic announcement made on opening: the policy emits it with its fields.
Updates follow the severity's cadence (section "Cadence"); Closure is due when the escalation
closes. Both are the DRI's to post. The status and who is kept informed are not among the
emitted message's fields: they are the engine's, announced with it (``set_involvement``).
"""

from escalation_policy.vocabulary import (
    BOOL,
    ContextField,
    Emit,
    Fulfil,
    Obligation,
    Reaction,
    Require,
    Situation,
)

from .opening import DEDICATED_CHANNEL, ONE_BUSINESS_DAY
from .terms import (
    Closed,
    MessageDue,
    Opened,
    Posted,
    PostMessage,
    SeverityChanged,
    Template,
    ViolationCode,
)

MESSAGES = "Messages"

CHANNEL = "#escalated_customers"

# "The Closure message is posted": how soon after closing, in business time.
CLOSURE_MESSAGE_WITHIN = ONE_BUSINESS_DAY


def _channel_key(channel: str) -> str:
    """A channel's name as channels are compared: ``#`` and case do not matter."""
    return channel.lstrip("#").casefold()


def _to_escalated_customers(situation: Situation) -> bool:
    return bool(_channel_key(situation.fact.channel) == _channel_key(CHANNEL))


CONTEXT = (
    ContextField("to_escalated_customers", BOOL, _to_escalated_customers, frozenset({Posted.TYPE})),
)
"""Whether a message went to #escalated_customers."""

UPDATE_MESSAGE = Obligation(
    id="update_message",
    violation=ViolationCode.UPDATE_MESSAGE_OVERDUE,
    missed="fewer Update messages than the cadence asks for were posted by {due}",
    announce=MessageDue,
    announce_with={"channel": CHANNEL, "template": Template.UPDATE},
    owner_field="by",
    announce_again_on_new_owner=True,
)

CLOSURE_MESSAGE = Obligation(
    id="closure_message",
    violation=ViolationCode.CLOSURE_MESSAGE_OVERDUE,
    missed="the Closure message was due by {due} and was not posted",
    announce=MessageDue,
    announce_with={"channel": CHANNEL, "template": Template.CLOSURE},
    owner_field="by",
    announce_again_on_new_owner=True,
)

OBLIGATIONS = (UPDATE_MESSAGE, CLOSURE_MESSAGE)

TABLES = ()

REACTIONS = (
    Reaction(
        id="messages.new",
        title="Opening announces the escalation in #escalated_customers with the New template",
        cites=f"On opening; {MESSAGES}",
        on=(Opened,),
        then=(
            Emit(
                action=PostMessage,
                values={"channel": CHANNEL, "template": Template.NEW},
                text={"dedicated_channel": DEDICATED_CHANNEL},
                escalation={
                    "customer": "customer",
                    "crm_case": "crm_case",
                    "severity": "severity",
                    "description": "description",
                },
            ),
        ),
    ),
    Reaction(
        id="messages.updates",
        title="Update messages at the severity's cadence",
        cites=f"{MESSAGES}; Cadence",
        on=(Opened, SeverityChanged),
        then=(Require(obligation=UPDATE_MESSAGE, every="update_message_every"),),
    ),
    Reaction(
        id="messages.update_posted",
        title="An Update message keeps the cadence",
        cites=MESSAGES,
        on=(Posted,),
        when={"to_escalated_customers": True, "template": Template.UPDATE},
        then=(Fulfil(obligation=UPDATE_MESSAGE),),
    ),
    Reaction(
        id="messages.closure",
        title="The Closure message is posted when the escalation closes",
        cites=f"{MESSAGES}; Closing",
        on=(Closed,),
        then=(Require(obligation=CLOSURE_MESSAGE, within=CLOSURE_MESSAGE_WITHIN),),
    ),
    Reaction(
        id="messages.closure_posted",
        title="The Closure message was posted",
        cites=f"{MESSAGES}; Closing",
        on=(Posted,),
        when={"to_escalated_customers": True, "template": Template.CLOSURE},
        then=(Fulfil(obligation=CLOSURE_MESSAGE),),
    ),
)
