"""A JSON-lines host: a fact's JSON line in (``PolicyEngine.handle_json``), the actions' JSON
texts out, exactly as ``json.dumps`` writes the converter's objects (``action_json``); a bad
line refused as ``handle`` refuses its object, the engine unchanged."""

import contextlib
import datetime as dt
import io
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
    default_policy,
    make_converter,
)
from escalation_policy._convert.fastpath import SHORT_LINE
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


def read_as_before(engine: PolicyEngine, line: str | bytes) -> list[str]:
    """``handle_json`` as it was first written, the reference: the line read by
    ``fact_of_line`` (the decoder that refuses a repeated key), ``handle``, and ``json.dumps``
    of the converter's objects."""
    from escalation_policy._convert import shared_fact_reader
    from escalation_policy._convert.lines import fact_of_line

    fact = fact_of_line(line, shared_fact_reader(engine.policy))
    try:
        decision = engine.handle(fact)
    except InputError as error:
        error.fact_id = fact.id
        raise
    return written(decision.actions, engine.policy)


TEXTS = st.sampled_from(["x", "a:b", "ü:", "\\", "", "é", "\u2028", 'say "hi"', "::"])


@st.composite
def written_lines(draw: st.DrawFn) -> str:
    """A fact's JSON object written as other producers write it: keys in any order, compact
    or spaced, non-ASCII as it is or escaped, its time in UTC or another zone, with 'Z';
    now and then a key given twice, a text with colons (escaped or not), an unknown key."""
    fact = draw(strategies.facts())
    body: dict[str, Any] = CONVERTER.unstructure(fact, Fact)
    pairs = list(body.items())
    pairs = draw(st.permutations(pairs))
    at = fact.at
    pairs = [
        (
            key,
            draw(
                st.sampled_from(
                    [
                        value,
                        at.isoformat().replace("+00:00", "Z"),
                        at.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(),
                        at.isoformat().replace("T", " "),
                    ]
                )
            )
            if key == "at"
            else value,
        )
        for key, value in pairs
    ]
    texts = [index for index, (_, value) in enumerate(pairs) if isinstance(value, str)]
    if texts and draw(st.booleans()):  # a text with colons, or what else a producer writes
        index = draw(st.sampled_from(texts))
        key, value = pairs[index]
        if key not in ("type", "at"):
            pairs[index] = (key, value + draw(TEXTS))
    if draw(st.booleans()):  # a key twice: the same value or another, first or last
        key, value = draw(st.sampled_from(pairs))
        again = draw(st.sampled_from([value, "x:y", None, "2026-03-02T09:00:00+00:00"]))
        pairs.insert(draw(st.integers(0, len(pairs))), (key, again))
    if draw(st.integers(0, 9)) == 0:
        pairs.append(("extra", "x"))
    ascii_only = draw(st.booleans())
    comma, colon = draw(st.sampled_from([(", ", ": "), (",", ":"), (" ,", " : ")]))
    line = (
        "{"
        + comma.join(
            json.dumps(key, ensure_ascii=ascii_only)
            + colon
            + json.dumps(value, ensure_ascii=ascii_only)
            for key, value in pairs
        )
        + "}"
    )
    if draw(st.booleans()):  # a colon in a text escaped, as some producers escape it
        line = line.replace("a:b", "a\\u003ab")
    return line


@settings(max_examples=examples(300))
@given(line=written_lines(), as_bytes=st.booleans())
def test_a_line_written_in_any_form_reads_as_the_decoder_that_refuses_repeated_keys_reads_it(
    line: str, as_bytes: bool
) -> None:
    """The well-formed case is read without the refusing decoder: a key given twice, or
    whatever the shortcut cannot see, must still be refused (or read) exactly as before."""
    given_line: str | bytes = line.encode() if as_bytes else line
    by_line, before = PolicyEngine(max_clock_jump=None), PolicyEngine(max_clock_jump=None)
    by_line.handle(OPENED)
    before.handle(OPENED)
    assert outcome(lambda text: read_as_before(before, text), given_line) == outcome(
        by_line.handle_json, given_line
    )
    assert snapshot(before) == snapshot(by_line)


