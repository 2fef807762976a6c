"""``escalation-policy rules``: print the policy's reference as Markdown."""

import argparse

from escalation_policy.cli._common import EXIT_OK, Commands, Output, add_command, chosen_policy
from escalation_policy.render import policy_reference


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "rules",
        help="print the policy's reference as Markdown",
        description="Render the policy's reference from the loaded policy, as Markdown: its "
        "facts and actions (the JSON contract), values, obligations, decision tables and "
        "reactions, with every rule's id and citation.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    policy = chosen_policy(args)
    name = getattr(args, "policy", None) or "the handbook's policy"
    out.write(policy_reference(policy, f"The rules of {name}"))
    return EXIT_OK
