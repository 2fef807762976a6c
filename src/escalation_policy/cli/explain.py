"""``escalation-policy explain``: why the policy decided as it did on one fact of a history."""

import argparse
import json
from collections.abc import Iterator

import attrs

from escalation_policy._explain import (
    Explanation,
    PendingDue,
    condition_json,
    explain_numbered,
    target_of,
)
from escalation_policy._language.wording import label
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    chosen_policy,
    display_name,
    read_items,
    timeline_lines,
)
from escalation_policy.errors import InputError
from escalation_policy.errors import position as position_of
from escalation_policy.model import Fact, parse_timestamp
from escalation_policy.render import plain, timestamp


def _line(text: str, files: list[str]) -> tuple[str, int]:
    """The file and line ``--line`` names."""
    name, colon, number = text.rpartition(":")
    if not colon:
        if len(files) > 1:
            raise Exit(
                EXIT_BAD_INPUT,
                f"--line: got {text!r}, expected FILE:N, since several files are given",
            )
        name = files[0]
    if name not in files:
        raise Exit(
            EXIT_BAD_INPUT,
            f"--line: got {text!r}, expected a file among those given ({', '.join(files)})",
        )
    if not (number.isascii() and number.isdigit()) or int(number) < 1:  # not "٣"
        raise Exit(EXIT_BAD_INPUT, f"--line: got {text!r}, expected a line number of 1 or more")
    return display_name(name), int(number)


def run(args: argparse.Namespace, out: Output) -> int:
    policy = chosen_policy(args)
    at = None
    line: tuple[str, int] | None = None
    if args.at is not None:
        try:
            at = parse_timestamp(args.at)
        except ValueError as error:
            raise Exit(EXIT_BAD_INPUT, f"--at: {error}") from None
        if args.escalation is None:
            raise Exit(EXIT_BAD_INPUT, "--at: expected --escalation ID too")
    else:
        line = _line(args.line, args.files)
    kept: list[tuple[str, int, Fact | InputError]] | None = None
    if "-" in args.files:  # standard input is read once: kept for the second pass
        kept = list(read_items(args.files, policy))
    origins: list[tuple[str, int]] = []

    def numbered() -> Iterator[tuple[int, Fact | InputError]]:
        items = kept if kept is not None else read_items(args.files, policy)
        origins.clear()
        for position, (name, number, item) in enumerate(items, start=1):
            origins.append((name, number))
            yield position, item

    position: int | None = None
    if line is not None:
        for candidate, (name, number, _) in enumerate(kept or read_items(args.files, policy), 1):
            if (name, number) == line:
                position = candidate
                break
        if position is None:
            raise Exit(EXIT_BAD_INPUT, f"{line[0]}: no fact at {position_of(line[0], line[1])}")
    try:
        target, _ = target_of(numbered(), args.escalation, line=position, at=at)
        explanation = explain_numbered(policy, numbered(), target)
    except InputError as error:
        if line is None:
            raise Exit(EXIT_BAD_INPUT, error.reason) from None
        # The line as the files number it (a row, in a Parquet file), in its file.
        shown = error.reason.replace(f"line {position}", position_of(line[0], line[1]), 1)
        raise Exit(EXIT_BAD_INPUT, f"{line[0]}: {shown}") from None
    name, number = origins[target - 1]
    explanation = attrs.evolve(explanation, file=name, line=number)
    if args.why_not is not None:
        try:
            answer = explanation.why_not(args.why_not)
        except KeyError as error:
            raise Exit(EXIT_BAD_INPUT, f"--why-not: {error.args[0]}") from None
        if args.format == "json":
            body = {
                "rule": answer.rule,
                "fired": answer.fired,
                "reason": answer.reason,
                "condition": None if answer.condition is None else condition_json(answer.condition),
            }
            out.write(json.dumps(body) + "\n")
        else:
            out.write(plain(answer.reason) + "\n")
        return EXIT_OK
    if args.format == "json":
        out.write(json.dumps(explanation.to_json(), indent=2) + "\n")
    else:
        out.write(explanation_text(explanation))
    return EXIT_OK


