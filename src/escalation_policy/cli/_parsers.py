"""Every command's parser: its arguments, their help and how each is read. Nothing here loads
the policy, the engines or the reports, so ``--help``, a command's ``--help`` and a wrong
argument answer without them; each command's module is imported only to run it.

The few limits the help states are copied here from the modules that enforce them, which would
load the engine with them; tests/test_cli.py keeps each copy equal to its source.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from escalation_policy.cli._output import EXIT_STATUSES
from escalation_policy.errors import describe

TYPE_CHECKING = False  # as typing's: --version and --help start without typing

if TYPE_CHECKING:
    from typing import Any, TypeAlias

ENGINES = ("native", "durable")
"""The rule engines ``--engine`` takes: ``escalation_policy.engine.ENGINES``."""

MAX_ID_LENGTH = 256
"""The longest id a store keeps: ``escalation_policy._language.typed.MAX_ID_LENGTH``."""

MAX_LATENESS = dt.timedelta(days=7)
"""The most lateness the engines take: ``escalation_policy._core.step.MAX_LATENESS``."""

MAX_WEEKS = 52
"""The most weeks a digest's trend shows: ``escalation_policy._digest.MAX_WEEKS``."""

# ------------------------------------------------------------------------ what the parsers share
REPORT_FORMATS = ("text", "markdown", "json", "html")
"""The formats of ``audit``'s and ``impact``'s reports."""

DIGEST_FORMATS = ("markdown", "html", "slack", "json")
"""The formats of ``digest``."""

DEFAULT_STORE = "sqlite:///escalations.db"
"""The store ``run`` and ``worker`` use unless ``--store`` or ``ESCALATION_POLICY_STORE``
names another: a SQLite file in the current directory."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> dt.timedelta:
    """A duration such as ``90s``, ``5m``, ``2h`` or ``1d`` (a bare number is seconds)."""
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    try:
        value = float(number) if number.isascii() else -1.0  # float() reads "٣" as 3
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
        value = int(text) if text.isascii() else 0  # int() reads "٣" as 3
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
        value = float(text) if text.isascii() else 0.0
    except ValueError:
        value = 0.0
    if not 0 < value <= LONGEST_WAIT:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected a positive number of seconds, at most {LONGEST_WAIT:g} (a day)"
        )
    return value


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected NAME=VALUE, such as high_update_every=2d"
        )
    return name.strip(), value.strip()


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""Where each command adds its parser (each function of :data:`PARSERS`)."""


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


# ------------------------------------------------------------------------------- the commands
def _replay(commands: Commands) -> None:
    parser = add_command(
        commands,
        "replay",
        help="replay recorded facts and print what the policy requires",
        description="Read facts as JSON lines (one object per line, in time order) and print "
        "the actions the policy takes. A bad line stops the replay with exit status 2, "
        "unless --keep-going.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        help="json: one action per line; table: a readable timeline "
        "(default: table on a terminal, json otherwise)",
    )
    parser.add_argument("--keep-going", action="store_true", help=KEEP_GOING_HELP)
    parser.add_argument(
        "--trace",
        action="store_true",
        help="add to each action the file and line of the fact that caused it, and the ids of "
        "the table rows and reactions that matched on that fact (`escalation-policy explain` "
        "says why)",
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )


def _fail_on(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    if not codes:
        raise argparse.ArgumentTypeError("expected 'any' or violation codes, comma-separated")
    return codes


def _audit(commands: Commands) -> None:
    parser = add_command(
        commands,
        "audit",
        help="check a recorded history against the policy and report compliance",
        description="Replay a recorded history (JSON-lines facts in time order) and report "
        "each violation, with what was due and what happened instead, and compliance "
        "figures, per escalation and in total.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="end the audit at TIME (ISO-8601 with a timezone), for escalations still open: "
        "obligations due by then are violations, those not yet due are not",
    )
    parser.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        help="text, markdown, json or html (one self-contained page for a browser: who is "
        "late, and each escalation's timeline); default: from the extension of -o's FILE "
        "(.txt, .md, .json, .html), else text on a terminal and json otherwise",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE instead of standard output (- is standard output); "
        "FILE is written once the audit is done, and not at all if it stops on bad input; "
        "its extension chooses the format, and one that contradicts --format is refused",
    )
    parser.add_argument(
        "--fail-on",
        metavar="CODES",
        type=_fail_on,
        help="exit with status 1 if there are violations with these codes "
        "(comma-separated), or 'any'",
    )
    parser.add_argument(
        "--only-violations",
        action="store_true",
        help="list only the escalations with violations (text, markdown, json); the totals "
        "are still those of every escalation",
    )
    parser.add_argument("--keep-going", action="store_true", help=KEEP_GOING_HELP)
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )
    parser.add_argument(
        "--jobs",
        type=positive,
        default=1,
        metavar="N",
        help="audit N parts of the escalations in parallel local processes (default 1); the "
        "report is the same. FILEs ending in .parquet are read as Parquet (a row a fact)",
    )
    parser.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="audit the parts on a Dask cluster: 'local' (a cluster of --workers processes on "
        "this machine) or a scheduler's address (its workers read the FILEs: give paths they "
        "all see); needs escalation-policy[dask]. The report is the same",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        metavar="N",
        help="with --dask: the parts (and, for 'local', the worker processes); default 2",
    )


