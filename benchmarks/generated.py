"""Whether each generated function pays: it against the plain code it replaces, same work.

Run: ``python benchmarks/generated.py`` (``--no-instructions`` leaves out callgrind). Each pair
is checked to give equal results first, then timed in interleaved rounds (median of the
rounds), and counted by callgrind between two marks. docs/design.md quotes the output.
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import attrs
import run  # the callgrind helper beside this file

from escalation_policy import Fact, decide, default_policy, make_converter
from escalation_policy._convert.fastpath import action_writer, fact_reader, text_writer
from escalation_policy._core.obligations import changed
from escalation_policy._language.frozen import ATTRS_INIT
from escalation_policy.model import parse_timestamp
from escalation_policy.policy.record import CORE_FIELDS, Record
from escalation_policy.rules import CreateTrackerDocument, PostReason, PostToChannel
from escalation_policy.vocabulary import Emit

OPENED = {
    "type": "opened",
    "at": "2026-03-02T09:00:00Z",
    "escalation_id": "ESC-1",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "critical",
    "initiated_by": "tam",
    "tam": "alex",
}
CONVERTER = make_converter()
FACT = CONVERTER.structure(OPENED, Fact)
RECORD = Record.thaw(decide(None, FACT).state)  # type: ignore[arg-type]
FIELDS = (*CORE_FIELDS, *RECORD.KIND.attributes)  # the engine's fields and the policy's
# The created post the policy requires of this escalation, and the fields it is built from.
ACTION = next(a for a in decide(None, FACT).actions if isinstance(a, PostToChannel))
POST = {field.name: getattr(ACTION, field.name) for field in attrs.fields(PostToChannel)}


SLOTS = (*Record.__slots__, *RECORD.KIND.attributes)  # the record's slots, a loop over them


def _plain_copy(source: Record) -> Record:
    new: Record = Record.__new__(type(source))
    for name in SLOTS:
        setattr(new, name, getattr(source, name))
    new.pending = list(source.pending)
    return new


def _plain_read(body: dict[str, Any]) -> Any:
    fields = {key: value for key, value in body.items() if key != "type"}
    fields["at"] = parse_timestamp(fields["at"])
    return type(FACT)(**fields)  # the class's own checks, field by field


_UNSTRUCTURE = CONVERTER.gen_unstructure_attrs_fromdict(PostToChannel)


def _plain_write(action: Any) -> dict[str, Any]:
    return {"type": action.TYPE, **_UNSTRUCTURE(action)}


_STATE = CONVERTER.gen_unstructure_attrs_fromdict(type(RECORD.freeze()))


def _plain_state_text(record: Record) -> str:
    return json.dumps(_STATE(record.freeze()), separators=(",", ":"))


def _plain_action_text(action: Any) -> str:
    return json.dumps(_plain_write(action), separators=(",", ":"))


_READER = fact_reader(type(FACT), parse_timestamp)
_WRITER = action_writer(PostToChannel)
_STATE_TEXT = text_writer(type(RECORD.freeze()))
_ACTION_TEXT = text_writer(PostToChannel, tag=PostToChannel.TYPE)
_ATTRS_INIT = ATTRS_INIT[PostToChannel]


def _attrs_built(**fields: Any) -> PostToChannel:
    action = object.__new__(PostToChannel)
    _ATTRS_INIT(action, **fields)
    return action


POLICY = default_policy()
_CREATED = next(p for p in RECORD.pending if p.obligation == "channel_post")
_ANNOUNCE = POLICY.obligations["channel_post"].announce
_TRACKER = next(
    effect
    for compiled in POLICY.reactions
    for effect in compiled.reaction.then
    if isinstance(effect, Emit) and effect.action is CreateTrackerDocument
)
_EMIT = next(  # what the loader compiled of the effect: its emitter
    prepared
    for compiled in POLICY.reactions
    for effect, prepared in compiled.then
    if effect is _TRACKER
)


def _plain_announce(escalation_id: str, at: Any, pending: Any, owner: Any) -> Any:
    """What the generated announcement does, as a function over the declaration's fields."""
    declared = POLICY.obligations["channel_post"].obligation
    values: dict[str, Any] = dict(declared.announce_with)
    values["reason"] = PostReason(pending.key)
    values["by"] = owner
    return PostToChannel(
        escalation_id=escalation_id,
        at=at,
        rule=pending.rule,
        cites=pending.cites,
        due=pending.due,
        **values,
    )


