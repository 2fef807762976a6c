"""Generated functions show their own lines in tracebacks, as attrs' generated methods do."""

import hashlib
import linecache
import traceback
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from escalation_policy import make_converter
from escalation_policy._language.codegen import generate
from escalation_policy._sha256 import sha256_hex
from escalation_policy.policy.record import Record


def test_a_traceback_through_generated_code_shows_its_lines() -> None:
    divide = generate(["def divide(a, b):", "    return a / b  # the generated line"], {}, "demo")
    try:
        divide(1, 0)
    except ZeroDivisionError as error:
        shown = "".join(traceback.format_exception(error))
    assert "return a / b  # the generated line" in shown
    assert "<escalation_policy generated demo " in shown


def test_the_librarys_generated_functions_are_registered_with_linecache() -> None:
    make_converter()  # builds the readers and writers
    Record.thaw(_a_state())  # the record copies are generated too
    generated = [
        name
        for name in linecache.cache
        if isinstance(name, str) and name.startswith("<escalation_policy generated")
    ]
    for what in ("reader for Opened", "writer for Violation", "record copy", "__init__ of"):
        assert any(what in name for name in generated), what
    for name in generated:
        assert linecache.getline(name, 1).startswith("def "), name


def _a_state() -> Any:
    from escalation_policy import decide

    opened = {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": "E",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "low",
    }
    return decide(None, opened).state


@given(st.binary())
def test_the_digests_a_start_takes_are_sha256s(data: bytes) -> None:
    """The digest that names generated functions and pins calendars is SHA-256, from
    CPython's own module where there is one instead of OpenSSL's."""
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
