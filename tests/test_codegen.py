"""Generated functions show their own lines in tracebacks, as attrs' generated methods do."""

import datetime as dt
import hashlib
import linecache
import traceback
import types
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from escalation_policy import make_converter
from escalation_policy._language.codegen import generate
from escalation_policy._sha256 import sha256_hex
from escalation_policy.model import AssignOwner
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
    # A quick __init__ is generated when its class first builds an object by its keywords
    # (the engine builds most without calling the class).
    AssignOwner(
        escalation_id="E",
        at=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc),
        rule="r",
        cites="c",
        owner="tam",
    )
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


_TEMPLATE_PIECES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=6).map(
        lambda text: text.replace("{", "{{").replace("}", "}}")
    ),
    st.sampled_from(["{customer}", "{tam}", "{customer!r}", "{tam:>8}", "{}", "{{", "}}"]),
)


@given(st.lists(_TEMPLATE_PIECES, max_size=6), st.one_of(st.none(), st.text(max_size=5)))
def test_an_emitted_text_is_formatted_as_its_template_formats_it(
    pieces: list[str], tam: str | None
) -> None:
    """The f-string an emitter writes for a template of text and plain fields makes what
    ``template.format(...)`` makes, of the same type; any other template is left to it."""
    from escalation_policy.policy.emitters import _formatted

    template = "".join(pieces)
    formatted = _formatted(template)
    record = types.SimpleNamespace(customer=_Customer("Acme"), tam=tam)
    if formatted is None:
        return
    found = eval(formatted, {}, {"record": record})  # the generated expression
    expected = template.format(customer=record.customer, tam=record.tam)
    assert found == expected
    assert type(found) is type(expected) is str


class _Customer(str):
    """A text whose format is its own: the f-string must call it as str.format does."""

    def __format__(self, spec: str) -> str:
        return _Customer(f"<{self!s}>")
