"""Bad input at every edge is an InputError naming the field, and changes nothing.

Facts as JSON and as Python objects, snapshots, and the pure functions' arguments: each
problem found by trying the library as a new user, an integrator and an attacker would is a
case here, and a bounded fuzz test (both engines) throws spoiled input at a live engine.
"""

import datetime as dt
import json
import pathlib
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Action,
    EngineState,
    EscalationState,
    Fact,
    InputError,
    InvalidFactError,
    InvalidSnapshotError,
    PolicyEngine,
    advance,
    decide,
    load_policy,
    make_converter,
)
from escalation_policy._language.typed import MAX_FACT_SIZE, MAX_ID_LENGTH, MAX_TEXT_LENGTH
from escalation_policy.rules import MeetingHeld, Opened, StatusChanged
from escalation_policy.state import SNAPSHOT_FORMAT
from escalation_policy.testing import strategies
from tests.conftest import T0, Scenario, at, examples, owner_of

DATA = pathlib.Path(__file__).parent / "data"

CONVERTER = make_converter()

OPENED: dict[str, Any] = {
    "type": "opened",
    "at": "2026-03-02T09:00:00Z",
    "escalation_id": "ESC-2",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "critical",
}

CRITICAL_OWNER = owner_of("critical")


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


BAD_JSON = [
    pytest.param(
        {**OPENED, "at": "9999-12-31T23:59:59Z"}, "$.at", "expected a time", id="year 9999"
    ),
    pytest.param(
        {**OPENED, "at": "9999-12-31T23:59:59-05:00"}, "$.at", "expected a time", id="past max"
    ),
    pytest.param(
        {**OPENED, "at": "0001-01-01T00:00:00+05:00"}, "$.at", "expected a time", id="before min"
    ),
    pytest.param(
        {"type": _nested(2000)}, "$.type", "unknown fact type", id="type nested 2000 deep"
    ),
    pytest.param({**OPENED, 5: 1, "zz": 2}, "$.zz", "unknown field 'zz'", id="mixed key types"),
    pytest.param({**OPENED, 5: 1}, "$", "got the key 5", id="a number as a key"),
    pytest.param(
        {**OPENED, "at": 10**5000}, "$.at", "integer of about 5000 digits", id="5000 digits"
    ),
    pytest.param(
        {**OPENED, "customer": "\ud800"}, "$.customer", "lone surrogates", id="lone surrogate"
    ),
    pytest.param({**OPENED, "customer": "A\x00"}, "$.customer", "without NUL", id="NUL"),
    pytest.param({**OPENED, "escalation_id": "E\x00"}, "$.escalation_id", "NUL", id="NUL id"),
    pytest.param(
        {
            "type": "status_changed",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "ESC-1",
            "status": "ok",
            "milestones": "abc",
        },
        "$.milestones",
        "expected a list",
        id="a string for a list",
    ),
    pytest.param(
        {**OPENED, "segment": "enterprise "},
        "$.segment",
        "did you mean 'enterprise'",
        id="near miss",
    ),
    pytest.param(
        {**OPENED, "at": "2026-03-02T09:00:00+01:99"},
        "$.at",
        "offset whose minutes are 00 to 59",
        id="offset minutes 99",
    ),
    pytest.param(
        {**OPENED, "at": "2026-03-02T09:00:00-00:60"},
        "$.at",
        "offset whose minutes are 00 to 59",
        id="offset minutes 60",
    ),
    pytest.param(
        {**OPENED, "escalation_id": "E" * (MAX_ID_LENGTH + 1)},
        "$.escalation_id",
        f"\\(257 characters\\), expected an id of at most {MAX_ID_LENGTH} characters",
        id="escalation id too long",
    ),
    pytest.param(
        {**OPENED, "id": "\N{GRINNING FACE}" * (MAX_ID_LENGTH + 1)},
        "$.id",
        f"expected an id of at most {MAX_ID_LENGTH} characters",
        id="fact id too long",
    ),
    pytest.param(
        {**OPENED, "summary": "s" * (MAX_TEXT_LENGTH + 1)},
        "$.summary",
        "\\(16,385 characters\\), expected a text of at most 16,384 characters",
        id="text too long",
    ),
    pytest.param(
        {
            "type": "status_changed",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "ESC-1",
            "status": "ok",
            "milestones": ["m", "m" * (MAX_TEXT_LENGTH + 1)],
        },
        "$.milestones[1]",
        "expected a text of at most 16,384 characters",
        id="list item too long",
    ),
    pytest.param(
        {**OPENED, **dict.fromkeys(("summary", "tam", "opened_by"), "t" * MAX_TEXT_LENGTH)}
        | {"issue_type": "i" * MAX_TEXT_LENGTH},
        "$",
        f"got a fact of 65,551 characters of text, expected at most {MAX_FACT_SIZE:,} in all",
        id="fact too large",
    ),
    pytest.param(
        {
            "type": "status_changed",
            "at": "2026-03-02T09:00:00Z",
            "escalation_id": "ESC-1",
            "status": "ok",
            "milestones": [""] * MAX_FACT_SIZE,
        },
        "$",
        f"expected at most {MAX_FACT_SIZE:,} in all",
        id="a long list of empty texts",
    ),
]


