"""The size of what a fact may carry: one limit for ids, one for other texts, one for a whole
fact, checked alike wherever a fact comes in (a Python object, its JSON form, a line of a file)
and on every engine and store, so that no store is handed what it cannot index or should not
keep rewriting."""

import hashlib
import json
import pathlib
import random
from collections.abc import Callable
from typing import Any

import pytest
from cattrs.errors import ClassValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Fact,
    InvalidFactError,
    PolicyEngine,
    Service,
    decide,
    default_policy,
    make_converter,
)
from escalation_policy._engines.durable import durable_available
from escalation_policy._language.typed import (
    ID_FIELDS,
    MAX_FACT_SIZE,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
)
from escalation_policy.cli import main
from escalation_policy.model import Action, parse_timestamp
from tests.conftest import T0, examples

CONVERTER = make_converter()
LONG_ID = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(50))[:3000]
"""Longer than a PostgreSQL index entry may be (about 2,700 bytes), and not compressible (a
repeated character would be compressed to fit): what PostgreSQL stores refused, every time."""
WIDEST_ID = "".join(map(chr, random.Random(0).sample(range(0x20000, 0x2FFFF), MAX_ID_LENGTH)))
"""An id of the longest, in characters of four bytes in UTF-8 chosen at random (compressing
it gains little): the most room an id may take."""


def opened(escalation_id: str = "ESC-1", /, **fields: Any) -> dict[str, Any]:
    return {
        "type": "opened",
        "at": T0.isoformat(),
        "escalation_id": escalation_id,
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        "tam": "alex",
        **fields,
    }


def _native(body: dict[str, Any]) -> object:
    return PolicyEngine().handle(body)


def _durable(body: dict[str, Any]) -> object:
    return PolicyEngine(engine="durable").handle(body)


def _fact_object(body: dict[str, Any]) -> object:
    cls = default_policy().contract.facts[body["type"]]
    fields = {key: value for key, value in body.items() if key != "type"}
    return PolicyEngine().handle(cls(**fields | {"at": parse_timestamp(body["at"])}))


def _decide(body: dict[str, Any]) -> object:
    return decide(None, body)


ENTRY_POINTS = [
    pytest.param(_native, id="native engine"),
    pytest.param(
        _durable,
        id="durable engine",
        marks=pytest.mark.skipif(durable_available() is not None, reason=durable_available() or ""),
    ),
    pytest.param(_fact_object, id="fact object"),
    pytest.param(_decide, id="decide"),
]


@pytest.mark.parametrize("handle", ENTRY_POINTS)
@pytest.mark.parametrize("field", sorted(ID_FIELDS))
def test_an_id_at_the_limit_is_taken_and_one_longer_refused_naming_the_field(
    handle: Callable[[dict[str, Any]], object], field: str
) -> None:
    handle(opened(**{field: WIDEST_ID}))
    with pytest.raises(InvalidFactError) as caught:
        handle(opened(**{field: "i" * (MAX_ID_LENGTH + 1)}))
    assert f"$.{field}" == caught.value.path
    assert f"({MAX_ID_LENGTH + 1} characters), expected an id of at most" in caught.value.reason


@pytest.mark.parametrize("field", sorted(ID_FIELDS))
def test_replay_refuses_a_line_with_an_overlong_id_naming_line_and_field(
    field: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "facts.jsonl"
    lines = [opened("ESC-1"), opened("ESC-2", **{field: LONG_ID})]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert 2 == main(["replay", str(path)])
    err = capsys.readouterr().err
    assert f"line 2: got '{LONG_ID[:10]}" in err
    assert f"(3,000 characters), expected an id of at most {MAX_ID_LENGTH} characters" in err
    assert err.endswith(f"@ $.{field}\n")


def contents(service: Service) -> tuple[Any, ...]:
    return (
        service.escalations(),
        [(d.id, CONVERTER.unstructure(d.action, Action)) for d in service.outbox()],
    )


def test_ids_at_the_limit_in_four_byte_characters_fit_every_store(new_store_url: Any) -> None:
    """The longest id, in the widest characters, is indexed by every store: as an escalation,
    as a fact's id, and inside the ids of its actions."""
    longest = WIDEST_ID
    assert MAX_ID_LENGTH * 4 == len(longest.encode())
    with Service(new_store_url()) as service:
        handled = service.handle(opened(longest, id=longest))
        assert handled.deliveries
        assert all(d.id.startswith(f"{longest}/") for d in handled.deliveries)
        again = service.handle(opened(longest, id=longest))
        assert again.duplicate
        assert longest == service.escalations()[0].escalation_id


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"escalation_id": LONG_ID}, "$.escalation_id"),
        ({"id": LONG_ID}, "$.id"),
        ({"summary": "s" * (MAX_TEXT_LENGTH + 1)}, "$.summary"),
        (dict.fromkeys(("summary", "tam", "opened_by", "issue_type"), "t" * MAX_TEXT_LENGTH), "$"),
    ],
    ids=["escalation id", "fact id", "text", "whole fact"],
)
def test_a_service_refuses_what_is_too_long_as_input_and_stores_nothing(
    new_store_url: Any, changes: dict[str, Any], path: str
) -> None:
    with Service(new_store_url()) as service:
        service.handle(opened())
        results = service.handle_many(
            [opened("ESC-2", **changes), opened("ESC-3")], keep_going=True
        )
        refused = results[0]
        assert isinstance(refused, InvalidFactError)
        assert path == refused.path
        assert ["ESC-1", "ESC-3"] == [state.escalation_id for state in service.escalations()]
        before = contents(service)
        with pytest.raises(InvalidFactError):
            service.handle(opened("ESC-4", **changes))
        assert before == contents(service)


