"""Handbook: "Related Links" (the Product Escalation Issue Template)."""

from tests.conftest import Scenario, at, of_type


def test_enhancement_requests_go_to_product_through_the_template(scenario: Scenario) -> None:
    scenario.open(severity="high")
    decision = scenario.fact("enhancement_requested", at(hours=3), summary="bulk export API")
    (request,) = of_type(decision.actions, "request_product_escalation")
    assert request.template.endswith("issuable_template=Product-Support-Request")
    assert "related_links.enhancement_to_product" == request.rule
