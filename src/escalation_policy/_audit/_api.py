"""``audit(facts)``: the audit of a whole history, or of one part of it."""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from escalation_policy._audit._coverage import CoverageObserver
from escalation_policy._audit._parts import audit_part
from escalation_policy._audit._replay import replay
from escalation_policy._audit._report import AuditObserver, AuditReport, audit_end
from escalation_policy.engine import EngineName, PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy

__all__ = ["audit"]


def audit(
    facts: Iterable[Fact | Mapping[str, Any] | InputError],
    *,
    as_of: dt.datetime | None = None,
    policy: Policy | None = None,
    engine: EngineName = "native",
    progress: Callable[[int], None] | None = None,
    keep_going: bool = False,
    part: tuple[int, int] | None = None,
    not_taken: Iterable[int] = (),
) -> AuditReport:
    """Audit a recorded history (facts in time order, any number of escalations).

    ``as_of`` ends the audit at a later time, for histories whose escalations are still open:
    obligations due by then and unmet are violations; those not yet due are not. ``progress``
    is called with the number of facts read, every 10,000 facts.

    A fact the policy cannot take raises :class:`~escalation_policy.errors.InputError`, with
    ``line`` set to the fact's position (1-based) in ``facts``; the audit stops there. With
    ``keep_going=True`` it is reported in ``refused`` instead, and the audit goes on: the
    policy is then as if the fact had never arrived. An ``InputError`` among ``facts`` stands
    for an item the caller could not read as a fact (a line that is not JSON, say): it is
    raised, or with ``keep_going`` reported, in its place.

    ``part=(index, parts)`` audits one part of the history, to be merged with the others by
    :func:`~escalation_policy.merge_audits`: the escalations whose id falls in part ``index``
    of ``parts`` (``facts`` are still the whole history, every item read). ``not_taken``: the
    positions of items refused in other parts, whose time does not pass here (what
    :class:`~escalation_policy.AuditPartsDisagree` gives, when it is needed).
    """
    if part is not None:
        index, parts = part
        return audit_part(
            facts,
            part=index,
            parts=parts,
            not_taken=not_taken,
            as_of=as_of,
            policy=policy,
            engine=engine,
            keep_going=keep_going,
        )
    policy_engine = PolicyEngine(policy, engine=engine)
    observer = AuditObserver(policy_engine.policy)
    coverage = CoverageObserver(policy_engine.policy)
    replayed = replay(
        facts,
        policy_engine,
        [observer, coverage],
        as_of=audit_end(as_of),
        keep_going=keep_going,
        progress=progress,
    )
    return observer.report(replayed, coverage.coverage())
