"""Handbook: "Related Links" (the Product Escalation Issue Template)."""

from escalation_policy.rules import related_links
from tests.conftest import Scenario, at, of_type


def test_enhancement_requests_go_to_product_through_the_template(scenario: Scenario) -> None:
    scenario.open(severity="high")
    decision = scenario.fact("enhancement_requested", at(hours=3), summary="bulk export API")
    (request,) = of_type(decision.actions, "request_product_escalation")
    assert related_links.PRODUCT_ESCALATION_TEMPLATE == request.template
    assert "related_links.enhancement_to_product" == request.rule
