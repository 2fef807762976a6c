"""The pytest side of the testing kit: fixtures, ``--policy-coverage`` (see the package)."""

from collections.abc import Iterator
from typing import Any

import pytest

from escalation_policy.engine import Decision, PolicyEngine
from escalation_policy.policy import Policy, default_policy
from escalation_policy.testing import Timeline

__all__ = [
    "PolicyCoverage",
    "policy_engine",
    "pytest_addoption",
    "pytest_configure",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "timeline",
]


# -------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def policy_engine() -> PolicyEngine:
    """A fresh engine with the handbook's policy."""
    return PolicyEngine()


@pytest.fixture
def timeline(policy_engine: PolicyEngine) -> Timeline:
    """A :class:`Timeline` over the ``policy_engine`` fixture."""
    return Timeline(policy_engine)


# ---------------------------------------------------------------------------------- rule coverage
class PolicyCoverage:
    """Records which rules (reactions and table rows) matched while it is installed."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.hits: dict[str, int] = dict.fromkeys(policy.rules, 0)
        self._original: Any = None

    def install(self) -> None:
        original = PolicyEngine.handle
        coverage = self

        def handle(engine: PolicyEngine, fact: Any) -> Decision:
            decision = original(engine, fact)
            for rule in decision.matched:
                if rule in coverage.hits:
                    coverage.hits[rule] += 1
            return decision

        self._original = original
        PolicyEngine.handle = handle  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            PolicyEngine.handle = self._original  # type: ignore[method-assign]
            self._original = None

    def percent(self) -> float:
        return 100.0 * (len(self.hits) - len(self.never())) / len(self.hits) if self.hits else 100.0

    def never(self) -> list[str]:
        return [rule for rule, count in self.hits.items() if not count]

    def report(self) -> Iterator[str]:
        total = len(self.hits)
        used = total - len(self.never())
        yield f"policy coverage: {used}/{total} rules and table rows exercised"
        for rule in self.never():
            info = self.policy.rules[rule]
            yield f"  never exercised: {rule} ({info.title}) · {info.cites}"


_COVERAGE = pytest.StashKey[PolicyCoverage]()


def pytest_addoption(parser: pytest.Parser) -> None:
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
        help="with --policy-coverage: fail the run if fewer rules were exercised",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--policy-coverage"):
        coverage = PolicyCoverage(default_policy())
        coverage.install()
        config.stash[_COVERAGE] = coverage


def pytest_unconfigure(config: pytest.Config) -> None:
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is not None:
        coverage.uninstall()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    coverage = session.config.stash.get(_COVERAGE, None)
    threshold = session.config.getoption("--policy-coverage-fail-under")
    if coverage is not None and threshold is not None and coverage.percent() < threshold:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
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
