"""A JSON-lines host: a fact's JSON line in (``PolicyEngine.handle_json``), the actions' JSON
texts out, exactly as ``json.dumps`` writes the converter's objects (``action_json``); a bad
line refused as ``handle`` refuses its object, the engine unchanged."""

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Action,
    Fact,
    InputError,
    PolicyEngine,
    action_json,
    make_converter,
)
from escalation_policy.testing import strategies
from tests.conftest import examples
from tests.test_model import OPENED, POLICIES

ROOT = Path(__file__).resolve().parent.parent
CONVERTER = make_converter()


def written(actions: tuple[Action, ...], policy: Any = None) -> list[str]:
    """What a host wrote before ``handle_json``: the converter's object, by ``json.dumps``."""
    converter = make_converter(policy)
    return [json.dumps(converter.unstructure(action, Action)) for action in actions]


def snapshot(engine: PolicyEngine) -> Any:
    return make_converter(engine.policy).unstructure(engine.snapshot())


@given(strategies.actions())
def test_an_action_is_written_as_json_dumps_writes_the_converters_object(action: Action) -> None:
    assert json.dumps(CONVERTER.unstructure(action, Action)) == action_json(action)


@pytest.mark.parametrize("policy", ["handbook", "later process"])
@settings(max_examples=examples(60))
@given(data=st.data())
def test_a_history_of_json_lines_gives_the_texts_of_the_actions_handle_gives(
    policy: str, data: st.DataObject
) -> None:
    chosen = POLICIES[policy]
    converter = make_converter(chosen)
    from_lines, from_objects = PolicyEngine(chosen), PolicyEngine(chosen)
    for fact in data.draw(strategies.histories(policy=chosen)):
        line = json.dumps(converter.unstructure(fact, Fact))
        try:
            expected: Any = written(from_objects.handle(fact).actions, chosen)
        except InputError as error:
            expected = (type(error), str(error))
        try:
            got: Any = from_lines.handle_json(line.encode() if len(line) % 2 else line)
        except InputError as error:
            got = (type(error), str(error))
        assert expected == got
    assert snapshot(from_objects) == snapshot(from_lines)


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.jsonl")), ids=lambda p: p.name)
def test_the_recorded_examples_give_the_same_texts_line_by_line(path: Path) -> None:
    from_lines, from_objects = PolicyEngine(), PolicyEngine()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            assert written(from_objects.handle(json.loads(line)).actions) == (
                from_lines.handle_json(line)
            )


def spoiled(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = CONVERTER.unstructure(draw(strategies.facts()), Fact)
    fields = sorted(key for key in body if key != "type")
    spoil = draw(st.sampled_from(["drop", "add", "replace", "type"]))
    if spoil == "drop":
        del body[draw(st.sampled_from(fields))]
    elif spoil == "add":
        body[draw(st.sampled_from(["severity_level", "tam_name", "extra"]))] = "x"
    elif spoil == "replace":
        body[draw(st.sampled_from(fields))] = draw(
            st.sampled_from(["", "2026-03-02T09:00:00", "lo", 3, None, [1], {"a": 1}, "\x00"])
        )
    else:
        body["type"] = draw(st.sampled_from(["openned", "Opened", 1, None]))
    return body


def outcome(handle: Any, given: Any) -> Any:
    """The actions' texts, or the error: its class, code, path, message and fact id."""
    try:
        texts = handle(given)
    except InputError as error:
        return type(error), error.code, error.path, str(error), error.fact_id
    return texts if isinstance(texts, list) else written(texts.actions)


@given(st.composite(spoiled)())
def test_a_spoiled_fact_is_refused_with_the_error_handle_gives_and_changes_nothing(
    body: dict[str, Any],
) -> None:
    by_object, by_line = PolicyEngine(), PolicyEngine()
    by_object.handle(OPENED)
    by_line.handle(OPENED)
    before = snapshot(by_line)
    expected = outcome(by_object.handle, body)
    got = outcome(by_line.handle_json, json.dumps(body))
    if isinstance(expected, tuple):  # refused: the id of the fact refused is kept with it
        found = body.get("id")
        expected = (*expected[:-1], found if isinstance(found, str) else None)
        assert before == snapshot(by_line)
    assert expected == got


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"type": "tick", "at": ', "not valid JSON (Expecting value at column 24)"),
        (b'{"type": "tick", "at": "\xff"}', "not UTF-8 (byte 0xff at column 25)"),
        (
            '{"type": "tick", "type": "opened", "at": "2026-03-02T10:00:00Z"}',
            "the key 'type' is given more than once in one object; expected each key once "
            "(which one was meant cannot be told)",
        ),
        ("[1, 2]", "got [1, 2], expected a JSON object with a 'type' @ $"),
        ({"type": "tick"}, "got {'type': 'tick'}, expected a line of JSON text (str or bytes)"),
    ],
    ids=["not JSON", "not UTF-8", "a key twice", "not an object", "not text"],
)
def test_a_line_that_is_not_one_json_object_is_refused_saying_why(line: Any, reason: str) -> None:
    engine = PolicyEngine()
    engine.handle_json(json.dumps(OPENED))
    before = snapshot(engine)
    with pytest.raises(InputError) as refused:
        engine.handle_json(line)
    assert reason == str(refused.value)
    assert before == snapshot(engine)


def test_a_line_refused_in_a_file_reads_as_the_engine_refuses_it(tmp_path: Path) -> None:
    """The command line and ``handle_json`` read a line the same way, in the same words."""
    from escalation_policy.cli._common import read_facts

    line = '{"type": "tick", "type": "opened", "at": "2026-03-02T10:00:00Z"}'
    path = tmp_path / "facts.jsonl"
    path.write_text(line + "\n")
    with path.open("rb") as stream, pytest.raises(InputError) as in_file:
        list(read_facts(stream))
    with pytest.raises(InputError) as by_engine:
        PolicyEngine().handle_json(line)
    assert f"line 1: {by_engine.value}" == str(in_file.value)


def test_action_json_refuses_what_is_not_an_action() -> None:
    with pytest.raises(TypeError, match="expected an Action"):
        action_json(OPENED)  # type: ignore[arg-type]


@settings(max_examples=examples(30))
@given(strategies.histories(max_escalations=3, max_steps=20))
def test_a_delivery_is_written_as_json_dumps_writes_its_object(history: list[Fact]) -> None:
    """What ``escalation-policy run`` and ``worker`` print of each delivery: its ``id`` and
    ``policy`` first, then the action, the same bytes as ``json.dumps`` of ``to_json``."""
    from escalation_policy import Service
    from escalation_policy.service._results import delivery_json

    with Service(":memory:") as service:
        for fact in history:
            for delivery in service.handle(fact).deliveries:
                expected = json.dumps(delivery.to_json(service.policy))
                assert expected == delivery_json(delivery, service.policy)
                unrecorded = attrs.evolve(delivery, policy=None)  # stored by an earlier version
                assert json.dumps(unrecorded.to_json()) == delivery_json(unrecorded)
