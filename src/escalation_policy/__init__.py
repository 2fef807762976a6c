"""escalation-policy: the customer-escalation handbook as an executable, testable policy.

Hosts feed :class:`PolicyEngine` facts and act on the actions it returns::

    from escalation_policy import PolicyEngine

    engine = PolicyEngine()
    decision = engine.handle({"type": "opened", "at": "2026-03-02T09:00:00Z",
                              "escalation_id": "ESC-1", "customer": "Acme",
                              "segment": "enterprise", "severity": "critical"})
    for action in decision.actions:
        print(action.TYPE, action.rule, action.cites)

This module holds what a host needs: the engines, the service and its stores, the audit and
the impact of a change of policy, the
bases of facts and actions and the actions every policy may emit, the errors, and loading a
policy. Each audience has its own door:

- the handbook's terms (its facts, actions and values, such as ``Opened`` and ``Severity``):
  :mod:`escalation_policy.rules`;
- what a policy package is written in: :mod:`escalation_policy.vocabulary` (its
  ``Violation`` is the effect a rule declares; the ``Violation`` here is the action it emits);
- helpers for a host's tests: :mod:`escalation_policy.testing`.

Every name is imported on first use, so ``import escalation_policy`` costs next to nothing.
"""

import importlib
import warnings

TYPE_CHECKING = False  # as typing's, without importing typing (most of this import's cost)

__version__ = "0.1.0"

# The public names and the module each comes from: the one list behind ``__all__``, attribute
# access and ``dir()``. Type checkers read the same names from the imports below, which
# tests/test_imports.py keeps equal to this list.
_EXPORTS: dict[str, str] = {
    # the engines and what they return
    **dict.fromkeys(
        ("ENGINES", "EngineName", "PolicyEngine", "advance", "clock_figures", "decide"),
        "escalation_policy.engine",
    ),
    **dict.fromkeys(
        (
            "ChangedObligation",
            "Decision",
            "EngineState",
            "ClockFigures",
            "EscalationState",
            "Fulfilment",
            "MovedDue",
            "PendingObligation",
            "PlanChange",
            "Replanned",
        ),
        "escalation_policy.state",
    ),
    # facts and actions: the bases, the tick, and the actions every policy may emit
    **dict.fromkeys(
        (
            "Action",
            "AssignOwner",
            "EscalationFact",
            "Fact",
            "OutOfScope",
            "OverdueNotice",
            "Reminder",
            "SetCadence",
            "SetInvolvement",
            "Tick",
            "Violation",
        ),
        "escalation_policy.model",
    ),
    **dict.fromkeys(("action_json", "make_converter"), "escalation_policy._convert"),
    "json_schema": "escalation_policy.schema",
    # policies
    **dict.fromkeys(
        ("Policy", "RuleInfo", "default_policy", "load_policy"), "escalation_policy.policy"
    ),
    "PolicyDifference": "escalation_policy.policy.diff",
    # the service and its stores
    **dict.fromkeys(("Delivery", "Handled", "Pruned", "Service"), "escalation_policy.service"),
    **dict.fromkeys(
        ("PostgresStore", "SQLiteStore", "Store", "open_store"), "escalation_policy.store"
    ),
    # the audit
    **dict.fromkeys(
        (
            "AuditPart",
            "AuditPartsDisagree",
            "AuditRefusal",
            "AuditReport",
            "AuditTotals",
            "AuditViolation",
            "EscalationAudit",
            "StreamedAudit",
            "audit",
            "audit_streamed",
            "merge_audits",
        ),
        "escalation_policy._audit",
    ),
    "audit_partitioned": "escalation_policy._partitioned",
    # the weekly digest
    **dict.fromkeys(
        ("Digest", "digest", "digest_html", "digest_markdown", "digest_slack"),
        "escalation_policy._digest",
    ),
    # why a rule fired, or not; what a policy's owner should look at
    **dict.fromkeys(("Explanation", "WhyNot", "explain"), "escalation_policy._explain"),
    # what a change of policy does to a history
    **dict.fromkeys(
        (
            "ActionChange",
            "ChangeCounts",
            "EscalationImpact",
            "ImpactReport",
            "ImpactTotals",
            "impact",
        ),
        "escalation_policy._impact",
    ),
    "impact_partitioned": "escalation_policy._impact._parallel",
    # errors
    **dict.fromkeys(
        (
            "ClockJumpError",
            "DuplicateEscalationError",
            "DuplicateFactError",
            "EngineFailure",
            "EngineUnavailableError",
            "EscalationClosedError",
            "EscalationDamagedError",
            "InputError",
            "InvalidFactError",
            "InvalidSnapshotError",
            "PolicyChangedError",
            "PolicyDefinitionError",
            "PolicyError",
            "StaleFactError",
            "StoreError",
            "UnknownEscalationError",
        ),
        "escalation_policy.errors",
    ),
}

