"""What the commands share when they run: exit statuses and errors, output, reading facts, the
policy and the store a command names. Their parsers are in ``_parsers``."""

import argparse
import contextlib
import datetime as dt
import os
import stat
import typing
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING

from escalation_policy._audit import AuditRefusal
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
from escalation_policy._sha256 import sha256_hex
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
from escalation_policy.cli._parsers import DEFAULT_STORE
from escalation_policy.engine import EngineName
from escalation_policy.errors import InputError, is_parquet, unit_of
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


def stream_kind(path: str) -> str | None:
    """What ``path`` names if it can be read only once, from its start, by one reader: ``"a
    pipe"`` (a named pipe, a process substitution's ``/dev/fd/N``), ``"a device"``, ``"a
    socket"``; ``None`` for a file, a folder, or what cannot be told (reading it says why)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def read_items(
    paths: Sequence[str],
    policy: Policy,
    count: ReadCount | None = None,
    unfinished: list[int] | None = None,
) -> Iterator[tuple[str, int, Fact | InputError]]:
    """``(file, line number, fact or why not)`` for each non-blank line of the files, in order
    (``(file, row number, ...)`` for each row of a Parquet file, as ``audit`` reads one);
    ``count``, if given, counts the bytes read; ``unfinished``: as :func:`_numbered` takes it.

    Every file is opened first, so that a misspelt name stops the command before any output.
    """
    for path in paths:
        if path != "-":
            _open(path).close()
    for path in paths:
        if path != "-" and is_parquet(path):
            yield from _parquet_items(path, policy, count)
            continue
        stream = _open(path)
        lines = stream if count is None else typing.cast(IO[bytes], _Counted(stream, count))
        name = display_name(path)
        try:
            for number, item in _numbered(lines, policy, unfinished):
                yield name, number, item
        except OSError as error:  # the file was readable, then a read failed (EIO, EISDIR)
            raise InputError(f"cannot read {name}: {error.strerror or error}") from None
        finally:
            if path != "-":
                stream.close()


def _parquet_items(
    path: str, policy: Policy, count: ReadCount | None
) -> Iterator[tuple[str, int, Fact | InputError]]:
    """``(file, row number, fact or why not)`` for each row of a Parquet file: a column a
    field, a null an absent field, as ``audit`` reads it."""
    # Loaded here: pyarrow and the Parquet reader only for a command given such a file.
    from escalation_policy import _partitioned
    from escalation_policy._convert import shared_fact_reader

    read = shared_fact_reader(policy)
    name = display_name(path)
    for _, number, row in _partitioned.read_rows(path, name):
        try:
            item: Fact | InputError = row if isinstance(row, InputError) else read(row)
        except InputError as error:
            item = error
        if isinstance(item, InputError):
            item.at_line(number, name)
        yield name, number, item
    if count is not None:  # the bar counts a Parquet file's bytes once it has been read
        with contextlib.suppress(OSError):
            count.bytes += os.path.getsize(path)


def refusal_record(name: str, number: int, error: InputError) -> AuditRefusal:
    return AuditRefusal(
        file=name, line=number, code=error.code, path=error.path, reason=error.reason
    )


def stopped(name: str, error: InputError) -> Exit:
    return Exit(EXIT_BAD_INPUT, f"{name}: {error}")


def report_refused(count: int, read: int, files: Sequence[str] = ()) -> None:
    """``3 of 120 lines refused``: rows, of Parquet ``files`` (lines and rows, of both)."""
    plural = "" if read == 1 else "s"
    kinds = sorted({unit_of(file) for file in files} or {"line"})  # lines first
    unit = " and ".join(kind + plural for kind in kinds)
    write_error(f"{count} of {read} {unit} refused")


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
def store_url(args: argparse.Namespace) -> str:
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
        name = "file-sha256:" + sha256_hex(name.encode("utf-8", "surrogateescape"))
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
    store = open_store(store_url(args), create=create)
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


# ----------------------------------------------------------------------- the policy, the commands
def chosen_policy(args: argparse.Namespace) -> Policy:
    """The policy ``--policy`` names (a package, by module or folder), or the handbook's, with
    the ``--setting`` values given."""
    settings = dict(getattr(args, "setting", None) or ())
    if args.policy is None and not settings:
        return default_policy()
    return load_policy(args.policy or "escalation_policy.rules", settings=settings)
