"""A policy owner edits the policy package, and nothing else: the engine, the kit and the suite
follow.

The four typical edits of the handbook's policy, each made as a policy owner would make it, by
replacing text in a copy of the package ``escalation_policy/rules``:

1. Medium escalations meet weekly (a ``weekly`` cadence replaces ``weekly_to_biweekly``) and
   High ones are updated every two days.
2. The Director of Customer Success is involved in High escalations.
3. A product-related Critical or High escalation needs a Product DRI within 24 hours: a new fact
   type, a new attribute of the escalation, a new obligation with its violation code, and a
   reminder before it falls due.
4. A ``public_sector`` segment, always in scope: a new value and a new scope row.

For each, the files that differ from the library are only the package's terms and rule modules;
the edited package loads and behaves as the edit says; and the tests of the rules and the host
tests pass against it unchanged, apart from the handbook's severity table, which they pin word
for word. The table of the edits in ``docs/writing-rules.md`` is measured here.
"""

import datetime as dt
import difflib
import filecmp
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import escalation_policy
from escalation_policy import Policy, PolicyEngine, audit, load_policy, make_converter
from escalation_policy.rules import MODULES
from escalation_policy.testing import Timeline, assert_actions, assert_compliant
from escalation_policy.testing.strategies import histories
from escalation_policy.vocabulary import TimesPerWeek
from tests.conftest import examples

ROOT = pathlib.Path(__file__).parent.parent
LIBRARY = pathlib.Path(escalation_policy.__file__).parent
RULES = LIBRARY / "rules"

DOC = "https://docs.example.com/acme-escalation-tracker"
"""The escalation document the created and closed posts link."""

Edit = dict[str, list[tuple[str, str]]]
"""For each file of the policy package, the text replaced (old, new), in order."""

WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS: Edit = {
    "terms.py": [
        (
            '    WEEKLY_TO_BIWEEKLY = "weekly_to_biweekly", "Weekly to Bi-weekly"',
            '    WEEKLY = "weekly", "Weekly"',
        )
    ],
    "severity.py": [
        (
            """WEEKLY_TO_BI_WEEKLY = Setting(
    name="weekly_to_biweekly_cadence",
    default=TimesPerWeek(1, weeks=2),
    description="the same at a Weekly to Bi-weekly cadence",""",
            """WEEKLY = Setting(
    name="weekly_cadence",
    default=TimesPerWeek(1),
    description="the same at a Weekly cadence",""",
        ),
        ('"cadence": Cadence.WEEKLY_TO_BIWEEKLY,', '"cadence": Cadence.WEEKLY,'),
        (
            """            Row(
                id="weekly_to_biweekly",
                when={"cadence": Cadence.WEEKLY_TO_BIWEEKLY},
                then={"cadence_every": WEEKLY_TO_BI_WEEKLY},
            ),""",
            """            Row(
                id="weekly",
                when={"cadence": Cadence.WEEKLY},
                then={"cadence_every": WEEKLY},
            ),""",
        ),
    ],
    "communication.py": [
        ("    EachBusinessDay,\n", "    EachBusinessDay,\n    EveryBusinessDays,\n"),
        ("HIGH_UPDATES = EachBusinessDay()", "HIGH_UPDATES = EveryBusinessDays(2)"),
    ],
}

DIRECTOR_OF_CUSTOMER_SUCCESS_IN_HIGH: Edit = {
    "severity.py": [
        (
            """                    "cadence": Cadence.MULTIPLE_PER_WEEK,
                    "involvement": EXECUTIVES,""",
            """                    "cadence": Cadence.MULTIPLE_PER_WEEK,
                    "involvement": (*EXECUTIVES, Role.DIRECTOR_CUSTOMER_SUCCESS),""",
        )
    ],
}

