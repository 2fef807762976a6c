"""``escalation-policy identity``: print the policy's identity."""

import argparse

from escalation_policy.cli._common import EXIT_OK, Output, chosen_policy


def run(args: argparse.Namespace, out: Output) -> int:
    out.write(chosen_policy(args).identity + "\n")
    return EXIT_OK
