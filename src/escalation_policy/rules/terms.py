"""The handbook's terms: the values, facts and actions its rules are written in.

The engine knows none of them: the policy declares them (``FACTS`` and ``ACTIONS`` here; the
values are the enumerations their fields and the rules use), and the JSON contract, the
converter, the context conditions test and the testing kit's strategies derive from them. The
JSON shape is documented in ``docs/json-contract.md``.
"""

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

from escalation_policy.vocabulary import (
    NON_EMPTY,
    Action,
    EscalationFact,
    Values,
    label,
    quick_init,
    timestamp,
)

__all__ = [
    "ACTIONS",
    "FACTS",
    "AccountIssue",
    "AccountIssueKind",
    "Cadence",
    "Closed",
    "CreateTrackerDocument",
    "CustomerContacted",
    "CustomerResponded",
    "EnhancementRequested",
    "ExecutiveSummaryUpdated",
    "InformTam",
    "IssueTypeChanged",
    "MeetingAudience",
    "MeetingHeld",
    "Opened",
    "PostPurpose",
    "PostReason",
    "PostToChannel",
    "Posted",
    "RequestProductEscalation",
    "RiskReduced",
    "Role",
    "RouteToRole",
    "RouteToTam",
    "Segment",
    "Severity",
    "SeverityChanged",
    "Status",
    "StatusChanged",
    "TamAssigned",
    "TamInformed",
    "Team",
    "UpdateExecutiveSummary",
    "ViolationCode",
    "WaitingOnCustomer",
]


# --------------------------------------------------------------------------------------- values
class Severity(Values):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Segment(Values):
    ENTERPRISE = "enterprise", "Enterprise"
    COMMERCIAL = "commercial", "Commercial"
    SMB = "smb", "SMB"


class Team(Values):
    TAM = "tam", "TAM"
    SUPPORT_ENGINEERING = "support_engineering", "Support Engineering"
    CUSTOMER_SUCCESS = "customer_success", "Customer Success"
    OTHER = "other", "Other"


class Role(Values):
    VP_SALES = "vp_sales", "VP of Sales"
    PRODUCT = "product", "Product"
    CRO = "cro", "CRO"
    CEO = "ceo", "CEO"
    VP_CUSTOMER_SUCCESS = "vp_customer_success", "VP of Customer Success"
    DIRECTOR_CUSTOMER_SUCCESS = "director_customer_success", "Director of Customer Success"
    ACCOUNT_MANAGER = "account_manager", "Account Manager"
    ENGINEERING = "engineering", "Engineering"
    SECURITY = "security", "Security"


class Cadence(Values):
    DAILY = "daily", "Daily"
    MULTIPLE_PER_WEEK = "multiple_per_week", "Multiple times per week"
    WEEKLY_TO_BIWEEKLY = "weekly_to_biweekly", "Weekly to Bi-weekly"
    STANDARD = "standard", "Standard Communication"


class PostPurpose(Values):
    CREATED = "created"
    UPDATE = "update"
    CLOSED = "closed"
    RISK_REDUCED = "risk_reduced"
    INITIATION = "initiation"
    TRACKING = "tracking"


class PostReason(Values):
    """Why the policy requires a post to ``#escalated_customers``; the wording is what the
    channel calls each post."""

    CREATED = "created", "New"
    UPDATE = "update", "Update"
    CLOSED = "closed", "Closure"
    RISK_REDUCED = "risk_reduced", "Risk-reduced"


class MeetingAudience(Values):
    INTERNAL = "internal"
    CUSTOMER = "customer"
    EXECUTIVE = "executive"


class AccountIssueKind(Values):
    DELAYED_RESPONSE = "delayed_response", "Delayed response"
    OPEN_ACTIONS = "open_actions", "Open actions"
    NON_COMPLIANT_INSTALLATION = "non_compliant_installation", "Non-compliant installation"


class Status(Values):
    """Where an escalation stands: the engine's ``active`` and ``closed``, and the handbook's
    ``risk_reduced`` ("risk reduced to standard business process to manage")."""

    ACTIVE = "active"
    RISK_REDUCED = "risk_reduced"
    CLOSED = "closed"


