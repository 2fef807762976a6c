"""The later process's terms: the values, facts and actions its rules are written in.

The engine knows none of them: this module declares them (``FACTS`` and ``ACTIONS``; the
values are the enumerations their fields and the rules use). Everything a host sends or
receives for this policy is here: one fact type opens an escalation (``opened``), the others
report what the escalation's people did.
"""

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

from escalation_policy.vocabulary import NON_EMPTY, Action, EscalationFact, Values

__all__ = [
    "ACTIONS",
    "FACTS",
    "AccountTeamChanged",
    "ArchiveChannel",
    "AssignProductDri",
    "AssignSupportDri",
    "Cadence",
    "ChannelArchived",
    "ChannelUpdated",
    "Closed",
    "ContactCustomer",
    "CreateChannel",
    "CustomerContacted",
    "Dri",
    "HoldStandup",
    "MessageDue",
    "Opened",
    "Outcome",
    "PostMessage",
    "Posted",
    "ProductDriAssigned",
    "ProductLevel",
    "Role",
    "RootCauseAnalysisRequested",
    "Severity",
    "SeverityChanged",
    "StandupHeld",
    "SupportDriAssigned",
    "SupportTicketLinked",
    "Template",
    "UpdateChannel",
    "ViolationCode",
]


# --------------------------------------------------------------------------------------- values
class Severity(Values):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Dri(Values):
    """Who is the escalation's directly responsible individual (its owner)."""

    PROJECT_MANAGER = "project_manager", "Project manager"
    CUSTOMER_SUCCESS_MANAGER = "customer_success_manager", "Customer success manager"
    CUSTOMER_SUCCESS_ENGINEER = "customer_success_engineer", "Customer success engineer"
    ACCOUNT_EXECUTIVE = "account_executive", "Account executive"


class ProductLevel(Values):
    """How senior a Product DRI is, the most junior first."""

    PRODUCT_MANAGER = "product_manager", "Product manager"
    GROUP_PRODUCT_MANAGER = "group_product_manager", "Group product manager"
    PRODUCT_DIRECTOR = "product_director", "Product director"
    PRODUCT_LEADERSHIP = "product_leadership", "Product leadership team"


class Cadence(Values):
    DAILY = "daily", "Daily"
    SEVERAL_TIMES_A_WEEK = "several_times_a_week", "Several times a week"
    WEEKLY = "weekly", "Weekly"
    AS_USUAL = "as_usual", "As usual"


class Role(Values):
    """Who is kept informed of an escalation."""

    VP_SALES = "vp_sales", "VP of Sales"
    PRODUCT = "product", "Product"
    CRO = "cro", "CRO"
    CEO = "ceo", "CEO"
    VP_CUSTOMER_SUCCESS = "vp_customer_success", "VP of Customer Success"
    DIRECTOR_CUSTOMER_SUCCESS = "director_customer_success", "Director of Customer Success"
    ACCOUNT_MANAGER = "account_manager", "Account Manager"


class Template(Values):
    """The message templates of ``#escalated_customers``."""

    NEW = "new", "New"
    UPDATE = "update", "Update"
    CLOSURE = "closure", "Closure"


class Outcome(Values):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NONE = "none", "None"


class ViolationCode(Values):
    PRODUCT_DRI_OVERDUE = "product_dri_overdue"
    PRODUCT_DRI_TOO_JUNIOR = "product_dri_too_junior"
    SUPPORT_DRI_OVERDUE = "support_dri_overdue"
    FIRST_STANDUP_OVERDUE = "first_standup_overdue"
    STANDUP_OVERDUE = "standup_overdue"
    CUSTOMER_CONTACT_OVERDUE = "customer_contact_overdue"
    CHANNEL_UPDATE_OVERDUE = "channel_update_overdue"
    UPDATE_MESSAGE_OVERDUE = "update_message_overdue"
    CLOSURE_MESSAGE_OVERDUE = "closure_message_overdue"
    CHANNEL_NOT_ARCHIVED = "channel_not_archived"
    CLOSED_WITHOUT_AGREEMENT = "closed_without_agreement"
    CLOSED_WITHOUT_EXIT_VERDICT = "closed_without_exit_verdict"
    CLOSED_WITHOUT_ROOT_CAUSE_ANALYSIS = "closed_without_root_cause_analysis"


