"""Facts (host to library) and actions (library to host), and the JSON edge that reads them.

The JSON shape is a public contract, documented in ``docs/json-contract.md``: every object has a
``"type"`` tag, timestamps are ISO-8601 with a timezone, enumerations are lower-case strings.
"""

import datetime as dt
import enum
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from escalation_policy._frozen import quick_init
from escalation_policy._typed import NON_EMPTY, FieldProblem, check_fields, clean_string, to_instant
from escalation_policy.errors import InvalidFactError, describe, did_you_mean

if TYPE_CHECKING:  # cattrs is imported when a converter is built, not with the model
    import cattrs

__all__ = [
    "ACTION_TYPES",
    "FACT_TYPES",
    "AccountIssue",
    "AccountIssueKind",
    "Action",
    "AssignOwner",
    "Cadence",
    "Closed",
    "CreateTrackerDocument",
    "EnhancementRequested",
    "EscalationFact",
    "ExecutiveSummaryUpdated",
    "Fact",
    "InformTam",
    "MeetingAudience",
    "MeetingHeld",
    "Opened",
    "OutOfScope",
    "PostPurpose",
    "PostReason",
    "PostToChannel",
    "Posted",
    "Reminder",
    "RequestProductEscalation",
    "RiskReduced",
    "Role",
    "RouteToTam",
    "Segment",
    "SetCadence",
    "SetInvolvement",
    "Severity",
    "SeverityChanged",
    "Status",
    "StatusChanged",
    "TamAssigned",
    "TamInformed",
    "Team",
    "Tick",
    "UpdateExecutiveSummary",
    "Violation",
    "ViolationCode",
    "make_converter",
]


class _Labelled(str, enum.Enum):
    """A JSON string enumeration whose members also carry the handbook's wording."""

    label: str

    def __new__(cls, value: str, label: str = "") -> "_Labelled":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value.replace("_", " ").capitalize()
        return member

    def __str__(self) -> str:
        return str(self.value)


class Severity(_Labelled):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Segment(_Labelled):
    ENTERPRISE = "enterprise", "Enterprise"
    COMMERCIAL = "commercial", "Commercial"
    SMB = "smb", "SMB"


class Team(_Labelled):
    TAM = "tam", "TAM"
    SUPPORT_ENGINEERING = "support_engineering", "Support Engineering"
    CUSTOMER_SUCCESS = "customer_success", "Customer Success"
    OTHER = "other", "Other"


class Role(_Labelled):
    VP_SALES = "vp_sales", "VP of Sales"
    PRODUCT = "product", "Product"
    CRO = "cro", "CRO"
    CEO = "ceo", "CEO"
    VP_CUSTOMER_SUCCESS = "vp_customer_success", "VP of Customer Success"
    DIRECTOR_CUSTOMER_SUCCESS = "director_customer_success", "Director of Customer Success"
    ACCOUNT_MANAGER = "account_manager", "Account Manager"


class Cadence(_Labelled):
    DAILY = "daily", "Daily"
    MULTIPLE_PER_WEEK = "multiple_per_week", "Multiple times per week"
    WEEKLY_TO_BIWEEKLY = "weekly_to_biweekly", "Weekly to Bi-weekly"
    STANDARD = "standard", "Standard Communication"


class PostPurpose(_Labelled):
    CREATED = "created"
    UPDATE = "update"
    CLOSED = "closed"
    RISK_REDUCED = "risk_reduced"
    INITIATION = "initiation"
    TRACKING = "tracking"


class PostReason(_Labelled):
    """Why the policy requires a post to ``#escalated_customers``."""

    CREATED = "created"
    UPDATE = "update"
    CLOSED = "closed"
    RISK_REDUCED = "risk_reduced"


class MeetingAudience(_Labelled):
    INTERNAL = "internal"
    CUSTOMER = "customer"
    EXECUTIVE = "executive"


class AccountIssueKind(_Labelled):
    DELAYED_RESPONSE = "delayed_response", "Delayed response"
    OPEN_ACTIONS = "open_actions", "Open actions"
    NON_COMPLIANT_INSTALLATION = "non_compliant_installation", "Non-compliant installation"


class Status(str, enum.Enum):
    """Where an escalation stands."""

    ACTIVE = "active"
    RISK_REDUCED = "risk_reduced"
    CLOSED = "closed"