@pytest.mark.parametrize(("body", "path", "message"), BAD_JSON)
def test_bad_json_is_an_input_error_and_the_engine_is_unchanged(
    scenario: Scenario, body: dict[Any, Any], path: str, message: str
) -> None:
    scenario.open()
    before = scenario.engine.snapshot()
    with pytest.raises(InputError, match=message) as caught:
        scenario.engine.handle(body)
    assert path == caught.value.path
    assert before == scenario.engine.snapshot()
    scenario.tick(at(hours=1))  # the engine goes on


def _opened_object(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "at": T0,
        "escalation_id": "ESC-2",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
    }
    fields.update(changes)
    return lambda: Opened(**fields)


BAD_OBJECTS = [
    pytest.param(
        _opened_object(escalation_id=5), "$.escalation_id", "expected a string", id="number id"
    ),
    pytest.param(
        _opened_object(segment="enterprise "), "$.segment", "did you mean", id="near-miss segment"
    ),
    pytest.param(
        _opened_object(severity="urgent"), "$.severity", "expected one of", id="unknown severity"
    ),
    pytest.param(_opened_object(at=dt.datetime(2026, 3, 2)), "$.at", "naive", id="naive time"),
    pytest.param(
        _opened_object(at="2026-03-02"), "$.at", "expected a timezone-aware", id="string time"
    ),
    pytest.param(
        _opened_object(broad_impact="yes"), "$.broad_impact", "true or false", id="string bool"
    ),
    pytest.param(_opened_object(customer=""), "$.customer", "non-empty", id="empty customer"),
    pytest.param(
        lambda: StatusChanged(at=T0, escalation_id="E", status="ok", milestones="abc"),
        "$.milestones",
        "expected a list",
        id="string milestones",
    ),
    pytest.param(
        lambda: MeetingHeld(at=T0, escalation_id="E", audience=3),
        "$.audience",
        "expected one of",
        id="number audience",
    ),
    pytest.param(
        _opened_object(escalation_id="E" * (MAX_ID_LENGTH + 1)),
        "$.escalation_id",
        "expected an id of at most 256 characters",
        id="escalation id too long",
    ),
    pytest.param(
        _opened_object(id="I" * (MAX_ID_LENGTH + 1)),
        "$.id",
        "expected an id of at most 256 characters",
        id="fact id too long",
    ),
    pytest.param(
        _opened_object(summary="s" * 100_000_000),
        "$.summary",
        "100,000,000 characters\\), expected a text of at most 16,384",
        id="100 MB text",
    ),
    pytest.param(
        lambda: StatusChanged(
            at=T0, escalation_id="E", status="ok", milestones=("m" * MAX_TEXT_LENGTH,) * 4
        ),
        "$",
        "expected at most 65,536 in all",
        id="fact too large",
    ),
]


