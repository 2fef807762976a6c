"""``escalation-policy table``: print the policy's decision tables, drawn for a terminal or as
Markdown."""

import argparse

from escalation_policy.cli import _terminal
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    chosen_policy,
)
from escalation_policy.errors import did_you_mean
from escalation_policy.render import decision_table_cells, plain, tables


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
    fmt = args.format or ("text" if out.isatty() else "markdown")
    chosen = args.tables or known
    cells = [decision_table_cells(policy, table_id) for table_id in chosen]
    if fmt == "markdown" or not _terminal.fits(out, cells):
        # Too narrow a terminal would cut words into pieces: the lines of Markdown wrap whole.
        out.write(tables(policy, args.tables))
        return EXIT_OK
    for number, (table_id, (titles, rows)) in enumerate(zip(chosen, cells, strict=True)):
        if number:
            out.write("\n")
        title = plain(f"{policy.table(table_id).title} ({table_id})")
        _terminal.table(out, colour=out.colour, title=title, headers=titles, rows=rows)
    return EXIT_OK
