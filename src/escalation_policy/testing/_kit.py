"""The timeline builder and the assertions of the testing kit (no pytest needed)."""

import datetime as dt
import enum
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from escalation_policy._audit import AuditReport, audit
from escalation_policy._convert import shared_converter
from escalation_policy._language.context import scalar
from escalation_policy.engine import Decision, PolicyEngine
from escalation_policy.model import ACTION_FIELDS, Action, Fact
from escalation_policy.policy import Policy

__all__ = ["Timeline", "assert_actions", "assert_compliant"]

DEFAULT_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------- timeline
class Timeline:
    """Builds a history fact by fact, feeding each to an engine as it goes.

    ``timeline.open(severity="critical").post("created").after(hours=30)`` opens an
    escalation (Enterprise, customer "Acme", a new id), has its owner post the "created"
    message to the policy's channel, and lets 30 hours pass (a tick). Methods act on the
    escalation opened last unless ``escalation_id=`` says otherwise. ``decisions`` and
    ``actions`` hold what the policy decided; ``facts`` the history, for an audit.
    """

    def __init__(
        self,
        engine: PolicyEngine | None = None,
        *,
        start: dt.datetime = DEFAULT_START,
    ) -> None:
        # An engine holding no escalation is falsy (it has a length): test for None.
        self.engine = engine if engine is not None else PolicyEngine()
        self.now = start
        self.facts: list[Fact] = []
        self.decisions: list[Decision] = []
        self.current: str | None = None
        self._ids = itertools.count(1)

    # -- facts --------------------------------------------------------------------------------
    def fact(self, type_: str, **fields: Any) -> "Timeline":
        """Any fact, by its JSON type and fields; ``at`` defaults to the timeline's now."""
        body: dict[str, Any] = {"type": type_, "at": self.now.isoformat(), **fields}
        if type_ != "tick":
            body.setdefault("escalation_id", self._escalation())
        fact: Fact = shared_converter(self.engine.policy).structure(body, Fact)
        self.decisions.append(self.engine.handle(fact))
        self.facts.append(fact)
        return self

    def open(self, **fields: Any) -> "Timeline":
        """Open an escalation with the policy's opening fact: customer "Acme", Medium (the
        severity of that value, or the policy's least severe), Enterprise where the fact has a
        segment, and a new id, unless given.

        Later methods act on this escalation unless they are given ``escalation_id=``.
        """
        escalation_id = fields.pop("escalation_id", None) or f"ESC-{next(self._ids)}"
        terms = self.engine.policy.terms
        own = attrs.fields_dict(terms.opening)
        severities = [str(member.value) for member in terms.severity]
        fields.setdefault("customer", "Acme")
        fields.setdefault("severity", "medium" if "medium" in severities else severities[-1])
        if "segment" in own:
            fields.setdefault("segment", "enterprise")
        self.current = escalation_id
        return self.fact(terms.opening.TYPE, escalation_id=escalation_id, **fields)

    def post(self, purpose: str = "update", **fields: Any) -> "Timeline":
        """A post, by default by the escalation's owner to the policy's channel."""
        escalation_id = fields.get("escalation_id") or self._escalation()
        fields.setdefault("channel", self.engine.policy.channel)
        if "by" not in fields:
            state = self.engine.escalation(escalation_id)
            owner = state.owner if state is not None else None
            fields["by"] = scalar(owner) if owner is not None else "other"
        return self.fact("posted", purpose=purpose, **fields)

    def severity(self, severity: str, **fields: Any) -> "Timeline":
        """The escalation's severity changed (``"critical"``, ``"high"``, ...)."""
        return self.fact("severity_changed", severity=severity, **fields)

    def meeting(self, audience: str = "customer", **fields: Any) -> "Timeline":
        """A meeting was held, by default with the customer."""
        return self.fact("meeting_held", audience=audience, **fields)

    def assign_tam(self, tam: str, **fields: Any) -> "Timeline":
        """A TAM, named ``tam``, was assigned to the escalation."""
        return self.fact("tam_assigned", tam=tam, **fields)

    def inform_tam(self, **fields: Any) -> "Timeline":
        """The escalation's TAM was informed of it."""
        return self.fact("tam_informed", **fields)

    def status(self, status: str, **fields: Any) -> "Timeline":
        """The status of the overall engagement changed (``milestones=`` optional)."""
        return self.fact("status_changed", status=status, **fields)

    def summary_updated(self, **fields: Any) -> "Timeline":
        """The executive summary was updated."""
        return self.fact("executive_summary_updated", **fields)

    def risk_reduced(self, **fields: Any) -> "Timeline":
        """Risk was reduced to the standard business process."""
        return self.fact("risk_reduced", **fields)

    def close(self, **fields: Any) -> "Timeline":
        """The escalation was closed (the closing post is still due: ``post("closed")``)."""
        return self.fact("closed", **fields)

    def after(self, **delta: float) -> "Timeline":
        """Let time pass (``days=``, ``hours=``, ``minutes=``): a tick at the new time."""
        self.now += dt.timedelta(**delta)
        return self.fact("tick")

    def wait(self, **delta: float) -> "Timeline":
        """Move the timeline's clock without telling the engine (the next fact will)."""
        self.now += dt.timedelta(**delta)
        return self

    # -- results ------------------------------------------------------------------------------
    @property
    def last(self) -> Decision:
        """The decision on the latest fact."""
        return self.decisions[-1]

    @property
    def actions(self) -> list[Action]:
        """Every action the policy decided so far, in order."""
        return [action for decision in self.decisions for action in decision.actions]

    def _escalation(self) -> str:
        if self.current is None:
            raise ValueError("no escalation is open on this timeline: call open() first")
        return self.current


