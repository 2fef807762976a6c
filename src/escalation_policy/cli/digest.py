"""``escalation-policy digest``: the weekly digest for Customer Success leadership, from a
recorded history or a store."""

import argparse
import bisect
import json
from collections.abc import Iterator

from escalation_policy._digest import (
    digest,
    digest_html,
    digest_markdown,
    digest_slack,
)
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    chosen_policy,
    open_service,
    read_items,
    stopped,
    store_url,
)
from escalation_policy.cli._files import checked_output, chosen_format, write_report
from escalation_policy.cli._parsers import DIGEST_FORMATS
from escalation_policy.errors import InputError
from escalation_policy.model import Fact, parse_timestamp


class _Origins:
    """Which file and line each item of the stream came from, by its position (1-based),
    kept as runs of consecutive lines."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._runs: list[tuple[str, int]] = []
        self._expected: tuple[str, int] | None = None

    def __bool__(self) -> bool:
        return bool(self._runs)

    def add(self, position: int, name: str, number: int) -> None:
        if (name, number) != self._expected:
            self._starts.append(position)
            self._runs.append((name, number))
        self._expected = (name, number + 1)

    def __getitem__(self, position: int) -> tuple[str, int]:
        index = max(bisect.bisect_right(self._starts, position) - 1, 0)
        name, number = self._runs[index]
        return name, number + position - self._starts[index]


def _store_files(args: argparse.Namespace) -> list[str]:
    """The SQLite file the digest reads, when it reads a store (a file name or
    ``sqlite:///FILE``): not to be overwritten by the digest."""
    if args.files:
        return []
    url = store_url(args)
    if url.lower().startswith("sqlite:///"):
        return [url[len("sqlite:///") :]]
    return [] if "://" in url else [url]


def run(args: argparse.Namespace, out: Output) -> int:
    if args.files and args.store is not None:
        raise Exit(EXIT_BAD_INPUT, "got FILE and --store, expected a history or a store")
    output = None if args.output in (None, "-") else args.output
    fmt = chosen_format(
        args.format, output, "markdown", formats=DIGEST_FORMATS, kinds={"slack": "json"}
    )
    if output is not None:
        checked_output(output, [*args.files, *_store_files(args)])
    as_of = None
    if args.as_of is not None:
        try:
            as_of = parse_timestamp(args.as_of)
        except ValueError as error:
            raise Exit(EXIT_BAD_INPUT, f"--as-of: {error}") from None
    origins = _Origins()
    try:
        if args.files:
            policy = chosen_policy(args)

            def items() -> Iterator[Fact | InputError]:
                for position, (name, number, item) in enumerate(
                    read_items(args.files, policy), start=1
                ):
                    origins.add(position, name, number)
                    yield item

            result = digest(
                items(),
                policy=policy,
                week=args.week,
                as_of=as_of,
                weeks=args.weeks,
                engine=args.engine,
            )
        else:
            with open_service(args, create=False, replan=True) as service:
                result = digest(service, week=args.week, as_of=as_of, weeks=args.weeks)
    except InputError as error:
        if error.path in ("week", "as_of"):
            option = "--week" if error.path == "week" else "--as-of"
            raise Exit(EXIT_BAD_INPUT, f"{option}: {error.reason}") from None
        if error.line is not None and origins:
            name, number = origins[error.line]
            raise stopped(name, error.at_line(number, name)) from None
        raise
    if fmt == "markdown":
        text = digest_markdown(result)
    elif fmt == "html":
        text = digest_html(result)
    elif fmt == "slack":
        message = digest_slack(result)
        text = json.dumps({"text": message.text, "blocks": message.blocks}, indent=2) + "\n"
    else:
        text = json.dumps(result.to_json(), indent=2) + "\n"
    if output is None:
        out.write(text)
    else:
        write_report(output, text)
    return EXIT_OK
