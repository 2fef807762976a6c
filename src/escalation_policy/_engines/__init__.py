"""Who matches a fact against the rules: the native matcher, and durable_rules."""

import weakref
from typing import Literal

from escalation_policy._core.matching import Matcher
from escalation_policy._engines.native import NativeMatcher
from escalation_policy.errors import EngineUnavailableError
from escalation_policy.policy import Policy

__all__ = ["ENGINES", "EngineName", "matcher_of", "shared_matcher"]

EngineName = Literal["native", "durable"]
ENGINES: tuple[EngineName, ...] = ("native", "durable")


_SHARED: dict[int, tuple["weakref.ref[Policy]", NativeMatcher]] = {}
"""The native matcher the pure functions use for each policy, by the policy's ``id`` with a
weak reference to it: they keep no state of their own, so its memos are shared by every call
for that policy (and dropped with the policy, whose reference's callback forgets it)."""


def shared_matcher(policy: Policy) -> NativeMatcher:
    """The native matcher shared by every call of the pure functions for ``policy``."""
    found = _SHARED.get(id(policy))
    if found is not None and found[0]() is policy:
        return found[1]
    return _share(policy)


def _share(policy: Policy) -> NativeMatcher:
    """A new native matcher for ``policy``, kept until the policy is collected."""
    key = id(policy)

    def forget(reference: "weakref.ref[Policy]") -> None:
        if _SHARED.get(key, (None,))[0] is reference:  # not a later policy's, at the same id
            _SHARED.pop(key, None)

    matcher = NativeMatcher(policy)
    _SHARED[key] = (weakref.ref(policy, forget), matcher)
    return matcher


def matcher_of(name: str, policy: Policy) -> Matcher:
    """A matcher of the engine ``name`` for ``policy``: its own, not shared."""
    if name == "native":
        return NativeMatcher(policy)
    if name == "durable":
        from escalation_policy._engines.durable import DurableMatcher

        return DurableMatcher(policy)
    raise EngineUnavailableError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
