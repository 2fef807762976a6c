"""What a change of policy does to a history: the report's types, and its totals."""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from escalation_policy._audit import AuditRefusal
from escalation_policy._convert import shared_converter

__all__ = [
    "ActionChange",
    "ChangeCounts",
    "EscalationImpact",
    "ImpactReport",
    "ImpactTotals",
    "totals_of",
]

ChangeKind = Literal["added", "removed", "changed"]


@attrs.frozen(kw_only=True)
class ActionChange:
    """One action the new policy takes that the base did not (``added``), one the base took
    that the new one does not (``removed``), or one both take otherwise (``changed``: the
    same kind of action of the same rule, for the same obligation or code, at another time,
    due at another time, or with other fields).

    ``before`` and ``after`` are the action's JSON form under the base and under the new
    policy (``None`` where it is not taken); ``rule`` is the new policy's id for the rule (a
    rule renamed with ``replaces`` is compared under its new id, and ``before`` keeps the
    id the base gave it); ``fields`` names the fields that differ, for a change.
    """

    kind: ChangeKind
    type: str
    rule: str
    code: str | None = None
    """The violation code, for a ``violation``."""
    at: dt.datetime
    """When the action was taken: under the new policy, else under the base."""
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    fields: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class EscalationImpact:
    """What changes for one escalation: every action added, removed and changed, in the
    order of their times. ``opened_at`` is ``None`` for actions about an escalation the
    history never opened (a post to the escalation channel about one, say)."""

    escalation_id: str
    opened_at: dt.datetime | None
    changes: tuple[ActionChange, ...]

    def count(self, kind: ChangeKind) -> int:
        """How many of its changes are of ``kind``."""
        return sum(1 for change in self.changes if change.kind == kind)


@attrs.frozen(kw_only=True)
class ChangeCounts:
    """Actions added, removed and changed."""

    added: int = 0
    removed: int = 0
    changed: int = 0


@attrs.frozen(kw_only=True)
class ImpactTotals:
    """The changes over the whole history: how many escalations they touch, and the actions
    added, removed and changed, in all and by rule, action type and violation code."""

    escalations: int
    """Escalations the history holds (opened under either policy)."""
    affected: int
    """Escalations whose actions differ (those about escalations never opened included)."""
    added: int
    removed: int
    changed: int
    by_rule: Mapping[str, ChangeCounts]
    """By the new policy's rule id, in order of name."""
    by_action_type: Mapping[str, ChangeCounts]
    by_violation_code: Mapping[str, ChangeCounts]
    """The violations among them, by code."""


@attrs.frozen(kw_only=True)
class ImpactReport:
    """What the new policy would have done differently over a history than the base.

    ``escalations`` lists only the escalations whose actions differ, in order of opening
    (then those never opened, by id). ``skipped_by_base`` lists the facts the base policy
    does not know (a fact type or a field it lacks) or refuses, each skipped for the base
    alone; ``refused`` those the new policy refused, with ``keep_going``. Either way, time
    passes to a skipped fact's time under both policies, so that neither sees the clock the
    other does not.
    """

    base: str
    """The identity of the base policy."""
    policy: str
    """The identity of the new policy."""
    facts: int
    """Items read, refused and skipped ones included."""
    renamed: Mapping[str, str]
    """The base's rule ids the new policy renamed (``replaces``), with their new ids."""
    escalations: tuple[EscalationImpact, ...]
    totals: ImpactTotals
    skipped_by_base: tuple[AuditRefusal, ...] = ()
    refused: tuple[AuditRefusal, ...] = ()

    @property
    def different(self) -> bool:
        """Whether any action differs: what ``escalation-policy impact`` exits 1 for."""
        return bool(self.escalations)

    def to_json(self) -> dict[str, Any]:
        """The report's JSON form (``docs/impact.md``)."""
        data: dict[str, Any] = shared_converter().unstructure(self)
        return data


def _bump(table: dict[str, dict[str, int]], key: str, kind: str) -> None:
    counts = table.setdefault(key, {"added": 0, "removed": 0, "changed": 0})
    counts[kind] += 1


def totals_of(escalations: Iterable[EscalationImpact], compared: int) -> ImpactTotals:
    """The totals of ``escalations`` (those that differ) out of ``compared`` escalations."""
    kinds = {"added": 0, "removed": 0, "changed": 0}
    by_rule: dict[str, dict[str, int]] = {}
    by_type: dict[str, dict[str, int]] = {}
    by_code: dict[str, dict[str, int]] = {}
    affected = 0
    for escalation in escalations:
        affected += 1
        for change in escalation.changes:
            kinds[change.kind] += 1
            _bump(by_rule, change.rule, change.kind)
            _bump(by_type, change.type, change.kind)
            if change.code is not None:
                _bump(by_code, change.code, change.kind)

    def counted(table: dict[str, dict[str, int]]) -> dict[str, ChangeCounts]:
        return {key: ChangeCounts(**table[key]) for key in sorted(table)}

    return ImpactTotals(
        escalations=compared,
        affected=affected,
        added=kinds["added"],
        removed=kinds["removed"],
        changed=kinds["changed"],
        by_rule=counted(by_rule),
        by_action_type=counted(by_type),
        by_violation_code=counted(by_code),
    )