def _plain_emit(escalation_id: str, at: Any, rule: str, cites: str, record: Any) -> Any:
    """What the generated emitter does: every attribute offered to the template."""
    attributes = {name: getattr(record, name) for name in RECORD.KIND.attributes}
    built: dict[str, Any] = dict(_TRACKER.values)
    built.update({field: text.format(**attributes) for field, text in _TRACKER.text.items()})
    return CreateTrackerDocument(
        escalation_id=escalation_id, at=at, rule=rule, cites=cites, **built
    )


_PENDING = RECORD.pending[0]

PAIRS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "record copy": (lambda: RECORD.copy(), lambda: _plain_copy(RECORD)),
    "fact reader": (lambda: _READER(OPENED), lambda: _plain_read(OPENED)),
    "action writer": (lambda: _WRITER(ACTION), lambda: _plain_write(ACTION)),
    "action as JSON text": (lambda: _ACTION_TEXT(ACTION), lambda: _plain_action_text(ACTION)),
    "state as JSON text": (lambda: _STATE_TEXT(RECORD), lambda: _plain_state_text(RECORD)),
    "action __init__": (lambda: PostToChannel(**POST), lambda: _attrs_built(**POST)),
    "announcement": (
        lambda: _ANNOUNCE("ESC-1", FACT.at, _CREATED, RECORD.owner, RECORD),  # type: ignore[misc]
        lambda: _plain_announce("ESC-1", FACT.at, _CREATED, RECORD.owner),
    ),
    "emitted action": (
        lambda: _EMIT("ESC-1", FACT.at, "r", "c", RECORD, FACT),
        lambda: _plain_emit("ESC-1", FACT.at, "r", "c", RECORD),
    ),
    "pending obligation changed": (
        lambda: changed(_PENDING, counts=(1,)),
        lambda: attrs.evolve(_PENDING, counts=(1,)),
    ),
}


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, Record):
        return all(getattr(left, name) == getattr(right, name) for name in FIELDS)
    return bool(left == right)


def _seconds(call: Callable[[], Any], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return time.perf_counter() - start


def _marks(name: str, side: int, count: int) -> None:
    call = PAIRS[name][side]
    for _ in range(1_000):
        call()
    os.getppid()
    for _ in range(count):
        call()
    os.getppid()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-instructions", action="store_true")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--marks", nargs=3, metavar=("NAME", "SIDE", "COUNT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.marks:
        _marks(args.marks[0], int(args.marks[1]), int(args.marks[2]))
        return 0
    for name, (generated, plain) in PAIRS.items():
        if not _same(generated(), plain()):
            print(f"{name}: the generated and the plain results differ", file=sys.stderr)
            return 1
    count = 20_000
    print("| function | generated µs | plain µs | speed-up | generated instr. | plain instr. |")
    print("|---|---|---|---|---|---|")
    for name, (generated, plain) in PAIRS.items():
        rounds: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            rounds.append((_seconds(generated, count), _seconds(plain, count)))
        fast = statistics.median(r[0] for r in rounds) / count * 1e6
        slow = statistics.median(r[1] for r in rounds) / count * 1e6
        counted = ["not counted", "not counted"]
        if not args.no_instructions:
            for side in (0, 1):
                total = run.callgrind_between_marks(
                    [sys.executable, __file__, "--marks", name, str(side), "2000"]
                )
                if total is not None:
                    counted[side] = f"{total / 2000:,.0f}"
        print(f"| {name} | {fast:.2f} | {slow:.2f} | {slow / fast:.2f}x | {' | '.join(counted)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