def _weeks(text: str) -> int:
    try:
        value = int(text) if text.isascii() else 0
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WEEKS:
        raise argparse.ArgumentTypeError(
            f"got {text!r}, expected a whole number from 1 to {MAX_WEEKS}"
        )
    return value


def _digest(commands: Commands) -> None:
    parser = add_command(
        commands,
        "digest",
        help="the weekly digest for Customer Success leadership, from a history or a store",
        description="The weekly digest: the escalations open by severity and age, the "
        "obligations due by the end of the week, what was missed in the week and by whose "
        "escalation, and the share of obligations met on time week over week. From a recorded "
        "history (JSON-lines facts in time order, replayed as `audit` replays them) or from "
        "a store (its escalations and its outbox; a store keeps no facts, so its weeks show "
        "the misses only). Weeks are ISO weeks, Monday 00:00 UTC to Monday.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--store",
        metavar="URL",
        help="read the digest from this store instead of a history; " + STORE_HELP,
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--week",
        metavar="WEEK",
        help="the ISO week, such as 2026-W10 (default: the week of --as-of)",
    )
    when.add_argument(
        "--as-of",
        metavar="TIME",
        help="the digest as it stood at TIME (ISO-8601 with a timezone); default: the "
        "history's last fact, or now for a store",
    )
    parser.add_argument(
        "--weeks",
        metavar="N",
        type=_weeks,
        default=6,
        help=f"how many weeks the trend shows, the digest's week last (1 to {MAX_WEEKS}; "
        "default 6)",
    )
    parser.add_argument(
        "--format",
        choices=DIGEST_FORMATS,
        help="markdown, html (one self-contained page), slack (the JSON object "
        "chat.postMessage takes: text and blocks) or json; default: from the extension of "
        "-o's FILE (.md, .html, .json), else markdown",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the digest to FILE instead of standard output (- is standard output); "
        "its extension chooses the format, and one that contradicts --format is refused "
        "(slack's JSON may go to a .json file)",
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )


def _explain(commands: Commands) -> None:
    parser = add_command(
        commands,
        "explain",
        help="say why the policy decided as it did on one fact, or why a rule did not fire",
        description="Replay a history (JSON-lines facts in time order) up to one fact about an "
        "escalation, and explain the policy's decision on it: the values each decision table "
        "read and the row that matched, each reaction's conditions with the value tested and "
        "whether it passed, the actions, and the obligations pending before and after, each "
        "with the rule and the calendar that set its due time. Lines the policy refuses before "
        "that fact are skipped.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--line",
        metavar="[FILE:]N",
        help="the fact at line N (of FILE, when several files are given)",
    )
    which.add_argument(
        "--at",
        metavar="TIME",
        help="the last fact about the escalation at or before TIME (ISO-8601 with a timezone)",
    )
    parser.add_argument(
        "--escalation",
        metavar="ID",
        help="the escalation (needed with --at; with --line, the fact's own)",
    )
    parser.add_argument(
        "--why-not",
        metavar="RULE",
        help="only say why RULE (a reaction's id, or a table's row as TABLE/ROW) did or did "
        "not fire on that fact",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default), or json: the explanation as one JSON object",
    )


def _table(commands: Commands) -> None:
    parser = add_command(
        commands,
        "table",
        help="print decision tables, drawn on a terminal or as Markdown",
        description="Render the policy's decision tables from the rules: the tables named, or "
        "every table. On a terminal each is drawn with its cells wrapped to the terminal's "
        "width; otherwise (or with --format markdown, or on a terminal too narrow for a "
        "table's longest words) as Markdown.",
    )
    parser.add_argument(
        "tables", nargs="*", metavar="TABLE", help="a table's id, such as severity.levels"
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown"),
        help="text: tables drawn for a terminal (default on a terminal); markdown (default "
        "otherwise)",
    )


