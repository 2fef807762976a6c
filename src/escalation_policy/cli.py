"""The ``escalation-policy`` command line: replay recorded facts, render the policy."""

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any

from escalation_policy._audit import audit
from escalation_policy.engine import ENGINES, PolicyEngine
from escalation_policy.errors import InputError, PolicyError, did_you_mean
from escalation_policy.model import Action, Fact, ViolationCode, parse_timestamp, shared_converter
from escalation_policy.policy import default_policy
from escalation_policy.render import (
    audit_markdown,
    audit_text,
    describe,
    severity_table,
    timestamp,
)

__all__ = ["main"]

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def read_facts(stream: IO[str]) -> Iterator[tuple[int, Fact]]:
    """``(line number, fact)`` for each non-blank JSON line; errors carry the line."""
    converter = shared_converter()
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                f"not valid JSON ({error.msg} at column {error.colno})", line=number
            ) from None
        try:
            yield number, converter.structure(data, Fact)
        except InputError as error:
            raise error.at_line(number) from None


def _open(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def _replay(args: argparse.Namespace, out: IO[str]) -> int:
    engine = PolicyEngine(engine=args.engine)
    converter = shared_converter()
    fmt = args.format or ("table" if out.isatty() else "json")
    stream = _open(args.file)
    try:
        for number, fact in read_facts(stream):
            try:
                decision = engine.handle(fact)
            except InputError as error:
                raise error.at_line(number) from None
            for action in decision.actions:
                if fmt == "json":
                    body: dict[str, Any] = converter.unstructure(action, Action)
                    out.write(json.dumps(body) + "\n")
                else:
                    out.write(_timeline_line(action) + "\n")
    finally:
        if stream is not sys.stdin:
            stream.close()
    return EXIT_OK


def _timeline_line(action: Action) -> str:
    return (
        f"{timestamp(action.at)}  {action.escalation_id:<10}  {describe(action)}\n"
        f"{'':19}{'':12}  [{action.rule} · {action.cites}]"
    )


EXIT_VIOLATIONS = 1


def _fail_on(text: str) -> frozenset[str]:
    codes = [code.strip() for code in text.split(",") if code.strip()]
    known = [code.value for code in ViolationCode]
    if codes == ["any"]:
        return frozenset(known)
    for code in codes:
        if code not in known:
            raise argparse.ArgumentTypeError(
                f"unknown violation code {code!r}{did_you_mean(code, known)}; "
                f"expected 'any' or some of {', '.join(known)}"
            )
    return frozenset(codes)


def _audit(args: argparse.Namespace, out: IO[str]) -> int:
    fmt = args.format or ("text" if out.isatty() else "json")
    as_of = None
    if args.as_of is not None:
        try:
            as_of = parse_timestamp(args.as_of)
        except ValueError as error:
            raise InputError(f"--as-of: {error}") from None
    show_progress = sys.stderr.isatty()

    def progress(count: int) -> None:
        if show_progress and count % 100_000 == 0:
            sys.stderr.write(f"\r{count:,} facts audited")
            sys.stderr.flush()

    stream = _open(args.file)
    try:
        report = audit(
            (fact for _, fact in read_facts(stream)),
            as_of=as_of,
            engine=args.engine,
            progress=progress,
        )
    finally:
        if stream is not sys.stdin:
            stream.close()
        if show_progress:
            sys.stderr.write("\r\033[K")
    if fmt == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    elif fmt == "markdown":
        out.write(audit_markdown(report))
    else:
        out.write(audit_text(report))
    failing = [v for v in report.violations if v.code.value in (args.fail_on or ())]
    return EXIT_VIOLATIONS if failing else EXIT_OK


def _table(_args: argparse.Namespace, out: IO[str]) -> int:
    out.write(severity_table(default_policy()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="escalation-policy",
        description="The customer-escalation handbook as an executable policy.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="replay recorded facts and print what the policy requires",
        description="Read facts as JSON lines (one object per line, in time order) and print "
        "the actions the policy takes. A bad line stops the replay with exit status 2.",
    )
    replay.add_argument("file", metavar="FILE", help="a JSON-lines file of facts, or - for stdin")
    replay.add_argument(
        "--format",
        choices=("json", "table"),
        help="json: one action per line; table: a readable timeline "
        "(default: table on a terminal, json otherwise)",
    )
    replay.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    replay.set_defaults(run=_replay)
    audit_parser = commands.add_parser(
        "audit",
        help="check a recorded history against the policy and report compliance",
        description="Replay a recorded history (JSON-lines facts in time order) and report "
        "each violation, with what was due and what happened instead, and compliance "
        "figures, per escalation and in total. Exit status: 0, or 1 when --fail-on matches, "
        "or 2 for bad input.",
    )
    audit_parser.add_argument("file", metavar="FILE", help="a JSON-lines file of facts, or -")
    audit_parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="end the audit at TIME (ISO-8601 with a timezone), for escalations still open: "
        "obligations due by then are violations, those not yet due are not",
    )
    audit_parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        help="text (default on a terminal), markdown, or json (default otherwise)",
    )
    audit_parser.add_argument(
        "--fail-on",
        metavar="CODES",
        type=_fail_on,
        help="exit with status 1 if there are violations with these codes "
        "(comma-separated), or 'any'",
    )
    audit_parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    audit_parser.set_defaults(run=_audit)
    table = commands.add_parser(
        "table",
        help="print the severity table as Markdown",
        description="Render the severity levels table from the rules, as Markdown.",
    )
    table.set_defaults(run=_table)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, sys.stdout)
    except PolicyError as error:
        sys.stderr.write(
            f"escalation-policy: {getattr(args, 'file', '')}: {error}\n"
            if isinstance(error, InputError) and getattr(args, "file", None)
            else f"escalation-policy: {error}\n"
        )
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. piped into head
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
