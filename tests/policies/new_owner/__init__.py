"""A small policy whose owner and update period both follow the severity: a severity change
gives the escalation a new owner and, in the same fact, a new period (or none) of its updates,
which are announced again to a new owner."""

MODULES = ("tests.policies.new_owner.rules",)
SECTIONS = ("Updates",)
