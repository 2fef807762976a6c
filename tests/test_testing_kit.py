"""The testing kit hosts use: timeline, assertions, strategies, the plugin and coverage."""

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escalation_policy import Action, EscalationFact, PolicyEngine, Tick, Violation, make_converter
from escalation_policy.model import Fact
from escalation_policy.rules import Closed, Opened, Posted
from escalation_policy.testing import PolicyCoverage, Timeline, assert_actions, assert_compliant
from escalation_policy.testing.strategies import histories
from tests.conftest import examples, owner_of

HOST_TESTS = pathlib.Path(__file__).parent.parent / "examples" / "host_tests"
CONVERTER = make_converter()


def run_pytest(directory: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pytest on a host's suite in a fresh interpreter, as the host would."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(directory)],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
        env={**os.environ, "PYTHONPATH": ""},
    )


def host_suite(tmp_path: pathlib.Path, tests: str) -> pathlib.Path:
    """A host's suite: a root conftest enabling the plugin, and one test module."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["escalation_policy.testing"]\n')
    (tmp_path / "test_host.py").write_text(textwrap.dedent(tests))
    return tmp_path


def coverage_section(output: str) -> str:
    """The plugin's report, from its heading to the end of the run's output."""
    section = output[output.index("escalation-policy coverage") :].splitlines()
    return "\n".join(line for line in section if line.startswith(("policy coverage", "  ")))


def test_timeline_builds_facts_with_defaults_and_advancing_time() -> None:
    timeline = Timeline()
    timeline.open(severity="critical", tam="alex").post("created", url="https://docs/1")
    timeline.after(hours=39, minutes=1)  # Wednesday 00:01, the end of the next business day passed
    opened, posted, tick = timeline.facts
    assert [Opened, Posted, Tick] == [type(fact) for fact in timeline.facts]
    assert isinstance(posted, Posted)
    assert (owner_of("critical"), timeline.engine.policy.channel) == (
        posted.by.value,
        posted.channel,
    )
    assert 39 * 3600 + 60 == (tick.at - opened.at).total_seconds()
    assert {"update_overdue", "cadence_missed"} == {
        a.code.value for a in timeline.last.actions if a.TYPE == "violation"
    }


def test_timeline_needs_an_open_escalation() -> None:
    with pytest.raises(ValueError, match="open"):
        Timeline().post("created")


def test_assert_actions_shows_missing_and_unexpected_with_citations() -> None:
    timeline = Timeline().open(severity="low")
    with pytest.raises(AssertionError) as caught:
        assert_actions(timeline.last, {"type": "assign_owner", "owner": "tam"}, exact=True)
    message = str(caught.value)
    assert "missing:\n  {'type': 'assign_owner', 'owner': 'tam'}" in message
    assert "unexpected:" in message
    assert "[responsibilities.owner/medium_and_low · Responsibilities > Medium and Low" in message


def test_assert_actions_passes_on_a_partial_match() -> None:
    timeline = Timeline().open(severity="low")
    assert_actions(timeline.last, {"type": "assign_owner", "owner": "support_engineering"})


def test_assert_compliant_lists_violations_with_rules() -> None:
    timeline = Timeline().open(severity="critical").after(hours=3)
    with pytest.raises(AssertionError) as caught:
        assert_compliant(timeline)
    assert "post_overdue" in str(caught.value)
    assert "rule communication.post_when_created · Communication Process" in str(caught.value)


@settings(max_examples=examples(30), deadline=None)
@given(histories())
def test_generated_histories_are_coherent(history: list[Fact]) -> None:
    times = [fact.at for fact in history]
    assert times == sorted(times)
    opened: set[str] = set()
    closed: set[str] = set()
    for fact in history:
        escalation_id = getattr(fact, "escalation_id", None)
        if isinstance(fact, Opened):
            opened.add(fact.escalation_id)
        elif escalation_id is not None:
            assert escalation_id in opened, "opened before anything else"
            if escalation_id in closed:
                assert type(fact).AFTER_CLOSING, "after closed, only what the policy takes then"
        if isinstance(fact, Closed):
            closed.add(fact.escalation_id)


@settings(max_examples=examples(20), deadline=None)
@given(st.from_type(Opened))
def test_strategies_are_registered_for_the_librarys_types(opened: Opened) -> None:
    assert opened.at.tzinfo is not None


@settings(max_examples=examples(100), deadline=None)
@given(st.from_type(Fact), st.from_type(EscalationFact), st.from_type(Action))
def test_every_drawn_fact_and_action_is_one_the_json_edge_reads_back(
    fact: Fact, escalation_fact: EscalationFact, action: Action
) -> None:
    """Aware timestamps, non-empty ids: what is drawn survives JSON and the converter."""
    for value, base in ((fact, Fact), (escalation_fact, Fact), (action, Action)):
        body = json.loads(json.dumps(CONVERTER.unstructure(value, base)))
        assert value == CONVERTER.structure(body, base)


@settings(max_examples=examples(40), deadline=None)
@given(st.from_type(Opened), st.from_type(EscalationFact))
def test_the_engine_takes_every_drawn_fact_about_an_open_escalation(
    opened: Opened, fact: EscalationFact
) -> None:
    """A drawn fact is refused only for its place in a history, never for its content (drawn
    times lie anywhere in a century, so the engine takes any clock jump here)."""
    assume(not isinstance(fact, Opened))  # a second opening is refused for its place
    engine = PolicyEngine(max_clock_jump=None)
    engine.handle(opened)
    about_it = attrs.evolve(fact, escalation_id=opened.escalation_id, at=max(fact.at, opened.at))
    decision = engine.handle(about_it)
    assert about_it.at == engine.clock
    assert {opened.escalation_id} >= {action.escalation_id for action in decision.actions}


@settings(max_examples=examples(20), deadline=None)
@given(st.from_type(Violation))
def test_drawn_violations_have_aware_timestamps(violation: Violation) -> None:
    assert violation.at.tzinfo is not None
    assert violation.due is None or violation.due.tzinfo is not None


@pytest.mark.slow
@pytest.mark.parametrize(
    "imports",
    [
        "import escalation_policy.testing.strategies",
        "from escalation_policy.testing.strategies import histories\nimport hypothesis",
        "import hypothesis\nimport escalation_policy.testing.strategies",
        "import escalation_policy.testing\nimport hypothesis",
    ],
    ids=["strategies-alone", "strategies-first", "hypothesis-first", "kit-first"],
)
def test_the_kit_imports_in_any_order_and_registers_its_strategies(imports: str) -> None:
    """Import sorters put ``escalation_policy`` before ``hypothesis`` in a host's tests."""
    program = imports + textwrap.dedent(
        """
        from hypothesis import given, settings, strategies as st
        from escalation_policy import EscalationFact

        @settings(max_examples=10, database=None, deadline=None)
        @given(st.from_type(EscalationFact))
        def test(fact):
            assert fact.at.tzinfo is not None

        test()
        print("imported and drew aware facts")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert (0, "imported and drew aware facts\n") == (result.returncode, result.stdout), (
        result.stderr
    )


@pytest.mark.slow
def test_the_host_suite_passes_with_the_plugin_and_reports_coverage() -> None:
    result = run_pytest(HOST_TESTS, "--policy-coverage", "--rootdir", str(HOST_TESTS))
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "7 passed" in result.stdout
    assert "escalation-policy coverage" in result.stdout
    assert "rules and table rows exercised" in result.stdout
    assert "never exercised: communication.not_for_initiation" in result.stdout


@pytest.mark.slow
def test_coverage_figures_are_the_same_on_every_run_of_the_same_suite() -> None:
    """The host suite's property tests draw different escalations on each run."""
    reports = [
        coverage_section(run_pytest(HOST_TESTS, "--policy-coverage").stdout) for _ in range(3)
    ]
    assert [reports[0]] * 3 == reports


@pytest.mark.slow
def test_coverage_does_not_count_what_hypothesis_generates(tmp_path: pathlib.Path) -> None:
    """Only the strategic partnership test reaches that rule, through generated facts."""
    suite = host_suite(
        tmp_path,
        """
        from hypothesis import given, settings, strategies as st

        def test_a_low_escalation(timeline):
            timeline.open(severity="low")

        @settings(max_examples=5, deadline=None)
        @given(st.integers(min_value=1, max_value=3))
        def test_strategic_partners(make_timeline, days):
            make_timeline().open(segment="smb", strategic_partnership=True).after(days=days)
        """,
    )
    result = run_pytest(suite, "--policy-coverage")
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "never exercised: scope.customers/strategic_partnership" in result.stdout


@pytest.mark.slow
def test_the_timeline_factory_works_in_given_tests(tmp_path: pathlib.Path) -> None:
    """``timeline`` is function-scoped, which hypothesis refuses; ``make_timeline`` is not."""
    suite = host_suite(
        tmp_path,
        """
        from hypothesis import given, settings, strategies as st
        from escalation_policy.testing import assert_actions

        @settings(max_examples=10, deadline=None)  # from Monday 09:00, past the end of Tuesday
        @given(st.integers(min_value=40, max_value=60))
        def test_a_missed_update_is_caught(make_timeline, hours):
            timeline = make_timeline()
            timeline.open(severity="critical").post("created").after(hours=hours)
            assert_actions(timeline.actions, {"type": "violation", "code": "update_overdue"})
        """,
    )
    result = run_pytest(suite)
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.slow
def test_a_coverage_threshold_alone_turns_coverage_on(tmp_path: pathlib.Path) -> None:
    suite = host_suite(
        tmp_path,
        """
        def test_a_low_escalation(timeline):
            timeline.open(severity="low")
        """,
    )
    result = run_pytest(suite, "--policy-coverage-fail-under=100")
    assert 1 == result.returncode, result.stdout + result.stderr
    assert "escalation-policy coverage" in result.stdout
    assert re.search(r"FAIL: policy coverage [0-9.]+% is under 100%", result.stdout)


def test_coverage_counts_deterministic_tests_only() -> None:
    coverage = PolicyCoverage(PolicyEngine().policy)
    coverage.install()
    try:
        Timeline().open(severity="low")

        @settings(max_examples=3, deadline=None, database=None)
        @given(st.booleans())
        def generated(strategic: bool) -> None:
            Timeline().open(severity="critical", strategic_partnership=strategic)

        generated()
    finally:
        coverage.uninstall()
    exercised = {rule for rule, count in coverage.hits.items() if count}
    assert "responsibilities.owner/medium_and_low" in exercised
    assert "responsibilities.owner/critical_and_high" not in exercised


@pytest.mark.slow
def test_the_plugin_is_not_loaded_unless_asked_for(tmp_path: pathlib.Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--policy-coverage",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert 0 != result.returncode
    assert "unrecognized arguments: --policy-coverage" in result.stderr


@pytest.mark.slow
def test_a_hosts_own_policy_package_drives_the_fixtures_and_coverage(
    tmp_path: pathlib.Path,
) -> None:
    """`--policy-package` (or an overridden `policy` fixture) gives the kit's fixtures and
    coverage a company's own policy: here the handbook's, with Medium meeting weekly."""
    import shutil

    from escalation_policy import rules

    package = tmp_path / "acme_policy"
    shutil.copytree(pathlib.Path(rules.__file__).parent, package)
    init = package / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', '"acme_policy.'))
    severity = package / "severity.py"
    text = severity.read_text()
    weekly = text.replace("TimesPerWeek(1, weeks=2)", "TimesPerWeek(1)")
    assert weekly != text
    severity.write_text(weekly)
    (tmp_path / "suite").mkdir()
    suite = host_suite(
        tmp_path / "suite",
        """
        from escalation_policy.testing import assert_actions

        def test_medium_meets_weekly(timeline, policy):
            assert "acme_policy.severity" in {rule.module for rule in policy.rules.values()}
            timeline.open(severity="medium").after(days=8)  # from a Monday to the next Tuesday
            assert_actions(timeline.last, {"type": "violation", "code": "cadence_missed"})
        """,
    )
    result = run_pytest(suite, "--policy-package", str(package), "--policy-coverage")
    assert 0 == result.returncode, result.stdout + result.stderr
    assert "rules and table rows exercised" in result.stdout
    handbook = run_pytest(suite)
    assert 0 != handbook.returncode, "the handbook's Medium meets once in two weeks: no miss yet"


def _package_copy(folder: pathlib.Path) -> pathlib.Path:
    """The handbook's policy package, copied to ``folder`` under the folder's own name."""
    import shutil

    from escalation_policy import rules

    shutil.copytree(pathlib.Path(rules.__file__).parent, folder)
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', f'"{folder.name}.'))
    return folder


@pytest.mark.slow
def test_the_policy_package_option_runs_as_the_docs_write_it(tmp_path: pathlib.Path) -> None:
    """docs/testing.md's command runs from the folder of a root conftest, as written; with
    ``=`` it also takes a package outside that folder, where a separate value is read as a
    path to test before the conftest that adds the option is loaded."""
    page = (pathlib.Path(__file__).parent.parent / "docs" / "testing.md").read_text()
    shown = re.search(r"`(python -m pytest\s+--policy-package=\S+ --policy-coverage)`", page)
    assert shown, "docs/testing.md shows the command with --policy-package=PACKAGE"
    words = shown[1].split()
    (tmp_path / "host").mkdir()
    host = host_suite(tmp_path / "host", "def test_an_engine(policy_engine):\n    pass\n")
    _package_copy(host / "policies" / "mycompany")
    outside = _package_copy(tmp_path / "elsewhere" / "theirs")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args, "-q", "-p", "no:cacheprovider"],
            capture_output=True,
            text=True,
            check=False,
            cwd=host,
            env={**os.environ, "PYTHONPATH": ""},
        )

    for args in (words[1:], ["-m", "pytest", f"--policy-package={outside}", "--policy-coverage"]):
        result = run(*args)
        assert 0 == result.returncode, result.stdout + result.stderr
        assert "1 passed" in result.stdout
        assert "rules and table rows exercised" in result.stdout
    separate = run("-m", "pytest", "--policy-package", str(outside), "--policy-coverage")
    assert 0 != separate.returncode
    assert "unrecognized arguments: --policy-package --policy-coverage" in separate.stderr
