"""The pytest side of the testing kit: fixtures, ``--policy-coverage`` (see the package)."""

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from escalation_policy.engine import Decision, PolicyEngine
from escalation_policy.policy import Policy, default_policy, load_policy
from escalation_policy.testing._kit import Timeline

__all__ = [
    "PolicyCoverage",
    "make_timeline",
    "policy_engine",
    "pytest_addoption",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "timeline",
]


# -------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def policy(pytestconfig: pytest.Config) -> Policy:
    """The policy the kit's fixtures apply: the package ``--policy-package`` names (a folder
    or a module), else the handbook's. Override it in a ``conftest.py`` to choose in code."""
    return _chosen_policy(pytestconfig)


@pytest.fixture
def policy_engine(policy: Policy) -> PolicyEngine:
    """A fresh engine with the ``policy`` fixture's policy."""
    return PolicyEngine(policy)


@pytest.fixture
def timeline(policy_engine: PolicyEngine) -> Timeline:
    """A :class:`Timeline` over the ``policy_engine`` fixture."""
    return Timeline(policy_engine)


@pytest.fixture(scope="session")
def make_timeline(policy: Policy) -> Callable[[], Timeline]:
    """Makes timelines: ``make_timeline()`` is a new :class:`Timeline` over a fresh engine
    with the ``policy`` fixture's policy.

    For ``@given`` tests: hypothesis refuses function-scoped fixtures such as ``timeline``
    (one value would be shared by every generated example), so they call this once per example.
    """
    return lambda: Timeline(PolicyEngine(policy))


def _chosen_policy(config: pytest.Config) -> Policy:
    package = config.getoption("--policy-package")
    return default_policy() if package is None else load_policy(package)


# ---------------------------------------------------------------------------------- rule coverage
def _in_hypothesis_test() -> bool:
    """Whether the caller runs inside a hypothesis test (``@given``, stateful)."""
    hypothesis = sys.modules.get("hypothesis")
    return hypothesis is not None and bool(hypothesis.currently_in_test_context())


class PolicyCoverage:
    """Records which rules (reactions and table rows) matched while it is installed.

    Facts handled inside hypothesis tests are not counted: what hypothesis generates differs
    from run to run, and so would the figures. Coverage counts what the suite's deterministic
    tests (example tables, timelines, replays) exercise, the same on every run.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.hits: dict[str, int] = dict.fromkeys(policy.rules, 0)
        self._original: Any = None

    def install(self) -> None:
        """Start recording: every :meth:`PolicyEngine.handle` outside hypothesis tests counts."""
        original = PolicyEngine.handle
        coverage = self

        @functools.wraps(original)  # the engine's own signature and docstring, for help()
        def handle(engine: PolicyEngine, fact: Any) -> Decision:
            decision = original(engine, fact)
            if not _in_hypothesis_test():
                coverage.record(decision)
            return decision

        self._original = original
        PolicyEngine.handle = handle  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        """Stop recording; the hits recorded so far are kept."""
        if self._original is not None:
            PolicyEngine.handle = self._original  # type: ignore[method-assign]
            self._original = None

    def record(self, decision: Decision) -> None:
        """Count the rules that matched in ``decision`` (rules of other policies are ignored)."""
        for rule in decision.matched:
            if rule in self.hits:
                self.hits[rule] += 1

    def percent(self) -> float:
        """The share of rules and table rows exercised, from 0 to 100."""
        return 100.0 * (len(self.hits) - len(self.never())) / len(self.hits) if self.hits else 100.0

    def never(self) -> list[str]:
        """The ids of the rules never exercised, in the policy's order."""
        return [rule for rule, count in self.hits.items() if not count]

    def report(self) -> Iterator[str]:
        """The lines of the end-of-run report."""
        total = len(self.hits)
        used = total - len(self.never())
        yield f"policy coverage: {used}/{total} rules and table rows exercised"
        yield "  (facts handled inside hypothesis tests are not counted: they vary from run to run)"
        for rule in self.never():
            info = self.policy.rules[rule]
            yield f"  never exercised: {rule} ({info.title}) · {info.cites}"


_COVERAGE = pytest.StashKey[PolicyCoverage]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The options ``--policy-coverage`` and ``--policy-coverage-fail-under``."""
    group = parser.getgroup("escalation-policy")
    group.addoption(
        "--policy-coverage",
        action="store_true",
        default=False,
        help="report which escalation-policy rules and table rows the tests exercised",
    )
    group.addoption(
        "--policy-coverage-fail-under",
        type=float,
        default=None,
        metavar="PERCENT",
        help="fail the run if fewer rules were exercised (implies --policy-coverage)",
    )
    group.addoption(
        "--policy-package",
        default=None,
        metavar="PACKAGE",
        help="the policy package (a folder or a module) the fixtures apply and coverage "
        "counts (default: the handbook's policy)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Start recording coverage when either option asks for it."""
    wanted = config.getoption("--policy-coverage") or (
        config.getoption("--policy-coverage-fail-under") is not None
    )
    if wanted:
        coverage = PolicyCoverage(_chosen_policy(config))
        coverage.install()
        config.stash[_COVERAGE] = coverage


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop recording coverage."""
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is not None:
        coverage.uninstall()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail an otherwise passing run whose coverage is under the threshold."""
    coverage = session.config.stash.get(_COVERAGE, None)
    threshold = session.config.getoption("--policy-coverage-fail-under")
    if (
        coverage is not None
        and threshold is not None
        and coverage.percent() < threshold
        and session.exitstatus == pytest.ExitCode.OK
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Report coverage, and the threshold it failed, at the end of the run."""
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is not None:
        terminalreporter.section("escalation-policy coverage")
        for line in coverage.report():
            terminalreporter.write_line(line)
        threshold = config.getoption("--policy-coverage-fail-under")
        if threshold is not None and coverage.percent() < threshold:
            terminalreporter.write_line(
                f"FAIL: policy coverage {coverage.percent():.1f}% is under {threshold:g}%",
                red=True,
            )
