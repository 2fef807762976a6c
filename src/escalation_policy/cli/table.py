"""``escalation-policy table``: print the policy's decision tables as Markdown."""

import argparse

from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Commands,
    Exit,
    Output,
    add_command,
    chosen_policy,
)
from escalation_policy.errors import did_you_mean
from escalation_policy.render import tables


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "table",
        help="print decision tables as Markdown",
        description="Render the policy's decision tables from the rules, as Markdown: the "
        "tables named, or every table.",
    )
    parser.add_argument(
        "tables", nargs="*", metavar="TABLE", help="a table's id, such as severity.levels"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    policy = chosen_policy(args)
    known = [compiled.table.id for compiled in policy.tables]
    for table_id in args.tables:
        if table_id not in known:
            raise Exit(
                EXIT_BAD_INPUT,
                f"no table {table_id!r}{did_you_mean(table_id, known)}; the policy has "
                f"{', '.join(known)}",
            )
    out.write(tables(policy, args.tables))
    return EXIT_OK
