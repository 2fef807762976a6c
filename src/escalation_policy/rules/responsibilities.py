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
    ANY,
    BOOL,
    Accept,
    BusinessTime,
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
    Setting,
    Situation,
    one_of,
)

from .terms import (
    AccountIssue,
    InformTam,
    Opened,
    Posted,
    RiskReduced,
    Role,
    RouteToRole,
    RouteToTam,
    Severity,
    SeverityChanged,
    Status,
    TamAssigned,
    TamInformed,
    Team,
    ViolationCode,
)

CRITICAL_AND_HIGH = "Responsibilities > Critical and High Level Issues"
MEDIUM_AND_LOW = "Responsibilities > Medium and Low Level Issues"

# "Support Engineering should inform the TAM of the escalation": how soon. No later than the
# created post is due (communication.CREATED_POST_WITHIN): the TAM hears before the channel.
INFORM_TAM_WITHIN = BusinessTime(dt.timedelta(hours=2))
# "TAMs are responsible for ... (Critical and High)": how long such an escalation may wait for one
# (one business day of open time, on the escalation's business days).
TAM_ASSIGNED_WITHIN = BusinessTime(dt.timedelta(hours=8))

# Told first, assigned in the CRM after: the TAM was informed. Telling the TAM does not say
# which TAM was told, so only an hour of open time before the assignment counts.
EARLY_TAM_GRACE = BusinessTime(dt.timedelta(hours=1))

INFORM_TAM_SETTING = Setting(
    name="inform_tam_within",
    default=INFORM_TAM_WITHIN,
    description="how soon Support Engineering informs an assigned TAM",
)
TAM_ASSIGNED_SETTING = Setting(
    name="tam_assigned_within",
    default=TAM_ASSIGNED_WITHIN,
    description="how soon a High or Critical escalation gets a TAM",
)


def _tam_opened(situation: Situation) -> bool:
    record = situation.record
    opener: object = record.opened_by
    return opener is not None and opener == record.tam


def _tam_initiated(situation: Situation) -> bool:
    """Whether the escalation opens now initiated by its TAM (``initiated_by: tam``)."""
    return bool(situation.fact.TYPE == Opened.TYPE and situation.record.initiated_by == Team.TAM)


def _tam_told(situation: Situation) -> bool:
    record = situation.record
    tam: object = record.tam
    return tam is not None and tam in record.done.get(INFORM_TAM.id, ())


def _escalated(situation: Situation) -> bool:
    return bool(situation.record.status == Status.ACTIVE)


CONTEXT = (
    ContextField("tam_assigned", BOOL, lambda situation: situation.record.tam is not None),
    ContextField("tam_opened", BOOL, _tam_opened),
    ContextField("tam_initiated", BOOL, _tam_initiated, frozenset({Opened.TYPE, TamAssigned.TYPE})),
    ContextField("tam_told", BOOL, _tam_told),
    ContextField("escalated", BOOL, _escalated),
)
"""Whether the escalation has a TAM, whether that TAM opened it, whether it opens now
initiated by its TAM, whether that TAM was told of it (informed, or owned it) before, and
whether the escalation is active once the fact is taken (not risk reduced: the context's
``status`` is the one before the fact)."""

INFORM_TAM = Obligation(
    id="inform_tam",
    violation=ViolationCode.TAM_NOT_INFORMED,
    missed="the TAM {tam!r} was not informed by {due}",
    key="tam",
    key_from="tam",
    one_at_a_time=True,
    once_per_key=True,
    announce=InformTam,
    early_grace=EARLY_TAM_GRACE,
)
"""The assigned TAM must be informed: once per TAM, and a newly assigned TAM replaces one not
yet informed."""

ASSIGN_TAM = Obligation(
    id="assign_tam",
    violation=ViolationCode.TAM_MISSING,
    missed="no TAM was assigned by {due}",
)
"""A High or Critical escalation needs a TAM; until one is assigned, Support Engineering owns
it and posts."""

OBLIGATIONS = (INFORM_TAM, ASSIGN_TAM)

