"""The ``escalation-policy`` command line: replay recorded facts, audit them, run them through a
durable store, deliver its outbox, render the policy.

The command line never ends with a traceback: bad input, closed streams and full disks end with
one line on standard error and an exit status from ``EXIT_STATUSES``. Every command's parser is
in ``_parsers``; each command runs as the ``run`` function of the module of this package of its
name, imported only to run it; what the commands share when they run is in ``_common``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from escalation_policy.cli._output import (
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
    write_error,
)
from escalation_policy.cli._parsers import PARSERS
from escalation_policy.errors import PolicyError, StoreError

TYPE_CHECKING = False  # as typing's: --version and --help start without typing

if TYPE_CHECKING:
    from typing import Any, NoReturn

    from escalation_policy.cli._common import read_facts

__all__ = ["main", "read_facts"]


def __getattr__(name: str) -> Any:
    # read_facts is the commands' reader: imported with them, not with the command line's entry
    if name == "read_facts":
        from escalation_policy.cli._common import read_facts

        return read_facts
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


VERSION = "0.1.0"
"""What ``--version`` prints: the distribution's version, as pyproject.toml declares it and the
package's ``__version__`` says it (its modules do not import the package's front door back).
tests/test_terminal.py keeps the three equal and equal to the installed distribution's."""

COMMANDS = tuple(PARSERS)
"""The commands, in the order ``--help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line on standard error (status 2), as every
    other error of the command line: argparse's own print the usage first."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _needed(argv: Sequence[str]) -> Sequence[str]:
    """The commands whose parsers ``argv`` needs: the one it names, none for ``--version``
    (which answers before any command is read), all for anything else (``--help``, an
    error)."""
    first = argv[0] if argv else ""
    if first in COMMANDS:
        return (first,)
    if len(first) >= 3 and "--version".startswith(first):  # argparse takes "--vers" too
        return ()
    return COMMANDS


def build_parser(commands: Sequence[str] = COMMANDS) -> argparse.ArgumentParser:
    """The command line's parser, with the parsers of ``commands`` (all by default)."""
    parser: argparse.ArgumentParser = _Parser(
        prog="escalation-policy",
        description="The customer-escalation handbook as an executable policy.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {VERSION}", help="print the version"
    )
    chosen = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in commands:
        PARSERS[name](chosen)
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
        arguments = sys.argv[1:] if argv is None else argv
        args = build_parser(_needed(arguments)).parse_args(arguments)
        out = Output(sys.stdout)
        command = importlib.import_module(f"escalation_policy.cli.{args.command.replace('-', '_')}")
        status: int = command.run(args, out)
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