def _rules(commands: Commands) -> None:
    add_command(
        commands,
        "rules",
        help="print the policy's reference as Markdown",
        description="Render the policy's reference from the loaded policy, as Markdown: its "
        "facts and actions (the JSON contract), values, obligations, calendars, settings, "
        "decision tables and reactions, with every rule's id and citation; what each reaction "
        "requires and by when; and the context fields its conditions may test.",
    )


def _schema(commands: Commands) -> None:
    add_command(
        commands,
        "schema",
        help="print the JSON Schema of the policy's facts and actions",
        description="Print the JSON Schema (draft 07) of the loaded policy's facts and actions, "
        "for hosts in other languages: a fact it rejects, the library refuses too.",
    )


def _identity(commands: Commands) -> None:
    add_command(
        commands,
        "identity",
        help="print the policy's identity",
        description="Print the identity of the loaded policy (with its settings): sha256: and "
        "the digest of everything it declares. The same package and settings give the same "
        "identity anywhere; any change to a rule, a citation, a term or a setting gives "
        "another. Every action a store keeps, and every audit, names it.",
    )


def _diff(commands: Commands) -> None:
    parser = add_command(
        commands,
        "diff",
        help="what changed from one policy to another",
        description="Compare the policy (--policy, with any --setting; by default the "
        "handbook's) with OLD: one line per place where what they declare differs, named by "
        "its rule ids: + added, - removed, ~ changed (old -> new). The first line gives both "
        "identities, the last counts the changes ('3 changes: 1 added, 2 changed') or says "
        "'no changes'. Exit status 1 when they differ, 0 when they are the same policy.",
    )
    parser.add_argument(
        "old",
        metavar="OLD",
        help="the policy to compare with: a package (module name or folder), or 'handbook'. "
        "Loading a package runs its Python code, with this command's rights: compare only "
        "packages you would run",
    )


def _lint(commands: Commands) -> None:
    parser = add_command(
        commands,
        "lint",
        help="check a policy package: what stops it loading, and what deserves a look",
        description="Load the policy (--policy, with the --setting values) and report, each "
        "with its file and line: the error that stops it loading, if any (every check the "
        "loader makes); else warnings: values declared that no rule names, settings given "
        "their default value, settings declared that no rule uses, obligations no reaction "
        "fulfils, business time in a policy that declares no calendar, a plan no "
        "reaction applies, and with --history, rules that no history given reaches (each "
        "file is replayed as a history of its own). Exit status: 0 when it loads (warnings "
        "too, unless --strict), 1 for warnings with --strict, 2 when it does not load or a "
        "history cannot be read.",
    )
    parser.add_argument(
        "--history",
        metavar="FILE",
        nargs="+",
        default=[],
        help="JSON-lines histories to replay, each on its own: rules none of them reaches "
        "are reported (lines the policy refuses are skipped, and counted)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when there are warnings"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): one line a finding; json: one object with the findings",
    )


def _impact(commands: Commands) -> None:
    parser = add_command(
        commands,
        "impact",
        help="what a change of policy would have done differently over a recorded history",
        description="Replay a recorded history (JSON-lines facts in time order) under the "
        "base policy (--base) and under the policy (--policy, with any --setting; by default "
        "the handbook's), and report per escalation the actions and violations added, removed "
        "and changed, then totals by rule, action type and violation code. A rule renamed with "
        "replaces= is no change. Facts the base does not know are listed and skipped for it. "
        "Exit status 1 when anything differs, 0 when nothing does.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    parser.add_argument(
        "--base",
        required=True,
        metavar="POLICY",
        help="the policy to compare with: 'handbook', a package (module name or folder), or "
        "git:REV, the package --policy names (by default the handbook's) as the git revision "
        "REV had it (git:REV:PACKAGE for another). Loading a package runs its Python code, "
        "with this command's rights: name only packages you would run",
    )
    parser.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        help="text, markdown (for a merge request's comment), json, or html: one "
        "self-contained page; default: from the extension of -o's FILE (.txt, .md, .json, "
        ".html), else text on a terminal and json otherwise",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the report to FILE instead of standard output (- is standard output); "
        "its extension chooses the format, and one that contradicts --format is refused",
    )
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="end the history at TIME (ISO-8601 with a timezone) under both policies",
    )
    parser.add_argument(
        "--jobs",
        type=positive,
        default=1,
        metavar="N",
        help="replay N partitions of the escalations in parallel processes (default 1); the "
        "report is the same. FILEs ending in .parquet are read as Parquet (a row a fact)",
    )
    parser.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="replay the partitions on a Dask cluster: 'local' (a cluster of --workers "
        "processes on this machine) or a scheduler's address (its workers read the FILEs and "
        "load both policies: give paths they all see); needs escalation-policy[dask]. The "
        "report is the same",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        metavar="N",
        help="with --dask: the partitions (and, for 'local', the worker processes); default 2",
    )
    parser.add_argument("--keep-going", action="store_true", help=KEEP_GOING_HELP)
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )


