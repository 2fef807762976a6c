"""Handbook section "Related Links", with "Responsibilities > Critical and High Level Issues".

Product Escalation Issue Template to request Product Team support for roadmap / future
needs, prioritization of enhancements and/or issues and troubleshooting of customer issues.

[TAMs are responsible for] developing the business case justification and escalation to
Product for escalations related to enhancement requests.
"""

from escalation_policy.vocabulary import Emit, Reaction, one_of

from .terms import EnhancementRequested, RequestProductEscalation, Severity

PRODUCT_ESCALATION_TEMPLATE = (
    "https://gitlab.com/gitlab-com/Product/issues/new?issuable_template=Product-Support-Request"
)

TABLES = ()

REACTIONS = (
    Reaction(
        id="related_links.enhancement_to_product",
        title="For Critical and High, the TAM takes enhancement requests to Product, with the "
        "business case, through the product escalation template",
        cites="Related Links; Responsibilities > Critical and High Level Issues",
        on=(EnhancementRequested,),
        when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)},
        then=(
            Emit(
                action=RequestProductEscalation,
                values={"template": PRODUCT_ESCALATION_TEMPLATE, "business_case": True},
                escalation={"team": "owner", "responsible": "tam"},
            ),
        ),
    ),
    Reaction(
        id="related_links.enhancement_from_support",
        title="For Medium and Low, Support Engineering, which manages the escalation, requests "
        "Product support through the template",
        cites="Related Links; Responsibilities > Medium and Low Level Issues",
        on=(EnhancementRequested,),
        when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
        then=(
            Emit(
                action=RequestProductEscalation,
                values={"template": PRODUCT_ESCALATION_TEMPLATE},
                escalation={"team": "owner"},
            ),
        ),
    ),
)
