"""The policy: one module per section of the Customer Success Escalations handbook page.

Its terms (values, facts, actions) are in :mod:`escalation_policy.rules.terms`; each rule
module declares ``TABLES``, ``REACTIONS`` and ``OBLIGATIONS`` in the rule vocabulary
(:mod:`escalation_policy.vocabulary`). Policy parameters the handbook leaves open are named
values next to the handbook wording; the choices are explained in ``docs/policy-decisions.md``.

A host of this policy imports its terms from here::

    from escalation_policy.rules import Opened, PostToChannel, Severity
"""

from escalation_policy.rules import terms as _terms
from escalation_policy.rules.terms import *  # noqa: F403  (the terms module's __all__ is the list)

MODULES = (
    "escalation_policy.rules.terms",
    "escalation_policy.rules.scope",
    "escalation_policy.rules.severity",
    "escalation_policy.rules.responsibilities",
    "escalation_policy.rules.tracker",
    "escalation_policy.rules.communication",
    "escalation_policy.rules.related_links",
)
"""The modules of the default policy: its terms, then its rule modules in the order their
reactions run."""

SECTIONS = (
    "Scope",
    "Definitions of Severity Levels",
    "Responsibilities",
    "Responsibilities > Critical and High Level Issues",
    "Responsibilities > Medium and Low Level Issues",
    "Escalation Tracker Template",
    "Escalation Tracker Template > Executive Summary",
    "Communication Process",
    "Related Links",
)
"""The handbook's headings (``Heading > Subheading``) the rules may cite, and must: a section
declared here that no rule cites is an error when the policy is loaded. "Objective" states the
page's purpose and asks nothing of anyone, so no rule encodes it and it is not declared."""

__all__ = ["MODULES", "SECTIONS"]
__all__ += _terms.__all__
