"""``escalation-policy dead-letters``: the actions set aside as undeliverable, and putting them
back."""

import argparse
import json

from escalation_policy.cli._common import (
    EXIT_OK,
    STORE_HELP,
    Commands,
    Output,
    add_command,
    open_service,
    write_error,
)


def register(commands: Commands) -> None:
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    with open_service(args, create=False, replan=True) as service:
        letters = service.dead_letters()
        if args.ids:
            wanted = set(args.ids)
            letters = [letter for letter in letters if letter.id in wanted]
        if args.retry:
            back = service.retry_dead_letters([letter.id for letter in letters])
    for letter in letters:
        record = {
            "id": letter.id,
            "escalation_id": letter.escalation_id,
            "error": letter.error,
            "set_aside_at": letter.at.isoformat(),
            "attempts": letter.attempts,
            "policy": letter.policy,
            "action": letter.action,
        }
        out.write(json.dumps(record) + "\n")
    if args.retry:
        letters_word = "dead letter" if back == 1 else "dead letters"
        write_error(f"put {back} {letters_word} back in the outbox")
    return EXIT_OK
