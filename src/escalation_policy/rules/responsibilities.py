"""Handbook section "Responsibilities".

Critical and High Level Issues: TAMs manage the account engagement; Support Engineering drives
the technical resolution. Medium and Low Level Issues: Support Engineering manages the
escalation, and informs the TAM if one is assigned; the TAM manages account-related issues
(delayed response, open actions, non-compliant installation or use of the product).

The owner is decided by severity alone: Customer Success may initiate a Medium escalation, but
Support Engineering owns it (see docs/policy-decisions.md, "Who owns what Customer Success
initiates").
"""

import datetime as dt

from escalation_policy.vocabulary import (
    BOOL,
    Cancel,
    ContextField,
    DecisionTable,
    Emit,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    one_of,
)

from .terms import (
    AccountIssue,
    InformTam,
    Opened,
    RouteToTam,
    Severity,
    SeverityChanged,
    TamAssigned,
    TamInformed,
    Team,
    ViolationCode,
)

CRITICAL_AND_HIGH = "Responsibilities > Critical and High Level Issues"
MEDIUM_AND_LOW = "Responsibilities > Medium and Low Level Issues"

# "Support Engineering should inform the TAM of the escalation": how soon.
INFORM_TAM_WITHIN = dt.timedelta(hours=24)

CONTEXT = (ContextField("tam_assigned", BOOL, lambda situation: situation.record.tam is not None),)
"""Whether the escalation has a TAM."""

INFORM_TAM = Obligation(
    id="inform_tam",
    violation=ViolationCode.TAM_NOT_INFORMED,
    missed="the TAM {tam!r} was not informed by {due}",
    key="tam",
    key_from="tam",
    one_at_a_time=True,
    once_per_key=True,
    announce=InformTam,
)
"""The assigned TAM must be informed: once per TAM, and a newly assigned TAM replaces one not
yet informed."""

OBLIGATIONS = (INFORM_TAM,)

TABLES = (
    DecisionTable(
        id="responsibilities.owner",
        title="Who owns the escalation",
        cites="Responsibilities",
        hit_policy=HitPolicy.UNIQUE,
        inputs=("severity",),
        outputs=("owner",),
        rows=(
            Row(
                id="critical_and_high",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)},
                then={"owner": Team.TAM},
                cites=CRITICAL_AND_HIGH,
            ),
            Row(
                id="medium_and_low",
                when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
                then={"owner": Team.SUPPORT_ENGINEERING},
                cites=MEDIUM_AND_LOW,
            ),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="responsibilities.inform_tam",
        title="If a TAM is assigned, Support Engineering informs the TAM of the escalation",
        cites=MEDIUM_AND_LOW,
        on=(Opened, TamAssigned),
        when={"owner": Team.SUPPORT_ENGINEERING, "tam_assigned": True},
        then=(Require(obligation=INFORM_TAM, within=INFORM_TAM_WITHIN),),
    ),
    Reaction(
        id="responsibilities.tam_informed",
        title="The TAM was informed",
        cites=MEDIUM_AND_LOW,
        on=(TamInformed,),
        then=(Fulfil(obligation=INFORM_TAM),),
    ),
    Reaction(
        id="responsibilities.tam_owns",
        title="A TAM who owns the escalation needs no informing",
        cites=CRITICAL_AND_HIGH,
        on=(SeverityChanged,),
        when={"owner": Team.TAM},
        then=(Cancel(obligations=(INFORM_TAM,)),),
    ),
    Reaction(
        id="responsibilities.account_issues_to_tam",
        title="The TAM handles account-related issues",
        cites=f"{CRITICAL_AND_HIGH}; {MEDIUM_AND_LOW}",
        on=(AccountIssue,),
        then=(Emit(action=RouteToTam, fact={"kind": "kind"}, escalation={"tam": "tam"}),),
    ),
)
