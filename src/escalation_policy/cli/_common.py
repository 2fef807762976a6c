"""What the commands share: exit statuses and errors, output, reading facts, the policy and the
store a command names, and the arguments several take."""

import argparse
import datetime as dt
import hashlib
import os
import stat
import typing
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from escalation_policy._audit import AuditRefusal
from escalation_policy._core.step import MAX_LATENESS
from escalation_policy._language.typed import MAX_ID_LENGTH
from escalation_policy._lines import (
    _DECODER as _DECODER,
)
from escalation_policy._lines import (
    MAX_LINE as MAX_LINE,
)
from escalation_policy._lines import (
    STDIN as STDIN,
)
from escalation_policy._lines import (
    _AsData as _AsData,
)
from escalation_policy._lines import (
    _bounded as _bounded,
)
from escalation_policy._lines import (
    _fact as _fact,
)
from escalation_policy._lines import (
    _numbered as _numbered,
)
from escalation_policy._lines import (
    _object as _object,
)
from escalation_policy._lines import (
    _RepeatedKey as _RepeatedKey,
)
from escalation_policy._lines import (
    display_name as display_name,
)
from escalation_policy._lines import (
    json_data as json_data,
)
from escalation_policy._lines import (
    open_lines as _open,
)
from escalation_policy._lines import (
    read_facts as read_facts,
)
from escalation_policy._lines import (
    read_json_items as read_json_items,
)
from escalation_policy._lines import (
    read_json_lines as read_json_lines,
)
from escalation_policy.cli._output import EXIT_BAD_INPUT as EXIT_BAD_INPUT
from escalation_policy.cli._output import EXIT_CANNOT_WRITE as EXIT_CANNOT_WRITE
from escalation_policy.cli._output import EXIT_DIFFERENT as EXIT_DIFFERENT
from escalation_policy.cli._output import EXIT_INTERNAL_ERROR as EXIT_INTERNAL_ERROR
from escalation_policy.cli._output import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from escalation_policy.cli._output import EXIT_OK as EXIT_OK
from escalation_policy.cli._output import EXIT_STATUSES as EXIT_STATUSES
from escalation_policy.cli._output import EXIT_STORE as EXIT_STORE
from escalation_policy.cli._output import EXIT_VIOLATIONS as EXIT_VIOLATIONS
from escalation_policy.cli._output import CannotWrite as CannotWrite
from escalation_policy.cli._output import Exit as Exit
from escalation_policy.cli._output import Output as Output
from escalation_policy.cli._output import write_error as write_error
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError
from escalation_policy.model import Action, Fact, OverdueNotice, Violation, parse_timestamp
from escalation_policy.policy import Policy, default_policy, load_policy
from escalation_policy.render import describe, plain, refusal, timestamp

if TYPE_CHECKING:  # loaded by the commands that open a store (the others start sooner)
    from escalation_policy.service import Service


class ReadCount:
    """How many bytes :func:`read_items` has read, across its files: for a progress bar."""

    def __init__(self) -> None:
        self.bytes = 0


class _Counted:
    """A stream whose lines, as they are read, are counted in a :class:`ReadCount`."""

    def __init__(self, stream: IO[bytes], count: ReadCount) -> None:
        self._stream = stream
        self._count = count

    def readline(self, size: int = -1) -> bytes:
        line = self._stream.readline(size)
        self._count.bytes += len(line)
        return line


def total_bytes(paths: Sequence[str]) -> int | None:
    """How many bytes the files hold, if that is known before reading them: not for standard
    input, a pipe or a device."""
    total = 0
    for path in paths:
        try:
            if path == "-" or not stat.S_ISREG(os.stat(path).st_mode):
                return None
            total += os.path.getsize(path)
        except OSError:
            return None
    return total


def read_items(
    paths: Sequence[str], policy: Policy, count: ReadCount | None = None
) -> Iterator[tuple[str, int, Fact | InputError]]:
    """``(file, line number, fact or why not)`` for each non-blank line of the files, in order;
    ``count``, if given, counts the bytes read.

    Every file is opened first, so that a misspelt name stops the command before any output.
    """
    for path in paths:
        if path != "-":
            _open(path).close()
    for path in paths:
        stream = _open(path)
        lines = stream if count is None else typing.cast(IO[bytes], _Counted(stream, count))
        name = display_name(path)
        try:
            for number, item in _numbered(lines, policy):
                yield name, number, item
        except OSError as error:  # the file was readable, then a read failed (EIO, EISDIR)
            raise InputError(f"cannot read {name}: {error.strerror or error}") from None
        finally:
            if path != "-":
                stream.close()


def refusal_record(name: str, number: int, error: InputError) -> AuditRefusal:
    return AuditRefusal(
        file=name, line=number, code=error.code, path=error.path, reason=error.reason
    )


def stopped(name: str, error: InputError) -> Exit:
    return Exit(EXIT_BAD_INPUT, f"{name}: {error}")


def report_refused(count: int, read: int) -> None:
    lines = "line" if read == 1 else "lines"
    write_error(f"{count} of {read} {lines} refused")


def timeline_lines(action: Action, after: str = "") -> list[tuple[str, str | None]]:
    """An action as two lines of the readable timeline (``after``: what follows the second,
    such as the action's id), each through :func:`plain`, as every text line is, and each with
    the kind of line it is, for its colour: a violation, an overdue notice or neither; then the
    rule and citation, muted."""
    kind = (
        "violation"
        if isinstance(action, Violation)
        else "warning"
        if isinstance(action, OverdueNotice)
        else None
    )
    return [
        (
            plain(f"{timestamp(action.at)}  {plain(action.escalation_id):<10}  {describe(action)}"),
            kind,
        ),
        (plain(f"{'':19}{'':12}  [{action.rule} · {action.cites}]{after}"), "muted"),
    ]