class ViolationCode(_Labelled):
    POST_OVERDUE = "post_overdue"
    UPDATE_OVERDUE = "update_overdue"
    MEETING_OVERDUE = "meeting_overdue"
    TAM_NOT_INFORMED = "tam_not_informed"
    EXECUTIVE_SUMMARY_OVERDUE = "executive_summary_overdue"
    CHANNEL_MISUSE = "channel_misuse"
    WRONG_POSTER = "wrong_poster"


OMIT_IF_DEFAULT: Mapping[str, bool] = {"omit_if_default": True}
"""Field metadata: the JSON form leaves the field out while it holds its default."""


# ---------------------------------------------------------------------------------------- facts
@attrs.frozen(kw_only=True)
class Fact:
    """Something that happened, reported by the host. ``at`` is when it happened.

    A fact built in Python is checked as strictly as its JSON form: a value that does not fit
    its field raises :class:`~escalation_policy.errors.InvalidFactError` naming the field. An
    enumeration's value may be given as its JSON string (``severity="low"``). Timestamps must
    carry a timezone and are kept in UTC.
    """

    TYPE: ClassVar[str] = ""
    at: dt.datetime

    def __attrs_post_init__(self) -> None:
        check_fields(self)


@attrs.frozen(kw_only=True)
class EscalationFact(Fact):
    """A fact about one escalation."""

    escalation_id: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class Opened(EscalationFact):
    """An escalation was opened (any team member may open one)."""

    TYPE = "opened"
    customer: str = attrs.field(metadata=NON_EMPTY)
    segment: Segment
    severity: Severity
    strategic_partnership: bool = False
    broad_impact: bool = False
    initiated_by: Team = Team.OTHER
    opened_by: str | None = None
    tam: str | None = None
    issue_type: str | None = None
    summary: str | None = None


@attrs.frozen(kw_only=True)
class SeverityChanged(EscalationFact):
    TYPE = "severity_changed"
    severity: Severity


@attrs.frozen(kw_only=True)
class TamAssigned(EscalationFact):
    TYPE = "tam_assigned"
    tam: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class Posted(EscalationFact):
    """A message about the escalation was posted to a Slack channel."""

    TYPE = "posted"
    channel: str = attrs.field(metadata=NON_EMPTY)
    purpose: PostPurpose
    by: Team
    url: str | None = None


@attrs.frozen(kw_only=True)
class MeetingHeld(EscalationFact):
    TYPE = "meeting_held"
    audience: MeetingAudience


@attrs.frozen(kw_only=True)
class TamInformed(EscalationFact):
    TYPE = "tam_informed"


@attrs.frozen(kw_only=True)
class StatusChanged(EscalationFact):
    """The status of the overall engagement changed (top-level issue status, milestones)."""

    TYPE = "status_changed"
    status: str = attrs.field(metadata=NON_EMPTY)
    milestones: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ExecutiveSummaryUpdated(EscalationFact):
    TYPE = "executive_summary_updated"


@attrs.frozen(kw_only=True)
class EnhancementRequested(EscalationFact):
    TYPE = "enhancement_requested"
    summary: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class AccountIssue(EscalationFact):
    TYPE = "account_issue"
    kind: AccountIssueKind


@attrs.frozen(kw_only=True)
class RiskReduced(EscalationFact):
    """Risk was reduced to the standard business process (issue resolved, monitoring)."""

    TYPE = "risk_reduced"


@attrs.frozen(kw_only=True)
class Closed(EscalationFact):
    TYPE = "closed"


@attrs.frozen(kw_only=True)
class Tick(Fact):
    """Time passed; nothing else happened."""

    TYPE = "tick"


FACT_TYPES: Mapping[str, type[Fact]] = {
    cls.TYPE: cls
    for cls in (
        Opened,
        SeverityChanged,
        TamAssigned,
        Posted,
        MeetingHeld,
        TamInformed,
        StatusChanged,
        ExecutiveSummaryUpdated,
        EnhancementRequested,
        AccountIssue,
        RiskReduced,
        Closed,
        Tick,
    )
}