def _pending(items: tuple[PendingDue, ...]) -> list[str]:
    if not items:
        return ["  nothing"]
    lines = []
    for item in items:
        key = f" ({item.key})" if item.key is not None else ""
        state = " overdue" if item.overdue else " paused" if item.paused else ""
        clock = (
            f"on the calendar {item.calendar} ({item.calendar_identity})"
            if item.calendar is not None
            else "in calendar time"
        )
        lines.append(
            f"  {item.obligation}{key}: due {timestamp(item.due)}{state}, set by {item.rule}, "
            f"counted {clock}"
        )
    return lines


def explanation_text(explanation: Explanation) -> str:
    """The explanation as people read it."""
    fact = explanation.fact
    where = f"{explanation.file}:{explanation.line}"
    lines = [
        f"{explanation.escalation_id}: the {fact.TYPE} fact at {where} ({timestamp(fact.at)})",
        "",
    ]
    if explanation.refused is not None:
        lines += [f"Refused: {explanation.refused}", "", "Pending:"]
        lines += _pending(explanation.pending_before)
        return "\n".join(plain(text) for text in lines) + "\n"
    if explanation.held:
        lines += [
            f"Held: {explanation.escalation_id} is not opened yet, and the fact waits for its "
            "opening (the policy's opening grace); nothing is decided on it yet.",
            "",
        ]
    elif explanation.released:
        lines.append("Released: the facts held for this opening, applied right after it:")
        lines += [f"  {f.TYPE} ({timestamp(f.at)})" for f in explanation.released]
        if explanation.released_matched:
            lines.append(f"  matched {', '.join(explanation.released_matched)}")
        lines.append("")
    elif not explanation.known:
        lines += [
            f"The engine does not know {explanation.escalation_id}: the fact was matched on its "
            "own fields.",
            "",
        ]
    consulted = [table for table in explanation.tables if table.consulted]
    if consulted:
        lines.append("Decision tables (the plan is made on this fact):")
        for table in consulted:
            read = ", ".join(f"{field}={value!r}" for field, value in table.inputs.items())
            lines.append(f"  {table.id} ({table.hit_policy}) read {read}")
            for row in table.rows:
                if row.won:
                    lines.append(f"    matched {row.id}")
                elif row.matched:
                    lines.append(f"    matched {row.id}, but an earlier row won")
                else:
                    failed = next(cell for cell in row.cells if not cell.passed)
                    lines.append(f"    failed  {row.id}: {failed}")
            gave = ", ".join(f"{field}={label(value)}" for field, value in table.outputs.items())
            lines.append(f"    gave {gave or 'nothing'}")
    else:
        planning = ", ".join(explanation.planning)
        lines.append(f"Decision tables: not consulted (the plan is made on {planning} facts).")
    lines += ["", f"Reactions to {fact.TYPE} facts:"]
    applying = [reaction for reaction in explanation.reactions if reaction.applies]
    for reaction in applying:
        verdict = "fired       " if reaction.matched else "did not fire"
        lines.append(f"  {verdict} {reaction.id} ({', '.join(reaction.effects)})")
        for condition in reaction.conditions:
            lines.append(f"      {'passed' if condition.passed else 'failed'}: {condition}")
    if not applying:
        lines.append("  none")
    lines += ["", "Actions:"]
    for action in explanation.actions:
        lines.extend(f"  {text}" for text, _ in timeline_lines(action))
    if not explanation.actions:
        lines.append("  none")
    if explanation.met:
        lines += ["", "Met:"]
        for met in explanation.met:
            key = f" {met.key!r}" if met.key is not None else ""
            done = (
                f"by the work at {timestamp(met.at)}, a little before the fact that required it"
                if met.at < fact.at
                else f"at {timestamp(met.at)}"
            )
            lines.append(f"  {met.obligation}{key}, due {timestamp(met.due)} ({met.rule}): {done}")
    if explanation.kept_early and explanation.policy is not None:
        lines += ["", "Kept as work done early:"]
        for kept in explanation.kept_early:
            key = f" {kept.key!r}" if kept.key is not None else ""
            grace = explanation.policy.obligations[kept.obligation].early_grace
            lines.append(
                f"  {kept.obligation}{key}: this fact counts for it if it is required within "
                f"{label(grace)}"
            )
    lines += ["", "Pending before the fact:", *_pending(explanation.pending_before)]
    lines += ["", "Pending after it:", *_pending(explanation.pending_after), ""]
    return "\n".join(plain(text) for text in lines)