@pytest.mark.parametrize(("build", "path", "message"), BAD_OBJECTS)
def test_a_fact_object_is_checked_as_strictly_as_its_json_form(
    build: Any, path: str, message: str
) -> None:
    with pytest.raises(InvalidFactError, match=message) as caught:
        build()
    assert path == caught.value.path


def test_a_fact_object_may_give_an_enumerations_json_value() -> None:
    """``severity="low"`` is the JSON value of ``Severity.LOW``: it is taken as that member,
    so the engine's state stays something it can write as JSON."""
    engine = PolicyEngine()
    engine.handle(_opened_object(severity="low", segment="enterprise")())
    engine.handle(MeetingHeld(at=at(hours=1), escalation_id="ESC-2", audience="customer"))
    snapshot = CONVERTER.unstructure(engine.snapshot())
    assert "low" == snapshot["escalations"][0]["severity"]
    assert engine.snapshot() == PolicyEngine.restore(json.loads(json.dumps(snapshot))).snapshot()


# ------------------------------------------------------------------------------ pure functions
def _state() -> Any:
    return decide(None, OPENED).state


PURE_CALLS = [
    pytest.param(
        lambda: advance(_state(), dt.datetime(2026, 3, 3)), "to", "naive", id="advance naive"
    ),
    pytest.param(
        lambda: advance(None, T0),
        "state",
        "expected the EscalationState of this policy",
        id="advance None",
    ),  # type: ignore[arg-type]
    pytest.param(
        lambda: decide(None, {}), "$.type", "required field is missing", id="decide empty"
    ),
    pytest.param(
        lambda: decide(None, "opened"), "$", "expected a fact about one", id="decide text"
    ),  # type: ignore[arg-type]
    pytest.param(
        lambda: decide({"escalation_id": "E"}, OPENED), "state", "EscalationState", id="state dict"
    ),  # type: ignore[arg-type]
    pytest.param(
        lambda: decide(
            _state(), {"type": "closed", "at": "2026-03-03T00:00:00Z", "escalation_id": "B"}
        ),
        "$.escalation_id",
        "with the state of 'ESC-2'",
        id="state of another escalation",
    ),
]