# ---------------------------------------------------------------------------------------- facts
@attrs.frozen(kw_only=True)
class Opened(EscalationFact):
    """An escalation was opened, from its case in the CRM.

    ``short_name`` is the customer's name as channel names spell it (``acme_corp``): the
    dedicated channel is ``#esc_<short_name>``. The immediate asks and the exit criteria are
    written down when the escalation opens. The account's team (a running professional-services
    project, a CSM, a CSE) decides who the DRI is.
    """

    TYPE = "opened"
    OPENS = True
    customer: str = attrs.field(metadata=NON_EMPTY)
    short_name: str = attrs.field(metadata=NON_EMPTY)
    severity: Severity
    crm_case: str = attrs.field(metadata=NON_EMPTY)
    immediate_asks: str = attrs.field(metadata=NON_EMPTY)
    exit_criteria: str = attrs.field(metadata=NON_EMPTY)
    description: str | None = None
    product_related: bool = False
    support_tickets: bool = False
    ps_project_running: bool = False
    csm_assigned: bool = False
    cse_assigned: bool = False
    time_zone: str | None = None
    """The customer's IANA time zone (``"Europe/Berlin"``), if its business days are not the
    policy's default zone's: the escalation's business days are then counted there."""


@attrs.frozen(kw_only=True)
class SeverityChanged(EscalationFact):
    TYPE = "severity_changed"
    SETS: ClassVar[Mapping[str, str]] = {"severity": "severity"}
    severity: Severity


@attrs.frozen(kw_only=True)
class AccountTeamChanged(EscalationFact):
    """The account's team as it now stands (the DRI is chosen again from it)."""

    TYPE = "account_team_changed"
    SETS: ClassVar[Mapping[str, str]] = {
        "ps_project_running": "ps_project_running",
        "csm_assigned": "csm_assigned",
        "cse_assigned": "cse_assigned",
    }
    ps_project_running: bool
    csm_assigned: bool
    cse_assigned: bool


@attrs.frozen(kw_only=True)
class ProductDriAssigned(EscalationFact):
    TYPE = "product_dri_assigned"
    SETS: ClassVar[Mapping[str, str]] = {"product_dri": "name", "product_dri_level": "level"}
    name: str = attrs.field(metadata=NON_EMPTY)
    level: ProductLevel


@attrs.frozen(kw_only=True)
class SupportTicketLinked(EscalationFact):
    """A support ticket was found to be part of the escalation."""

    TYPE = "support_ticket_linked"
    ticket: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class SupportDriAssigned(EscalationFact):
    """A support engineering manager was named the escalation's Support DRI."""

    TYPE = "support_dri_assigned"
    SETS: ClassVar[Mapping[str, str]] = {"support_dri": "name"}
    name: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class StandupHeld(EscalationFact):
    """An internal stand-up was held; ``notes`` links its meeting notes."""

    TYPE = "standup_held"
    SETS: ClassVar[Mapping[str, str]] = {"meeting_notes": "notes"}
    notes: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class CustomerContacted(EscalationFact):
    """The team spoke or wrote to the customer about the escalation."""

    TYPE = "customer_contacted"


@attrs.frozen(kw_only=True)
class ChannelUpdated(EscalationFact):
    """An update was posted in the escalation's dedicated channel."""

    TYPE = "channel_updated"


@attrs.frozen(kw_only=True)
class Posted(EscalationFact):
    """A message about the escalation was posted to a channel, from one of the templates."""

    TYPE = "posted"
    AFTER_CLOSING = True  # the Closure message
    channel: str = attrs.field(metadata=NON_EMPTY)
    template: Template