class ViolationCode(Values):
    POST_OVERDUE = "post_overdue"
    UPDATE_OVERDUE = "update_overdue"
    CADENCE_MISSED = "cadence_missed"
    TAM_NOT_INFORMED = "tam_not_informed"
    TAM_MISSING = "tam_missing"
    DOCUMENT_LINK_MISSING = "document_link_missing"
    EXECUTIVE_SUMMARY_OVERDUE = "executive_summary_overdue"
    CHANNEL_MISUSE = "channel_misuse"
    WRONG_POSTER = "wrong_poster"


# ---------------------------------------------------------------------------------------- facts
@attrs.frozen(kw_only=True)
class Opened(EscalationFact):
    """An escalation was opened (any team member may open one)."""

    TYPE = "opened"
    OPENS = True
    customer: str = attrs.field(metadata=NON_EMPTY)
    segment: Segment
    severity: Severity
    strategic_partnership: bool = False
    broad_impact: bool = False
    initiated_by: Team = Team.OTHER
    opened_by: str | None = None
    tam: str | None = None
    issue_type: str | None = None
    summary: str | None = None
    time_zone: str | None = None
    """The customer's IANA time zone (``"Europe/Berlin"``), if its business days are not the
    policy's default zone's: the escalation's business days are then counted there."""


@attrs.frozen(kw_only=True)
class SeverityChanged(EscalationFact):
    TYPE = "severity_changed"
    # When the severity last changed: a change soon after it undoes it (a correction).
    SETS: ClassVar[Mapping[str, str]] = {"severity": "severity", "severity_changed_at": "at"}
    STATUS: ClassVar[Mapping[str, str]] = {"risk_reduced": "active"}
    STATUS_WHEN: ClassVar[str | None] = "raised"  # a raise re-escalates; a lowering does not
    severity: Severity


@attrs.frozen(kw_only=True)
class TamAssigned(EscalationFact):
    TYPE = "tam_assigned"
    SETS: ClassVar[Mapping[str, str]] = {"tam": "tam"}
    tam: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class Posted(EscalationFact):
    """A message about the escalation was posted to a Slack channel."""

    TYPE = "posted"
    AFTER_CLOSING = True  # the posts its closing requires
    channel: str = attrs.field(metadata=NON_EMPTY)
    purpose: PostPurpose
    by: Team
    url: str | None = None


@attrs.frozen(kw_only=True)
class MeetingHeld(EscalationFact):
    TYPE = "meeting_held"
    AFTER_CLOSING = True  # recorded as the escalation closes, it asks for nothing
    audience: MeetingAudience


@attrs.frozen(kw_only=True)
class TamInformed(EscalationFact):
    """The escalation's TAM was informed of it, by ``by`` if the host knows who (for the
    record: whoever told the TAM, the TAM knows)."""

    TYPE = "tam_informed"
    AFTER_CLOSING = True  # a TAM told as the escalation closes is no input error
    by: Team | None = None


@attrs.frozen(kw_only=True)
class CustomerContacted(EscalationFact):
    """The team communicated with the customer (a call, an email, a message), by ``by``."""

    TYPE = "customer_contacted"
    AFTER_CLOSING = True  # recorded as the escalation closes, it asks for nothing
    by: Team | None = None


@attrs.frozen(kw_only=True)
class IssueTypeChanged(EscalationFact):
    """What the escalation is about turned out otherwise (a security issue, say)."""

    TYPE = "issue_type_changed"
    SETS: ClassVar[Mapping[str, str]] = {"issue_type": "issue_type"}
    issue_type: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class StatusChanged(EscalationFact):
    """The status of the overall engagement changed (top-level issue status, milestones)."""

    TYPE = "status_changed"
    AFTER_CLOSING = True  # "Closed - resolved", set as the escalation closes: nothing is asked
    SETS: ClassVar[Mapping[str, str]] = {"engagement_status": "status", "milestones": "milestones"}
    status: str = attrs.field(metadata=NON_EMPTY)
    milestones: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ExecutiveSummaryUpdated(EscalationFact):
    TYPE = "executive_summary_updated"
    AFTER_CLOSING = True  # recorded as the escalation closes, it asks for nothing


@attrs.frozen(kw_only=True)
class EnhancementRequested(EscalationFact):
    TYPE = "enhancement_requested"
    summary: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class AccountIssue(EscalationFact):
    TYPE = "account_issue"
    kind: AccountIssueKind