@pytest.mark.parametrize(("call", "path", "message"), PURE_CALLS)
def test_the_pure_functions_refuse_wrong_arguments_with_input_errors(
    call: Any, path: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        call()
    assert path == caught.value.path


def test_decide_takes_a_facts_json_form() -> None:
    assert decide(None, OPENED) == decide(None, CONVERTER.structure(OPENED, Fact))


# ----------------------------------------------------------------------------------- snapshots
def _snapshot_json() -> dict[str, Any]:
    engine = PolicyEngine()
    scenario = Scenario(engine)
    scenario.open(severity="critical", tam="alex", initiated_by="tam")
    scenario.post(at(minutes=30), "created", CRITICAL_OWNER)
    data: dict[str, Any] = CONVERTER.unstructure(engine.snapshot())
    return data


def _spoil(path: list[Any], value: Any) -> dict[str, Any]:
    data = _snapshot_json()
    target: Any = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def _periodic_index() -> int:
    pending = _snapshot_json()["escalations"][0]["pending"]
    return next(i for i, p in enumerate(pending) if p["period"] is not None)


P = _periodic_index()
"""A periodic obligation counted on the escalation's business days (its ``period``); a snapshot
may hold a rolling one (``every``) as well, as another policy's settings give."""

BAD_SNAPSHOTS = [
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "every"], 0),
        f"$.escalations[0].pending[{P}].every",
        "positive period",
        id="every 0",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "every"], -3600),
        f"$.escalations[0].pending[{P}].every",
        "positive period",
        id="negative every",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "every"], 1e300),
        f"$.escalations[0].pending[{P}].every",
        "number of seconds",
        id="huge every",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "remind_before"], 0),
        f"$.escalations[0].pending[{P}].remind_before",
        "positive lead time",
        id="reminder lead of 0",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "waited"], -60),
        f"$.escalations[0].pending[{P}].waited",
        "zero or more",
        id="negative time waited",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "required_in_full"], 0),
        f"$.escalations[0].pending[{P}].required_in_full",
        "at least its required",
        id="asked in full less than it asks",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "period"], "each fortnight"),
        f"$.escalations[0].pending[{P}].period",
        "expected a period's text form",
        id="unknown period",
    ),
    pytest.param(
        _spoil(["escalations", 0, "calendar"], "holidays_only"),
        "$.escalations[0].calendar",
        "which this policy does not declare",
        id="unknown calendar",
    ),
    pytest.param(
        _spoil(["escalations", 0, "calendar"], "business_days@Mars/Olympus"),
        "$.escalations[0].calendar",
        "unknown time zone 'Mars/Olympus'",
        id="calendar in an unknown zone",
    ),
    pytest.param(
        _spoil(["escalations", 0, "severity"], "urgent"),
        "$.escalations[0].severity",
        "expected one of",
        id="bad severity",
    ),
    pytest.param(
        _spoil(["escalations", 0, "pending", P, "rule"], "nope"),
        f"$.escalations[0].pending[{P}].rule",
        "another policy",
        id="unknown rule",
    ),
    pytest.param(_spoil(["format"], 4), "$.format", "got format 4", id="future format"),
    pytest.param(_spoil(["clock"], None), "$.clock", "without a clock", id="no clock"),
    pytest.param(
        _spoil(["clock"], "2026-03-01T00:00:00Z"),
        "$.escalations[0].clock",
        "no later than the snapshot",
        id="clock behind",
    ),
    pytest.param(
        _spoil(["escalations", 0, "customer"], 7),
        "$.escalations[0].customer",
        "expected a string",
        id="number customer",
    ),
    pytest.param(_spoil(["surprise"], 1), "$.surprise", "unknown field", id="unknown key"),
    pytest.param(
        _spoil(["escalations", 0, "owner"], "<script>bogus"),
        "$.escalations[0].owner",
        "got '<script>bogus', a value this policy does not declare; expected one of",
        id="undeclared owner",
    ),
    pytest.param(
        _spoil(["escalations", 0, "cadence"], "hourly"),
        "$.escalations[0].cadence",
        "a value this policy does not declare",
        id="undeclared cadence",
    ),
    pytest.param(
        _spoil(["escalations", 0, "involvement"], ["ceo", "<img src=x>"]),
        "$.escalations[0].involvement[1]",
        "a value this policy does not declare",
        id="undeclared role",
    ),
    pytest.param(
        _spoil(["escalations", 0, "done"], {"dance": ["x"]}),
        "$.escalations[0].done['dance']",
        "an obligation this policy does not have",
        id="undeclared obligation done",
    ),
    pytest.param(
        _spoil(["escalations", 0, "done"], {"inform_tam": "alex"}),
        "$.escalations[0].done[inform_tam]",
        "got 'alex', expected a list of strings",
        id="done as format 2 wrote it, in format 3",
    ),
    pytest.param(
        _spoil(["escalations", 0, "escalation_id"], "E" * (MAX_ID_LENGTH + 1)),
        "$.escalations[0].escalation_id",
        "expected an id of at most 256 characters",
        id="escalation id too long",
    ),
    pytest.param(["not", "a", "snapshot"], "$", "expected an EngineState", id="a list"),
]


@pytest.mark.parametrize(("data", "path", "message"), BAD_SNAPSHOTS)
def test_restore_checks_a_snapshot_like_any_input(data: Any, path: str, message: str) -> None:
    with pytest.raises(InvalidSnapshotError, match=message) as caught:
        PolicyEngine.restore(data)
    assert path == caught.value.path


def test_a_snapshot_carries_its_format() -> None:
    assert SNAPSHOT_FORMAT == 3 == _snapshot_json()["format"]


