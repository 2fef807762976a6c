"""The ``escalation-policy`` command line: replay recorded facts, audit them, run them through a
durable store, deliver its outbox, render the policy.

The command line never ends with a traceback: bad input, closed streams and full disks end with
one line on standard error and an exit status from ``EXIT_STATUSES``. Each command is a module
of this package that adds its own parser (``register``) and runs it (``run``); what they share
is in ``_common``.
"""

import argparse
import contextlib
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from escalation_policy.cli import (
    audit,
    dead_letters,
    diff,
    digest,
    explain,
    identity,
    impact,
    lint,
    prune,
    refused,
    replan,
    replay,
    rules,
    run,
    schema,
    status,
    table,
    worker,
)
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_WRITE,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STATUSES,
    EXIT_STORE,
    CannotWrite,
    Exit,
    Output,
    read_facts,
    write_error,
)
from escalation_policy.errors import PolicyError, StoreError

__all__ = ["main", "read_facts"]

COMMANDS = (
    replay,
    audit,
    digest,
    explain,
    table,
    rules,
    schema,
    identity,
    diff,
    lint,
    impact,
    run,
    worker,
    prune,
    replan,
    status,
    refused,
    dead_letters,
)
"""The commands, in the order ``--help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line on standard error (status 2), as every
    other error of the command line: argparse's own print the usage first."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    """The installed distribution's version (the package's front door, which also says it, is
    not imported back by its modules)."""
    try:
        return importlib.metadata.version("escalation-policy")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown: not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="escalation-policy",
        description="The customer-escalation handbook as an executable policy.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def _discard_unwritten_output() -> None:
    """Point standard output at the null device, so exiting does not retry the failed write."""
    original = sys.__stdout__
    if original is None or sys.stdout is not original:
        return  # not the process's own standard output (a test capturing it, say)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), original.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        out = Output(sys.stdout)
        status: int = args.run(args, out)
        out.flush()
    except Exit as stop:
        write_error(stop.message)
        return stop.status
    except CannotWrite as error:
        _discard_unwritten_output()
        if error.broken_pipe:  # the reader stopped early, as `| head` does: not a failure
            return EXIT_OK
        write_error(f"cannot write the output: {error.reason}")
        return EXIT_CANNOT_WRITE
    except StoreError as error:
        write_error(str(error))
        return EXIT_STORE
    except PolicyError as error:
        write_error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        write_error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # the promise: never a traceback, whatever went wrong
        write_error(f"internal error (please report it): {type(error).__name__}: {error}")
        return EXIT_INTERNAL_ERROR
    return status