TABLES = (
    DecisionTable(
        id="responsibilities.owner",
        title="Who owns the escalation",
        cites="Responsibilities",
        hit_policy=HitPolicy.FIRST,
        inputs=("severity", "tam"),
        outputs=("owner",),
        rows=(
            # No TAM yet: Support Engineering, which drives the resolution, owns and posts.
            Row(
                id="critical_and_high_without_tam",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH), "tam": None},
                then={"owner": Team.SUPPORT_ENGINEERING},
                cites=CRITICAL_AND_HIGH,
            ),
            Row(
                id="critical_and_high",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH), "tam": ANY},
                then={"owner": Team.TAM},
                cites=CRITICAL_AND_HIGH,
            ),
            Row(
                id="medium_and_low",
                when={"severity": one_of(Severity.MEDIUM, Severity.LOW), "tam": ANY},
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
        when={
            "owner": Team.SUPPORT_ENGINEERING,
            "tam_assigned": True,
            "tam_opened": False,
            "tam_initiated": False,
        },
        then=(Require(obligation=INFORM_TAM, within=INFORM_TAM_SETTING),),
    ),
    # "Support Engineering should inform the TAM of the escalation" asks that the TAM knows: a
    # TAM told by anyone (Customer Success, a colleague) is informed, whoever the fact's `by`.
    Reaction(
        id="responsibilities.tam_informed",
        title="The TAM was informed, by whoever told them",
        cites=MEDIUM_AND_LOW,
        on=(TamInformed,),
        then=(Fulfil(obligation=INFORM_TAM),),
    ),
    # Support tells the TAM, then records the escalation in the CRM: the telling is held for
    # the opening, as a created post is (the policy's opening grace), and informs the TAM the
    # escalation opens with. An escalation never recorded leaves the TAM told of it, which is
    # no violation.
    Reaction(
        id="responsibilities.tam_told_before_opening",
        title="A TAM told of an escalation a moment before it is recorded was informed",
        cites=MEDIUM_AND_LOW,
        on=(TamInformed,),
        when={"known": False},
        then=(Accept(),),
    ),
    # A TAM manages one account's engagement; a broad-impact escalation's "customer engagement
    # model will differ" (Scope), and it needs no TAM of its own.
    Reaction(
        id="responsibilities.tam_needed",
        title="A High or Critical escalation about one account needs a TAM",
        cites=f"{CRITICAL_AND_HIGH}; Scope",
        on=(Opened, SeverityChanged),
        when={
            "severity": one_of(Severity.CRITICAL, Severity.HIGH),
            "tam_assigned": False,
            "broad_impact": False,
            "escalated": True,
        },
        then=(Require(obligation=ASSIGN_TAM, within=TAM_ASSIGNED_SETTING),),
    ),
    Reaction(
        id="responsibilities.tam_assigned",
        title="A TAM was assigned",
        cites=CRITICAL_AND_HIGH,
        on=(TamAssigned,),
        then=(Fulfil(obligation=ASSIGN_TAM),),
    ),
    Reaction(
        id="responsibilities.tam_no_longer_needed",
        title="Lowered to Medium or Low, the escalation needs no TAM",
        cites=MEDIUM_AND_LOW,
        on=(SeverityChanged,),
        when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
        then=(Cancel(obligations=(ASSIGN_TAM,)),),
    ),
    # "risk reduced to standard business process to manage (i.e., issue resolved and
    # monitoring the solution)": the account engagement a TAM would manage is over. A raise
    # re-escalates, and asks for a TAM again.
    Reaction(
        id="responsibilities.tam_not_needed_once_risk_reduced",
        title="Once the risk is reduced, the escalation needs no TAM",
        cites=f"{CRITICAL_AND_HIGH}; Communication Process",
        on=(RiskReduced,),
        then=(Cancel(obligations=(ASSIGN_TAM,)),),
    ),
    # "TAMs are responsible for managing the account engagement" (Critical and High): a TAM
    # who owns the escalation knows of it, then and after a lowering (a CRM re-sync of the same
    # TAM, a cover and a return, owes no informing).
    Reaction(
        id="responsibilities.tam_owns",
        title="A TAM who owns the escalation knows of it: no informing, now or later",
        cites=CRITICAL_AND_HIGH,
        on=(Opened, SeverityChanged, TamAssigned),
        when={"owner": Team.TAM, "tam_told": False},
        then=(Cancel(obligations=(INFORM_TAM,)), Fulfil(obligation=INFORM_TAM)),
    ),
    # "Support Engineering should inform the TAM of the escalation" asks that the TAM knows: a
    # TAM who initiated the escalation knows of it (as one who opened it in the CRM does), and
    # so does a TAM who posts about it in a channel.
    Reaction(
        id="responsibilities.tam_initiated",
        title="A TAM who initiated the escalation knows of it: no informing, now or later",
        cites=MEDIUM_AND_LOW,
        on=(Opened,),
        when={"tam_initiated": True, "tam_assigned": True},
        then=(Fulfil(obligation=INFORM_TAM),),
    ),
    Reaction(
        id="responsibilities.tam_posted",
        title="A TAM who posts about the escalation knows of it",
        cites=MEDIUM_AND_LOW,
        on=(Posted,),
        when={"by": Team.TAM, "known": True, "tam_assigned": True, "tam_told": False},
        then=(Fulfil(obligation=INFORM_TAM),),
    ),
    # The TAM who opened the escalation, assigned again after a cover not told yet: the cover
    # is no longer owed informing, as a newly assigned TAM replaces one not yet informed.
    Reaction(
        id="responsibilities.opener_back",
        title="The TAM who opened the escalation, assigned again, needs no informing",
        cites=MEDIUM_AND_LOW,
        on=(TamAssigned,),
        when={"tam_opened": True},
        then=(Cancel(obligations=(INFORM_TAM,)),),
    ),
    Reaction(
        id="responsibilities.account_issues_to_tam",
        title="The TAM handles account-related issues",
        cites=f"{CRITICAL_AND_HIGH}; {MEDIUM_AND_LOW}",
        on=(AccountIssue,),
        when={"tam_assigned": True},
        then=(Emit(action=RouteToTam, fact={"kind": "kind"}, escalation={"tam": "tam"}),),
    ),
    Reaction(
        id="responsibilities.account_issues_without_tam",
        title="With no TAM, account-related issues go to the Director of Customer Success",
        cites=f"{CRITICAL_AND_HIGH}; {MEDIUM_AND_LOW}",
        on=(AccountIssue,),
        when={"tam_assigned": False},
        then=(
            Emit(
                action=RouteToRole,
                fact={"kind": "kind"},
                values={"role": Role.DIRECTOR_CUSTOMER_SUCCESS},
            ),
        ),
    ),
)