@pytest.mark.parametrize(
    ("written", "with_format"),
    [
        ("snapshot-format-1.json", True),
        ("snapshot-format-1.json", False),
        ("snapshot-format-2.json", True),
    ],
    ids=["format 1", "no format", "format 2"],
)
def test_a_snapshot_of_an_earlier_format_is_upgraded_and_continues_the_same(
    engine_name: str, written: str, with_format: bool
) -> None:
    """A snapshot in an earlier release's format continues exactly as an engine that never
    stopped: format 1 (keys kept as ``reason`` and ``tam``, the TAM informed as
    ``informed_tam``; no format before formats were numbered), and format 2 (the TAM last
    informed in ``done`` as a text, where format 3 keeps a list of every TAM informed), each
    written by the release that wrote that format, after the history's first six facts. A
    snapshot of format 2 names the policy it was planned under, the handbook's of that release:
    it is planned again under this one's (``replan=True``, then ``replan()``), as a host
    upgrading the library does."""
    data = json.loads((DATA / written).read_text())
    if not with_format:
        del data["format"]
    facts = [
        json.loads(line) for line in (DATA / "format-1-history.jsonl").read_text().splitlines()
    ]
    # The limits of the releases that wrote the snapshots, where they differ from this one's
    # and the history meets them: the raise's update was due within 2 business hours. Every
    # obligation the snapshots hold was planned under them.
    earlier = load_policy(settings={"update_after_raise_within": "2h"})
    whole = PolicyEngine(earlier, engine=engine_name)
    for fact in facts[:6]:
        whole.handle(fact)
    # Nor did they keep when the severity last changed (``severity_changed_at``): the engine
    # that never stopped, with its state as they wrote it.
    state = whole.snapshot()
    unknown = tuple(attrs.evolve(e, severity_changed_at=None) for e in state.escalations)
    whole = PolicyEngine.restore(
        attrs.evolve(state, escalations=unknown), earlier, engine=engine_name
    )
    replanned = "policy" in data
    restored = PolicyEngine.restore(data, earlier, engine=engine_name, replan=replanned)
    if replanned:
        restored.replan()
    assert whole.snapshot() == restored.snapshot()
    for fact in facts[6:]:
        assert whole.handle(fact).actions == restored.handle(fact).actions
    assert whole.snapshot() == restored.snapshot()


def test_a_snapshot_object_with_wrong_types_is_refused_too() -> None:
    good = PolicyEngine.restore(_snapshot_json()).snapshot()
    spoiled = attrs.evolve(
        good,
        escalations=(attrs.evolve(good.escalations[0], escalation_id=5),),  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidSnapshotError) as caught:
        PolicyEngine.restore(spoiled)
    assert "$.escalations[0].escalation_id" == caught.value.path


# ----------------------------------------------------------------------------- the JSON contract
@settings(max_examples=examples(80), deadline=None)
@given(st.one_of(strategies.facts(), strategies.actions()))
def test_every_fact_and_action_round_trips_with_its_type_tag(obj: Any) -> None:
    base = Fact if isinstance(obj, Fact) else Action
    for asked in (base, type(obj)):
        body = (
            CONVERTER.unstructure(obj) if asked is type(obj) else CONVERTER.unstructure(obj, base)
        )
        assert obj.TYPE == body["type"]
        text = json.loads(json.dumps(body))
        assert obj == CONVERTER.structure(text, base)
        assert obj == CONVERTER.structure(text, type(obj))


def test_a_snapshot_round_trips_with_its_format() -> None:
    data = _snapshot_json()
    assert data == CONVERTER.unstructure(CONVERTER.structure(data, EngineState))


# ---------------------------------------------------------------------------------------- fuzz
def _spoiled_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.just(10**5000),
        st.floats(allow_nan=True),
        st.text(max_size=12),
        st.sampled_from(["\ud800", "", " ", "9999-12-31T23:59:59Z", "2026-03-02T09:00:00"]),
        st.sampled_from(["0001-01-01T00:00:00+05:00", "2026-03-02T09:00:00+25:00"]),
        st.lists(st.integers(), max_size=3),
        st.just(_nested(1500)),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )


