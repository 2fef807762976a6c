"""``escalation-policy replay``: replay recorded facts and print the actions the policy takes."""

import argparse
import json
from typing import Any

from escalation_policy._convert import shared_converter, shared_text_writers
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Output,
    chosen_policy,
    read_items,
    refusal_record,
    refused_line,
    report_refused,
    stopped,
    write_timeline,
)
from escalation_policy.engine import PolicyEngine
from escalation_policy.errors import InputError
from escalation_policy.model import Action, EscalationFact, Fact
from escalation_policy.render import plain


def run(args: argparse.Namespace, out: Output) -> int:
    policy = chosen_policy(args)
    engine = PolicyEngine(policy, engine=args.engine)
    converter = shared_converter(policy)
    # Each action as json.dumps writes its converter's JSON object, at a third of the cost.
    action_text = shared_text_writers(policy, spaced=True)[1]
    fmt = args.format or ("table" if out.isatty() else "json")
    read = refused = 0
    for name, number, item in read_items(args.files, policy):
        read += 1
        try:
            if isinstance(item, InputError):
                raise item
            decision = engine.handle(item)
        except InputError as error:
            error.at_line(number, name)
            if not args.keep_going:
                raise stopped(name, error) from None
            refused += 1
            record = refusal_record(name, number, error)
            if fmt == "json":
                body = {"type": "refused", **converter.unstructure(record)}
                out.write(json.dumps(body) + "\n")
            else:
                out.line(refused_line(record), "refused")
            continue
        for action in decision.actions:
            if fmt == "json":
                text = action_text[type(action)](action)
                if args.trace:
                    trace = _trace(name, number, item, action, decision.matched)
                    text = f'{text[:-1]}, "trace": {json.dumps(trace)}}}'
                out.write(text + "\n")
            else:
                write_timeline(out, action)
                if args.trace:
                    trace = _trace(name, number, item, action, decision.matched)
                    matched = ", ".join(trace["matched"]) or "none (time passed)"
                    out.write(plain(f"{'':31}  {name}:{number} matched {matched}") + "\n")
    if refused:
        report_refused(refused, read, args.files)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _trace(
    name: str, number: int, fact: Fact, action: Action, matched: tuple[str, ...]
) -> dict[str, Any]:
    """Where ``action`` came from: the fact's file and line, and the rules that matched on it
    (none for an action about another escalation, whose obligation fell due as time passed)."""
    own = isinstance(fact, EscalationFact) and action.escalation_id == fact.escalation_id
    return {"file": name, "line": number, "matched": list(matched) if own else []}