# -------------------------------------------------------------------------------------- actions
@quick_init
@attrs.frozen(kw_only=True)
class Action:
    """Something the host should do. ``rule`` produced it; ``cites`` is its handbook section.

    Actions are outputs, built by the engine from validated facts: unlike facts they run no
    validators (the JSON edge still refuses a timestamp without a timezone when reading one).
    """

    TYPE: ClassVar[str] = ""
    escalation_id: str
    at: dt.datetime
    rule: str
    cites: str


@quick_init
@attrs.frozen(kw_only=True)
class AssignOwner(Action):
    TYPE = "assign_owner"
    owner: Team


@quick_init
@attrs.frozen(kw_only=True)
class SetInvolvement(Action):
    TYPE = "set_involvement"
    roles: tuple[Role, ...]
    added: tuple[Role, ...]
    removed: tuple[Role, ...]


@quick_init
@attrs.frozen(kw_only=True)
class SetCadence(Action):
    TYPE = "set_cadence"
    cadence: Cadence


@quick_init
@attrs.frozen(kw_only=True)
class CreateTrackerDocument(Action):
    TYPE = "create_tracker_document"
    title: str


@quick_init
@attrs.frozen(kw_only=True)
class PostToChannel(Action):
    TYPE = "post_to_channel"
    channel: str
    by: Team
    reason: PostReason
    due: dt.datetime


@quick_init
@attrs.frozen(kw_only=True)
class InformTam(Action):
    TYPE = "inform_tam"
    tam: str
    due: dt.datetime


@quick_init
@attrs.frozen(kw_only=True)
class UpdateExecutiveSummary(Action):
    TYPE = "update_executive_summary"
    due: dt.datetime


@quick_init
@attrs.frozen(kw_only=True)
class RequestProductEscalation(Action):
    TYPE = "request_product_escalation"
    template: str


@quick_init
@attrs.frozen(kw_only=True)
class RouteToTam(Action):
    TYPE = "route_to_tam"
    kind: AccountIssueKind
    tam: str | None = None


@quick_init
@attrs.frozen(kw_only=True)
class Violation(Action):
    """The policy was not followed. ``due`` is when the missed obligation fell due, if any.

    Consecutive missed periods of a periodic obligation noticed at once are one violation:
    ``periods`` counts them and ``last_due`` is the due time of the last (both are left out of
    the JSON form when one period was missed).
    """

    TYPE = "violation"
    code: ViolationCode
    detail: str
    due: dt.datetime | None = None
    periods: int = attrs.field(default=1, metadata=OMIT_IF_DEFAULT)
    last_due: dt.datetime | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)


@quick_init
@attrs.frozen(kw_only=True)
class Reminder(Action):
    """An obligation falls due soon and is not met yet: nudge ``owner`` before it is missed.

    Sent once per due time, ``remind_before`` ahead of it as the rule that made the obligation
    says. ``key`` says which instance, for a keyed obligation (the reason of a required post).
    """

    TYPE = "reminder"
    obligation: str
    due: dt.datetime
    owner: Team | None = None
    key: str | None = attrs.field(default=None, metadata=OMIT_IF_DEFAULT)


@quick_init
@attrs.frozen(kw_only=True)
class OutOfScope(Action):
    TYPE = "out_of_scope"
    reason: str


ACTION_TYPES: Mapping[str, type[Action]] = {
    cls.TYPE: cls
    for cls in (
        AssignOwner,
        SetInvolvement,
        SetCadence,
        CreateTrackerDocument,
        PostToChannel,
        InformTam,
        UpdateExecutiveSummary,
        RequestProductEscalation,
        RouteToTam,
        Violation,
        OutOfScope,
        Reminder,
    )
}


# ------------------------------------------------------------------------------------ converter
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{3}(\d{3})?)?)?([Zz]|[+-]\d{2}:\d{2})"
)
"""The timestamps of the contract, the same on every Python: date, time to the microsecond
(3 or 6 digits), and a timezone (``Z`` or an offset in hours and minutes)."""


