"""The compliance audit: one replay of a recorded history, and the report observed of it.

``_replay`` feeds the history through a :class:`~escalation_policy.PolicyEngine` once and tells
its observers what happens to each escalation; ``_report`` is the audit's observer and the
report's types. The HTML page (``escalation_policy._html``) observes the same replay.
"""

from escalation_policy._audit._replay import (
    AuditCalendar,
    AuditRefusal,
    EscalationObserver,
    Observer,
    Replayed,
    replay,
)
from escalation_policy._audit._report import (
    AuditObserver,
    AuditReport,
    AuditTotals,
    AuditViolation,
    EscalationAudit,
    ObligationFigures,
    ObligationTotals,
    audit,
    audit_end,
)

__all__ = [
    "AuditCalendar",
    "AuditObserver",
    "AuditRefusal",
    "AuditReport",
    "AuditTotals",
    "AuditViolation",
    "EscalationAudit",
    "EscalationObserver",
    "ObligationFigures",
    "ObligationTotals",
    "Observer",
    "Replayed",
    "audit",
    "audit_end",
    "replay",
]
