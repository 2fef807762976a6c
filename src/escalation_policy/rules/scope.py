"""Handbook section "Scope".

    This addresses critical and high escalations for Enterprise customers. This can also apply
    to Commercial or SMB customers if there is a strategic partnership or relationship. This can
    also be leveraged for issues that affect a broad number of customers though the customer
    engagement model will differ. Any GitLab team-member can escalate an account on behalf of
    the customer.

Scope is decided when the escalation is opened, from who the customer is; it applies to every
severity (see docs/policy-decisions.md, "Scope of medium and low escalations"). Any team may
open an escalation: no rule looks at ``initiated_by`` to refuse one.
"""

from escalation_policy.vocabulary import (
    ANY,
    DecisionTable,
    HitPolicy,
    OutOfScope,
    Reaction,
    Row,
    one_of,
)

from .terms import Opened, Segment

SCOPE = "Scope"

NOT_A_STRATEGIC_PARTNER = (
    "Commercial and SMB customers are in scope only with a strategic partnership or "
    "relationship, or when the issue affects a broad number of customers"
)

TABLES = (
    DecisionTable(
        id="scope.customers",
        title="Which escalations the process is for",
        cites=SCOPE,
        hit_policy=HitPolicy.UNIQUE,
        inputs=("broad_impact", "segment", "strategic_partnership"),
        outputs=("in_scope", "out_of_scope_reason"),
        rows=(
            Row(
                id="broad_impact",
                when={"broad_impact": True, "segment": ANY, "strategic_partnership": ANY},
                then={"in_scope": True, "out_of_scope_reason": None},
            ),
            Row(
                id="enterprise",
                when={
                    "broad_impact": False,
                    "segment": Segment.ENTERPRISE,
                    "strategic_partnership": ANY,
                },
                then={"in_scope": True, "out_of_scope_reason": None},
            ),
            Row(
                id="strategic_partnership",
                when={
                    "broad_impact": False,
                    "segment": one_of(Segment.COMMERCIAL, Segment.SMB),
                    "strategic_partnership": True,
                },
                then={"in_scope": True, "out_of_scope_reason": None},
            ),
            Row(
                id="no_partnership",
                when={
                    "broad_impact": False,
                    "segment": one_of(Segment.COMMERCIAL, Segment.SMB),
                    "strategic_partnership": False,
                },
                then={"in_scope": False, "out_of_scope_reason": NOT_A_STRATEGIC_PARTNER},
            ),
        ),
    ),
)

REACTIONS = (
    Reaction(
        id="scope.out_of_scope",
        title="An escalation outside the scope gets no owner and no obligations",
        cites=SCOPE,
        on=(Opened,),
        when={"in_scope": False},
        then=(OutOfScope(),),
    ),
)
