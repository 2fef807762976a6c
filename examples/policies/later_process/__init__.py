"""The company's escalation process, later revision: one module per section of its summary.

Its terms (values, facts, actions) are in ``terms``; each rule module declares ``TABLES``,
``REACTIONS`` and ``OBLIGATIONS`` in the rule vocabulary (``escalation_policy.vocabulary``).
What the summary leaves open is decided in named values next to its wording; the decisions
are explained in ``DECISIONS.md`` beside this file. Load it by its folder:
``load_policy("examples/policies/later_process")``.
"""

MODULES = (
    "later_process.terms",
    "later_process.owners",
    "later_process.opening",
    "later_process.cadence",
    "later_process.messages",
    "later_process.closing",
)
"""The policy's modules: its terms, then its rule modules in the order their reactions run."""

SECTIONS = (
    "Owners (DRIs)",
    "On opening",
    "Cadence",
    "Messages",
    "Closing",
)
"""The summary's headings the rules cite, each of which some rule must cite. "Account health"
is not among them: its obligation is about accounts, not escalations (see DECISIONS.md)."""