def read_file_as_before(data: bytes) -> list[Any]:
    """A file's lines read as the command line first read them, the reference: each
    non-blank line by ``fact_of_line`` (the decoder that refuses a repeated key), a byte order
    mark taken off the first; each fact, or its error (class, code, path, message, fact id,
    line)."""
    from escalation_policy._convert import shared_fact_reader
    from escalation_policy._convert.lines import fact_of_line

    read = shared_fact_reader(default_policy())
    items: list[Any] = []
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        try:
            items.append((number, fact_of_line(line, read)))
        except InputError as error:
            items.append((number, _error(error.at_line(number))))
    return items


def _error(error: InputError) -> Any:
    return type(error), error.code, error.path, str(error), error.fact_id, error.line


@settings(max_examples=examples(200))
@given(
    lines=st.lists(written_lines() | st.sampled_from(["", "  ", "[1]", '{"type": "tick"'])),
    mark=st.booleans(),
)
def test_a_file_of_lines_in_any_form_reads_as_the_decoder_that_refuses_repeated_keys_reads_it(
    lines: list[str], mark: bool
) -> None:
    """The command line reads a file's lines as ``handle_json`` reads one: well-formed facts
    without the refusing decoder, anything else as before, with the same errors and lines."""
    from escalation_policy._lines import _numbered

    data = ("\ufeff" if mark else "").encode() + "".join(line + "\n" for line in lines).encode()
    got = [
        (number, _error(item) if isinstance(item, InputError) else item)
        for number, item in _numbered(io.BytesIO(data))
    ]
    assert read_file_as_before(data) == got


@settings(max_examples=examples(200))
@given(
    length=st.integers(SHORT_LINE - 4, SHORT_LINE + 4) | st.integers(0, 2 * SHORT_LINE),
    letter=st.sampled_from(["E", "é", "\x00", "\u2028"]),
    field=st.sampled_from(["escalation_id", "id", "customer"]),
    as_bytes=st.booleans(),
)
def test_a_line_about_as_long_as_a_short_one_reads_as_before(
    length: int, letter: str, field: str, as_bytes: bool
) -> None:
    """A short ASCII line's texts are not looked at again: around that length, and with a
    text of another kind, a line reads (or is refused) as the refusing decoder reads it."""
    body = {**OPENED, "at": "2026-03-02T09:00:00+00:00", "id": "F-1"}
    text = json.dumps(body, ensure_ascii=False)
    body[field] = "E" * max(0, length - len(text) - 1) + letter
    line = json.dumps(body, ensure_ascii=letter == "\x00")
    given_line: str | bytes = line.encode() if as_bytes else line
    by_line, before = PolicyEngine(max_clock_jump=None), PolicyEngine(max_clock_jump=None)
    assert outcome(lambda text: read_as_before(before, text), given_line) == outcome(
        by_line.handle_json, given_line
    )
    assert snapshot(before) == snapshot(by_line)


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "tick", "at": "2026-03-02T10:00:00+00:00", "at": "2026-03-02T11:00:00+00:00"}',
        '{"type": "tick", "at": "2026-03-02T10:00:00+00:00", "id": "a", "id": "b:"}',
        '{"type": "tick", "id": "a\\u003a", "at": "2026-03-02T10:00:00+00:00", "id": "b"}',
        '{"type": "tick", "id": "a", "at": "2026-03-02T10:00:00+00:00", "id" : "b:"}',
    ],
    ids=["time twice", "a colon in the text that wins", "an escaped colon", "space"],
)
def test_a_key_given_twice_in_a_well_formed_fact_is_refused(line: str) -> None:
    engine = PolicyEngine()
    engine.handle_json(json.dumps(OPENED))
    before = snapshot(engine)
    with pytest.raises(InputError, match="is given more than once in one object"):
        engine.handle_json(line)
    assert before == snapshot(engine)


