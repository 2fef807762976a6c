"""The compiler: rule modules in, one checked, immutable :class:`Policy` out.

Everything a policy owner can get wrong is found here, at load time, with the file and line,
the module, the rule and the bad value named: unknown fields and values, duplicate ids,
overlapping rows under a hit policy that forbids them, rows the rows above them hide, inputs no
row covers (free text included), outputs nobody produces, reactions that can never fire,
citations of sections the policy does not declare and declared sections no rule cites.

One concern a module: :mod:`.load` reads a package step by step; :mod:`.packages` imports its
modules; :mod:`.settings`, :mod:`.citations`, :mod:`.terms`, :mod:`.tables`,
:mod:`.reactions`, :mod:`.obligations` and :mod:`.emitters` check and compile what they
declare; :mod:`.compiled` holds what the core reads; :mod:`.identity` and :mod:`.diff` name
and compare loaded policies.
"""

from escalation_policy.policy.compiled import (
    Announce,
    CompiledObligation,
    CompiledReaction,
    CompiledTable,
    Condition,
    Emitter,
    Policy,
    RuleInfo,
    RuleKind,
    channel_key,
)
from escalation_policy.policy.load import default_policy, load_policy

__all__ = [
    "Announce",
    "CompiledObligation",
    "CompiledReaction",
    "CompiledTable",
    "Condition",
    "Emitter",
    "Policy",
    "RuleInfo",
    "RuleKind",
    "channel_key",
    "default_policy",
    "load_policy",
]