# Names this module exported before each audience had its own door, and where they live now.
# They still import, with a DeprecationWarning that names the new place.
_MOVED: dict[str, str] = {
    **dict.fromkeys(
        (
            "AccountIssue",
            "AccountIssueKind",
            "Cadence",
            "Closed",
            "CreateTrackerDocument",
            "EnhancementRequested",
            "ExecutiveSummaryUpdated",
            "InformTam",
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
        ),
        "escalation_policy.rules",
    ),
    **dict.fromkeys(("Obligation", "Values"), "escalation_policy.vocabulary"),
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> "Any":
    home = _EXPORTS.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # found here from now on, without this function
        return value
    home = _MOVED.get(name)
    if home is not None:
        warnings.warn(
            f"escalation_policy.{name} has moved: import it from {home}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)
    raise AttributeError(f"module 'escalation_policy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    # `X as X`: names a strict type checker sees as exported on purpose
    from escalation_policy._audit import AuditPart as AuditPart
    from escalation_policy._audit import AuditPartsDisagree as AuditPartsDisagree
    from escalation_policy._audit import AuditRefusal as AuditRefusal
    from escalation_policy._audit import AuditReport as AuditReport
    from escalation_policy._audit import AuditTotals as AuditTotals
    from escalation_policy._audit import AuditViolation as AuditViolation
    from escalation_policy._audit import EscalationAudit as EscalationAudit
    from escalation_policy._audit import StreamedAudit as StreamedAudit
    from escalation_policy._audit import audit as audit
    from escalation_policy._audit import audit_streamed as audit_streamed
    from escalation_policy._audit import merge_audits as merge_audits
    from escalation_policy._convert import action_json as action_json
    from escalation_policy._convert import make_converter as make_converter
    from escalation_policy._digest import Digest as Digest
    from escalation_policy._digest import digest as digest
    from escalation_policy._digest import digest_html as digest_html
    from escalation_policy._digest import digest_markdown as digest_markdown
    from escalation_policy._digest import digest_slack as digest_slack
    from escalation_policy._explain import Explanation as Explanation
    from escalation_policy._explain import WhyNot as WhyNot
    from escalation_policy._explain import explain as explain
    from escalation_policy._impact import ActionChange as ActionChange
    from escalation_policy._impact import ChangeCounts as ChangeCounts
    from escalation_policy._impact import EscalationImpact as EscalationImpact
    from escalation_policy._impact import ImpactReport as ImpactReport
    from escalation_policy._impact import ImpactTotals as ImpactTotals
    from escalation_policy._impact import impact as impact
    from escalation_policy._impact._parallel import impact_partitioned as impact_partitioned
    from escalation_policy._partitioned import audit_partitioned as audit_partitioned
    from escalation_policy.engine import ENGINES as ENGINES
    from escalation_policy.engine import EngineName as EngineName
    from escalation_policy.engine import PolicyEngine as PolicyEngine
    from escalation_policy.engine import advance as advance
    from escalation_policy.engine import clock_figures as clock_figures
    from escalation_policy.engine import decide as decide
    from escalation_policy.errors import ClockJumpError as ClockJumpError
    from escalation_policy.errors import DuplicateEscalationError as DuplicateEscalationError
    from escalation_policy.errors import DuplicateFactError as DuplicateFactError
    from escalation_policy.errors import EngineFailure as EngineFailure
    from escalation_policy.errors import EngineUnavailableError as EngineUnavailableError
    from escalation_policy.errors import EscalationClosedError as EscalationClosedError
    from escalation_policy.errors import EscalationDamagedError as EscalationDamagedError
    from escalation_policy.errors import InputError as InputError
    from escalation_policy.errors import InvalidFactError as InvalidFactError
    from escalation_policy.errors import InvalidSnapshotError as InvalidSnapshotError
    from escalation_policy.errors import PolicyChangedError as PolicyChangedError
    from escalation_policy.errors import PolicyDefinitionError as PolicyDefinitionError
    from escalation_policy.errors import PolicyError as PolicyError
    from escalation_policy.errors import StaleFactError as StaleFactError
    from escalation_policy.errors import StoreError as StoreError
    from escalation_policy.errors import UnknownEscalationError as UnknownEscalationError
    from escalation_policy.model import Action as Action
    from escalation_policy.model import AssignOwner as AssignOwner
    from escalation_policy.model import EscalationFact as EscalationFact
    from escalation_policy.model import Fact as Fact
    from escalation_policy.model import OutOfScope as OutOfScope
    from escalation_policy.model import OverdueNotice as OverdueNotice
    from escalation_policy.model import Reminder as Reminder
    from escalation_policy.model import SetCadence as SetCadence
    from escalation_policy.model import SetInvolvement as SetInvolvement
    from escalation_policy.model import Tick as Tick
    from escalation_policy.model import Violation as Violation
    from escalation_policy.policy import Policy as Policy
    from escalation_policy.policy import RuleInfo as RuleInfo
    from escalation_policy.policy import default_policy as default_policy
    from escalation_policy.policy import load_policy as load_policy
    from escalation_policy.policy.diff import PolicyDifference as PolicyDifference
    from escalation_policy.schema import json_schema as json_schema
    from escalation_policy.service import Delivery as Delivery
    from escalation_policy.service import Handled as Handled
    from escalation_policy.service import Pruned as Pruned
    from escalation_policy.service import Service as Service
    from escalation_policy.state import ChangedObligation as ChangedObligation
    from escalation_policy.state import ClockFigures as ClockFigures
    from escalation_policy.state import Decision as Decision
    from escalation_policy.state import EngineState as EngineState
    from escalation_policy.state import EscalationState as EscalationState
    from escalation_policy.state import Fulfilment as Fulfilment
    from escalation_policy.state import MovedDue as MovedDue
    from escalation_policy.state import PendingObligation as PendingObligation
    from escalation_policy.state import PlanChange as PlanChange
    from escalation_policy.state import Replanned as Replanned
    from escalation_policy.store import PostgresStore as PostgresStore
    from escalation_policy.store import SQLiteStore as SQLiteStore
    from escalation_policy.store import Store as Store
    from escalation_policy.store import open_store as open_store

if TYPE_CHECKING:
    from typing import Any
