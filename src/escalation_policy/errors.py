"""The library's errors: one base class, input problems also subclass ``ValueError``.

Every error has a stable ``code`` (catalogued in ``docs/errors.md``) and a message that says
what arrived, what was expected and where.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Iterable

__all__ = [
    "ClockJumpError",
    "DuplicateEscalationError",
    "DuplicateFactError",
    "EngineFailure",
    "EngineUnavailableError",
    "EscalationClosedError",
    "EscalationDamagedError",
    "InputError",
    "InvalidFactError",
    "InvalidSnapshotError",
    "PolicyChangedError",
    "PolicyDefinitionError",
    "PolicyError",
    "StaleFactError",
    "StoreError",
    "UnknownEscalationError",
]


class PolicyError(Exception):
    """Base class of every error the library raises on purpose."""

    # Not ClassVar: typing is not imported for the command line's --help, and a name imported
    # only for the type checker would leave typing.get_type_hints unable to resolve it.
    code: str = "policy_error"
    """The error's stable code, the same for every error of its class."""


class InputError(PolicyError, ValueError):
    """A fact (or a line of a file) that the policy cannot take. Nothing was changed."""

    code: str = "input_error"
    fact_id: str | None = None
    """The ``id`` of the fact refused, when it was read far enough to show one (a refusal a
    store records keeps it)."""
    file: str | None = None
    """The file ``line`` is in, when it was located in one: a Parquet file's is a row."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.reason = message
        self.path = path
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.reason
        if self.path:
            text = f"{text} @ {self.path}"
        if self.line is not None:
            text = f"{position(self.file, self.line)}: {text}"
        return text

    def at_line(self, line: int, file: str | None = None) -> InputError:
        """The same error, located at ``line`` of a file (of ``file``: its row, in a Parquet
        file)."""
        self.line = line
        self.file = file
        self.args = (self._render(),)
        return self


class InvalidFactError(InputError):
    """The fact does not have the shape of the JSON contract."""

    code = "invalid_fact"


class UnknownEscalationError(InputError):
    """The fact names an escalation the engine does not hold."""

    code = "unknown_escalation"


class DuplicateEscalationError(InputError):
    """An ``opened`` fact for an escalation that is already open."""

    code = "duplicate_escalation"


class DuplicateFactError(InputError):
    """A fact whose ``id`` was handled before, with other content: a redelivery must be the
    same fact."""

    code = "duplicate_fact"


class EscalationClosedError(InputError):
    """A fact that would change an escalation that is already closed."""

    code = "escalation_closed"


class StaleFactError(InputError):
    """A fact older than the engine's clock: facts must arrive in time order."""

    code = "stale_fact"


class ClockJumpError(InputError):
    """A fact further ahead of the engine's clock than the engine was told to accept."""

    code = "clock_jump"


class InvalidSnapshotError(InputError):
    """A snapshot given to ``PolicyEngine.restore`` that is not one the library wrote."""

    code = "invalid_snapshot"


class PolicyChangedError(InvalidSnapshotError):
    """Escalations planned under one policy (a snapshot, a store) taken up under another: the
    host must ask to re-plan them (``PolicyEngine.restore(..., replan=True)`` then
    ``replan()``, ``Service(..., replan=True)`` then ``replan(now)``, or ``escalation-policy
    replan``). ``planned`` and ``loaded`` are the two policies' identities."""

    code = "policy_changed"

    def __init__(self, message: str, *, planned: str, loaded: str, path: str | None = None) -> None:
        self.planned = planned
        self.loaded = loaded
        super().__init__(message, path=path)


class PolicyDefinitionError(PolicyError):
    """A rule module is wrong; raised when the policy is loaded, never while it runs.

    ``file`` and ``line`` say where the rule at fault was declared (the call that built the
    table, row or reaction), ``module`` and ``rule`` which module and rule it is. The message
    starts with them: ``rules/severity.py:41: module m, rule r: what is wrong``. The file is
    shown relative to the current directory when it is under it.
    """

    code = "policy_definition"

    def __init__(
        self,
        message: str,
        *,
        module: str | None = None,
        rule: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = message
        self.module = module
        self.rule = rule
        self.file = file
        self.line = line
        where = ", ".join(
            part
            for part in (f"module {module}" if module else "", f"rule {rule}" if rule else "")
            if part
        )
        text = f"{where}: {message}" if where else message
        if file:
            text = (
                f"{_shown(file)}:{line}: {text}" if line is not None else f"{_shown(file)}: {text}"
            )
        super().__init__(text)


def is_parquet(path: str) -> bool:
    """Whether a file is read as Parquet, a row a fact (else as JSON lines)."""
    return os.path.splitext(path)[1].lower() in (".parquet", ".pq")


def unit_of(file: str | None) -> str:
    """What a position in an input counts: a Parquet file's rows, else lines."""
    return "row" if file is not None and is_parquet(file) else "line"


def position(file: str | None, number: int) -> str:
    """A position in an input, as messages give it: ``row 3`` of a Parquet file, else
    ``line 3``."""
    return f"{unit_of(file)} {number}"


def _shown(file: str) -> str:
    """``file`` relative to the current directory when it is under it, else as it is."""
    try:
        path = os.path.abspath(file)
        here = os.getcwd()
    except (OSError, ValueError):  # a deleted working directory, a file name Python rejects
        return file
    if os.path.isabs(file) and path.startswith(os.path.join(here, "")):
        return os.path.relpath(path, here)
    return file


class EngineUnavailableError(PolicyError, RuntimeError):
    """The requested rule engine cannot run on this Python or is not installed."""

    code = "engine_unavailable"


class EngineFailure(PolicyError, RuntimeError):
    """The rule engine failed while matching a fact, and the engine's state is unchanged; or
    the native engine stopped after an unexpected error in the middle of a fact (restore a new
    one from a snapshot)."""

    code = "engine_failure"


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = 80
_SHORT.maxother = 80
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6


def describe(value: object) -> str:
    """A short rendering of ``value`` for a message: ``null`` for ``None``, else a bounded
    ``repr``. It never fails: not on deep nesting, huge numbers or a broken ``__repr__``."""
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    try:
        return _SHORT.repr(value)
    except Exception:  # a host's object whose repr fails still gets a message
        return f"a {type(value).__name__}"


def did_you_mean(got: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``got`` is close to one of ``choices``, else ``''``."""
    if not isinstance(got, str) or len(got) > 200:
        return ""
    import difflib  # here: only a mistake needs it

    close = difflib.get_close_matches(got, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class StoreError(PolicyError):
    """A store cannot be opened, read or written (a wrong URL, a database that is down, a
    schema written by a newer version). What the failed call was doing was not committed."""

    code = "store_error"


class EscalationDamagedError(InputError, StoreError):
    """A fact about an escalation whose stored state no engine writes (its row edited by hand
    or damaged): refused, as an input error is, so that the other facts of its batch are
    decided; the escalation is set aside until its row is repaired. Both an
    :class:`InputError` and a :class:`StoreError`."""

    code = "escalation_damaged"