@st.composite
def _spoiled_fact(draw: st.DrawFn) -> dict[Any, Any]:
    body: dict[Any, Any] = CONVERTER.unstructure(draw(strategies.facts()), Fact)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        key = draw(st.sampled_from([*body, "type", "extra", 7]))
        if draw(st.booleans()) and key in body:
            del body[key]
        else:
            body[key] = draw(_spoiled_values())
    return body


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=strategies.histories(), data=st.data())
def test_fuzz_spoiled_input_is_an_input_error_and_changes_nothing(
    engine_name: str, history: list[Fact], data: st.DataObject
) -> None:
    """Spoiled facts, timestamps and snapshots between real facts: each is refused whole
    with an InputError naming a field, or taken whole; nothing else ever escapes."""
    engine = PolicyEngine(engine=engine_name)  # type: ignore[arg-type]
    for fact in history:
        spoiled = data.draw(st.none() | _spoiled_fact())
        if spoiled is not None:
            before = engine.snapshot()
            refused = _refusal(engine.handle, spoiled)
            assert refused is None or refused.path, f"no field named for {refused}"
            if refused is not None:
                assert before == engine.snapshot()
        # a spoiled fact taken whole may make a later real one inapplicable
        _refusal(engine.handle, fact)
    snapshot = CONVERTER.unstructure(engine.snapshot())
    if snapshot["escalations"]:
        key = data.draw(st.sampled_from(sorted(snapshot["escalations"][0], key=str)))
        snapshot["escalations"][0][key] = data.draw(_spoiled_values())
        refused = _refusal(PolicyEngine.restore, snapshot, engine=engine_name)
        assert refused is None or refused.path


def _refusal(call: Any, *args: Any, **kwargs: Any) -> InputError | None:
    """The input error ``call`` raised, or ``None``; any other exception escapes."""
    try:
        call(*args, **kwargs)
    except InputError as error:
        return error
    return None


# --------------------------------------------------------------- found by trying it as users do
def test_a_snapshot_written_near_the_end_of_time_restores() -> None:
    """The policy schedules up to its horizon ahead: facts must leave room for it, so every
    snapshot the engine writes reads back."""
    from escalation_policy import default_policy
    from escalation_policy._language.typed import LATEST

    last = LATEST - default_policy().horizon - dt.timedelta(seconds=1)
    engine = PolicyEngine(max_clock_jump=None)
    engine.handle({**OPENED, "at": last.isoformat()})
    PolicyEngine.restore(CONVERTER.unstructure(engine.snapshot()))
    with pytest.raises(InputError, match="the policy schedules up to") as caught:
        engine.handle({"type": "tick", "at": (last + dt.timedelta(seconds=1)).isoformat()})
    assert "$.at" == caught.value.path


def _pending_update(data: dict[str, Any]) -> int:
    pending = data["escalations"][0]["pending"]
    return next(i for i, p in enumerate(pending) if p["obligation"] == "channel_update")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("owner", None), "owner", "expected the owner who acts on it"),
        (("owner", "<script>bogus"), "owner", "a value this policy does not declare"),
        (("every", 8640000000000), "every", "horizon"),
        (("every", 0), "every", "positive period"),
    ],
)
def test_a_state_no_engine_could_write_is_refused_by_restore_decide_and_advance(
    change: tuple[str, Any], field: str, message: str
) -> None:
    data = _snapshot_json()
    index = _pending_update(data)
    name, value = change
    if name == "owner":
        data["escalations"][0]["owner"] = value
        path = "owner"
    else:
        data["escalations"][0]["pending"][index][name] = value
        path = f"pending[{index}].{name}"
    with pytest.raises(InvalidSnapshotError, match=message) as caught:
        PolicyEngine.restore(data)
    assert f"$.escalations[0].{path}" == caught.value.path
    state = CONVERTER.structure(data["escalations"][0], EscalationState)
    for call in (
        lambda: advance(state, at(days=3)),
        lambda: decide(state, _closed()),
    ):
        with pytest.raises(InputError, match=message) as refused:
            call()
        assert f"state.{path}" == refused.value.path


def _closed() -> dict[str, Any]:
    return {"type": "closed", "at": at(days=3).isoformat(), "escalation_id": "ESC-1"}


def test_a_state_object_with_wrong_types_is_refused_by_the_pure_functions() -> None:
    state = CONVERTER.structure(_snapshot_json()["escalations"][0], EscalationState)
    spoiled = attrs.evolve(state, clock=dt.datetime(2026, 3, 2))
    with pytest.raises(InputError, match="naive") as caught:
        advance(spoiled, at(days=3))
    assert "state.clock" == caught.value.path