def parse_timestamp(value: object) -> dt.datetime:
    """An ISO-8601 timestamp with a timezone (``Z`` allowed), in UTC, else a FieldProblem."""
    if isinstance(value, str):
        if _TIMESTAMP.fullmatch(value) is None:
            if _TIMESTAMP.fullmatch(value + "Z") is not None:
                raise FieldProblem(
                    f"got {describe(value)} without a timezone, "
                    "expected a timezone such as 'Z' or '+00:00'"
                )
            raise FieldProblem(
                f"got {describe(value)}, expected an ISO-8601 timestamp with a timezone, "
                "such as '2026-03-02T09:00:00Z' or '2026-03-02T10:00:00+01:00'"
            )
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise FieldProblem(
                f"got {describe(value)}, expected an ISO-8601 timestamp with a timezone"
            ) from None
        return to_instant(parsed)
    if isinstance(value, dt.datetime):
        return to_instant(value)
    raise FieldProblem(
        f"got {describe(value)}, expected an ISO-8601 timestamp string with a timezone"
    )


def _format_timestamp(value: dt.datetime) -> str:
    return value.isoformat()


def _strict_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise FieldProblem(f"got {describe(value)}, expected a string")
    if not clean_string(value):
        raise FieldProblem(f"got {describe(value)}, expected text without lone surrogates")
    return value


def _strict_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise FieldProblem(f"got {describe(value)}, expected true or false")
    return value


def _strict_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(f"got {describe(value)}, expected an integer")
    return value


