"""``escalation-policy identity``: print the policy's identity."""

import argparse

from escalation_policy.cli._common import EXIT_OK, Commands, Output, add_command, chosen_policy


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "identity",
        help="print the policy's identity",
        description="Print the identity of the loaded policy (with its settings): sha256: and "
        "the digest of everything it declares. The same package and settings give the same "
        "identity anywhere; any change to a rule, a citation, a term or a setting gives "
        "another. Every action a store keeps, and every audit, names it.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    out.write(chosen_policy(args).identity + "\n")
    return EXIT_OK
