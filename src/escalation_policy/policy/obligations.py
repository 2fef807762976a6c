"""Obligations compiled: their knobs checked, their announcement built; and the checks and
facts about them the whole policy gives (every obligation required, the one channel)."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from escalation_policy._language.context import scalar
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.policy.compiled import Announce, CompiledObligation, CompiledReaction
from escalation_policy.policy.emitters import announcer
from escalation_policy.policy.locations import where
from escalation_policy.policy.scope import ROW_ID
from escalation_policy.vocabulary import (
    BusinessTime,
    Obligation,
    Require,
    Tier,
)


def compile_obligation(
    obligation: Obligation, module: str, attributes: Sequence[str]
) -> CompiledObligation:
    def bad(message: str) -> PolicyDefinitionError:
        return PolicyDefinitionError(f"obligation {obligation.id!r}: {message}", module=module)

    if not isinstance(obligation.id, str) or not ROW_ID.match(obligation.id):
        raise bad("expected an id of lower-case letters, digits and underscores")
    if not isinstance(obligation.missed, str):
        raise bad(f"missed: got {obligation.missed!r}, expected the violation's detail text")
    placeholders = {"due"} | ({obligation.key} if obligation.key is not None else set())
    if obligation.parts:
        placeholders.add("missing")
    if not isinstance(obligation.parts, tuple) or not all(
        isinstance(part, str) and ROW_ID.match(part) for part in obligation.parts
    ):
        raise bad(
            f"parts: got {obligation.parts!r}, expected a tuple of names of lower-case "
            "letters, digits and underscores"
        )
    try:
        obligation.missed.format(**dict.fromkeys(placeholders, ""))
    except (KeyError, IndexError, ValueError) as error:
        raise bad(
            f"missed: {obligation.missed!r} cannot be filled ({type(error).__name__}: {error}); "
            f"it may name {', '.join('{' + p + '}' for p in sorted(placeholders))}"
        ) from None
    if obligation.key_from is not None and obligation.key is None:
        raise bad("key_from reads the key from the escalation, so the obligation needs a key")
    if (obligation.one_at_a_time or obligation.once_per_key) and obligation.key is None:
        raise bad("one_at_a_time and once_per_key tell instances apart by key: declare a key")
    if obligation.key_from is not None and obligation.key_from not in attributes:
        raise bad(
            f"key_from: got {obligation.key_from!r}, expected an attribute of the escalation "
            f"({', '.join(attributes)})"
        )
    tiers = obligation.tiers
    if not isinstance(tiers, tuple) or not all(isinstance(tier, Tier) for tier in tiers):
        raise bad(f"tiers: got {tiers!r}, expected a tuple of Tier(after=..., notify=...)")
    for number, tier in enumerate(tiers, 1):
        if not isinstance(tier.after, dt.timedelta) or tier.after <= dt.timedelta(0):
            raise bad(f"tier {number}: after: got {tier.after!r}, expected a positive timedelta")
        if number > 1 and tier.after <= tiers[number - 2].after:
            raise bad(
                f"tier {number}: after: got {tier.after}, expected later than tier "
                f"{number - 1}'s ({tiers[number - 2].after}): tiers come in order"
            )
        if not isinstance(tier.notify, str) or not tier.notify.strip():
            raise bad(f"tier {number}: notify: got {tier.notify!r}, expected whom to tell")
    early = obligation.early_grace
    length = early.duration if isinstance(early, BusinessTime) else early
    if (
        early is not None and (not isinstance(length, dt.timedelta) or length <= dt.timedelta(0))
    ) or (isinstance(early, BusinessTime) and early.to_end_of_day):
        raise bad(
            f"early_grace: got {early!r}, expected a positive timedelta, a BusinessTime of one "
            "(without to_end_of_day: a grace is a length of time), or None"
        )
    covered_by = obligation.covered_by
    if not isinstance(covered_by, tuple) or not all(
        isinstance(other, Obligation) for other in covered_by
    ):
        wrong = (
            next(other for other in covered_by if not isinstance(other, Obligation))
            if isinstance(covered_by, tuple)
            else covered_by
        )
        shown = f"'{wrong}'" if isinstance(wrong, str) else type(wrong).__name__
        raise bad(
            f"covered_by: got {shown}, expected an Obligation the policy declares, or a tuple "
            "of them (the objects themselves, not their ids)"
        )
    if any(other.id == obligation.id for other in covered_by):
        raise bad("covered_by: names the obligation itself; name the others the same work meets")
    if not isinstance(obligation.remind_in_open_hours, bool):
        raise bad(
            f"remind_in_open_hours: got {obligation.remind_in_open_hours!r}, expected True or False"
        )
    announce: Announce | None = None
    if obligation.announce is not None:
        announce = announcer(obligation, bad, attributes)
    elif (
        obligation.announce_with
        or obligation.announce_from
        or obligation.owner_field
        or obligation.announce_again_on_new_owner
    ):
        raise bad(
            "announce_with, announce_from, owner_field and announce_again_on_new_owner need "
            "announce"
        )
    return CompiledObligation(
        obligation=obligation,
        module=module,
        id=obligation.id,
        violation=obligation.violation,
        key_from=obligation.key_from,
        one_at_a_time=obligation.one_at_a_time,
        once_per_key=obligation.once_per_key,
        renew_when_overdue=obligation.renew_when_overdue,
        announce_again_on_new_owner=obligation.announce_again_on_new_owner,
        announce=announce,
        owner_field=obligation.owner_field,
        pausable=obligation.pausable,
        parts=tuple(obligation.parts),
        remind_in_open_hours=obligation.remind_in_open_hours,
        tiers=tiers,
        early_grace=early,
        covered_by=frozenset(other.id for other in covered_by),
    )


def check_all_required(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> None:
    required = {
        effect.obligation.id
        for compiled in reactions
        for effect in compiled.reaction.then
        if isinstance(effect, Require)
    }
    for name, compiled in obligations.items():
        if name not in required:
            raise PolicyDefinitionError(
                f"obligation {name!r} is never required (no reaction has Require for it), so "
                "it can never be pending",
                module=compiled.module,
                **where(compiled.obligation),
            )


def check_covered(obligations: Mapping[str, CompiledObligation]) -> None:
    """Each obligation an obligation is ``covered_by`` is one of the policy's, as declared."""
    for name, compiled in obligations.items():
        for other in compiled.obligation.covered_by:
            known = obligations.get(other.id)
            if known is None or known.obligation != other:
                raise PolicyDefinitionError(
                    f"obligation {name!r}: covered_by names {other.id!r}, "
                    + (
                        "which differs from the obligation of that name the policy declares"
                        if known is not None
                        else "which the policy does not declare (in OBLIGATIONS, or in a "
                        f"reaction){did_you_mean(other.id, tuple(obligations))}"
                    ),
                    module=compiled.module,
                    **where(compiled.obligation),
                )
            if known.covered_by:
                raise PolicyDefinitionError(
                    f"obligation {name!r}: covered_by names {other.id!r}, which is covered by "
                    f"{', '.join(map(repr, sorted(known.covered_by)))} in turn; name the "
                    "obligation whose violation reports the miss",
                    module=compiled.module,
                    **where(compiled.obligation),
                )


