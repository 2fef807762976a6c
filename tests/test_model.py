"""The JSON contract: facts and actions as tagged JSON objects, and clear errors."""

import datetime as dt
import json
import types
from pathlib import Path
from typing import Any

import attrs
import pytest
from cattrs.gen import make_dict_unstructure_fn, override
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Action,
    Fact,
    InvalidFactError,
    PolicyEngine,
    default_policy,
    load_policy,
    make_converter,
)
from escalation_policy._convert import (
    read_fact,
    shared_converter,
    shared_fact_reader,
    shared_text_writers,
)
from escalation_policy._convert.fastpath import (
    Fallback,
    action_writer,
    fact_reader,
    object_writer,
    text_writer,
)
from escalation_policy.model import AWAITING_OPENING, EscalationFact, parse_timestamp
from escalation_policy.policy.record import Record
from escalation_policy.rules import Opened, Segment, Severity
from escalation_policy.testing import strategies
from tests.conftest import examples

CONVERTER = make_converter()
POLICIES = {
    "handbook": default_policy(),
    "later process": load_policy(
        str(Path(__file__).resolve().parent.parent / "examples" / "policies" / "later_process")
    ),
}
OPENED = {
    "type": "opened",
    "at": "2026-03-02T09:00:00Z",
    "escalation_id": "ESC-1",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "critical",
}

FACT_TYPES = default_policy().contract.facts


@given(strategies.facts())
def test_facts_survive_a_json_round_trip(fact: Fact) -> None:
    text = json.dumps(CONVERTER.unstructure(fact, Fact))
    assert fact == CONVERTER.structure(json.loads(text), Fact)


@given(strategies.actions())
def test_actions_survive_a_json_round_trip(action: Action) -> None:
    text = json.dumps(CONVERTER.unstructure(action, Action))
    assert action == CONVERTER.structure(json.loads(text), Action)


def test_optional_fields_take_their_documented_defaults() -> None:
    fact = CONVERTER.structure(OPENED, Fact)
    assert (
        Opened(
            at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc),
            escalation_id="ESC-1",
            customer="Acme",
            segment=Segment.ENTERPRISE,
            severity=Severity.CRITICAL,
        )
        == fact
    )
    assert (False, False, "other", None) == (
        fact.strategic_partnership,
        fact.broad_impact,
        fact.initiated_by.value,
        fact.tam,
    )


def test_unstructured_facts_carry_their_type_tag_first() -> None:
    body = CONVERTER.unstructure(CONVERTER.structure(OPENED, Fact), Fact)
    assert "type" == next(iter(body))
    assert "opened" == body["type"]


BAD_INPUT = [
    pytest.param(
        {**OPENED, "type": "openned"}, "$.type", "did you mean 'opened'", id="unknown type"
    ),
    pytest.param(
        {k: v for k, v in OPENED.items() if k != "type"}, "$.type", "missing", id="no type"
    ),
    pytest.param(
        {**OPENED, "at": "2026-03-02T09:00:00"}, "$.at", "without a timezone", id="naive timestamp"
    ),
    pytest.param({**OPENED, "at": "yesterday"}, "$.at", "ISO-8601", id="not a timestamp"),
    pytest.param(
        {**OPENED, "severity": "critcal"},
        "$.severity",
        "did you mean 'critical'",
        id="misspelt severity",
    ),
    pytest.param(
        {**OPENED, "segment": "mid-market"},
        "$.segment",
        "expected one of enterprise, commercial, smb",
        id="unknown segment",
    ),
    pytest.param(
        {k: v for k, v in OPENED.items() if k != "customer"},
        "$.customer",
        "missing",
        id="missing field",
    ),
    pytest.param(
        {**OPENED, "sevrity": "low"}, "$.sevrity", "did you mean 'severity'", id="unknown field"
    ),
    pytest.param(
        {**OPENED, "broad_impact": "yes"},
        "$.broad_impact",
        "expected true or false",
        id="string for a boolean",
    ),
    pytest.param(
        {**OPENED, "customer": 42}, "$.customer", "expected a string", id="number for a string"
    ),
    pytest.param({**OPENED, "escalation_id": ""}, "$.escalation_id", "non-empty", id="empty id"),
    pytest.param(
        {
            "type": "status_changed",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "E",
            "status": "ok",
            "milestones": ["a", 3],
        },
        "$.milestones[1]",
        "expected a string",
        id="bad list item",
    ),
    pytest.param(["opened"], "$", "expected a JSON object", id="not an object"),
]


