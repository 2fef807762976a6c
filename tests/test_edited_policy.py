"""A policy owner edits a rule module, and nothing else: the testing kit and the suite follow.

Two edits of the handbook's policy, as a policy owner would make them in the rule modules:
Medium escalations meet weekly and High ones are updated every two days; the Director of
Customer Success is involved in High escalations. The kit's strategies, ``Timeline`` and
``assert_compliant`` work against the edited policy, and the tests of the rules pass against
it unchanged, apart from the handbook's severity table, which they pin word for word.
"""

import datetime as dt
import os
import pathlib
import shutil
import subprocess
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings

import escalation_policy
from escalation_policy import Policy, PolicyEngine, audit, load_policy
from escalation_policy.model import Fact
from escalation_policy.rules import MODULES
from escalation_policy.testing import Timeline, assert_compliant
from escalation_policy.testing.strategies import histories

ROOT = pathlib.Path(__file__).parent.parent
RULES = pathlib.Path(escalation_policy.__file__).parent / "rules"

WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS = {
    "severity.py": [
        (
            "WEEKLY_TO_BI_WEEKLY = dt.timedelta(days=14)",
            "WEEKLY_TO_BI_WEEKLY = dt.timedelta(days=7)",
        )
    ],
    "communication.py": [
        (
            "DAILY_UPDATES = dt.timedelta(days=1)",
            "DAILY_UPDATES = dt.timedelta(days=1)\nEVERY_TWO_DAYS = dt.timedelta(days=2)",
        ),
        (
            """            Row(
                id="critical_and_high",
                when={"severity": one_of(Severity.CRITICAL, Severity.HIGH)},
                then={"update_every": DAILY_UPDATES},
            ),""",
            """            Row(
                id="critical",
                when={"severity": Severity.CRITICAL},
                then={"update_every": DAILY_UPDATES},
            ),
            Row(
                id="high",
                when={"severity": Severity.HIGH},
                then={"update_every": EVERY_TWO_DAYS},
            ),""",
        ),
    ],
}
DIRECTOR_OF_CUSTOMER_SUCCESS_IN_HIGH = {
    "severity.py": [
        (
            """                    "cadence": Cadence.MULTIPLE_PER_WEEK,
                    "involvement": EXECUTIVES,""",
            """                    "cadence": Cadence.MULTIPLE_PER_WEEK,
                    "involvement": (*EXECUTIVES, Role.DIRECTOR_CUSTOMER_SUCCESS),""",
        )
    ],
}
EDITS = {
    "weekly meetings, updates every two days": WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS,
    "Director of Customer Success in High": DIRECTOR_OF_CUSTOMER_SUCCESS_IN_HIGH,
}


def edited_source(name: str, edits: dict[str, list[tuple[str, str]]]) -> str:
    """The rule module ``name`` (``severity.py``) as the policy owner leaves it."""
    source = (RULES / name).read_text()
    for old, new in edits.get(name, []):
        assert 1 == source.count(old), f"the edit no longer applies to {name}: {old!r}"
        source = source.replace(old, new)
    return source


def edited_policy(edits: dict[str, list[tuple[str, str]]]) -> Policy:
    """The handbook's policy with the edited modules in place of the originals."""
    modules: list[str | types.ModuleType] = []
    for name in MODULES:
        file = name.rpartition(".")[2] + ".py"
        if file not in edits:
            modules.append(name)
            continue
        module = types.ModuleType(f"edited_{file[:-3]}")
        module.__package__ = "escalation_policy.rules"  # its relative imports: the package's
        exec(compile(edited_source(file, edits), str(RULES / file), "exec"), module.__dict__)
        modules.append(module)
    return load_policy(modules)


BOTH = edited_policy(
    {
        "communication.py": WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS["communication.py"],
        "severity.py": [
            *WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS["severity.py"],
            *DIRECTOR_OF_CUSTOMER_SUCCESS_IN_HIGH["severity.py"],
        ],
    }
)
"""The handbook's policy with both edits."""


def test_the_edits_are_in_the_policy() -> None:
    cadence = {row.id: row.then["meeting_every"] for row in BOTH.table("severity.cadence").rows}
    updates = {row.id: row.then["update_every"] for row in BOTH.table("communication.updates").rows}
    (high,) = [row for row in BOTH.table("severity.levels").rows if row.id == "high"]
    assert dt.timedelta(days=7) == cadence["weekly_to_biweekly"]
    assert dt.timedelta(days=2) == updates["high"]
    assert "director_customer_success" in [role.value for role in high.then["involvement"]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(compliant=True, policy=BOTH))
def test_compliant_histories_drawn_for_the_edited_policy_comply_with_it(
    history: list[Fact],
) -> None:
    assert_compliant(history, as_of=history[-1].at + dt.timedelta(days=30), policy=BOTH)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(policy=BOTH))
def test_any_history_drawn_for_the_edited_policy_is_taken_by_its_engine(
    history: list[Fact],
) -> None:
    engine = PolicyEngine(BOTH)
    for fact in history:
        engine.handle(fact)


def test_a_timeline_follows_the_edited_policy_and_is_audited_against_it() -> None:
    """High: an update every two days is enough; Medium: a meeting within the week."""
    timeline = Timeline(PolicyEngine(BOTH))
    timeline.open(severity="high").post("created")
    timeline.wait(hours=47).post("update").meeting()
    timeline.wait(hours=2).close().post("closed")
    assert_compliant(timeline)  # against the timeline's own policy
    assert "update_overdue" in {v.code.value for v in audit(timeline.facts).violations}

    weekly = Timeline(PolicyEngine(BOTH))
    weekly.open(severity="medium").post("created").after(days=7, minutes=1)
    with pytest.raises(AssertionError, match="meeting_overdue"):
        assert_compliant(weekly)
    involved = Timeline(PolicyEngine(BOTH)).open(severity="high")
    (involvement,) = [a for a in involved.actions if a.TYPE == "set_involvement"]
    assert "director_customer_success" in [role.value for role in involvement.roles]


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_the_tests_of_the_rules_and_the_host_tests_pass_against_the_edited_policy(
    edit: str, tmp_path: pathlib.Path
) -> None:
    """The package copied, the edit made in its rule module, the suites run unchanged on it.

    Only the handbook's severity table is left out: it pins the handbook's words on purpose,
    and a policy owner who changes the involvement changes that specification too.
    """
    source = tmp_path / "src"
    package = source / "escalation_policy"
    shutil.copytree(RULES.parent, package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for name in EDITS[edit]:
        (package / "rules" / name).write_text(edited_source(name, EDITS[edit]))
    env = {**os.environ, "PYTHONPATH": str(source)}
    pinned = "test_rendered_severity_table_is_the_handbooks"
    runs = [
        (ROOT, [str(ROOT / "tests" / "rules"), "-k", f"not {pinned}"]),
        (ROOT / "examples" / "host_tests", ["."]),
    ]
    for cwd, args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
             "--rootdir", str(cwd), *args],
            capture_output=True, text=True, check=False, cwd=cwd, env=env,
        )  # fmt: skip
        assert 0 == result.returncode, result.stdout[-3000:] + result.stderr[-2000:]
        assert "passed" in result.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import escalation_policy; print(escalation_policy.__file__)"],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    assert imported.stdout.startswith(str(package))