PRODUCT_DRI_WITHIN_24_HOURS: Edit = {
    "terms.py": [
        ('    "AccountIssueKind",\n', '    "AccountIssueKind",\n    "AssignProductDri",\n'),
        ('    "Posted",\n', '    "Posted",\n    "ProductDriAssigned",\n'),
        (
            '    WRONG_POSTER = "wrong_poster"\n',
            '    WRONG_POSTER = "wrong_poster"\n'
            '    PRODUCT_DRI_NOT_ASSIGNED = "product_dri_not_assigned"\n',
        ),
        (
            "    summary: str | None = None\n",
            "    summary: str | None = None\n    product_related: bool = False\n",
        ),
        (
            """@attrs.frozen(kw_only=True)
class MeetingHeld(EscalationFact):""",
            '''@attrs.frozen(kw_only=True)
class ProductDriAssigned(EscalationFact):
    """A directly responsible individual (DRI) in Product took on the escalation."""

    TYPE = "product_dri_assigned"
    SETS: ClassVar[Mapping[str, str]] = {"product_dri": "dri"}
    dri: str = attrs.field(metadata=NON_EMPTY)


@attrs.frozen(kw_only=True)
class MeetingHeld(EscalationFact):''',
        ),
        (
            "    TamAssigned,\n    Posted,\n",
            "    TamAssigned,\n    ProductDriAssigned,\n    Posted,\n",
        ),
        (
            """@quick_init
@attrs.frozen(kw_only=True)
class UpdateExecutiveSummary(Action):""",
            """@quick_init
@attrs.frozen(kw_only=True)
class AssignProductDri(Action):
    TYPE = "assign_product_dri"
    due: dt.datetime


@quick_init
@attrs.frozen(kw_only=True)
class UpdateExecutiveSummary(Action):""",
        ),
        (
            "    InformTam,\n    UpdateExecutiveSummary,\n",
            "    InformTam,\n    AssignProductDri,\n    UpdateExecutiveSummary,\n",
        ),
    ],
    "responsibilities.py": [
        (
            "    AccountIssue,\n    InformTam,\n    Opened,\n",
            "    AccountIssue,\n    AssignProductDri,\n    Closed,\n    InformTam,\n    Opened,\n"
            "    ProductDriAssigned,\n",
        ),
        (
            "TAM_ASSIGNED_WITHIN = BusinessTime(dt.timedelta(hours=8))\n",
            """TAM_ASSIGNED_WITHIN = BusinessTime(dt.timedelta(hours=8))

# A product-related critical or high escalation: a Product DRI within a day, reminded before.
PRODUCT_DRI_WITHIN = dt.timedelta(hours=24)
PRODUCT_DRI_REMINDER = dt.timedelta(hours=4)
""",
        ),
        (
            '    ContextField("escalated", BOOL, _escalated),\n)\n',
            """    ContextField("escalated", BOOL, _escalated),
    ContextField(
        "product_dri_assigned", BOOL, lambda situation: situation.record.product_dri is not None
    ),
)
""",
        ),
        (
            "OBLIGATIONS = (INFORM_TAM, ASSIGN_TAM)",
            '''PRODUCT_DRI = Obligation(
    id="product_dri",
    violation=ViolationCode.PRODUCT_DRI_NOT_ASSIGNED,
    missed="no Product DRI was assigned by {due}",
    announce=AssignProductDri,
)
"""A product-related critical or high escalation needs a DRI in Product."""

OBLIGATIONS = (INFORM_TAM, ASSIGN_TAM, PRODUCT_DRI)''',
        ),
        (
            """                values={"role": Role.DIRECTOR_CUSTOMER_SUCCESS},
            ),
        ),
    ),
)""",
            """                values={"role": Role.DIRECTOR_CUSTOMER_SUCCESS},
            ),
        ),
    ),
    Reaction(
        id="responsibilities.product_dri",
        title="A product-related critical or high escalation gets a Product DRI",
        cites=CRITICAL_AND_HIGH,
        on=(Opened, SeverityChanged),
        when={
            "severity": one_of(Severity.CRITICAL, Severity.HIGH),
            "product_related": True,
            "product_dri_assigned": False,
        },
        then=(
            Require(
                obligation=PRODUCT_DRI,
                within=PRODUCT_DRI_WITHIN,
                remind_before=PRODUCT_DRI_REMINDER,
            ),
        ),
    ),
    Reaction(
        id="responsibilities.product_dri_assigned",
        title="A Product DRI was assigned",
        cites=CRITICAL_AND_HIGH,
        on=(ProductDriAssigned,),
        then=(Fulfil(obligation=PRODUCT_DRI),),
    ),
    Reaction(
        id="responsibilities.product_dri_below_high",
        title="Below High, no Product DRI is awaited",
        cites=CRITICAL_AND_HIGH,
        on=(SeverityChanged,),
        when={"severity": one_of(Severity.MEDIUM, Severity.LOW)},
        then=(Cancel(obligations=(PRODUCT_DRI,)),),
    ),
    Reaction(
        id="responsibilities.product_dri_closed",
        title="Closing ends the wait for a Product DRI",
        cites=CRITICAL_AND_HIGH,
        on=(Closed,),
        then=(Cancel(obligations=(PRODUCT_DRI,)),),
    ),
)""",
        ),
    ],
}