def write_timeline(out: Output, action: Action, after: str = "") -> None:
    for text, style in timeline_lines(action, after):
        out.line(text, style)


def refused_line(record: AuditRefusal) -> str:
    """A refused line in the readable timeline."""
    return plain(f"{'REFUSED':<23}  {refusal(record)}")


# ----------------------------------------------------------------- the store, the time, durations
DEFAULT_STORE = "sqlite:///escalations.db"
"""The store ``run`` and ``worker`` use unless ``--store`` or ``ESCALATION_POLICY_STORE``
names another: a SQLite file in the current directory."""


def _store_url(args: argparse.Namespace) -> str:
    """The store ``--store`` names (a blank one is refused as it is, not replaced by the
    default), else ``$ESCALATION_POLICY_STORE``, else :data:`DEFAULT_STORE`."""
    if args.store is not None:
        given: str = args.store
        return given
    return os.environ.get("ESCALATION_POLICY_STORE") or DEFAULT_STORE


def source_name(path: str) -> str | None:
    """The name under which ``run`` records how far it read ``path`` (``None``: standard
    input, which has none unless ``--source`` gives one)."""
    if path == "-":
        return None
    name = "file:" + os.path.realpath(path)
    if len(name) > MAX_ID_LENGTH:  # a store keeps it in an index: a digest stands for it
        name = "file-sha256:" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
    return name


def source_shown(source: str | None) -> str:
    """A source as a person reads it: a file's path, else the name given."""
    if source is None:
        return STDIN
    return source.removeprefix("file:")


def open_service(
    args: argparse.Namespace,
    *,
    catch_up: bool = True,
    create: bool = True,
    replan: bool = False,
) -> "Service":
    """The service over the store the arguments name. ``replan``: open a store planned under
    another policy too (``Service(..., replan=True)``): for commands that only read or
    deliver, which the service lets do so, and for ``replan``."""
    from escalation_policy.service import Service
    from escalation_policy.store import open_store

    policy = chosen_policy(args)
    store = open_store(_store_url(args), create=create)
    lateness = getattr(args, "lateness", None) or dt.timedelta(0)
    engine: EngineName = getattr(args, "engine", "native")
    try:
        return Service(
            store, policy, engine=engine, catch_up=catch_up, lateness=lateness, replan=replan
        )
    except BaseException:
        store.close()
        raise


def given_time(text: str | None) -> dt.datetime | None:
    """The time ``--now`` gives (ISO-8601 with a timezone), if any."""
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as error:
        raise Exit(EXIT_BAD_INPUT, f"--now: {error}") from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> dt.timedelta:
    """A duration such as ``90s``, ``5m``, ``2h`` or ``1d`` (a bare number is seconds)."""
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**7 or not text.strip():
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected a duration such as 90s, 5m, 2h or 1d"
        )
    return dt.timedelta(seconds=value * _UNITS[unit])


def lateness(text: str) -> dt.timedelta:
    """``--lateness``: a duration (as :func:`duration` reads it) up to the engines' limit."""
    value = duration(text)
    if value > MAX_LATENESS:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected a duration from 0 to {MAX_LATENESS.days}d"
        )
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number of 1 or more")
    return value


LONGEST_WAIT = 86_400.0
"""The most seconds ``--interval`` and ``--timeout`` take: a day. A worker wakes at least that
often, and gives a delivery at most that long."""


def seconds(text: str) -> float:
    """A positive number of seconds, at most :data:`LONGEST_WAIT`."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= LONGEST_WAIT:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected a positive number of seconds, at most {LONGEST_WAIT:g} (a day)"
        )
    return value


# ----------------------------------------------------------------------- the policy, the commands
def chosen_policy(args: argparse.Namespace) -> Policy:
    """The policy ``--policy`` names (a package, by module or folder), or the handbook's, with
    the ``--setting`` values given."""
    settings = dict(getattr(args, "setting", None) or ())
    if args.policy is None and not settings:
        return default_policy()
    return load_policy(args.policy or "escalation_policy.rules", settings=settings)


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected NAME=VALUE, such as high_update_every=2d"
        )
    return name.strip(), value.strip()


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""Where each command adds its parser (``register``)."""

FILES_HELP = (
    "JSON-lines files of facts, or - for standard input, read in the order given as one history"
)
KEEP_GOING_HELP = (
    "report each line the policy refuses (file, line, reason) and go on; "
    "the exit status is still 2 when a line was refused"
)
STORE_HELP = (
    "the store: sqlite:///FILE (or a file name) or postgresql://... (default: "
    f"$ESCALATION_POLICY_STORE, else {DEFAULT_STORE})"
)


def add_command(commands: Commands, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """Add the command ``name``'s parser, with the exit statuses and the options every command
    takes (``--policy``, ``--setting``)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    parser.add_argument(
        "--policy",
        metavar="PACKAGE",
        help="the policy package to apply, as a module name or a folder whose "
        "__init__.py declares MODULES (default: the handbook's policy). Loading a package "
        "runs its Python code, with this command's rights: name only packages you would run",
    )
    parser.add_argument(
        "--setting",
        metavar="NAME=VALUE",
        action="append",
        type=_setting,
        help="a value for one of the policy's settings, such as high_update_every=2d "
        "(repeatable; `escalation-policy rules` lists them)",
    )
    return parser
