"""The JSON contract: facts and actions as tagged JSON objects, and clear errors."""

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given

from escalation_policy import (
    Action,
    Fact,
    InvalidFactError,
    Opened,
    Segment,
    Severity,
    make_converter,
)
from escalation_policy.testing import strategies

CONVERTER = make_converter()
OPENED = {
    "type": "opened",
    "at": "2026-03-02T09:00:00Z",
    "escalation_id": "ESC-1",
    "customer": "Acme",
    "segment": "enterprise",
    "severity": "critical",
}


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
