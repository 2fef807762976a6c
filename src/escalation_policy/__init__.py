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
    DuplicateFactError,
    EngineFailure,
    EngineUnavailableError,
    EscalationClosedError,
    InputError,
    InvalidFactError,
    InvalidSnapshotError,
    PolicyDefinitionError,
    PolicyError,
    StaleFactError,
    StoreError,
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
    from escalation_policy.policy.diff import PolicyDifference
    from escalation_policy.service import Delivery, Handled, Pruned, Service
    from escalation_policy.store import PostgresStore, SQLiteStore, Store, open_store

_LAZY = {
    "PolicyDifference": "escalation_policy.policy.diff",
    **dict.fromkeys(
        ("AuditRefusal", "AuditReport", "AuditTotals", "AuditViolation", "EscalationAudit"),
        "escalation_policy._audit",
    ),
    "audit": "escalation_policy._audit",
    **dict.fromkeys(("Delivery", "Handled", "Pruned", "Service"), "escalation_policy.service"),
    **dict.fromkeys(
        ("PostgresStore", "SQLiteStore", "Store", "open_store"), "escalation_policy.store"
    ),
}


def __getattr__(name: str) -> Any:
    # The audit and the stores are loaded on first use: hosts that only handle facts in
    # memory do not pay for them.
    module_name = _LAZY.get(name)
    if module_name is not None:
        module = importlib.import_module(module_name)
        for lazy, home in _LAZY.items():
            if home == module_name:
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
    "Delivery",
    "DuplicateEscalationError",
    "DuplicateFactError",
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
    "Handled",
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
    "PolicyDifference",
    "PolicyEngine",
    "PolicyError",
    "PostPurpose",
    "PostReason",
    "PostToChannel",
    "Posted",
    "PostgresStore",
    "Pruned",
    "Reminder",
    "RequestProductEscalation",
    "RiskReduced",
    "Role",
    "RouteToTam",
    "RuleInfo",
    "SQLiteStore",
    "Segment",
    "Service",
    "SetCadence",
    "SetInvolvement",
    "Severity",
    "SeverityChanged",
    "StaleFactError",
    "Status",
    "StatusChanged",
    "Store",
    "StoreError",
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
    "open_store",
]