# ----------------------------------------------------------------------------------- assertions
def _json(value: object) -> object:
    """A field's value as the JSON contract writes it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    return value


def _body(action: Action) -> dict[str, Any]:
    """An action of any policy in its JSON form (``type`` first, then its fields)."""
    body: dict[str, Any] = {"type": action.TYPE}
    for field in attrs.fields(type(action)):
        value = getattr(action, field.name)
        if field.metadata.get("omit_if_default") and value == field.default:
            continue
        body[field.name] = _json(value)
    return body


def _line(action: Action) -> str:
    body = _body(action)
    fields = ", ".join(
        f"{key}={value}"
        for key, value in body.items()
        if key != "type" and key not in ACTION_FIELDS
    )
    return f"{action.TYPE}({fields}) for {action.escalation_id} [{action.rule} · {action.cites}]"


def _matches(action: Action, expected: Mapping[str, Any]) -> bool:
    body = _body(action)
    return all(body.get(key) == value for key, value in expected.items())


def assert_actions(
    decision: Decision | Iterable[Action], *expected: Mapping[str, Any], exact: bool = False
) -> None:
    """Each ``expected`` (a partial action in its JSON form) matches a distinct action.

    ``exact=True``: and there is no other action. The failure message lists what is missing
    and what was unexpected, with each action's rule and handbook citation.
    """
    actions = list(decision.actions if isinstance(decision, Decision) else decision)
    remaining = list(actions)
    missing = []
    for wanted in expected:
        found = next((a for a in remaining if _matches(a, wanted)), None)
        if found is None:
            missing.append(wanted)
        else:
            remaining.remove(found)
    if missing or (exact and remaining):
        lines = ["the policy's actions differ from what was expected"]
        if missing:
            lines.append("missing:")
            lines += [f"  {dict(wanted)}" for wanted in missing]
        if exact and remaining:
            lines.append("unexpected:")
            lines += [f"  {_line(a)}" for a in remaining]
        lines.append("actions:")
        lines += [f"  {_line(a)}" for a in actions] or ["  (none)"]
        raise AssertionError("\n".join(lines))


def assert_compliant(
    history: "Timeline | AuditReport | Iterable[Fact | Mapping[str, Any]]",
    *,
    as_of: dt.datetime | None = None,
    policy: Policy | None = None,
) -> AuditReport:
    """The history followed the policy: its audit finds no violation. Returns the audit.

    ``policy`` is the policy to audit against: by default a timeline's own (its engine's), and
    the handbook's for other histories.
    """
    if isinstance(history, AuditReport):
        report = history
    elif isinstance(history, Timeline):
        report = audit(
            history.facts, as_of=as_of, policy=history.engine.policy if policy is None else policy
        )
    else:
        report = audit(history, as_of=as_of, policy=policy)
    if report.violations:
        lines = [f"{len(report.violations)} violation(s) of the escalation policy:"]
        for violation in report.violations:
            due = f" (due {violation.due.isoformat()})" if violation.due else ""
            lines.append(
                f"  {violation.escalation_id} {scalar(violation.code)}{due}: {violation.detail}\n"
                f"    rule {violation.rule} · {violation.cites}"
            )
        raise AssertionError("\n".join(lines))
    return report
