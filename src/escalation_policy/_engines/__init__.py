"""Who matches a fact against the rules: the native matcher, and durable_rules."""

from typing import Literal

from escalation_policy._core.matching import Matcher
from escalation_policy._engines.native import NativeMatcher
from escalation_policy.errors import EngineUnavailableError
from escalation_policy.policy import Policy

__all__ = ["ENGINES", "EngineName", "matcher_of", "shared_matcher"]

EngineName = Literal["native", "durable"]
ENGINES: tuple[EngineName, ...] = ("native", "durable")


def shared_matcher(policy: Policy) -> NativeMatcher:
    """The native matcher shared by every call of the pure functions for ``policy``: they
    keep no state of their own, so its memos are shared by every call for that policy (and
    kept with the policy, see ``Policy._kept``)."""
    matcher: NativeMatcher | None = policy._kept.get(NativeMatcher)
    if matcher is None:
        matcher = policy._kept[NativeMatcher] = NativeMatcher(policy)
    return matcher


def matcher_of(name: str, policy: Policy) -> Matcher:
    """A matcher of the engine ``name`` for ``policy``: its own, not shared."""
    if name == "native":
        return NativeMatcher(policy)
    if name == "durable":
        from escalation_policy._engines.durable import DurableMatcher

        return DurableMatcher(policy)
    raise EngineUnavailableError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
