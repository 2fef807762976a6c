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
from escalation_policy.service import DeadLetter
from escalation_policy.service._results import DamagedRows


def run(args: argparse.Namespace, out: Output) -> int:
    with open_service(args, create=False, replan=True) as service:
        try:
            letters = _wanted(service.dead_letters(), args.ids)
        except DamagedRows as error:  # the others are listed; nothing is put back
            _write(out, _wanted(error.readable, args.ids))
            raise
        _write(out, letters)  # listed before anything changes: a failure changes nothing
        if args.retry:
            back = service.retry_dead_letters([letter.id for letter in letters])
    if args.retry:
        letters_word = "dead letter" if back == 1 else "dead letters"
        write_error(f"put {back} {letters_word} back in the outbox")
    return EXIT_OK


def _wanted(letters: list[DeadLetter], ids: list[str]) -> list[DeadLetter]:
    """The dead letters ``ids`` names (all of them without)."""
    if not ids:
        return letters
    wanted = set(ids)
    return [letter for letter in letters if letter.id in wanted]


def _write(out: Output, letters: list[DeadLetter]) -> None:
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