SHAPED = st.text(alphabet="0123456789-T:+ Z.z٣", min_size=25, max_size=25)


@settings(max_examples=examples(300))
@given(
    time=st.one_of(
        SHAPED,
        st.builds(
            lambda at, changes: "".join(changes.get(i, c) for i, c in enumerate(at)),
            st.datetimes(
                min_value=dt.datetime(1899, 12, 31), max_value=dt.datetime(9000, 1, 2)
            ).map(lambda at: at.replace(microsecond=0, tzinfo=dt.timezone.utc).isoformat()),
            st.dictionaries(st.integers(0, 24), st.sampled_from("0912-:+T t٣"), max_size=2),
        ),
    )
)
def test_a_time_in_the_shape_isoformat_writes_is_read_as_parse_timestamp_reads_it(
    time: str,
) -> None:
    """Times shaped as isoformat writes them are read by ``fromisoformat`` alone: exactly
    what the contract's pattern takes, the same instant, the same refusal otherwise."""
    line = json.dumps({"type": "tick", "at": time})
    by_line, before = PolicyEngine(max_clock_jump=None), PolicyEngine(max_clock_jump=None)
    assert outcome(lambda text: read_as_before(before, text), line) == outcome(
        by_line.handle_json, line
    )
    assert by_line.clock == before.clock


@pytest.mark.parametrize(
    "time",
    [
        "2026-03-02T09:00:00+00:00",
        "2026-03-02 09:00:00+00:00",
        "2026-03-02t09:00:00+00:00",
        "2026-03-02T09:00+00:00:00",
        "2026-W10-1T09:00:00+00:00",
        "2026-03-02T09:00:00+01:00",
        "2026-03-02T09:00:00-00:00",
        "2026-03-02T0900:00.0+00:00",
        "2026-03-02T09:00:00.5+0000",
        "2026-03-02T09:00:00Z",
        "2026-03-02T09:00:00.000Z",
        "1899-12-31T23:59:59+00:00",
        "9000-01-01T00:00:00+00:00",
        "2026-03-02T24:00:00+00:00",
        "2026-03-0٣T09:00:00+00:00",
    ],
)
def test_an_opening_at_a_time_of_any_shape_answers_as_before(time: str) -> None:
    """The time of the actions answering a fact is written as the line gave it only where
    the line gave it as isoformat writes it."""
    line = json.dumps({**OPENED, "at": time})
    by_line, before = PolicyEngine(max_clock_jump=None), PolicyEngine(max_clock_jump=None)
    expected = outcome(lambda text: read_as_before(before, text), line)
    assert expected == outcome(by_line.handle_json, line)
    assert snapshot(before) == snapshot(by_line)


ZONES = st.one_of(
    st.just(dt.timezone.utc),
    st.none(),
    st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)).map(
        dt.timezone
    ),
)


@given(
    times=st.lists(st.datetimes(timezones=ZONES), min_size=1, max_size=8),
    zones=st.lists(ZONES.filter(lambda zone: zone is not None), min_size=1, max_size=3),
)
def test_a_writer_writes_every_time_as_isoformat_writes_it_again_and_again(
    times: list[dt.datetime], zones: list[dt.tzinfo]
) -> None:
    # A writer keeps the texts of the times it wrote: the same instant in another zone, or
    # the same time with another fold, is still written as isoformat writes it.
    from escalation_policy._convert.fastpath import _timestamp_texts

    timestamp = _timestamp_texts()
    again = []
    for time in times:
        again += [time, time.replace(fold=1 - time.fold), time.replace(tzinfo=dt.timezone.utc)]
        for zone in zones if time.tzinfo is not None else ():
            with contextlib.suppress(OverflowError):  # out of the years a datetime holds
                again.append(time.astimezone(zone))
    for time in again + again[::-1]:
        assert timestamp(time) == '"' + time.isoformat() + '"'
