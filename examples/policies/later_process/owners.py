"""Section "Owners (DRIs)".

One directly responsible individual (DRI) owns an escalation, chosen by an ordered rule: the
project manager of a running professional-services project; otherwise the account's customer
success manager (CSM); otherwise the account executive or a customer success engineer for
accounts without a CSM.

Product DRI: required for product-related High and Critical escalations. For High, a group
product manager or product director; for Critical, a member of the product leadership team.
Assigned within 24 hours of the escalation being opened (or of its severity rising to
High/Critical).

24 hours of the working day: one business day of the escalation's calendar (``opening.py``).

Support DRI: a support engineering manager is named for escalations that involve support
tickets.
"""

import datetime as dt

from escalation_policy.vocabulary import (
    ANY,
    BOOL,
    ApplyPlan,
    Cancel,
    ContextField,
    DecisionTable,
    Fulfil,
    HitPolicy,
    Obligation,
    Reaction,
    Require,
    Row,
    Violation,
    none_of,
    one_of,
)

from .opening import ONE_BUSINESS_DAY
from .terms import (
    AccountTeamChanged,
    AssignProductDri,
    AssignSupportDri,
    Dri,
    Opened,
    ProductDriAssigned,
    ProductLevel,
    Severity,
    SeverityChanged,
    SupportDriAssigned,
    SupportTicketLinked,
    ViolationCode,
)

OWNERS = "Owners (DRIs)"

# "Assigned within 24 hours": naming a person is work of the working day, one business day
# (at any severity); the owner is reminded this many hours of the clock before it is due.
PRODUCT_DRI_WITHIN = ONE_BUSINESS_DAY
PRODUCT_DRI_REMIND_BEFORE = dt.timedelta(hours=4)

# The summary names no time for the Support DRI: the Product DRI's business day.
SUPPORT_DRI_WITHIN = ONE_BUSINESS_DAY

# The levels senior enough to be the Product DRI at each severity.
FOR_HIGH = one_of(
    ProductLevel.GROUP_PRODUCT_MANAGER,
    ProductLevel.PRODUCT_DIRECTOR,
    ProductLevel.PRODUCT_LEADERSHIP,
)
NOT_FOR_HIGH = none_of(
    ProductLevel.GROUP_PRODUCT_MANAGER,
    ProductLevel.PRODUCT_DIRECTOR,
    ProductLevel.PRODUCT_LEADERSHIP,
)
FOR_CRITICAL = ProductLevel.PRODUCT_LEADERSHIP
NOT_FOR_CRITICAL = none_of(ProductLevel.PRODUCT_LEADERSHIP)

CONTEXT = (
    ContextField(
        "support_dri_named", BOOL, lambda situation: situation.record.support_dri is not None
    ),
)
"""Whether the escalation has a Support DRI."""

PRODUCT_DRI = Obligation(
    id="product_dri",
    violation=ViolationCode.PRODUCT_DRI_OVERDUE,
    missed="no Product DRI of level {level!r} or more senior was named by {due}",
    key="level",
    one_at_a_time=True,
    announce=AssignProductDri,
)
"""A Product DRI senior enough for the severity (the key: the least senior level that will
do). One at a time: a severity that needs a more senior one replaces the pending one."""

SUPPORT_DRI = Obligation(
    id="support_dri",
    violation=ViolationCode.SUPPORT_DRI_OVERDUE,
    missed="no Support DRI was named by {due}",
    announce=AssignSupportDri,
)

OBLIGATIONS = (PRODUCT_DRI, SUPPORT_DRI)