@pytest.mark.parametrize(("body", "path", "words"), BAD_INPUT)
def test_bad_input_says_where_what_and_what_was_expected(body: Any, path: str, words: str) -> None:
    with pytest.raises(InvalidFactError) as caught:
        CONVERTER.structure(body, Fact)
    assert path == caught.value.path
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_naive_datetimes_are_refused_from_python_too() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Opened(
            at=dt.datetime(2026, 3, 2, 9),
            escalation_id="ESC-1",
            customer="Acme",
            segment=Segment.ENTERPRISE,
            severity=Severity.LOW,
        )


# The converter's fast paths (``_fastpath``) must agree with cattrs, the reference, exactly.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


def _cattrs_only(body: dict[str, Any]) -> Any:
    """What cattrs alone makes of a fact's JSON object: the fact, or the error it raises. (The
    converter's own hook for the class runs the fast reader first: cattrs' function for the
    class, with the converter's hooks for the fields, is the reference.)"""
    cls = FACT_TYPES[body["type"]]
    try:
        return CONVERTER.gen_structure_attrs_fromdict(cls)(
            {k: v for k, v in body.items() if k != "type"}, cls
        )
    except Exception as error:
        return type(error)


@st.composite
def fact_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A fact's JSON object, often spoiled: a field dropped, added or given another value."""
    body: dict[str, Any] = CONVERTER.unstructure(draw(strategies.facts()), Fact)
    spoil = draw(st.sampled_from(["none", "drop", "add", "replace"]))
    fields = sorted(key for key in body if key != "type")
    if spoil == "drop":
        del body[draw(st.sampled_from(fields))]
    elif spoil == "add":
        body[draw(st.text(min_size=1, max_size=12))] = draw(JSON_VALUES)
    elif spoil == "replace":
        body[draw(st.sampled_from(fields))] = draw(
            JSON_VALUES | st.sampled_from(["", "2026-03-02T09:00:00", "low", "tam", True])
        )
    return body


@given(fact_bodies())
def test_the_fast_fact_reader_agrees_with_cattrs(body: dict[str, Any]) -> None:
    reference = _cattrs_only(body)
    read = fact_reader(FACT_TYPES[body["type"]], parse_timestamp)
    try:
        fast = read(body)
    except Fallback:
        return  # cattrs decides (it is what the converter then runs)
    assert reference == fast
    assert type(reference) is type(fast)


def _cattrs_written(value: Any, cls: type[Any]) -> dict[str, Any]:
    """What cattrs alone writes of ``value``, a ``cls`` (the converter's own hook for the class
    is the fast writer: cattrs' function, with the converter's hooks for the fields, is the
    reference)."""
    omitted = {
        field.name: override(omit_if_default=True)
        for field in attrs.fields(cls)
        if field.metadata.get("omit_if_default")
    }
    written: dict[str, Any] = make_dict_unstructure_fn(cls, CONVERTER, **omitted)(value)
    return written


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@given(strategies.actions())
def test_the_fast_action_writers_write_what_cattrs_writes(action: Action) -> None:
    cls = type(action)
    expected = {"type": action.TYPE, **_cattrs_written(action, cls)}
    written = action_writer(cls)(action)
    assert list(expected.items()) == list(written.items())
    assert json.dumps(expected) == json.dumps(written)
    assert _compact(expected) == text_writer(cls, tag=cls.TYPE)(action)
    assert json.dumps(expected) == text_writer(cls, tag=cls.TYPE, spaced=True)(action)
    assert json.loads(text_writer(cls, tag=cls.TYPE)(action)) == CONVERTER.unstructure(
        action, Action
    )