def with_early_keys(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> dict[str, CompiledObligation]:
    """``obligations``, each with an ``early_grace`` knowing the keys its instances are
    required for (``early_keys``; ``None``: any, as read from the escalation), so that work
    that could meet none of them is not kept. An obligation with an ``early_grace`` is met at
    once by work done a little before a one-off instance is required; a periodic one counts
    only what its periods see."""
    keys: dict[str, set[str | None] | None] = {}
    for compiled in reactions:
        for effect in compiled.reaction.then:
            if not isinstance(effect, Require):
                continue
            declared = obligations[effect.obligation.id]
            if declared.early_grace is None:
                continue
            if effect.every is not None:
                raise PolicyDefinitionError(
                    f"obligation {declared.id!r}: early_grace counts work done before a one-off "
                    f"instance is required, but reaction {compiled.reaction.id!r} requires it "
                    f"every {effect.every!r}: a period counts what is done in it; leave "
                    "early_grace out",
                    module=declared.module,
                    **where(declared.obligation),
                )
            known = keys.setdefault(declared.id, set())
            if known is None or declared.key_from is not None:
                keys[declared.id] = None
            else:
                known.add(None if effect.key is None else str(scalar(effect.key)))
    return {
        name: compiled
        if name not in keys
        else attrs.evolve(
            compiled, early_keys=None if keys[name] is None else frozenset(keys[name] or ())
        )
        for name, compiled in obligations.items()
    }


def one_off_of_rule(reactions: Sequence[CompiledReaction]) -> Mapping[str, str]:
    """The one-off obligation each reaction requires, by the reaction's id, for those that
    require exactly one: what a pending instance its rule required is now, if the obligation
    it was kept under is no longer its rule's (a snapshot of an earlier policy)."""
    found: dict[str, set[str]] = {}
    for compiled in reactions:
        for effect in compiled.reaction.then:
            if isinstance(effect, Require) and effect.every is None:
                found.setdefault(compiled.reaction.id, set()).add(effect.obligation.id)
    return {rule: next(iter(names)) for rule, names in found.items() if len(names) == 1}


def announces_period_of(
    obligations: Mapping[str, CompiledObligation], reactions: Sequence[CompiledReaction]
) -> Mapping[type[Any], frozenset[str]]:
    found: dict[type[Any], set[str]] = {}
    for compiled in reactions:
        for effect in compiled.reaction.then:
            if isinstance(effect, Require) and effect.every is not None:
                cls = obligations[effect.obligation.id].obligation.announce
                if cls is not None:
                    found.setdefault(cls, set()).add(effect.obligation.id)
    return {cls: frozenset(names) for cls, names in found.items()}


def the_channel(obligations: Mapping[str, CompiledObligation]) -> str | None:
    channels = {
        str(compiled.obligation.announce_with["channel"])
        for compiled in obligations.values()
        if "channel" in compiled.obligation.announce_with
    }
    return channels.pop() if len(channels) == 1 else None