PUBLIC_SECTOR_ALWAYS_IN_SCOPE: Edit = {
    "terms.py": [
        (
            '    SMB = "smb", "SMB"\n',
            '    SMB = "smb", "SMB"\n    PUBLIC_SECTOR = "public_sector", "Public sector"\n',
        )
    ],
    "scope.py": [
        (
            """            Row(
                id="strategic_partnership",""",
            """            Row(
                id="public_sector",
                when={
                    "broad_impact": False,
                    "segment": Segment.PUBLIC_SECTOR,
                    "strategic_partnership": ANY,
                },
                then={"in_scope": True, "out_of_scope_reason": None},
            ),
            Row(
                id="strategic_partnership",""",
        )
    ],
}

EDITS: dict[str, Edit] = {
    "Medium meets weekly; High updates every 2 days": WEEKLY_MEETINGS_AND_UPDATES_EVERY_TWO_DAYS,
    "Director of Customer Success in High": DIRECTOR_OF_CUSTOMER_SUCCESS_IN_HIGH,
    "product-related High/Critical: a Product DRI within 24 h": PRODUCT_DRI_WITHIN_24_HOURS,
    "a public_sector segment, always in scope": PUBLIC_SECTOR_ALWAYS_IN_SCOPE,
}
FILES_TOUCHED = {
    "Medium meets weekly; High updates every 2 days": [
        "terms.py",
        "severity.py",
        "communication.py",
    ],
    "Director of Customer Success in High": ["severity.py"],
    "product-related High/Critical: a Product DRI within 24 h": ["terms.py", "responsibilities.py"],
    "a public_sector segment, always in scope": ["terms.py", "scope.py"],
}
"""What each edit touches: the policy package's terms and rule modules, nothing else."""


def combined(*edits: Edit) -> Edit:
    """Several edits made one after the other."""
    together: Edit = {}
    for edit in edits:
        for name, replacements in edit.items():
            together.setdefault(name, []).extend(replacements)
    return together


ALL_FOUR = combined(*EDITS.values())


def edited_source(name: str, edit: Edit) -> str:
    """The policy package's file ``name`` (``severity.py``) as the policy owner leaves it."""
    source = (RULES / name).read_text()
    for old, new in edit.get(name, []):
        assert 1 == source.count(old), f"the edit no longer applies to {name}: {old!r}"
        source = source.replace(old, new)
    return source


def diff_stat(edit: Edit) -> dict[str, tuple[int, int]]:
    """Lines added and removed in each file the edit changes, as ``git diff --stat`` counts."""
    stat = {}
    for name in edit:
        before = (RULES / name).read_text().splitlines()
        after = edited_source(name, edit).splitlines()
        lines = list(difflib.unified_diff(before, after, lineterm="", n=0))[2:]
        added = sum(line.startswith("+") for line in lines)
        removed = sum(line.startswith("-") for line in lines)
        stat[name] = (added, removed)
    return stat