def _strings(value: object, _type: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise FieldProblem(f"got {describe(value)}, expected a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise FieldProblem(f"got {describe(item)}, expected a string", step=f"[{index}]")
        if not clean_string(item):
            raise FieldProblem(
                f"got {describe(item)}, expected text without lone surrogates", step=f"[{index}]"
            )
    return tuple(value)


def _seconds(value: object, _type: object) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldProblem(f"got {describe(value)}, expected a number of seconds")
    try:
        return dt.timedelta(seconds=value)
    except OverflowError:
        raise FieldProblem(f"got {describe(value)}, expected a number of seconds") from None


E = TypeVar("E", bound=enum.Enum)


def _enum_hook(cls: type[E]) -> Callable[[object, object], E]:
    values = [str(member.value) for member in cls]

    def structure(value: object, _type: object) -> E:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise FieldProblem(
            f"got {describe(value)}, expected one of {', '.join(values)}"
            + did_you_mean(value, values)
        )

    return structure


_ENUMS: tuple[type[enum.Enum], ...] = (
    Severity,
    Segment,
    Team,
    Role,
    Cadence,
    PostPurpose,
    PostReason,
    MeetingAudience,
    AccountIssueKind,
    ViolationCode,
    Status,
)


def explain(error: BaseException, path: str) -> tuple[str, str]:
    """The first leaf problem in a cattrs error tree, as (message, JSON path)."""
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(error, ForbiddenExtraKeysError):
        extra = sorted(error.extra_fields, key=lambda key: (not isinstance(key, str), str(key)))
        known = [a.name for a in attrs.fields(error.cl)]
        if getattr(error.cl, "TYPE", ""):
            known.append("type")
        first = extra[0]
        takes = f"{getattr(error.cl, 'TYPE', '') or error.cl.__name__!r} takes"
        if not isinstance(first, str):
            return (
                f"got the key {describe(first)}, expected field names (strings); "
                f"{takes} {', '.join(sorted(known))}",
                path,
            )
        return (
            f"unknown field {describe(first)}{did_you_mean(first, known)}; "
            f"{takes} {', '.join(sorted(known))}",
            f"{path}.{first}" if first.isidentifier() else f"{path}[{describe(first)}]",
        )
    if isinstance(error, (ClassValidationError, IterableValidationError)):
        for sub in error.exceptions:
            step = ""
            for note in getattr(sub, "__notes__", ()):
                name = getattr(note, "name", None)
                index = getattr(note, "index", None)
                if name is not None:
                    step = f".{name}"
                elif index is not None:
                    step = f"[{index}]"
            if isinstance(sub, KeyError) and step:
                return "required field is missing", f"{path}{step}"
            return explain(sub, f"{path}{step}")
    if isinstance(error, FieldProblem):
        return str(error), path + error.step
    if isinstance(error, InvalidFactError):  # a check of the class itself
        return error.reason, path + (error.path or "$")[1:]
    return f"invalid value ({type(error).__name__})", path


@functools.lru_cache(maxsize=1)
def shared_converter() -> "cattrs.Converter":
    """One converter for the process: building one compiles code (milliseconds), and a built
    converter is never changed, so engines and the command line share this one."""
    return make_converter()


def make_converter() -> "cattrs.Converter":
    """The converter for the JSON edge: facts, actions and engine state.

    Unknown keys are errors; ``type`` tags the union of facts and of actions. Problems raise
    :class:`~escalation_policy.errors.InvalidFactError` naming the field, the value and what
    was expected.
    """
    import cattrs
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

    from escalation_policy._fastpath import Fallback, action_writer, fact_reader

    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(dt.datetime, lambda value, _: parse_timestamp(value))
    converter.register_unstructure_hook(dt.datetime, _format_timestamp)
    converter.register_structure_hook(dt.timedelta, _seconds)
    converter.register_unstructure_hook(dt.timedelta, lambda value: value.total_seconds())
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], _strings)
    # Each enumeration by its class: being str-based, it would otherwise take the str hook.
    for enum_cls in _ENUMS:
        converter.register_structure_hook(enum_cls, _enum_hook(enum_cls))
        converter.register_unstructure_hook(enum_cls, lambda member: member.value)

    # The well-formed case skips cattrs (see _fastpath); anything else is cattrs' to judge.
    readers = {cls: fact_reader(cls, parse_timestamp) for cls in FACT_TYPES.values()}
    writers = {cls: action_writer(cls) for cls in ACTION_TYPES.values()}

    generated: dict[type[Any], Callable[[Any, Any], Any]] = {}

    def tagged(base: type[Any], registry: Mapping[str, type[Any]], noun: str) -> None:
        def structure(value: object, _type: object) -> Any:
            return structure_tagged(value, registry, noun)

        def unstructure(obj: Any) -> dict[str, Any]:
            return unstructure_one[type(obj)](obj)

        def with_tag(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
            untagged = converter.gen_unstructure_attrs_fromdict(cls)
            tag = cls.TYPE

            def unstructure(obj: Any) -> dict[str, Any]:
                return {"type": tag, **untagged(obj)}

            return unstructure

        def one_type(cls: type[Any]) -> Callable[[object, object], Any]:
            only = {cls.TYPE: cls}

            def structure(value: object, _type: object) -> Any:
                if isinstance(value, Mapping) and "type" not in value:
                    value = {"type": cls.TYPE, **value}
                return structure_tagged(value, only, noun)

            return structure

        # Registered on the base, a hook would also catch every subclass (singledispatch):
        # each concrete class gets its own hooks first. Each writes the "type" tag, and reads
        # it (or its absence) when asked for the class itself.
        unstructure_one: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
        for cls in registry.values():
            generated[cls] = converter.gen_structure_attrs_fromdict(cls)
            converter.register_structure_hook(cls, one_type(cls))
            unstructure_one[cls] = writers.get(cls) or with_tag(cls)
            converter.register_unstructure_hook(cls, unstructure_one[cls])
        converter.register_structure_hook(base, structure)
        converter.register_unstructure_hook(base, unstructure)

    def structure_tagged(value: object, registry: Mapping[str, type[Any]], noun: str) -> Any:
        if not isinstance(value, Mapping):
            raise InvalidFactError(
                f"got {describe(value)}, expected a JSON object with a 'type'", path="$"
            )
        tag = value.get("type")
        if tag is None:
            raise InvalidFactError(
                f"required field is missing; expected one of {', '.join(registry)}",
                path="$.type",
            )
        cls = registry.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise InvalidFactError(
                f"unknown {noun} type {describe(tag)}{did_you_mean(tag, registry)}; "
                f"expected one of {', '.join(registry)}",
                path="$.type",
            )
        reader = readers.get(cls)
        if reader is not None:
            try:
                return reader(value)
            except Fallback:
                pass
        body = {key: item for key, item in value.items() if key != "type"}
        try:
            return generated[cls](body, cls)
        except InvalidFactError:
            raise
        except (ClassValidationError, ForbiddenExtraKeysError, FieldProblem) as error:
            message, path = explain(error, "$")
            raise InvalidFactError(message, path=path) from None

    tagged(Fact, FACT_TYPES, "fact")
    tagged(Action, ACTION_TYPES, "action")
    return converter