TABLES = (
    DecisionTable(
        id="owners.dri",
        title="Who is the escalation's DRI",
        cites=OWNERS,
        hit_policy=HitPolicy.FIRST,
        inputs=("ps_project_running", "csm_assigned", "cse_assigned"),
        outputs=("owner",),
        columns={
            "ps_project_running": "Professional-services project running",
            "csm_assigned": "CSM assigned",
            "cse_assigned": "CSE assigned",
            "owner": "DRI",
        },
        rows=(
            Row(
                id="project_manager",
                when={"ps_project_running": True, "csm_assigned": ANY, "cse_assigned": ANY},
                then={"owner": Dri.PROJECT_MANAGER},
            ),
            Row(
                id="customer_success_manager",
                when={"ps_project_running": ANY, "csm_assigned": True, "cse_assigned": ANY},
                then={"owner": Dri.CUSTOMER_SUCCESS_MANAGER},
            ),
            Row(
                id="customer_success_engineer",
                when={"ps_project_running": ANY, "csm_assigned": ANY, "cse_assigned": True},
                then={"owner": Dri.CUSTOMER_SUCCESS_ENGINEER},
            ),
            Row(
                id="account_executive",
                when={"ps_project_running": ANY, "csm_assigned": ANY, "cse_assigned": ANY},
                then={"owner": Dri.ACCOUNT_EXECUTIVE},
            ),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="owners.plan",
        title="An escalation gets its DRI, involvement and cadence, chosen again when the "
        "account's team or the severity changes",
        cites=f"{OWNERS}; Cadence",
        on=(Opened, SeverityChanged, AccountTeamChanged),
        then=(ApplyPlan(),),
    ),
    # ------------------------------------------------------------------------- Product DRI
    Reaction(
        id="owners.product_dri_for_high",
        title="A product-related High escalation needs a group product manager or product "
        "director as Product DRI within 24 hours",
        cites=OWNERS,
        on=(Opened,),
        when={"product_related": True, "severity": Severity.HIGH},
        then=(
            Require(
                obligation=PRODUCT_DRI,
                key=ProductLevel.GROUP_PRODUCT_MANAGER,
                within=PRODUCT_DRI_WITHIN,
                remind_before=PRODUCT_DRI_REMIND_BEFORE,
            ),
        ),
    ),
    Reaction(
        id="owners.product_dri_for_critical",
        title="A product-related Critical escalation needs a member of the product leadership "
        "team as Product DRI within 24 hours",
        cites=OWNERS,
        on=(Opened,),
        when={"product_related": True, "severity": Severity.CRITICAL},
        then=(
            Require(
                obligation=PRODUCT_DRI,
                key=ProductLevel.PRODUCT_LEADERSHIP,
                within=PRODUCT_DRI_WITHIN,
                remind_before=PRODUCT_DRI_REMIND_BEFORE,
            ),
        ),
    ),
    Reaction(
        id="owners.product_dri_when_raised_to_high",
        title="Raised to High, a product-related escalation needs a Product DRI senior enough "
        "for High within 24 hours",
        cites=OWNERS,
        on=(SeverityChanged,),
        when={
            "product_related": True,
            "severity": Severity.HIGH,
            "previous_severity": one_of(Severity.MEDIUM, Severity.LOW),
            "product_dri_level": NOT_FOR_HIGH,
        },
        then=(
            Require(
                obligation=PRODUCT_DRI,
                key=ProductLevel.GROUP_PRODUCT_MANAGER,
                within=PRODUCT_DRI_WITHIN,
                remind_before=PRODUCT_DRI_REMIND_BEFORE,
            ),
        ),
    ),
    Reaction(
        id="owners.product_dri_when_raised_to_critical",
        title="Raised to Critical, a product-related escalation needs a member of the product "
        "leadership team as Product DRI within 24 hours",
        cites=OWNERS,
        on=(SeverityChanged,),
        when={
            "product_related": True,
            "severity": Severity.CRITICAL,
            "previous_severity": none_of(Severity.CRITICAL),
            "product_dri_level": NOT_FOR_CRITICAL,
        },
        then=(
            Require(
                obligation=PRODUCT_DRI,
                key=ProductLevel.PRODUCT_LEADERSHIP,
                within=PRODUCT_DRI_WITHIN,
                remind_before=PRODUCT_DRI_REMIND_BEFORE,
            ),
        ),
    ),
    Reaction(
        id="owners.no_product_dri_below_high",
        title="Lowered to Medium or Low, an escalation needs no Product DRI",
        cites=OWNERS,
        on=(SeverityChanged,),
        when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
        then=(Cancel(obligations=(PRODUCT_DRI,)),),
    ),
    Reaction(
        id="owners.product_dri_enough_for_high",
        title="Lowered from Critical to High, a Product DRI senior enough for High will do",
        cites=OWNERS,
        on=(SeverityChanged,),
        when={"severity": Severity.HIGH, "product_dri_level": FOR_HIGH},
        then=(Cancel(obligations=(PRODUCT_DRI,)),),
    ),
    Reaction(
        id="owners.product_dri_named_for_high",
        title="A group product manager, product director or product leader is Product DRI "
        "of a High escalation",
        cites=OWNERS,
        on=(ProductDriAssigned,),
        when={"severity": Severity.HIGH, "product_dri_level": FOR_HIGH},
        then=(Fulfil(obligation=PRODUCT_DRI),),
    ),
    Reaction(
        id="owners.product_dri_named_for_critical",
        title="A member of the product leadership team is Product DRI of a Critical escalation",
        cites=OWNERS,
        on=(ProductDriAssigned,),
        when={"severity": Severity.CRITICAL, "product_dri_level": FOR_CRITICAL},
        then=(Fulfil(obligation=PRODUCT_DRI),),
    ),
    Reaction(
        id="owners.product_dri_too_junior_for_high",
        title="A product manager is too junior to be Product DRI of a High escalation",
        cites=OWNERS,
        on=(ProductDriAssigned,),
        when={
            "product_related": True,
            "severity": Severity.HIGH,
            "product_dri_level": NOT_FOR_HIGH,
        },
        then=(
            Violation(
                code=ViolationCode.PRODUCT_DRI_TOO_JUNIOR,
                detail="a High escalation's Product DRI is a group product manager or product "
                "director",
            ),
        ),
    ),
    Reaction(
        id="owners.product_dri_too_junior_for_critical",
        title="Only a member of the product leadership team is Product DRI of a Critical "
        "escalation",
        cites=OWNERS,
        on=(ProductDriAssigned,),
        when={
            "product_related": True,
            "severity": Severity.CRITICAL,
            "product_dri_level": NOT_FOR_CRITICAL,
        },
        then=(
            Violation(
                code=ViolationCode.PRODUCT_DRI_TOO_JUNIOR,
                detail="a Critical escalation's Product DRI is a member of the product "
                "leadership team",
            ),
        ),
    ),
    # ------------------------------------------------------------------------- Support DRI
    Reaction(
        id="owners.support_dri_on_opening",
        title="An escalation that involves support tickets gets a Support DRI",
        cites=OWNERS,
        on=(Opened,),
        when={"support_tickets": True},
        then=(Require(obligation=SUPPORT_DRI, within=SUPPORT_DRI_WITHIN),),
    ),
    Reaction(
        id="owners.support_dri_on_ticket",
        title="A support ticket linked to an escalation without a Support DRI calls for one",
        cites=OWNERS,
        on=(SupportTicketLinked,),
        when={"support_dri_named": False},
        then=(Require(obligation=SUPPORT_DRI, within=SUPPORT_DRI_WITHIN),),
    ),
    Reaction(
        id="owners.support_dri_named",
        title="A support engineering manager was named Support DRI",
        cites=OWNERS,
        on=(SupportDriAssigned,),
        then=(Fulfil(obligation=SUPPORT_DRI),),
    ),
)
