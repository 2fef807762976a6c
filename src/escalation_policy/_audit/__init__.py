"""The compliance audit: one replay of a recorded history, and the report observed of it.

``_replay`` feeds the history through a :class:`~escalation_policy.PolicyEngine` once and tells
its observers what happens to each escalation; ``_report`` is the audit's observer and the
report's types; ``_coverage`` counts how often each rule fired. The HTML page
(``escalation_policy._html``) and the impact of a change (``escalation_policy._impact``)
observe the same replay.
"""

from escalation_policy._audit._api import audit
from escalation_policy._audit._coverage import CoverageObserver, RuleCoverage
from escalation_policy._audit._parts import AuditPartsDisagree, merge_audits, part_of
from escalation_policy._audit._replay import (
    AuditCalendar,
    AuditRefusal,
    DecisionObserver,
    EscalationObserver,
    Observer,
    Replay,
    Replayed,
    replay,
)
from escalation_policy._audit._report import (
    AuditObserver,
    AuditPart,
    AuditReport,
    AuditTotals,
    AuditViolation,
    EscalationAudit,
    ObligationFigures,
    ObligationTotals,
    audit_end,
    missed_obligations,
)
from escalation_policy._audit._stream import StreamedAudit, audit_streamed

__all__ = [
    "AuditCalendar",
    "AuditObserver",
    "AuditPart",
    "AuditPartsDisagree",
    "AuditRefusal",
    "AuditReport",
    "AuditTotals",
    "AuditViolation",
    "CoverageObserver",
    "DecisionObserver",
    "EscalationAudit",
    "EscalationObserver",
    "ObligationFigures",
    "ObligationTotals",
    "Observer",
    "Replay",
    "Replayed",
    "RuleCoverage",
    "StreamedAudit",
    "audit",
    "audit_end",
    "audit_streamed",
    "merge_audits",
    "missed_obligations",
    "part_of",
    "replay",
]
