"""``escalation-policy diff``: what changed from one policy to another."""

import argparse
from collections import Counter
from collections.abc import Sequence

from escalation_policy.cli._common import (
    EXIT_DIFFERENT,
    EXIT_OK,
    Output,
    chosen_policy,
)
from escalation_policy.policy import default_policy, load_policy
from escalation_policy.policy.diff import PolicyDifference
from escalation_policy.render import plain


def run(args: argparse.Namespace, out: Output) -> int:
    old = default_policy() if args.old == "handbook" else load_policy(args.old)
    new = chosen_policy(args)
    changes = old.diff(new)
    out.line(f"{old.identity} -> {new.identity}", "heading")
    for change in changes:
        out.line(plain(str(change)), change.kind)
    out.line(summary(changes))
    return EXIT_DIFFERENT if changes else EXIT_OK


def summary(changes: Sequence[PolicyDifference]) -> str:
    """``3 changes: 1 added, 2 changed`` (the kinds in the order + - ~), or ``no changes``."""
    if not changes:
        return "no changes"
    counts = Counter(change.kind for change in changes)
    kinds = ", ".join(
        f"{counts[kind]} {kind}" for kind in ("added", "removed", "changed") if counts[kind]
    )
    return f"{len(changes)} change{'s' if len(changes) > 1 else ''}: {kinds}"