def edited_package(folder: pathlib.Path, edit: Edit) -> pathlib.Path:
    """A company's copy of the handbook's package in ``folder``, with ``edit`` made.

    The copy's ``MODULES`` name its own modules (the folder's name); that is what copying
    the package takes, not part of any edit.
    """
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', f'"{folder.name}.'))
    for name in edit:
        (folder / name).write_text(edited_source(name, edit))
    return folder


def edited_library(folder: pathlib.Path, edit: Edit) -> pathlib.Path:
    """A copy of the library in ``folder/src``, with ``edit`` made in its policy package."""
    source = folder / "src"
    package = source / "escalation_policy"
    shutil.copytree(LIBRARY, package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in edit:
        (package / "rules" / name).write_text(edited_source(name, edit))
    return source


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Policy]:
    """Each edit's policy, and all four edits together, each loaded from its folder."""
    folders = tmp_path_factory.mktemp("policies")
    loaded = {}
    for number, (name, edit) in enumerate([*EDITS.items(), ("all four", ALL_FOUR)], start=1):
        loaded[name] = load_policy(str(edited_package(folders / f"edited_{number}", edit)))
    return loaded


@pytest.fixture(scope="module")
def all_four(policies: dict[str, Policy]) -> Policy:
    return policies["all four"]


# ---------------------------------------------------------------------- only the policy package
@pytest.mark.parametrize("edit", list(EDITS))
def test_each_edit_touches_only_the_terms_and_rule_modules(
    edit: str, tmp_path: pathlib.Path
) -> None:
    """The library with the edit made differs from the library in those files only, each the
    package's terms or one of its rule modules (``MODULES``)."""
    package = edited_library(tmp_path, EDITS[edit]) / "escalation_policy"
    assert [f"rules/{name}" for name in sorted(FILES_TOUCHED[edit])] == _differing(LIBRARY, package)
    assert {f"escalation_policy.rules.{name[:-3]}" for name in FILES_TOUCHED[edit]} <= set(MODULES)
    assert all(added or removed for added, removed in diff_stat(EDITS[edit]).values())


def _table_row(edit: str) -> str:
    stat = diff_stat(EDITS[edit])
    files = ", ".join(f"`{name}` (+{added} -{removed})" for name, (added, removed) in stat.items())
    added = sum(a for a, _ in stat.values())
    removed = sum(r for _, r in stat.values())
    return f"| {edit} | {files} | +{added} -{removed} | none |"


def test_the_table_of_edits_in_the_tutorial_is_measured_here() -> None:
    """docs/writing-rules.md shows each edit's files and lines as these diffs count them."""
    page = (ROOT / "docs" / "writing-rules.md").read_text()
    rows = [_table_row(edit) for edit in EDITS]
    assert [] == [row for row in rows if row not in page], "\n".join(rows)


# ------------------------------------------------------------------------- each edit's behaviour
def test_medium_meets_weekly_and_high_is_updated_every_two_days(
    policies: dict[str, Policy],
) -> None:
    """Medium meets once each calendar week; High is updated by the end of every second
    business day (the handbook's: each business day). The timelines open on a Monday."""
    policy = policies["Medium meets weekly; High updates every 2 days"]
    cadence = {row.id: row.then["cadence_every"] for row in policy.table("severity.cadence").rows}
    assert TimesPerWeek(1) == cadence["weekly"]
    assert "weekly_to_biweekly" not in cadence
    assert "weekly" in policy.context.domains["cadence"]  # type: ignore[operator]

    high = Timeline(PolicyEngine(policy))
    high.open(severity="high", tam="Priya").post("created", url=DOC)
    high.wait(hours=59).post("update").meeting()  # Wednesday 20:00, due by Wednesday's end
    high.wait(hours=2).close().post("closed", url=DOC)
    assert_compliant(high)  # against the timeline's own policy
    as_json = make_converter(policy).unstructure(high.facts)
    handbook = {v.code.value for v in audit(as_json).violations}
    assert "update_overdue" in handbook, "the handbook's High is updated each business day"
    slow = Timeline(PolicyEngine(policy))
    slow.open(severity="high", tam="Priya").post("created", url=DOC)
    slow.wait(hours=64).post("update").meeting()  # Thursday 01:00, after Wednesday ended
    assert "update_overdue" in {v.code.value for v in audit(slow.facts, policy=policy).violations}

    medium = Timeline(PolicyEngine(policy)).open(severity="medium", tam="Priya")
    assert_actions(medium.last, {"type": "set_cadence", "cadence": "weekly"})
    medium.post("created", url=DOC).after(days=7, minutes=1)  # the next Monday
    week_end = (medium.facts[0].at + dt.timedelta(days=6, hours=15)).isoformat()
    assert_actions(medium.last, {"type": "violation", "code": "cadence_missed", "due": week_end})


