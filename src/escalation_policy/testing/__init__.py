"""The testing kit for hosts: a pytest plugin, a timeline builder and assertions.

Enable the plugin explicitly in your root ``conftest.py`` (it is never loaded on its own)::

    pytest_plugins = ["escalation_policy.testing"]

It provides the fixtures ``policy_engine`` (a fresh engine), ``timeline`` (a
:class:`Timeline` that makes facts with sensible defaults and advancing time) and
``make_timeline`` (makes timelines, for ``@given`` tests, where hypothesis refuses
``timeline``), and the option ``--policy-coverage``, which reports at the end of the run which
rules and decision-table rows the tests exercised and which they never did. The assertions
:func:`assert_compliant` and :func:`assert_actions` work with or without the plugin; hypothesis
strategies are in :mod:`escalation_policy.testing.strategies`.
"""

import contextlib

from escalation_policy.testing._kit import Timeline, assert_actions, assert_compliant

__all__ = [
    "PolicyCoverage",
    "Timeline",
    "assert_actions",
    "assert_compliant",
    "make_timeline",
    "policy",
    "policy_engine",
    "pytest_addoption",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "timeline",
]


# The plugin's fixtures and hooks need pytest; the rest of the kit does not.
with contextlib.suppress(ImportError):
    from escalation_policy.testing._plugin import (
        PolicyCoverage,
        make_timeline,
        policy,
        policy_engine,
        pytest_addoption,
        pytest_configure,
        pytest_sessionfinish,
        pytest_terminal_summary,
        pytest_unconfigure,
        timeline,
    )
