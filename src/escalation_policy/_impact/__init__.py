"""The impact of a change of policy on a recorded history: what the new policy would have done
differently than the base, escalation by escalation.

``_compare`` replays the history under both policies in step, observed as the audit's replay is
(:mod:`escalation_policy._audit`), and pairs what differs; ``_report`` holds the report's
types; ``_sources`` names and loads the two policies (a package, a module, a git revision);
``_parallel`` runs partitions of the history in processes; ``_render`` writes the report for
people (text, Markdown, HTML).
"""

from escalation_policy._impact._api import impact
from escalation_policy._impact._compare import Comparison, renames
from escalation_policy._impact._report import (
    ActionChange,
    ChangeCounts,
    EscalationImpact,
    ImpactReport,
    ImpactTotals,
)

__all__ = [
    "ActionChange",
    "ChangeCounts",
    "Comparison",
    "EscalationImpact",
    "ImpactReport",
    "ImpactTotals",
    "impact",
    "renames",
]
