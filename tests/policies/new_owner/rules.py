"""The new-owner policy's terms and rules (see the package's description)."""

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar

import attrs

from escalation_policy.vocabulary import (
    Action,
    ApplyPlan,
    Cancel,
    DecisionTable,
    EscalationFact,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    Values,
)

UPDATES = "Updates"
DAY = dt.timedelta(days=1)


class Severity(Values):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    MINOR = "minor", "Minor"


class Team(Values):
    LEADS = "leads", "Leads"
    DESK = "desk", "Desk"


class Cadence(Values):
    OFTEN = "often", "Often"
    SELDOM = "seldom", "Seldom"


class Code(Values):
    UPDATE_MISSED = "update_missed", "Update missed"


@attrs.frozen(kw_only=True)
class Opened(EscalationFact):
    TYPE: ClassVar[str] = "opened"
    OPENS: ClassVar[bool] = True
    customer: str
    severity: Severity


@attrs.frozen(kw_only=True)
class SeverityChanged(EscalationFact):
    TYPE: ClassVar[str] = "severity_changed"
    SETS: ClassVar[Mapping[str, str]] = {"severity": "severity"}
    severity: Severity


@attrs.frozen(kw_only=True)
class Updated(EscalationFact):
    TYPE: ClassVar[str] = "updated"


@attrs.frozen(kw_only=True)
class Closed(EscalationFact):
    TYPE: ClassVar[str] = "closed"
    STATUS: ClassVar[Mapping[str, str]] = {"active": "closed"}


@attrs.frozen(kw_only=True)
class UpdateDue(Action):
    """``by`` updates the escalation by ``due``."""

    TYPE = "update_due"
    by: Team
    due: dt.datetime


FACTS = (Opened, SeverityChanged, Updated, Closed)
ACTIONS = (UpdateDue,)

UPDATE = Obligation(
    id="update",
    violation=Code.UPDATE_MISSED,
    missed="no update by {due}",
    announce=UpdateDue,
    owner_field="by",
    announce_again_on_new_owner=True,
)
OBLIGATIONS = (UPDATE,)
OUTPUTS = {"update_every": "duration or null: how often the owner updates the escalation"}


def _row(severity: Severity, owner: Team, cadence: Cadence, every: dt.timedelta | None) -> Row:
    return Row(
        id=severity.value,
        when={"severity": severity},
        then={
            "in_scope": True,
            "owner": owner,
            "cadence": cadence,
            "involvement": (),
            "update_every": every,
        },
    )


TABLES = (
    DecisionTable(
        id="updates.plan",
        title="Who updates the escalation, and how often",
        cites=UPDATES,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("in_scope", "owner", "cadence", "involvement", "update_every"),
        rows=(
            _row(Severity.HIGH, Team.LEADS, Cadence.OFTEN, DAY),
            _row(Severity.MEDIUM, Team.DESK, Cadence.OFTEN, DAY),
            _row(Severity.LOW, Team.DESK, Cadence.SELDOM, 3 * DAY),
            _row(Severity.MINOR, Team.DESK, Cadence.SELDOM, None),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="updates.planned",
        title="The owner updates the escalation as often as its severity says",
        cites=UPDATES,
        on=(Opened, SeverityChanged),
        then=(ApplyPlan(), Require(obligation=UPDATE, every="update_every")),
    ),
    Reaction(
        id="updates.made",
        title="An update",
        cites=UPDATES,
        on=(Updated,),
        then=(Fulfil(obligation=UPDATE),),
    ),
    Reaction(
        id="updates.closed",
        title="Closing ends the updates",
        cites=UPDATES,
        on=(Closed,),
        then=(Cancel(obligations=(UPDATE,)),),
    ),
)
