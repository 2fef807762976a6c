"""Section "Closing".

Closure needs the customer's documented agreement, an outcome (positive, negative, none), a
verdict on whether the exit criteria set at opening were met, a root-cause analysis when the
customer asked for one, and the dedicated channel archived. The Closure message is posted to
#escalated_customers (see ``messages.py``).

The outcome is part of every closing fact. Closing without the agreement, the verdict or an
analysis the customer asked for is a violation; the escalation is closed all the same.
"""

from escalation_policy.vocabulary import (
    BOOL,
    Cancel,
    ContextField,
    Emit,
    Fulfil,
    Obligation,
    Reaction,
    Require,
    Violation,
)

from .cadence import CHANNEL_UPDATE, CUSTOMER_CONTACT, STANDUP
from .messages import UPDATE_MESSAGE
from .opening import DEDICATED_CHANNEL, FIRST_STANDUP, ONE_BUSINESS_DAY
from .owners import PRODUCT_DRI, SUPPORT_DRI
from .terms import ArchiveChannel, ChannelArchived, Closed, ViolationCode

CLOSING = "Closing"

# How soon after closing the channel is archived, in business time.
CHANNEL_ARCHIVED_WITHIN = ONE_BUSINESS_DAY

CONTEXT = (
    ContextField(
        "agreement_documented",
        BOOL,
        lambda situation: bool(situation.fact.customer_agreement),
        frozenset({Closed.TYPE}),
    ),
    ContextField(
        "exit_verdict_given",
        BOOL,
        lambda situation: situation.fact.exit_criteria_met is not None,
        frozenset({Closed.TYPE}),
    ),
    ContextField(
        "root_cause_analysis_attached",
        BOOL,
        lambda situation: bool(situation.fact.root_cause_analysis),
        frozenset({Closed.TYPE}),
    ),
    ContextField(
        "root_cause_analysis_requested",
        BOOL,
        lambda situation: situation.record.root_cause_analysis_requested_by is not None,
    ),
)
"""What a closing fact documents, and whether the customer asked for a root-cause analysis."""

CHANNEL_ARCHIVED = Obligation(
    id="channel_archived",
    violation=ViolationCode.CHANNEL_NOT_ARCHIVED,
    missed="the dedicated channel was not archived by {due}",
)

OBLIGATIONS = (CHANNEL_ARCHIVED,)

TABLES = ()

REACTIONS = (
    Reaction(
        id="closing.ends_the_cadence",
        title="Closing ends stand-ups, updates, customer contact and pending DRIs",
        cites=CLOSING,
        on=(Closed,),
        then=(
            Cancel(
                obligations=(
                    FIRST_STANDUP,
                    STANDUP,
                    CUSTOMER_CONTACT,
                    CHANNEL_UPDATE,
                    UPDATE_MESSAGE,
                    PRODUCT_DRI,
                    SUPPORT_DRI,
                )
            ),
        ),
    ),
    Reaction(
        id="closing.customer_agreement",
        title="Closure needs the customer's documented agreement",
        cites=CLOSING,
        on=(Closed,),
        when={"agreement_documented": False},
        then=(
            Violation(
                code=ViolationCode.CLOSED_WITHOUT_AGREEMENT,
                detail="closed without the customer's documented agreement",
            ),
        ),
    ),
    Reaction(
        id="closing.exit_criteria",
        title="Closure needs a verdict on the exit criteria set at opening",
        cites=CLOSING,
        on=(Closed,),
        when={"exit_verdict_given": False},
        then=(
            Violation(
                code=ViolationCode.CLOSED_WITHOUT_EXIT_VERDICT,
                detail="closed without a verdict on whether the exit criteria were met",
            ),
        ),
    ),
    Reaction(
        id="closing.root_cause_analysis",
        title="Closure needs the root-cause analysis the customer asked for",
        cites=CLOSING,
        on=(Closed,),
        when={"root_cause_analysis_requested": True, "root_cause_analysis_attached": False},
        then=(
            Violation(
                code=ViolationCode.CLOSED_WITHOUT_ROOT_CAUSE_ANALYSIS,
                detail="closed without the root-cause analysis the customer asked for",
            ),
        ),
    ),
    Reaction(
        id="closing.archive_channel",
        title="The dedicated channel is archived when the escalation closes",
        cites=CLOSING,
        on=(Closed,),
        then=(
            Emit(action=ArchiveChannel, text={"channel": DEDICATED_CHANNEL}),
            Require(obligation=CHANNEL_ARCHIVED, within=CHANNEL_ARCHIVED_WITHIN),
        ),
    ),
    Reaction(
        id="closing.channel_archived",
        title="The dedicated channel was archived",
        cites=CLOSING,
        on=(ChannelArchived,),
        then=(Fulfil(obligation=CHANNEL_ARCHIVED),),
    ),
)