@attrs.frozen(kw_only=True)
class RiskReduced(EscalationFact):
    """Risk was reduced to the standard business process (issue resolved, monitoring)."""

    TYPE = "risk_reduced"
    STATUS: ClassVar[Mapping[str, str]] = {"active": "risk_reduced"}


@attrs.frozen(kw_only=True)
class Closed(EscalationFact):
    TYPE = "closed"
    STATUS: ClassVar[Mapping[str, str]] = {"active": "closed", "risk_reduced": "closed"}


@attrs.frozen(kw_only=True)
class WaitingOnCustomer(EscalationFact):
    """The escalation waits on the customer (an answer, access, a test): the cadence of
    meetings and communication to the customer stops until the customer responds."""

    TYPE = "waiting_on_customer"


@attrs.frozen(kw_only=True)
class CustomerResponded(EscalationFact):
    """The customer responded: the cadence runs again."""

    TYPE = "customer_responded"


FACTS = (
    Opened,
    SeverityChanged,
    TamAssigned,
    Posted,
    MeetingHeld,
    TamInformed,
    CustomerContacted,
    StatusChanged,
    ExecutiveSummaryUpdated,
    EnhancementRequested,
    AccountIssue,
    IssueTypeChanged,
    RiskReduced,
    Closed,
    WaitingOnCustomer,
    CustomerResponded,
)
"""The facts the handbook's policy takes, besides the engine's ``tick``."""


# -------------------------------------------------------------------------------------- actions
@quick_init
@attrs.frozen(kw_only=True)
class CreateTrackerDocument(Action):
    """Create the escalation tracker document from ``template``, with ``sections``."""

    TYPE = "create_tracker_document"
    title: str
    template: str
    sections: tuple[str, ...]

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        return f"create the tracker document {self.title!r} ({', '.join(self.sections)})"


@quick_init
@attrs.frozen(kw_only=True)
class PostToChannel(Action):
    TYPE = "post_to_channel"
    channel: str
    by: Team
    reason: PostReason
    due: dt.datetime

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        return (
            f"{label(self.by)} posts to {self.channel} ({self.reason.value}) "
            f"by {timestamp(self.due)}"
        )


@quick_init
@attrs.frozen(kw_only=True)
class InformTam(Action):
    TYPE = "inform_tam"
    tam: str
    due: dt.datetime

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        return f"inform the TAM {self.tam} by {timestamp(self.due)}"


@quick_init
@attrs.frozen(kw_only=True)
class UpdateExecutiveSummary(Action):
    TYPE = "update_executive_summary"
    due: dt.datetime

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        return f"update the executive summary by {timestamp(self.due)}"


@quick_init
@attrs.frozen(kw_only=True)
class RequestProductEscalation(Action):
    """Request Product support through ``template``: ``team`` (and ``responsible``, the TAM,
    when one is named) makes the request, with a business case if ``business_case``."""

    TYPE = "request_product_escalation"
    template: str
    team: Team
    responsible: str | None = None
    business_case: bool = False

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        who = f"the TAM {self.responsible}" if self.responsible else label(self.team)
        case = ", with the business case" if self.business_case else ""
        return f"{who} requests Product support{case}: {self.template}"


@quick_init
@attrs.frozen(kw_only=True)
class RouteToTam(Action):
    TYPE = "route_to_tam"
    kind: AccountIssueKind
    tam: str | None = None

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        to = f"the TAM {self.tam}" if self.tam else "the TAM"
        return f"route the {label(self.kind).lower()} issue to {to}"


@quick_init
@attrs.frozen(kw_only=True)
class RouteToRole(Action):
    """An account issue with no TAM to take it goes to ``role``."""

    TYPE = "route_to_role"
    kind: AccountIssueKind
    role: Role

    def describe(self) -> str:
        """One plain sentence for the timeline."""
        return f"route the {label(self.kind).lower()} issue to the {label(self.role)}"


ACTIONS = (
    CreateTrackerDocument,
    PostToChannel,
    InformTam,
    UpdateExecutiveSummary,
    RequestProductEscalation,
    RouteToTam,
    RouteToRole,
)
"""The actions the handbook's policy emits, besides the engine's own (owner, involvement,
cadence, violations, reminders, out of scope)."""