def source_option(text: str) -> str:
    """``--source``: a name a store keeps in an index, as long as an id may be at most."""
    if len(text) > MAX_ID_LENGTH:
        raise argparse.ArgumentTypeError(
            f"got {describe(text)} ({len(text):,} characters), expected a name of at most "
            f"{MAX_ID_LENGTH} characters"
        )
    return text


def _run(commands: Commands) -> None:
    parser = add_command(
        commands,
        "run",
        help="handle facts through a durable store and print the actions",
        description="Handle facts (JSON lines in time order) through a durable store, in "
        "batches of one transaction each, and print the actions they emit, each with its "
        "stable id. The store remembers how far each file was read: after a crash, run the "
        "same command again and it goes on after what was committed. A fact with an id "
        "already handled emits nothing again.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help=FILES_HELP)
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--batch",
        type=positive,
        default=500,
        metavar="N",
        help="facts handled in one transaction (default: 500)",
    )
    parser.add_argument(
        "--source",
        metavar="NAME",
        type=source_option,
        help="the name under which the store remembers how far the input was read (default: "
        "the file's path; standard input is resumable only with a name; at most "
        f"{MAX_ID_LENGTH} characters)",
    )
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        help="json: one action per line, with its id; table: a readable timeline "
        "(default: table on a terminal, json otherwise)",
    )
    parser.add_argument("--keep-going", action="store_true", help=KEEP_GOING_HELP)
    parser.add_argument(
        "--no-catch-up",
        action="store_true",
        help="do not let time pass for other escalations before each fact (for several "
        "processes sharing one stream; run `worker` to report what falls due)",
    )
    parser.add_argument(
        "--lateness",
        type=lateness,
        metavar="DURATION",
        help="time passes for other escalations only up to each fact's time less this "
        "(90s, 5m, 2h, 1d; at most 7d), so a fact up to this late is not stale",
    )
    parser.add_argument(
        "--engine", choices=ENGINES, default="native", help="the rule engine (default: native)"
    )


def _worker(commands: Commands) -> None:
    parser = add_command(
        commands,
        "worker",
        help="report what falls due on the wall clock and deliver the outbox",
        description="Run the store's due scans on the wall clock and deliver the actions in "
        "its outbox, each exactly once as far as a receiver that de-duplicates by id can tell: "
        "to standard output (one JSON line each), or to a command that gets the action on "
        "standard input and its id in ESCALATION_POLICY_ACTION_ID, and whose exit status 0 "
        "acknowledges it (any other: retried later, with back-off). Several workers may share "
        "a store. SIGTERM or Ctrl-C ends the worker after the current round.",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--deliver", metavar="COMMAND", help="deliver each action by running COMMAND (a shell line)"
    )
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="with --once: the round's time (ISO-8601 with a timezone) instead of the clock",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="the longest wait between rounds (default: 30; at most a day, 86400)",
    )
    parser.add_argument(
        "--lateness",
        type=lateness,
        metavar="DURATION",
        help="report what fell due only once this much more has passed, to let late facts "
        "arrive first (90s, 5m, 2h, 1d; default: 0; at most 7d)",
    )
    parser.add_argument(
        "--batch", type=positive, default=100, metavar="N", help="actions claimed at once"
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long the delivery command may take (default: 30; at most a day, 86400)",
    )


def _prune(commands: Commands) -> None:
    parser = add_command(
        commands,
        "prune",
        help="forget old fact ids and delivered actions",
        description="Forget the ids of facts older than a duration (a redelivery of such a "
        "fact is then handled as a new fact: keep them longer than any source may redeliver) "
        "and drop the actions delivered longer ago than a duration, measured back from the "
        "wall clock. Undelivered actions and the escalations' states are never pruned. Prints "
        "how many of each went, as one JSON object.",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--facts-older-than",
        type=duration,
        metavar="DURATION",
        help="forget the ids of facts whose time is older than this (90s, 5m, 2h, 30d)",
    )
    parser.add_argument(
        "--delivered-older-than",
        type=duration,
        metavar="DURATION",
        help="drop the actions delivered longer ago than this",
    )
    parser.add_argument(
        "--now", metavar="TIME", help="measure back from TIME (ISO-8601) instead of the clock"
    )


