"""``impact(facts, base=...)``: the Python door to what a change of policy does to a history."""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from escalation_policy._audit import audit_end
from escalation_policy._impact._compare import Comparison
from escalation_policy._impact._report import ImpactReport
from escalation_policy._impact._sources import base_source
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy, default_policy

__all__ = ["impact"]


def impact(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    *,
    base: Policy | str,
    policy: Policy | None = None,
    as_of: dt.datetime | None = None,
    engine: EngineName = "native",
    keep_going: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImpactReport:
    """What ``policy`` (by default the handbook's) would have done differently than ``base``
    over a recorded history: per escalation, the actions (violations among them) added,
    removed and changed, and the totals by rule, action type and violation code.

    ``facts`` are in time order: their JSON forms (mappings, as recorded, read by each policy),
    or facts of ``policy`` (the base reads their JSON form). ``base`` is a loaded policy, or
    names one as ``escalation-policy impact --base`` does: ``"handbook"``, a package (module
    name or folder), or ``"git:REV"`` (the handbook's package as the git revision ``REV`` had
    it; ``"git:REV:PACKAGE"`` for another package).

    A fact the new policy refuses raises an :class:`~escalation_policy.errors.InputError` with
    its position as ``line``, unless ``keep_going`` (then it is listed in ``refused``). A fact
    the base does not know (a fact type or a field it lacks) or refuses is skipped for the base
    alone and listed in ``skipped_by_base``. Either way time passes to its time under both, so
    that the two replays see the same clock. ``as_of`` ends the history later, under both;
    ``progress`` is called with the number of items read, every 10,000.
    """
    chosen = policy or default_policy()
    end = audit_end(as_of)
    if isinstance(base, Policy):
        comparison = Comparison(chosen, base, engine=engine, keep_going=keep_going)
        comparison.feed_all(facts, progress)
        return comparison.report(end)
    with base_source(base, None) as source:
        loaded = source.load()
    comparison = Comparison(chosen, loaded, engine=engine, keep_going=keep_going)
    comparison.feed_all(facts, progress)
    return comparison.report(end)