def test_the_director_of_customer_success_is_involved_in_high(
    policies: dict[str, Policy],
) -> None:
    policy = policies["Director of Customer Success in High"]
    involved = Timeline(PolicyEngine(policy)).open(severity="high", tam="Priya")
    (involvement,) = [a for a in involved.actions if a.TYPE == "set_involvement"]
    assert "director_customer_success" in [role.value for role in involvement.roles]


def test_a_product_related_critical_escalation_needs_a_product_dri_within_a_day(
    policies: dict[str, Policy],
) -> None:
    """The host is told at once, the owner reminded 4 hours before, and a miss is reported."""
    policy = policies["product-related High/Critical: a Product DRI within 24 h"]
    assert "product_dri_assigned" in policy.contract.facts
    assert "assign_product_dri" in policy.contract.actions
    assert "product_dri_not_assigned" in policy.violation_codes
    assert (False, True) == policy.context.domains["product_related"]

    missed = Timeline(PolicyEngine(policy)).open(
        severity="critical", tam="Priya", product_related=True
    )
    due = (missed.now + dt.timedelta(hours=24)).isoformat()
    assert_actions(missed.last, {"type": "assign_product_dri", "due": due})
    missed.after(hours=19)
    assert [] == [a for a in missed.last.actions if a.TYPE == "reminder"]
    missed.after(hours=1, minutes=1)
    assert_actions(
        missed.last, {"type": "reminder", "obligation": "product_dri", "due": due, "owner": "tam"}
    )
    missed.after(hours=4)
    assert_actions(
        missed.last,
        {"type": "violation", "code": "product_dri_not_assigned", "due": due,
         "rule": "responsibilities.product_dri"},
    )  # fmt: skip

    met = Timeline(PolicyEngine(policy)).open(severity="high", tam="Priya", product_related=True)
    met.wait(hours=10).fact("product_dri_assigned", dri="Pat")
    assert ["product_dri"] == [f.obligation for f in met.last.fulfilled]
    met.severity("critical").after(days=2)
    assert [] == [a for a in met.actions if getattr(a, "code", None) == "product_dri_not_assigned"]
    assert "Pat" == met.engine.escalation(met.current).product_dri  # type: ignore[arg-type, union-attr]
    report = audit(met.facts, policy=policy)
    assert 1 == report.totals.obligations["product_dri"].on_time


@pytest.mark.parametrize(
    ("opened", "then"),
    [
        pytest.param({"severity": "critical"}, None, id="not product-related"),
        pytest.param({"severity": "medium", "product_related": True}, None, id="medium"),
        pytest.param({"severity": "high", "product_related": True}, "low", id="lowered to low"),
        pytest.param({"severity": "high", "product_related": True}, "closed", id="closed"),
    ],
)
def test_no_product_dri_is_awaited_below_high_or_once_closed(
    policies: dict[str, Policy], opened: dict[str, object], then: str | None
) -> None:
    policy = policies["product-related High/Critical: a Product DRI within 24 h"]
    timeline = Timeline(PolicyEngine(policy)).open(**opened)
    if then == "closed":
        timeline.wait(hours=1).close()
    elif then is not None:
        timeline.wait(hours=1).severity(then)
    timeline.after(days=3)
    assert [] == [
        action
        for action in timeline.actions
        if getattr(action, "obligation", None) == "product_dri"
        or getattr(action, "code", None) == "product_dri_not_assigned"
    ]


