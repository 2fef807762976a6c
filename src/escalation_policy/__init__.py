"""escalation-policy: the customer-escalation handbook as an executable, testable policy.

Hosts feed :class:`PolicyEngine` facts and act on the actions it returns::

    from escalation_policy import PolicyEngine

    engine = PolicyEngine()
    decision = engine.handle({"type": "opened", "at": "2026-03-02T09:00:00Z",
                              "escalation_id": "ESC-1", "customer": "Acme",
                              "segment": "enterprise", "severity": "critical"})
    for action in decision.actions:
        print(action.TYPE, action.rule, action.cites)
"""

import importlib
from typing import TYPE_CHECKING, Any

from escalation_policy._convert import make_converter
from escalation_policy.engine import ENGINES, EngineName, PolicyEngine, advance, decide
from escalation_policy.errors import (
    ClockJumpError,
    DuplicateEscalationError,
    EngineFailure,
    EngineUnavailableError,
    EscalationClosedError,
    InputError,
    InvalidFactError,
    InvalidSnapshotError,
    PolicyDefinitionError,
    PolicyError,
    StaleFactError,
    UnknownEscalationError,
)
from escalation_policy.model import (
    Action,
    AssignOwner,
    EscalationFact,
    Fact,
    OutOfScope,
    Reminder,
    SetCadence,
    SetInvolvement,
    Tick,
    Values,
    Violation,
)
from escalation_policy.policy import Policy, RuleInfo, default_policy, load_policy
from escalation_policy.rules.terms import (  # the default policy's terms, for convenience
    AccountIssue,
    AccountIssueKind,
    Cadence,
    Closed,
    CreateTrackerDocument,
    EnhancementRequested,
    ExecutiveSummaryUpdated,
    InformTam,
    MeetingAudience,
    MeetingHeld,
    Opened,
    Posted,
    PostPurpose,
    PostReason,
    PostToChannel,
    RequestProductEscalation,
    RiskReduced,
    Role,
    RouteToTam,
    Segment,
    Severity,
    SeverityChanged,
    Status,
    StatusChanged,
    TamAssigned,
    TamInformed,
    Team,
    UpdateExecutiveSummary,
    ViolationCode,
)
from escalation_policy.schema import json_schema
from escalation_policy.state import (
    Decision,
    EngineState,
    EscalationState,
    Fulfilment,
    PendingObligation,
)
from escalation_policy.vocabulary import Obligation

if TYPE_CHECKING:
    from escalation_policy._audit import (
        AuditRefusal,
        AuditReport,
        AuditTotals,
        AuditViolation,
        EscalationAudit,
        audit,
    )

_LAZY = {"AuditRefusal", "AuditReport", "AuditTotals", "AuditViolation", "EscalationAudit", "audit"}


def __getattr__(name: str) -> Any:
    # The audit is loaded on first use: hosts that only handle facts do not pay for it.
    if name in _LAZY:
        module = importlib.import_module("escalation_policy._audit")
        for lazy in _LAZY:
            globals()[lazy] = getattr(module, lazy)
        return globals()[name]
    raise AttributeError(f"module 'escalation_policy' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "ENGINES",
    "AccountIssue",
    "AccountIssueKind",
    "Action",
    "AssignOwner",
    "AuditRefusal",
    "AuditReport",
    "AuditTotals",
    "AuditViolation",
    "Cadence",
    "ClockJumpError",
    "Closed",
    "CreateTrackerDocument",
    "Decision",
    "DuplicateEscalationError",
    "EngineFailure",
    "EngineName",
    "EngineState",
    "EngineUnavailableError",
    "EnhancementRequested",
    "EscalationAudit",
    "EscalationClosedError",
    "EscalationFact",
    "EscalationState",
    "ExecutiveSummaryUpdated",
    "Fact",
    "Fulfilment",
    "InformTam",
    "InputError",
    "InvalidFactError",
    "InvalidSnapshotError",
    "MeetingAudience",
    "MeetingHeld",
    "Obligation",
    "Opened",
    "OutOfScope",
    "PendingObligation",
    "Policy",
    "PolicyDefinitionError",
    "PolicyEngine",
    "PolicyError",
    "PostPurpose",
    "PostReason",
    "PostToChannel",
    "Posted",
    "Reminder",
    "RequestProductEscalation",
    "RiskReduced",
    "Role",
    "RouteToTam",
    "RuleInfo",
    "Segment",
    "SetCadence",
    "SetInvolvement",
    "Severity",
    "SeverityChanged",
    "StaleFactError",
    "Status",
    "StatusChanged",
    "TamAssigned",
    "TamInformed",
    "Team",
    "Tick",
    "UnknownEscalationError",
    "UpdateExecutiveSummary",
    "Values",
    "Violation",
    "ViolationCode",
    "__version__",
    "advance",
    "audit",
    "decide",
    "default_policy",
    "json_schema",
    "load_policy",
    "make_converter",
]
