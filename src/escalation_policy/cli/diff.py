"""``escalation-policy diff``: what changed from one policy to another."""

import argparse

from escalation_policy.cli._common import (
    EXIT_DIFFERENT,
    EXIT_OK,
    Commands,
    Output,
    add_command,
    chosen_policy,
)
from escalation_policy.policy import default_policy, load_policy
from escalation_policy.render import plain


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "diff",
        help="what changed from one policy to another",
        description="Compare the policy (--policy, with any --setting; by default the "
        "handbook's) with OLD: one line per place where what they declare differs, named by "
        "its rule ids: + added, - removed, ~ changed (old -> new). The first line gives both "
        "identities. Exit status 1 when they differ, 0 when they are the same policy.",
    )
    parser.add_argument(
        "old",
        metavar="OLD",
        help="the policy to compare with: a package (module name or folder), or 'handbook'. "
        "Loading a package runs its Python code, with this command's rights: compare only "
        "packages you would run",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    old = default_policy() if args.old == "handbook" else load_policy(args.old)
    new = chosen_policy(args)
    changes = old.diff(new)
    out.write(f"{old.identity} -> {new.identity}\n")
    for change in changes:
        out.write(f"{plain(str(change))}\n")
    return EXIT_DIFFERENT if changes else EXIT_OK