@pytest.mark.parametrize("field", sorted(ID_FIELDS))
def test_run_keep_going_refuses_an_overlong_id_and_goes_past_it_on_every_store(
    new_store_url: Any,
    field: str,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Such a line once stopped `run` on PostgreSQL at every restart (exit 5): it is a refused
    line like any other, on every store."""
    path = tmp_path / "feed.jsonl"
    lines = [opened("ESC-1"), opened("ESC-2", **{field: LONG_ID}), opened("ESC-3")]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    store = new_store_url()
    command = ["run", "--store", store, "--format", "json", "--keep-going", str(path)]
    assert 2 == main(command)
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    refused = [line for line in out if line["type"] == "refused"]
    assert [(2, "invalid_fact", f"$.{field}")] == [
        (line["line"], line["code"], line["path"]) for line in refused
    ]
    handled = {line["escalation_id"] for line in out if line["type"] != "refused"}
    assert {"ESC-1", "ESC-3"} == handled
    assert main(command) in (0, 2), "run again: no store error"
    assert "store" not in capsys.readouterr().err
    with Service(store) as service:
        assert ["ESC-1", "ESC-3"] == [s.escalation_id for s in service.escalations()]


def test_run_without_keep_going_stops_at_an_overlong_id_as_bad_input(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [opened("ESC-1"), opened(LONG_ID), opened("ESC-3")]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    store = new_store_url()
    assert 2 == main(["run", "--store", store, "--format", "json", str(path)])
    err = capsys.readouterr().err
    assert f"line 2: got '{LONG_ID[:10]}" in err
    assert f"(3,000 characters), expected an id of at most {MAX_ID_LENGTH} characters" in err
    with Service(store) as service:
        assert ["ESC-1"] == [s.escalation_id for s in service.escalations()]


# The converter's fast path, cattrs and a fact built in Python take exactly the same facts.
LENGTHS = st.sampled_from([0, 1, 2, MAX_ID_LENGTH, MAX_ID_LENGTH + 1])
TEXT_LENGTHS = st.sampled_from([0, 1, MAX_TEXT_LENGTH - 1, MAX_TEXT_LENGTH, MAX_TEXT_LENGTH + 1])


def _expected_size(body: dict[str, Any]) -> int | None:
    """The size of a body's text as the limits count it, or ``None`` if one text is too long:
    worked out here from the documented rule, not from the library's code."""
    size = 0
    for key, value in body.items():
        if key in ("type", "at", "segment", "severity", "purpose", "by"):
            continue
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if text is None:
                continue
            limit = MAX_ID_LENGTH if key in ID_FIELDS else MAX_TEXT_LENGTH
            if len(text) > limit:
                return None
            size += len(text) + 1
    return size


@settings(max_examples=examples(60), deadline=None)
@given(
    escalation_id=LENGTHS.filter(bool),
    fact_id=LENGTHS,
    first=TEXT_LENGTHS,
    second=TEXT_LENGTHS,
    milestones=st.lists(TEXT_LENGTHS, max_size=5),
    kind=st.sampled_from(["opened", "status_changed"]),
)
def test_every_way_in_takes_a_fact_exactly_when_its_texts_are_within_the_limits(
    escalation_id: int, fact_id: int, first: int, second: int, milestones: list[int], kind: str
) -> None:
    """The converter (its fast path, else cattrs), cattrs alone and a fact built in Python
    each take the fact exactly when the documented rule says so."""
    body: dict[str, Any]
    if kind == "opened":
        body = opened("e" * escalation_id, summary="s" * first, tam="t" * second or None)
    else:
        body = {
            "type": "status_changed",
            "at": T0.isoformat(),
            "escalation_id": "e" * escalation_id,
            "status": "s" * first or "ok",
            "milestones": ["m" * length for length in milestones],
        }
    if fact_id:
        body["id"] = "i" * fact_id
    size = _expected_size(body)
    expected = size is not None and size <= MAX_FACT_SIZE
    cls = default_policy().contract.facts[kind]
    fields = {key: value for key, value in body.items() if key != "type"}
    outcomes = []
    for read in (
        lambda: CONVERTER.structure(body, Fact),
        lambda: CONVERTER.gen_structure_attrs_fromdict(cls)(fields, cls),
        lambda: cls(**fields | {"at": parse_timestamp(body["at"])}),
    ):
        try:
            read()
            outcomes.append(True)
        except (InvalidFactError, ClassValidationError):  # cattrs alone wraps the class's error
            outcomes.append(False)
    assert [expected] * 3 == outcomes


def test_a_source_name_over_the_limit_is_refused_through_the_python_api(new_store_url: Any) -> None:
    with Service(new_store_url()) as service:
        with pytest.raises(InvalidFactError, match=r"257 characters.*@ source"):
            service.handle_many([opened("ESC-1")], source="s" * (MAX_ID_LENGTH + 1))
        assert () == service.escalations()


def test_a_file_whose_path_is_too_long_to_index_is_still_resumed(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store remembers how far it read a file under its path, or a digest of a path longer
    than an index takes: a second run reads nothing again, on every store."""
    folder = tmp_path
    while len(str(folder)) < MAX_ID_LENGTH + 10:
        folder = folder / ("d" * 40)
    folder.mkdir(parents=True)
    path = folder / "feed.jsonl"
    path.write_text(json.dumps(opened("ESC-1")) + "\n")
    store = new_store_url()
    command = ["run", "--store", store, "--format", "json", str(path)]
    assert 0 == main(command)
    assert {"ESC-1"} == {
        json.loads(line)["escalation_id"] for line in capsys.readouterr().out.splitlines()
    }
    assert 0 == main(command)
    assert "" == capsys.readouterr().out
