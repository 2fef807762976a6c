"""The ``escalation-policy`` command line: replay recorded facts, audit them, run them through a
durable store, deliver its outbox, render the policy.

The command line never ends with a traceback: bad input, closed streams and full disks end with
one line on standard error and an exit status from ``EXIT_STATUSES``.
"""

import argparse
import bisect
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any, NoReturn

import attrs

from escalation_policy._audit import AuditRefusal, audit
from escalation_policy._context import scalar
from escalation_policy._convert import shared_converter
from escalation_policy._typed import EARLIEST, LATEST
from escalation_policy.engine import ENGINES, EngineName, PolicyEngine
from escalation_policy.errors import InputError, PolicyError, StoreError, did_you_mean
from escalation_policy.model import Action, Fact, parse_timestamp
from escalation_policy.policy import Policy, default_policy, load_policy
from escalation_policy.render import (
    audit_markdown,
    audit_text,
    describe,
    plain,
    policy_reference,
    refusal,
    tables,
    timestamp,
)
from escalation_policy.schema import json_schema
from escalation_policy.service import Delivery, Service
from escalation_policy.store import open_store

__all__ = ["main", "read_facts"]

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2
EXIT_CANNOT_WRITE = 3
EXIT_INTERNAL_ERROR = 4
EXIT_STORE = 5
EXIT_INTERRUPTED = 130

EXIT_STATUSES = f"""\
exit status:
  {EXIT_OK}    done
  {EXIT_VIOLATIONS}    audit: --fail-on matched a violation; diff: the policies differ
  {EXIT_BAD_INPUT}    bad input: a wrong argument, a file that cannot be read, a line refused
       (with --keep-going too, once every line was read)
  {EXIT_CANNOT_WRITE}    the output cannot be written (standard output closed, disk full)
  {EXIT_INTERNAL_ERROR}    an internal error: a bug, please report it
  {EXIT_STORE}    run, worker, prune: the store cannot be used (cannot connect, a newer schema)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""

STDIN = "<stdin>"
"""How standard input (``-``) is named in messages and refused records."""


class _Exit(Exception):
    """End the command with ``status`` and a one-line ``message`` on standard error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _CannotWrite(Exception):
    def __init__(self, reason: str, *, broken_pipe: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken_pipe = broken_pipe


class _Output:
    """Standard output that reports failure as :class:`_CannotWrite`.

    Text that the stream's encoding cannot hold (a lone surrogate from a ``\\udc80`` escape in
    the input) is written with backslash escapes, never as bytes that are not of the encoding
    nor as an error: the output is for people, and the JSON output is ASCII anyway.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def write(self, text: str) -> None:
        stream = self._writable()
        if not text.isascii():
            encoding = getattr(stream, "encoding", None) or "utf-8"
            text = text.encode(encoding, "backslashreplace").decode(encoding)
        try:
            stream.write(text)
        except OSError as error:
            raise _cannot_write(error) from None

    def flush(self) -> None:
        try:
            self._writable().flush()
        except OSError as error:
            raise _cannot_write(error) from None

    def _writable(self) -> IO[str]:
        if self._stream is None:
            raise _CannotWrite("standard output is closed")
        return self._stream


def _cannot_write(error: OSError) -> _CannotWrite:
    return _CannotWrite(
        error.strerror or str(error), broken_pipe=isinstance(error, BrokenPipeError)
    )


# ------------------------------------------------------------------------------------ reading
def _fact(line: str | bytes, converter: Any) -> Fact:
    """The fact on one line; :class:`InputError` (without a line number) if there is none."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InputError(
                f"not UTF-8 (byte 0x{line[error.start]:02x} at column {error.start + 1})"
            ) from None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise InputError("not valid JSON (nested too deeply to read)") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise InputError("not valid JSON (a number with too many digits to read)") from None
    fact: Fact = converter.structure(data, Fact)
    return fact


MAX_LINE = 1 << 20
"""The longest line read, in bytes: a fact is a few hundred; a binary file may have none."""


