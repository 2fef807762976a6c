"""``escalation-policy dead-letters``: the actions set aside as undeliverable, and putting them
back."""

import argparse
import json

from escalation_policy.cli._common import (
    EXIT_OK,
    Output,
    open_service,
    write_error,
)


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
