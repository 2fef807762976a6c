"""Handbook section "Related Links", with "Responsibilities > Critical and High Level Issues".

Product Escalation Issue Template to request Product Team support for roadmap / future
needs, prioritization of enhancements and/or issues and troubleshooting of customer issues.

[TAMs are responsible for] developing the business case justification and escalation to
Product for escalations related to enhancement requests.
"""

from escalation_policy.vocabulary import Emit, Reaction

from .terms import EnhancementRequested, RequestProductEscalation

PRODUCT_ESCALATION_TEMPLATE = (
    "https://gitlab.com/gitlab-com/Product/issues/new?issuable_template=Product-Support-Request"
)

TABLES = ()

REACTIONS = (
    Reaction(
        id="related_links.enhancement_to_product",
        title="Enhancement requests go to Product through the product escalation template",
        cites="Related Links; Responsibilities > Critical and High Level Issues",
        on=(EnhancementRequested,),
        then=(
            Emit(action=RequestProductEscalation, values={"template": PRODUCT_ESCALATION_TEMPLATE}),
        ),
    ),
)
