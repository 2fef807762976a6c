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


_SHARED: "weakref.WeakKeyDictionary[Policy, NativeMatcher]" = weakref.WeakKeyDictionary()
"""The native matcher the pure functions use for each policy: they keep no state of their own,
so its memos are shared by every call for that policy (and dropped with the policy)."""


def shared_matcher(policy: Policy) -> NativeMatcher:
    """The native matcher shared by every call of the pure functions for ``policy``."""
    matcher = _SHARED.get(policy)
    if matcher is None:
        matcher = _SHARED[policy] = NativeMatcher(policy)
    return matcher


def matcher_of(name: str, policy: Policy) -> Matcher:
    """A matcher of the engine ``name`` for ``policy``: its own, not shared."""
    if name == "native":
        return NativeMatcher(policy)
    if name == "durable":
        from escalation_policy._engines.durable import DurableMatcher

        return DurableMatcher(policy)
    raise EngineUnavailableError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
