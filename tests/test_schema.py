"""The JSON Schema of a policy's facts and actions: what a host in another language validates
against. Every fact the library takes passes it, and every fact it rejects the library refuses."""

import json
import pathlib
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation_policy import (
    Fact,
    InputError,
    PolicyEngine,
    json_schema,
    load_policy,
    make_converter,
)
from escalation_policy.cli import main
from escalation_policy.engine import read_fact
from escalation_policy.model import Action
from escalation_policy.testing import strategies
from tests.conftest import examples

CONVERTER = make_converter()

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
LATER = ROOT / "examples" / "policies" / "later_process"

SCHEMA = json_schema()
FACTS = fastjsonschema.compile(SCHEMA)
ACTIONS = fastjsonschema.compile({**SCHEMA, "allOf": [{"$ref": "#/definitions/action"}]})


def _valid(validate: Any, value: object) -> bool:
    try:
        validate(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_fact_and_action_of_the_examples_passes_the_schema(path: pathlib.Path) -> None:
    engine = PolicyEngine()
    for line in path.read_text().splitlines():
        fact = json.loads(line)
        assert _valid(FACTS, fact), line
        for action in engine.handle(fact).actions:
            body = CONVERTER.unstructure(action, Action)
            assert _valid(ACTIONS, json.loads(json.dumps(body))), body


def test_a_companys_policy_has_its_own_schema() -> None:
    later = load_policy(str(LATER))
    schema = json_schema(later)
    assert "fact.opened" in schema["definitions"]
    assert "segment" not in schema["definitions"]["fact.opened"]["properties"]
    validate = fastjsonschema.compile(schema)
    for path in sorted((LATER / "examples").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            assert _valid(validate, json.loads(line)), line


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.facts())
def test_every_fact_the_library_draws_passes_the_schema(fact: Fact) -> None:
    assert _valid(FACTS, json.loads(json.dumps(CONVERTER.unstructure(fact, Fact))))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.facts(), st.data())
def test_a_fact_the_schema_rejects_the_library_refuses(fact: Fact, data: st.DataObject) -> None:
    body: dict[str, Any] = json.loads(json.dumps(CONVERTER.unstructure(fact, Fact)))
    key = data.draw(st.sampled_from([*body, "surprise"]))
    if data.draw(st.booleans()) and key != "type":
        body.pop(key, None)
    else:
        body[key] = data.draw(JSON)
    if _valid(FACTS, body):
        return  # the schema takes it: the library may still refuse it (a date out of range)
    with pytest.raises(InputError):
        read_fact(body)


def test_the_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["schema"])
    assert SCHEMA == json.loads(capsys.readouterr().out)