@pytest.mark.parametrize("policy", ["handbook", "later process"])
@settings(max_examples=examples(60))
@given(data=st.data())
def test_the_fast_state_writers_write_what_cattrs_writes(policy: str, data: st.DataObject) -> None:
    """Every state a history leaves, and its working record, is written as cattrs writes the
    state: as a dictionary, as compact JSON text and as spaced text (as ``json.dumps`` spaces
    it); and a state read back from that text (values held as text) is written the same
    again."""
    chosen = POLICIES[policy]
    engine = PolicyEngine(chosen)
    for fact in data.draw(strategies.histories(policy=chosen)):
        engine.handle(fact)
    converter = shared_converter(chosen)
    cls = chosen.contract.state
    as_dict, as_text = object_writer(cls), text_writer(cls)
    for state in engine.snapshot().escalations:
        if state.status == AWAITING_OPENING:
            # No attributes yet: written as its facts held, by the converter and the store's
            # text writer alike, and read back the same.
            text = shared_text_writers(chosen)[0](state)
            assert _compact(converter.unstructure(state)) == text
            assert state == converter.structure(json.loads(text), cls)
            continue
        expected = _cattrs_written(state, cls)
        record = Record.thaw(state)
        assert list(expected.items()) == list(as_dict(state).items())
        assert list(expected.items()) == list(as_dict(record).items())
        assert _compact(expected) == as_text(state) == as_text(record)
        assert json.dumps(expected) == text_writer(cls, spaced=True)(record)
        read_back = converter.structure(json.loads(as_text(state)), cls)
        assert _compact(expected) == as_text(read_back) == as_text(Record.thaw(read_back))


def test_a_state_with_text_beyond_ascii_is_written_as_json_escapes_it() -> None:
    customer = 'Café ☃ "quoted" \\ back\nline 😀'
    engine = PolicyEngine()
    engine.handle({**OPENED, "customer": customer})
    (state,) = engine.snapshot().escalations
    text = text_writer(type(state))(state)
    assert _compact(_cattrs_written(state, type(state))) == text
    assert text.isascii()
    assert customer == json.loads(text)["customer"]


@given(strategies.facts())
def test_the_engines_fact_reader_reads_what_the_converter_reads(fact: Fact) -> None:
    document = json.loads(json.dumps(CONVERTER.unstructure(fact, Fact)))
    assert CONVERTER.structure(document, Fact) == shared_fact_reader(default_policy())(document)


@pytest.mark.parametrize(
    "change",
    [{"customer": ""}, {"at": "2026-03-02T09:00:00"}, {"type": "openned"}, {"extra": 1}],
    ids=["empty customer", "no timezone", "unknown type", "unknown field"],
)
def test_the_engines_fact_reader_refuses_as_the_converter_explains(change: dict[str, Any]) -> None:
    body = {**OPENED, **change}
    with pytest.raises(InvalidFactError) as expected:
        read_fact(body)
    with pytest.raises(InvalidFactError) as actual:
        shared_fact_reader(default_policy())(body)
    assert (expected.value.reason, expected.value.path) == (actual.value.reason, actual.value.path)


def test_a_fact_the_fast_path_declines_still_gets_cattrs_explanation() -> None:
    body = {**OPENED, "customer": ""}
    with pytest.raises(Fallback):
        fact_reader(Opened, parse_timestamp)(body)
    with pytest.raises(InvalidFactError) as caught:
        CONVERTER.structure(body, Fact)
    assert "$.customer" == caught.value.path


@pytest.mark.parametrize(
    "body",
    [
        types.MappingProxyType({**OPENED}),
        {**OPENED, 1: "x"},
        {**OPENED, None: None},
        {**OPENED, "extra": None},
        {**{key: value for key, value in OPENED.items() if key != "customer"}, "tam": "Kenji"},
    ],
    ids=["not a dict", "a number as a key", "null as a key", "an unknown key", "one missing"],
)
def test_the_fast_fact_reader_leaves_anything_but_a_dict_of_its_own_keys_to_cattrs(
    body: Any,
) -> None:
    """The fast reader counts the keys it finds: one more, one missing, or an object of
    another kind, is cattrs' to read (or to explain)."""
    with pytest.raises(Fallback):
        fact_reader(Opened, parse_timestamp)(body)
    expected = outcome_of(lambda: CONVERTER.structure(dict(body), Fact))
    assert expected == outcome_of(lambda: read_fact(body))