@attrs.frozen(kw_only=True)
class RootCauseAnalysisRequested(EscalationFact):
    """The customer asked for a root-cause analysis; ``by`` names who asked."""

    TYPE = "root_cause_analysis_requested"
    SETS: ClassVar[Mapping[str, str]] = {"root_cause_analysis_requested_by": "by"}
    by: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class Closed(EscalationFact):
    """The escalation was closed. ``customer_agreement`` links the customer's documented
    agreement to close; ``exit_criteria_met`` is the verdict on the exit criteria set at
    opening (``null``: no verdict); ``root_cause_analysis`` links the analysis, if one was
    written. The escalation keeps them, for the Closure message."""

    TYPE = "closed"
    STATUS: ClassVar[Mapping[str, str]] = {"active": "closed"}
    SETS: ClassVar[Mapping[str, str]] = {
        "outcome": "outcome",
        "customer_agreement": "customer_agreement",
        "exit_criteria_met": "exit_criteria_met",
        "root_cause_analysis": "root_cause_analysis",
    }
    outcome: Outcome
    customer_agreement: str | None = None
    exit_criteria_met: bool | None = None
    root_cause_analysis: str | None = None


@attrs.frozen(kw_only=True)
class ChannelArchived(EscalationFact):
    TYPE = "channel_archived"
    AFTER_CLOSING = True  # archiving is part of closing


FACTS = (
    Opened,
    SeverityChanged,
    AccountTeamChanged,
    ProductDriAssigned,
    SupportTicketLinked,
    SupportDriAssigned,
    StandupHeld,
    CustomerContacted,
    ChannelUpdated,
    Posted,
    RootCauseAnalysisRequested,
    Closed,
    ChannelArchived,
)
"""The facts the later process takes, besides the engine's ``tick``."""


# -------------------------------------------------------------------------------------- actions
@attrs.frozen(kw_only=True)
class CreateChannel(Action):
    """Create the escalation's dedicated public channel."""

    TYPE = "create_channel"
    channel: str


@attrs.frozen(kw_only=True)
class PostMessage(Action):
    """Post a message from one of the templates, its fields filled from the escalation."""

    TYPE = "post_message"
    channel: str
    template: Template
    customer: str
    dedicated_channel: str
    crm_case: str
    severity: Severity
    description: str | None = None
    product_dri: str | None = None
    support_dri: str | None = None
    meeting_notes: str | None = None


@attrs.frozen(kw_only=True)
class MessageDue(Action):
    """The DRI (``by``) owes a message from ``template`` to ``channel`` by ``due``."""

    TYPE = "message_due"
    channel: str
    template: Template
    by: Dri
    due: dt.datetime


@attrs.frozen(kw_only=True)
class HoldStandup(Action):
    TYPE = "hold_standup"
    by: Dri
    due: dt.datetime


@attrs.frozen(kw_only=True)
class ContactCustomer(Action):
    TYPE = "contact_customer"
    by: Dri
    due: dt.datetime


@attrs.frozen(kw_only=True)
class UpdateChannel(Action):
    """Post an update in the escalation's dedicated channel by ``due``."""

    TYPE = "update_channel"
    by: Dri
    due: dt.datetime


@attrs.frozen(kw_only=True)
class AssignProductDri(Action):
    """Name a Product DRI of ``level`` or more senior by ``due``."""

    TYPE = "assign_product_dri"
    level: ProductLevel
    due: dt.datetime


@attrs.frozen(kw_only=True)
class AssignSupportDri(Action):
    """Name a support engineering manager as the Support DRI by ``due``."""

    TYPE = "assign_support_dri"
    due: dt.datetime


@attrs.frozen(kw_only=True)
class ArchiveChannel(Action):
    TYPE = "archive_channel"
    channel: str


ACTIONS = (
    CreateChannel,
    PostMessage,
    MessageDue,
    HoldStandup,
    ContactCustomer,
    UpdateChannel,
    AssignProductDri,
    AssignSupportDri,
    ArchiveChannel,
)
"""The actions the later process emits, besides the engine's own (owner, involvement,
cadence, violations, reminders)."""