def _replan(commands: Commands) -> None:
    parser = add_command(
        commands,
        "replan",
        help="plan open escalations again after the policy or a calendar changed",
        description="A store records the policy its escalations were planned under: any other "
        "command that decides refuses a store planned under another policy. This plans every "
        "open escalation again under the policy given: its tables' outputs (scope, owner, "
        "cadence, involvement) from its attributes as they are now; the periodic obligations "
        "the new policy requires, added, changed (a new period starts at --now) or removed; "
        "the obligations and rules the new policy no longer has, removed; the others keep "
        "their due times. An escalation also counts on the calendar it was opened under until "
        "it is re-planned: this plans it on the calendar the policy declares now (a deadline "
        "keeps the open time it had left; a period of business days or weeks ends with the "
        "same day or week). Prints one JSON object per escalation that changed: its calendar, "
        "the identities before and after, each due time that moved, what its tables give "
        "otherwise, and the obligations added, removed and changed (--format text: the same "
        "for people).",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--now",
        metavar="TIME",
        help="count open time left, and start new periods, from TIME (ISO-8601), not the clock",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would change, and change nothing"
    )
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="one JSON object per escalation (the default), or text for people",
    )


def _status(commands: Commands) -> None:
    parser = add_command(
        commands,
        "status",
        help="what a store holds: escalations, undelivered actions, dead letters, refusals",
        description="Print, as one JSON object, what a store holds for monitoring: the open "
        "escalations (those awaiting their opening, with facts held for it, counted apart as "
        "awaiting_opening), the actions waiting for delivery, the dead letters (actions set "
        "aside as undeliverable; `dead-letters` lists them), the refused lines not acknowledged "
        "(`refused` lists them), and when the next due scan and the next delivery have "
        "something to do. A store that is not there is an error (exit status 5).",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)


def _refused(commands: Commands) -> None:
    parser = add_command(
        commands,
        "refused",
        help="list the lines run refused and read past, and acknowledge them",
        description="List, one JSON line each, the lines `run --keep-going` refused and read "
        "past that are not acknowledged yet (`run` reports them, and exits with status 2, "
        "until they are). With --acknowledge, acknowledge those listed: fix or replay them "
        "first, since `run` does not read them again.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="only the lines refused in these files (default: every source)",
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--source",
        metavar="NAME",
        action="append",
        help="only the lines refused in the input read under this name (repeatable)",
    )
    parser.add_argument(
        "--acknowledge",
        action="store_true",
        help="acknowledge the refusals listed: run reports them no more",
    )


def _dead_letters(commands: Commands) -> None:
    parser = add_command(
        commands,
        "dead-letters",
        help="list the actions set aside as undeliverable, and put them back",
        description="List, one JSON line each, the actions of the outbox set aside as dead "
        "letters: actions the worker's policy cannot read (damaged JSON, a value the policy "
        "no longer declares). The others are delivered meanwhile. With --retry, put them "
        "back in the outbox once the cause is mended (say, the policy that declares their "
        "values is back): the next worker round delivers them, or sets them aside again.",
    )
    parser.add_argument(
        "ids", nargs="*", metavar="ID", help="only these actions (default: every dead letter)"
    )
    parser.add_argument("--store", metavar="URL", help=STORE_HELP)
    parser.add_argument(
        "--retry", action="store_true", help="put the dead letters listed back in the outbox"
    )


PARSERS: dict[str, Callable[[Commands], None]] = {
    "replay": _replay,
    "audit": _audit,
    "digest": _digest,
    "explain": _explain,
    "table": _table,
    "rules": _rules,
    "schema": _schema,
    "identity": _identity,
    "diff": _diff,
    "lint": _lint,
    "impact": _impact,
    "run": _run,
    "worker": _worker,
    "prune": _prune,
    "replan": _replan,
    "status": _status,
    "refused": _refused,
    "dead-letters": _dead_letters,
}
"""Each command's parser, in the order ``--help`` lists the commands. A command runs as the
``run`` function of the module of this package of its name (``dead-letters``:
``dead_letters``)."""