@pytest.mark.parametrize("partnership", [False, True])
@pytest.mark.parametrize("severity", ["critical", "low"])
def test_a_public_sector_escalation_is_always_in_scope(
    policies: dict[str, Policy], partnership: bool, severity: str
) -> None:
    policy = policies["a public_sector segment, always in scope"]
    opened = Timeline(PolicyEngine(policy)).open(
        segment="public_sector", strategic_partnership=partnership, severity=severity
    )
    assert [] == [a for a in opened.actions if a.TYPE == "out_of_scope"]
    assert_actions(opened.last, {"type": "assign_owner"})


def test_the_other_segments_keep_their_scope(policies: dict[str, Policy]) -> None:
    policy = policies["a public_sector segment, always in scope"]
    handbook = load_policy()

    def in_scope(chosen: Policy, segment: str, partnership: bool, broad: bool) -> bool:
        fields = {"strategic_partnership": partnership, "broad_impact": broad}
        timeline = Timeline(PolicyEngine(chosen)).open(segment=segment, **fields)
        return not [a for a in timeline.actions if a.TYPE == "out_of_scope"]

    cases = [
        (segment, partnership, broad)
        for segment in ("enterprise", "commercial", "smb")
        for partnership in (False, True)
        for broad in (False, True)
    ]
    assert [in_scope(handbook, *case) for case in cases] == [
        in_scope(policy, *case) for case in cases
    ]


# ------------------------------------------------------------- the kit follows the edited policy
@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compliant_histories_drawn_for_the_edited_policy_comply_with_it(
    all_four: Policy, data: st.DataObject
) -> None:
    history = data.draw(histories(compliant=True, policy=all_four))
    assert_compliant(history, as_of=history[-1].at + dt.timedelta(days=30), policy=all_four)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_history_drawn_for_the_edited_policy_is_taken_by_its_engine(
    all_four: Policy, data: st.DataObject
) -> None:
    """Every fact is taken (the engine's clock reaches the last), and every action the engine
    emits cites a rule of the edited policy."""
    history = data.draw(histories(policy=all_four))
    engine = PolicyEngine(all_four)
    actions = [action for fact in history for action in engine.handle(fact).actions]
    assert max(fact.at for fact in history) == engine.clock
    assert [] == [action.rule for action in actions if action.rule not in all_four.rules]


# ------------------------------------------------------------- the suites pass on the edited copy
@pytest.mark.slow
@pytest.mark.parametrize("edit", list(EDITS))
def test_the_tests_of_the_rules_and_the_host_tests_pass_against_the_edited_policy(
    edit: str, tmp_path: pathlib.Path
) -> None:
    """The library copied, the edit made in its policy package, the suites run unchanged on it.

    The handbook's severity table and the tables of its reading of each cadence
    (``handbook_reading``) are left out: they pin the handbook's words on purpose, and a policy
    owner who changes the cadence or the involvement changes that specification too.
    """
    source = edited_library(tmp_path, EDITS[edit])
    package = source / "escalation_policy"
    env = {**os.environ, "PYTHONPATH": str(source)}
    pinned = "test_rendered_severity_table_is_the_handbooks"
    reading = "handbook_reading"
    runs = [
        (ROOT, [str(ROOT / "tests" / "rules"), "-k", f"not {pinned}", "-m", f"not {reading}"]),
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


def _differing(original: pathlib.Path, copy: pathlib.Path) -> list[str]:
    """The files of ``copy`` that differ from ``original`` (or are only in one of them)."""
    found: list[str] = []

    def walk(compared: filecmp.dircmp[str], prefix: str) -> None:
        for name in [*compared.diff_files, *compared.left_only, *compared.right_only]:
            found.append(prefix + name)
        for name, sub in compared.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(original, copy, ignore=["__pycache__"]), "")
    return sorted(found)