def outcome_of(read: Any) -> Any:
    try:
        return read()
    except InvalidFactError as error:
        return error.reason, error.path


NEAR_MISSES = [None, True, False, 0, 1, 1.5, "", "x", "low", "tam", "update", "internal"]
NEAR_MISSES += ["2026-03-02T09:00:00", "2026-03-02T09:00:00Z", "2026-03-02", [], ["a"], [1], {}]
NEAR_MISSES += ["i" * 256, "i" * 257, "t" * 16_384, "t" * 16_385, ["t" * 16_385]]  # the limits
NEAR_MISSES += ["2026-03-02T09:00:00+01:59", "2026-03-02T09:00:00+01:60"]


@pytest.mark.parametrize("fact_type", sorted(FACT_TYPES))
@settings(max_examples=5)
@given(data=st.data())
def test_the_fast_fact_reader_agrees_with_cattrs_on_every_near_miss(
    fact_type: str, data: st.DataObject
) -> None:
    """Every field of every fact type, given each of a set of plausible wrong values."""
    body = CONVERTER.unstructure(data.draw(strategies.facts(FACT_TYPES[fact_type])), Fact)
    read = fact_reader(FACT_TYPES[fact_type], parse_timestamp)
    variants = [body] + [{k: v for k, v in body.items() if k != key} for key in body]
    variants += [{**body, key: value} for key in body for value in NEAR_MISSES]
    variants += [{**body, "unknown": 1}]
    for variant in variants:
        if variant.get("type") != fact_type:
            continue  # the tag chose the reader: it only ever sees its own type
        reference = _cattrs_only(variant)
        try:
            fast = read(variant)
        except Fallback:
            continue
        assert (variant, reference) == (variant, fast)


@pytest.mark.parametrize(
    "kind",
    [
        str,
        bool,
        dt.datetime,
        Severity,
        tuple[str, ...],
        str | None,
        Severity | None,
        tuple[str, ...] | None,
        int,
        dt.date,
        dt.timedelta,
        list[str],
        tuple[int, ...],
        dict[str, str],
        str | int,
        Opened,
    ],
    ids=repr,
)
def test_the_loader_takes_exactly_the_field_types_the_fast_reader_reads(kind: Any) -> None:
    """What the loader lets a fact's field be is what a fact can be read with."""
    from escalation_policy._convert.fastpath import _reader_for
    from escalation_policy._language.typed import readable

    try:
        _reader_for(kind, parse_timestamp)
    except TypeError:
        fast = False
    else:
        fast = True
    assert fast == readable(kind)


@attrs.frozen(kw_only=True)
class _Named(EscalationFact):
    """A fact whose fields bear the names a generated reader uses for its own values."""

    TYPE = "named"
    found: str
    short: str | None = None
    size: bool = False
    texts: str | None = None
    value: str | None = None


@pytest.mark.parametrize(
    "body",
    [
        {"found": "x"},
        {"found": "x", "short": "y", "size": True, "texts": "z", "value": "v"},
        {"found": "x", "short": None, "texts": "t" * 300},
        {"found": "x", "extra": 1},
        {"short": "y"},
    ],
    ids=["one", "all", "long", "an unknown key", "one missing"],
)
def test_a_fact_whose_fields_bear_a_readers_own_names_reads_as_cattrs_reads_it(
    body: dict[str, Any],
) -> None:
    body = {"type": "named", "at": "2026-03-02T09:00:00+00:00", "escalation_id": "E-1", **body}
    try:
        expected: Any = CONVERTER.gen_structure_attrs_fromdict(_Named)(
            {key: value for key, value in body.items() if key != "type"}, _Named
        )
    except Exception:
        expected = Fallback
    line = json.dumps(body)
    for read in (
        lambda: fact_reader(_Named, parse_timestamp)(body),
        lambda: fact_reader(_Named, parse_timestamp, line=True)(
            body, line.count('"'), len(line) <= 256 and line.isascii()
        )[0],
    ):
        try:
            got = read()
        except Fallback:
            got = Fallback
        assert expected == got
