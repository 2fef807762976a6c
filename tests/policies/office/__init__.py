"""A small policy on a business calendar, for the engine's tests of business time: an office
in New York (or the customer's zone), a daily check-in, a weekly review with two parts, a
reply due within four business hours, and clocks that pause while waiting on the customer."""

MODULES = ("tests.policies.office.rules",)
SECTIONS = ("Office hours",)