def _bounded(stream: IO[str] | IO[bytes]) -> Iterator[str | bytes | None]:
    """The stream's lines, each at most :data:`MAX_LINE` long; ``None`` for a longer one,
    which is skipped to its end without being kept."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and line[-1:] not in ("\n", b"\n"):
            yield None  # said first: a reader that stops at it never reads the rest
            while True:
                rest = stream.readline(MAX_LINE)
                if not rest or rest[-1:] in ("\n", b"\n"):
                    break
            continue
        yield line


def _numbered(
    stream: IO[str] | IO[bytes], policy: Policy | None = None
) -> Iterator[tuple[int, Fact | InputError]]:
    """``(line number, fact or the reason there is none)`` for each non-blank line."""
    converter = shared_converter(policy)
    for number, line in enumerate(_bounded(stream), start=1):
        if line is None:
            yield (
                number,
                InputError(
                    f"the line is longer than {MAX_LINE:,} bytes; expected one JSON object a line"
                ).at_line(number),
            )
            continue
        if number == 1:  # a byte order mark, as some editors write
            line = (
                line.removeprefix(b"\xef\xbb\xbf")
                if isinstance(line, bytes)
                else line.removeprefix("\ufeff")
            )
        if not line.strip():
            continue
        try:
            item: Fact | InputError = _fact(line, converter)
        except InputError as error:
            item = error.at_line(number)
        yield number, item


def read_facts(
    stream: IO[str] | IO[bytes], policy: Policy | None = None
) -> Iterator[tuple[int, Fact]]:
    """``(line number, fact)`` for each non-blank JSON line, read as facts of ``policy`` (by
    default the handbook's); errors carry the line."""
    for number, item in _numbered(stream, policy):
        if isinstance(item, InputError):
            raise item
        yield number, item


def _name(path: str) -> str:
    return STDIN if path == "-" else path


def _open(path: str) -> IO[bytes]:
    if path == "-":
        if sys.stdin is None:
            raise InputError("cannot read standard input: it is closed")
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


def _read(paths: Sequence[str], policy: Policy) -> Iterator[tuple[str, int, Fact | InputError]]:
    """``(file, line number, fact or why not)`` for each non-blank line of the files, in order.

    Every file is opened first, so that a misspelt name stops the command before any output.
    """
    for path in paths:
        if path != "-":
            _open(path).close()
    for path in paths:
        stream = _open(path)
        try:
            for number, item in _numbered(stream, policy):
                yield _name(path), number, item
        except OSError as error:  # the file was readable, then a read failed (EIO, EISDIR)
            raise InputError(f"cannot read {_name(path)}: {error.strerror or error}") from None
        finally:
            if path != "-":
                stream.close()


def _refused(name: str, number: int, error: InputError) -> AuditRefusal:
    return AuditRefusal(
        file=name, line=number, code=error.code, path=error.path, reason=error.reason
    )


def _stopped(name: str, error: InputError) -> _Exit:
    return _Exit(EXIT_BAD_INPUT, f"{name}: {error}")


def _report_refused(count: int, read: int) -> None:
    lines = "line" if read == 1 else "lines"
    _error(f"{count} of {read} {lines} refused")


# ------------------------------------------------------------------------------------- replay
def _replay(args: argparse.Namespace, out: _Output) -> int:
    policy = _policy(args)
    engine = PolicyEngine(policy, engine=args.engine)
    converter = shared_converter(policy)
    fmt = args.format or ("table" if out.isatty() else "json")
    read = refused = 0
    for name, number, item in _read(args.files, policy):
        read += 1
        try:
            if isinstance(item, InputError):
                raise item
            decision = engine.handle(item)
        except InputError as error:
            error.at_line(number)
            if not args.keep_going:
                raise _stopped(name, error) from None
            refused += 1
            record = _refused(name, number, error)
            if fmt == "json":
                body = {"type": "refused", **converter.unstructure(record)}
                out.write(json.dumps(body) + "\n")
            else:
                out.write(f"{'REFUSED':<23}  {refusal(record)}\n")
            continue
        for action in decision.actions:
            if fmt == "json":
                out.write(json.dumps(converter.unstructure(action, Action)) + "\n")
            else:
                out.write(_timeline_line(action) + "\n")
    if refused:
        _report_refused(refused, read)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _timeline_line(action: Action) -> str:
    return (
        f"{timestamp(action.at)}  {plain(action.escalation_id):<10}  {plain(describe(action))}\n"
        f"{'':19}{'':12}  [{action.rule} · {action.cites}]"
    )


# ---------------------------------------------------------------------------------- run, worker
DEFAULT_STORE = "sqlite:///escalations.db"
"""The store ``run`` and ``worker`` use unless ``--store`` or ``ESCALATION_POLICY_STORE``
names another: a SQLite file in the current directory."""


def _store_url(args: argparse.Namespace) -> str:
    url: str = args.store or os.environ.get("ESCALATION_POLICY_STORE") or DEFAULT_STORE
    return url


def _service(args: argparse.Namespace, *, catch_up: bool = True, create: bool = True) -> Service:
    policy = _policy(args)
    store = open_store(_store_url(args), create=create)
    lateness = getattr(args, "lateness", None) or dt.timedelta(0)
    engine: EngineName = getattr(args, "engine", "native")
    return Service(store, policy, engine=engine, catch_up=catch_up, lateness=lateness)


def _run(args: argparse.Namespace, out: _Output) -> int:
    service = _service(args, catch_up=not args.no_catch_up)
    fmt = args.format or ("table" if out.isatty() else "json")
    if args.source is not None and len(args.files) != 1:
        raise _Exit(EXIT_BAD_INPUT, "--source names one input: give one FILE with it")
    read = refused = 0
    with service:
        for path in args.files:
            source = args.source or (None if path == "-" else "file:" + os.path.realpath(path))
            done = service.position(source) if source is not None else 0
            batch: list[Fact | InputError] = []
            lines: list[int] = []
            for _, number, item in _read([path], service.policy):
                read += 1
                if number <= done:
                    continue  # committed before: a run that stopped is resumed after it
                lines.append(number)
                batch.append(item)
                if len(batch) >= args.batch:
                    refused += _run_batch(service, args, out, fmt, path, source, batch, lines)
                    batch, lines = [], []
            if batch:
                refused += _run_batch(service, args, out, fmt, path, source, batch, lines)
    if refused:
        _report_refused(refused, read)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _run_batch(
    service: Service,
    args: argparse.Namespace,
    out: _Output,
    fmt: str,
    path: str,
    source: str | None,
    batch: list[Fact | InputError],
    lines: list[int],
) -> int:
    """Handle one batch in one transaction and print what it emitted; returns how many of
    its lines were refused (with --keep-going; without it, a refused line stops the run)."""
    results = service.handle_many(batch, keep_going=args.keep_going, source=source, positions=lines)
    refused = 0
    for number, result in zip(lines, results, strict=False):
        if isinstance(result, InputError):
            result.at_line(number)
            if not args.keep_going:
                raise _stopped(_name(path), result)
            refused += 1
            _print_refused(out, fmt, service, _name(path), number, result)
        elif not result.duplicate:
            for delivery in result.deliveries:
                out.write(_delivery_line(fmt, service, delivery) + "\n")
    out.flush()
    return refused


def _print_refused(
    out: _Output, fmt: str, service: Service, name: str, number: int, error: InputError
) -> None:
    record = _refused(name, number, error)
    if fmt == "json":
        body = shared_converter(service.policy).unstructure(record)
        out.write(json.dumps({"type": "refused", **body}) + "\n")
    else:
        out.write(f"{'REFUSED':<23}  {refusal(record)}\n")


def _delivery_line(fmt: str, service: Service, delivery: Delivery) -> str:
    if fmt == "json":
        return json.dumps(delivery.to_json(service.policy))
    return f"{_timeline_line(delivery.action)}  {delivery.id}"


class _Stop:
    """Set by SIGTERM or SIGINT: the worker ends its round and exits."""

    requested = False

    @classmethod
    def install(cls) -> None:
        def stop(_signal: int, _frame: object) -> None:
            cls.requested = True

        for number in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(number, stop)


def _worker(args: argparse.Namespace, out: _Output) -> int:
    if args.now is not None and not args.once:
        raise _Exit(EXIT_BAD_INPUT, "--now is for one round: give --once with it")
    now_given = _given_time(args.now)
    _Stop.requested = False
    if not args.once:
        _Stop.install()  # before the store opens: a SIGTERM from then on ends the worker cleanly
    service = _service(args, catch_up=False)
    with service:
        while True:
            # The wall clock is read here and nowhere else in the library.
            now = now_given or dt.datetime.now(dt.timezone.utc)
            service.run_due(now - service.lateness)
            _deliver(service, args, out, now)
            if args.once or _Stop.requested:
                return EXIT_OK
            wake = [now + dt.timedelta(seconds=args.interval)]
            for when in (service.next_wakeup(), service.next_delivery()):
                if when is not None:
                    wake.append(when + service.lateness)
            pause = (min(wake) - dt.datetime.now(dt.timezone.utc)).total_seconds()
            end = time.monotonic() + max(pause, 0.0)
            while not _Stop.requested and time.monotonic() < end:
                time.sleep(min(0.2, max(end - time.monotonic(), 0.0)))
            if _Stop.requested:
                return EXIT_OK


def _given_time(text: str | None) -> dt.datetime | None:
    """The time ``--now`` gives (ISO-8601 with a timezone), if any."""
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as error:
        raise _Exit(EXIT_BAD_INPUT, f"--now: {error}") from None


def _prune(args: argparse.Namespace, out: _Output) -> int:
    if args.facts_older_than is None and args.delivered_older_than is None:
        raise _Exit(
            EXIT_BAD_INPUT, "say what to prune: --facts-older-than, --delivered-older-than or both"
        )
    now = _given_time(args.now) or dt.datetime.now(dt.timezone.utc)  # the clock, at the edge
    try:
        facts_before = now - args.facts_older_than if args.facts_older_than is not None else None
        delivered_before = (
            now - args.delivered_older_than if args.delivered_older_than is not None else None
        )
    except OverflowError:
        raise _Exit(EXIT_BAD_INPUT, "a duration reaches back before the year 1") from None
    with _service(args, create=False) as service:
        try:
            pruned = service.prune(facts_before=facts_before, delivered_before=delivered_before)
        except InputError:
            raise _Exit(
                EXIT_BAD_INPUT,
                "a duration reaches outside the times the policy supports "
                f"({EARLIEST.isoformat()} to {LATEST.isoformat()})",
            ) from None
    report = {
        "facts": pruned.facts,
        "facts_before": facts_before.isoformat() if facts_before is not None else None,
        "actions": pruned.actions,
        "delivered_before": delivered_before.isoformat() if delivered_before is not None else None,
    }
    out.write(json.dumps(report) + "\n")
    return EXIT_OK


def _deliver(service: Service, args: argparse.Namespace, out: _Output, now: dt.datetime) -> None:
    """Deliver every action ready at ``now``: claim, deliver, acknowledge (or release)."""
    lease = dt.timedelta(seconds=max(args.timeout * 2, 60))
    while not _Stop.requested:
        claimed = service.claim(now, limit=args.batch, lease=lease)
        if not claimed:
            return
        for delivery in claimed:
            text = json.dumps(delivery.to_json(service.policy))
            if args.deliver is None:
                out.write(text + "\n")
                out.flush()
                service.ack([delivery.id], now)
                continue
            error = _run_delivery(args.deliver, text, delivery, args.timeout)
            if error is None:
                service.ack([delivery.id], now)
            else:
                retry = service.release(delivery, now, error)
                _error(
                    f"delivery of {delivery.id} failed ({error}); retrying at {retry.isoformat()}"
                )


def _run_delivery(command: str, text: str, delivery: Delivery, timeout: float) -> str | None:
    """Run the delivery command with the action on standard input: ``None`` if it exited 0."""
    env = dict(os.environ, ESCALATION_POLICY_ACTION_ID=delivery.id)
    try:
        done = subprocess.run(
            command,
            shell=True,
            input=text + "\n",
            text=True,
            env=env,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the command took longer than {timeout:g} seconds"
    except OSError as error:
        return f"the command could not run: {error.strerror or error}"
    if done.returncode != 0:
        return f"the command exited with status {done.returncode}"
    return None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> dt.timedelta:
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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a whole number of 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"got {text!r}, expected a positive number of seconds")
    return value


# -------------------------------------------------------------------------------------- audit
class _Origins:
    """Which file and line each item of the stream came from, by its position (1-based).

    Kept as runs of consecutive lines, so a history of millions of facts costs one entry per
    file and per blank line, not one per fact.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._runs: list[tuple[str, int]] = []
        self._expected: tuple[str, int] | None = None

    def add(self, position: int, name: str, number: int) -> None:
        if (name, number) != self._expected:
            self._starts.append(position)
            self._runs.append((name, number))
        self._expected = (name, number + 1)

    def __getitem__(self, position: int) -> tuple[str, int]:
        index = bisect.bisect_right(self._starts, position) - 1
        name, number = self._runs[index]
        return name, number + position - self._starts[index]


def _fail_on(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("expected 'any' or violation codes, comma-separated")
    return codes


def _failing_codes(codes: Sequence[str] | None, policy: Policy) -> frozenset[str]:
    """The codes ``--fail-on`` names, checked against the policy's violation codes."""
    if not codes:
        return frozenset()
    known = list(policy.violation_codes)
    if codes == ("any",):
        return frozenset(known)
    for code in codes:
        if code not in known:
            raise _Exit(
                EXIT_BAD_INPUT,
                f"--fail-on: unknown violation code {code!r}{did_you_mean(code, known)}; "
                f"expected 'any' or some of {', '.join(known)}",
            )
    return frozenset(codes)


def _audit(args: argparse.Namespace, out: _Output) -> int:
    output = None if args.output in (None, "-") else args.output
    fmt = args.format or ("text" if output is None and out.isatty() else "json")
    if fmt == "html":
        from escalation_policy import _html  # plotly, an optional extra, is imported only here

        try:
            _html.require_plotly()
        except _html.PlotlyMissingError as error:
            raise _Exit(EXIT_BAD_INPUT, f"--format html: {error}") from None
    if output is not None:
        problem = _unwritable(output)
        if problem is not None:  # said before reading: a long audit is not wasted
            raise _Exit(EXIT_CANNOT_WRITE, f"cannot write {output}: {problem}")
    as_of = None
    if args.as_of is not None:
        try:
            as_of = parse_timestamp(args.as_of)
        except ValueError as error:
            raise _Exit(EXIT_BAD_INPUT, f"--as-of: {error}") from None
    show_progress = sys.stderr is not None and sys.stderr.isatty()

    def progress(count: int) -> None:
        if show_progress and count % 100_000 == 0:
            _progress(f"\r{count:,} facts audited")

    origins = _Origins()
    policy = _policy(args)
    failing_codes = _failing_codes(args.fail_on, policy)
    kept: list[Fact | InputError] = []  # the page's timelines replay the history once more

    def items() -> Iterator[Fact | InputError]:
        for position, (name, number, item) in enumerate(_read(args.files, policy), start=1):
            origins.add(position, name, number)
            if fmt == "html":
                kept.append(item)
            yield item

    try:
        report = audit(
            items(),
            as_of=as_of,
            policy=policy,
            engine=args.engine,
            progress=progress,
            keep_going=args.keep_going,
        )
    except InputError as error:
        if error.path == "as_of":
            raise _Exit(EXIT_BAD_INPUT, f"--as-of: {error.reason}") from None
        if error.line is None:
            raise
        name, number = origins[error.line]
        raise _stopped(name, error.at_line(number)) from None
    finally:
        if show_progress:
            _progress("\r\033[K")
    report = attrs.evolve(
        report,
        refused=tuple(
            attrs.evolve(item, file=name, line=number)
            for item in report.refused
            for name, number in [origins[item.line]]
        ),
    )
    if fmt == "json":
        text = json.dumps(report.to_json(), indent=2) + "\n"
    elif fmt == "markdown":
        text = audit_markdown(report)
    elif fmt == "html":
        text = _html.audit_html(report, kept, policy, as_of=as_of, engine=args.engine)
    else:
        text = audit_text(report)
    if output is None:
        out.write(text)
    else:
        _write_report(output, text)
    if report.refused:
        _report_refused(len(report.refused), report.facts)
        return EXIT_BAD_INPUT
    failing = [v for v in report.violations if scalar(v.code) in failing_codes]
    return EXIT_VIOLATIONS if failing else EXIT_OK


def _unwritable(path: str) -> str | None:
    """Why the report cannot be written to ``path``, if that can be told before writing."""
    if os.path.isdir(path):
        return "it is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no such directory {folder}"
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        return "permission denied"
    return None


def _write_report(path: str, text: str) -> None:
    """Write the report to ``path`` (UTF-8), or end with exit status 3 saying why not."""
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise _Exit(EXIT_CANNOT_WRITE, f"cannot write {path}: {error.strerror or error}") from None


def _table(args: argparse.Namespace, out: _Output) -> int:
    policy = _policy(args)
    known = [compiled.table.id for compiled in policy.tables]
    for table_id in args.tables:
        if table_id not in known:
            raise _Exit(
                EXIT_BAD_INPUT,
                f"no table {table_id!r}{did_you_mean(table_id, known)}; the policy has "
                f"{', '.join(known)}",
            )
    out.write(tables(policy, args.tables))
    return EXIT_OK


def _diff(args: argparse.Namespace, out: _Output) -> int:
    old = default_policy() if args.old == "handbook" else load_policy(args.old)
    new = _policy(args)
    changes = old.diff(new)
    out.write(f"{old.identity} -> {new.identity}\n")
    for change in changes:
        out.write(f"{plain(str(change))}\n")
    return EXIT_DIFFERENT if changes else EXIT_OK


def _identity(args: argparse.Namespace, out: _Output) -> int:
    out.write(_policy(args).identity + "\n")
    return EXIT_OK


def _schema(args: argparse.Namespace, out: _Output) -> int:
    out.write(json.dumps(json_schema(_policy(args)), indent=2) + "\n")
    return EXIT_OK


def _rules(args: argparse.Namespace, out: _Output) -> int:
    policy = _policy(args)
    name = getattr(args, "policy", None) or "the handbook's policy"
    out.write(policy_reference(policy, f"The rules of {name}"))
    return EXIT_OK


def _policy(args: argparse.Namespace) -> Policy:
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


# --------------------------------------------------------------------------------------- main
class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line on standard error (status 2), as every
    other error of the command line: argparse's own print the usage first."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
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
            "__init__.py declares MODULES (default: the handbook's policy)",
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

    parser = _Parser(
        prog="escalation-policy",
        description="The customer-escalation handbook as an executable policy.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    files_help = (
        "JSON-lines files of facts, or - for standard input, read in the order given as one history"
    )
    keep_going_help = (
        "report each line the policy refuses (file, line, reason) and go on; "
        "the exit status is still 2 when a line was refused"
    )
    replay = command(
        "replay",
        help="replay recorded facts and print what the policy requires",
        description="Read facts as JSON lines (one object per line, in time order) and print "
        "the actions the policy takes. A bad line stops the replay with exit status 2, "
        "unless --keep-going.",
    )
    replay.add_argument("files", nargs="+", metavar="FILE", help=files_help)
    replay.add_argument(
        "--format",
        choices=("json", "table"),
        help="json: one action per line; table: a readable timeline "
        "(default: table on a terminal, json otherwise)",
    )
    replay.add_argument("--keep-going", action="store_true", help=keep_going_help)
    replay.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    replay.set_defaults(run=_replay)
    audit_parser = command(
        "audit",
        help="check a recorded history against the policy and report compliance",
        description="Replay a recorded history (JSON-lines facts in time order) and report "
        "each violation, with what was due and what happened instead, and compliance "
        "figures, per escalation and in total.",
    )
    audit_parser.add_argument("files", nargs="+", metavar="FILE", help=files_help)
    audit_parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="end the audit at TIME (ISO-8601 with a timezone), for escalations still open: "
        "obligations due by then are violations, those not yet due are not",
    )
    audit_parser.add_argument(
        "--format",
        choices=("text", "markdown", "json", "html"),
        help="text (default on a terminal), markdown, json (default otherwise), or html: one "
        "self-contained page with charts, for a browser (needs escalation-policy[html])",
    )
    audit_parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE instead of standard output (- is standard output); "
        "FILE is written once the audit is done, and not at all if it stops on bad input",
    )
    audit_parser.add_argument(
        "--fail-on",
        metavar="CODES",
        type=_fail_on,
        help="exit with status 1 if there are violations with these codes "
        "(comma-separated), or 'any'",
    )
    audit_parser.add_argument("--keep-going", action="store_true", help=keep_going_help)
    audit_parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    audit_parser.set_defaults(run=_audit)
    table = command(
        "table",
        help="print decision tables as Markdown",
        description="Render the policy's decision tables from the rules, as Markdown: the "
        "tables named, or every table.",
    )
    table.add_argument(
        "tables", nargs="*", metavar="TABLE", help="a table's id, such as severity.levels"
    )
    table.set_defaults(run=_table)
    rules = command(
        "rules",
        help="print the policy's reference as Markdown",
        description="Render the policy's reference from the loaded policy, as Markdown: its "
        "facts and actions (the JSON contract), values, obligations, decision tables and "
        "reactions, with every rule's id and citation.",
    )
    rules.set_defaults(run=_rules)
    schema = command(
        "schema",
        help="print the JSON Schema of the policy's facts and actions",
        description="Print the JSON Schema (draft 07) of the loaded policy's facts and actions, "
        "for hosts in other languages: a fact it rejects, the library refuses too.",
    )
    schema.set_defaults(run=_schema)
    identity = command(
        "identity",
        help="print the policy's identity",
        description="Print the identity of the loaded policy (with its settings): sha256: and "
        "the digest of everything it declares. The same package and settings give the same "
        "identity anywhere; any change to a rule, a citation, a term or a setting gives "
        "another. Every action a store keeps, and every audit, names it.",
    )
    identity.set_defaults(run=_identity)
    diff = command(
        "diff",
        help="what changed from one policy to another",
        description="Compare the policy (--policy, with any --setting; by default the "
        "handbook's) with OLD: one line per place where what they declare differs, named by "
        "its rule ids: + added, - removed, ~ changed (old -> new). The first line gives both "
        "identities. Exit status 1 when they differ, 0 when they are the same policy.",
    )
    diff.add_argument(
        "old",
        metavar="OLD",
        help="the policy to compare with: a package (module name or folder), or 'handbook'",
    )
    diff.set_defaults(run=_diff)
    store_help = (
        "the store: sqlite:///FILE (or a file name) or postgresql://... (default: "
        f"$ESCALATION_POLICY_STORE, else {DEFAULT_STORE})"
    )
    run = command(
        "run",
        help="handle facts through a durable store and print the actions",
        description="Handle facts (JSON lines in time order) through a durable store, in "
        "batches of one transaction each, and print the actions they emit, each with its "
        "stable id. The store remembers how far each file was read: after a crash, run the "
        "same command again and it goes on after what was committed. A fact with an id "
        "already handled emits nothing again.",
    )
    run.add_argument("files", nargs="+", metavar="FILE", help=files_help)
    run.add_argument("--store", metavar="URL", help=store_help)
    run.add_argument(
        "--batch",
        type=_positive,
        default=500,
        metavar="N",
        help="facts handled in one transaction (default: 500)",
    )
    run.add_argument(
        "--source",
        metavar="NAME",
        help="the name under which the store remembers how far the input was read (default: "
        "the file's path; standard input is resumable only with a name)",
    )
    run.add_argument(
        "--format",
        choices=("json", "table"),
        help="json: one action per line, with its id; table: a readable timeline "
        "(default: table on a terminal, json otherwise)",
    )
    run.add_argument("--keep-going", action="store_true", help=keep_going_help)
    run.add_argument(
        "--no-catch-up",
        action="store_true",
        help="do not let time pass for other escalations before each fact (for several "
        "processes sharing one stream; run `worker` to report what falls due)",
    )
    run.add_argument(
        "--lateness",
        type=_duration,
        metavar="DURATION",
        help="time passes for other escalations only up to each fact's time less this "
        "(90s, 5m, 2h, 1d), so a fact up to this late is not stale",
    )
    run.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    run.set_defaults(run=_run)
    worker = command(
        "worker",
        help="report what falls due on the wall clock and deliver the outbox",
        description="Run the store's due scans on the wall clock and deliver the actions in "
        "its outbox, each exactly once as far as a receiver that de-duplicates by id can tell: "
        "to standard output (one JSON line each), or to a command that gets the action on "
        "standard input and its id in ESCALATION_POLICY_ACTION_ID, and whose exit status 0 "
        "acknowledges it (any other: retried later, with back-off). Several workers may share "
        "a store. SIGTERM or Ctrl-C ends the worker after the current round.",
    )
    worker.add_argument("--store", metavar="URL", help=store_help)
    worker.add_argument(
        "--deliver", metavar="COMMAND", help="deliver each action by running COMMAND (a shell line)"
    )
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.add_argument(
        "--now",
        metavar="TIME",
        help="with --once: the round's time (ISO-8601 with a timezone) instead of the clock",
    )
    worker.add_argument(
        "--interval",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="the longest wait between rounds (default: 30)",
    )
    worker.add_argument(
        "--lateness",
        type=_duration,
        metavar="DURATION",
        help="report what fell due only once this much more has passed, to let late facts "
        "arrive first (90s, 5m, 2h, 1d; default: 0)",
    )
    worker.add_argument(
        "--batch", type=_positive, default=100, metavar="N", help="actions claimed at once"
    )
    worker.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long the delivery command may take (default: 30)",
    )
    worker.set_defaults(run=_worker)
    prune = command(
        "prune",
        help="forget old fact ids and delivered actions",
        description="Forget the ids of facts older than a duration (a redelivery of such a "
        "fact is then handled as a new fact: keep them longer than any source may redeliver) "
        "and drop the actions delivered longer ago than a duration, measured back from the "
        "wall clock. Undelivered actions and the escalations' states are never pruned. Prints "
        "how many of each went, as one JSON object.",
    )
    prune.add_argument("--store", metavar="URL", help=store_help)
    prune.add_argument(
        "--facts-older-than",
        type=_duration,
        metavar="DURATION",
        help="forget the ids of facts whose time is older than this (90s, 5m, 2h, 30d)",
    )
    prune.add_argument(
        "--delivered-older-than",
        type=_duration,
        metavar="DURATION",
        help="drop the actions delivered longer ago than this",
    )
    prune.add_argument(
        "--now", metavar="TIME", help="measure back from TIME (ISO-8601) instead of the clock"
    )
    prune.set_defaults(run=_prune)
    return parser


def _error(message: str) -> None:
    """One line on standard error, if there is a standard error to write to."""
    if sys.stderr is None:
        return
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"escalation-policy: {' '.join(message.splitlines())}\n")
        sys.stderr.flush()


def _progress(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()


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
        out = _Output(sys.stdout)
        status: int = args.run(args, out)
        out.flush()
    except _Exit as stop:
        _error(stop.message)
        return stop.status
    except _CannotWrite as error:
        _discard_unwritten_output()
        if error.broken_pipe:  # the reader stopped early, as `| head` does: not a failure
            return EXIT_OK
        _error(f"cannot write the output: {error.reason}")
        return EXIT_CANNOT_WRITE
    except StoreError as error:
        _error(str(error))
        return EXIT_STORE
    except PolicyError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # the promise: never a traceback, whatever went wrong
        _error(f"internal error (please report it): {type(error).__name__}: {error}")
        return EXIT_INTERNAL_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