@pytest.mark.parametrize("as_of", ["2026-03-10T00:00:00Z", dt.datetime(2026, 3, 10), 5])
def test_audit_refuses_an_as_of_that_is_not_an_aware_datetime(as_of: Any) -> None:
    from escalation_policy import audit

    with pytest.raises(InputError) as caught:
        audit([CONVERTER.structure(OPENED, Fact)], as_of=as_of)
    assert "as_of" == caught.value.path


@pytest.mark.parametrize(
    "text",
    [
        "20260302T090000Z",
        "2026-W10-1T09:00:00Z",
        "2026-03-02T09:00:00.123456789Z",
        "2026-03-02T09:00:00.5Z",
        "2026-03-02T09:00:00+05:30:15",
        "2026-03-02Z",
    ],
)
def test_timestamps_outside_the_contract_are_refused_on_every_python(text: str) -> None:
    with pytest.raises(InputError, match="expected an ISO-8601 timestamp") as caught:
        CONVERTER.structure({**OPENED, "at": text}, Fact)
    assert "$.at" == caught.value.path


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-02T09:00:00+01:59", "2026-03-02T07:01:00+00:00"),
        ("2026-03-02T09:00:00-23:59", "2026-03-03T08:59:00+00:00"),
        ("2026-03-02T09:00:00+05:45", "2026-03-02T03:15:00+00:00"),
    ],
)
def test_offsets_up_to_59_minutes_are_read_as_written(text: str, utc: str) -> None:
    assert utc == CONVERTER.structure({**OPENED, "at": text}, Fact).at.isoformat()


class _Text(str):
    pass


def test_an_enumeration_given_as_a_str_subclass_or_a_hosts_enum_is_read_alike() -> None:
    import enum

    class HostSeverity(str, enum.Enum):
        LOW = "low"

    for value in (_Text("low"), HostSeverity.LOW):
        from_object = _opened_object(severity=value)()
        from_json = CONVERTER.structure({**OPENED, "severity": value}, Fact)
        assert from_object.severity is from_json.severity


class _BrokenZone(dt.tzinfo):
    def utcoffset(self, _when: dt.datetime | None) -> dt.timedelta:
        raise RuntimeError("no such zone")


class _BrokenMapping(dict):  # type: ignore[type-arg]
    def __getitem__(self, key: Any) -> Any:
        raise RuntimeError("the host's database went away")

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("the host's database went away")


def test_a_failing_timezone_or_mapping_is_an_input_error() -> None:
    with pytest.raises(InputError, match="timezone fails") as caught:
        _opened_object(at=dt.datetime(2026, 3, 2, tzinfo=_BrokenZone()))()
    assert "$.at" == caught.value.path
    engine = PolicyEngine()
    with pytest.raises(InputError, match="could not read the object"):
        engine.handle(_BrokenMapping(OPENED))


def test_what_escalations_have_done_once_is_shared_and_what_is_shared_is_bounded() -> None:
    """Escalations whose TAM was informed share one ``done`` mapping for each TAM (memory per
    open escalation), and a policy shares at most a bounded number: TAM names come from the
    facts, and a stream of new ones must not grow what the policy keeps."""
    from escalation_policy.policy import compiled

    engine = PolicyEngine()
    for number in (1, 2):
        engine.handle(
            {
                "type": "opened",
                "escalation_id": f"E-{number}",
                "customer": "Acme",
                "segment": "enterprise",
                "severity": "critical",
                "tam": "Ann",
                "at": "2026-03-02T09:00:00+00:00",
            }
        )
    first, second = (engine.escalation(f"E-{number}") for number in (1, 2))
    assert first is not None
    assert second is not None
    assert {"inform_tam": ("Ann",)} == first.done
    assert first.done is second.done
    policy = engine.policy
    for number in range(compiled._SHARED_DONE + 10):
        assert {"inform_tam": (f"T{number}",)} == policy.done_once("inform_tam", f"T{number}")
    assert compiled._SHARED_DONE == len(policy._kept["done once"])
