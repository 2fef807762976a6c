"""``escalation-policy rules``: print the policy's reference as Markdown."""

import argparse

from escalation_policy.cli._common import EXIT_OK, Output, chosen_policy
from escalation_policy.render import policy_reference


def run(args: argparse.Namespace, out: Output) -> int:
    policy = chosen_policy(args)
    name = getattr(args, "policy", None) or "the handbook's policy"
    out.write(policy_reference(policy, f"The rules of {name}"))
    return EXIT_OK
