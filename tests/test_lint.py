"""``escalation-policy lint``: the loader's error with its file and line, and warnings a policy
owner should look at, each with its file and line; an exit status for CI. And the two mistakes
the loader now refuses: a fact field no fact can hold, an obligation left out of
``OBLIGATIONS``."""

import datetime as dt
import json
import linecache
import pathlib
import shutil
import subprocess
import sys
import types

import pytest

from escalation_policy import PolicyDefinitionError, PolicyEngine, default_policy, load_policy
from escalation_policy._lint import lint, lint_loaded
from escalation_policy.cli import main
from escalation_policy.cli._common import read_facts
from escalation_policy.rules import communication

ROOT = pathlib.Path(__file__).parent.parent
OFFICE = ROOT / "tests" / "policies" / "office"
LATER = ROOT / "examples" / "policies" / "later_process"
OUTAGE = ROOT / "examples" / "critical-outage.jsonl"


def _office(tmp_path: pathlib.Path, old: str = "", new: str = "") -> pathlib.Path:
    """The office policy as a package of its own, with ``old`` replaced by ``new`` in its
    rules."""
    package = tmp_path / "lint_office"
    shutil.copytree(OFFICE, package, ignore=shutil.ignore_patterns("__pycache__"))
    init = package / "__init__.py"
    init.write_text(init.read_text().replace("tests.policies.office.", "lint_office."))
    rules = package / "rules.py"
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new, 1))
    return package


def _line_of(path: pathlib.Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


ASKED = '    TYPE: ClassVar[str] = "asked"\n'


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        pytest.param("on_day: dt.date", "date", id="a date"),
        pytest.param("on_day: dt.date | None = None", "date | None", id="optional date"),
        pytest.param("on_day: Part | int = Part.CALL", "Part | int", id="a union"),
        pytest.param("on_day: Mapping[str, dt.date]", "Mapping[str, date]", id="a mapping"),
        pytest.param("on_day: Opened | None = None", "Opened | None", id="a class of its own"),
        pytest.param("on_day: Optional[Opened] = None", "Optional[Opened]", id="Optional"),
        pytest.param("on_day: Union[Part, int] = Part.CALL", "Union[Part, int]", id="Union"),
        pytest.param("on_day: tuple[Part, ...] = ()", "tuple[Part, ...]", id="a tuple"),
        pytest.param("on_day: int = 0", "int", id="a number"),
    ],
)
def test_a_fact_field_no_fact_can_hold_fails_to_load_at_its_line(
    tmp_path: pathlib.Path, field: str, shown: str
) -> None:
    """Such a field used to load, and every fact then failed with an internal error. Its
    annotation is shown as the policy writes it: classes by their names, without modules."""
    package = _office(tmp_path, ASKED, f"{ASKED}    {field}\n")
    rules = package / "rules.py"
    rules.write_text(
        rules.read_text().replace("import ClassVar\n", "import ClassVar, Optional, Union\n", 1)
    )
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    assert (str(package / "rules.py"), _line_of(package / "rules.py", field)) == (
        error.file,
        error.line,
    )
    assert error.reason.startswith(
        f"Asked.on_day is annotated {shown}, which a fact read from JSON cannot hold"
    )
    assert "expected str, bool, datetime.datetime" in error.reason


def test_the_command_line_refuses_such_a_policy_with_status_2_naming_the_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _office(tmp_path, ASKED, f"{ASKED}    on_day: dt.date | None = None\n")
    line = _line_of(package / "rules.py", "on_day")
    for command in (["replay", "-"], ["schema"], ["rules"]):
        assert 2 == main([*command, "--policy", str(package)])
        assert f"rules.py:{line}:" in capsys.readouterr().err


@pytest.mark.parametrize("package", ["escalation_policy.rules", str(LATER), str(OFFICE)])
def test_the_schema_and_reference_describe_every_fact_field(package: str) -> None:
    """No field of a policy that loads is described as anything (``{}``) or a class repr."""
    from escalation_policy import json_schema
    from escalation_policy.render import policy_reference

    policy = load_policy(package if package != str(OFFICE) else "tests.policies.office")
    schema = json.dumps(json_schema(policy))
    assert "{}" not in schema
    assert "<class" not in policy_reference(policy, "reference")


def test_an_obligation_left_out_of_obligations_fails_to_load_naming_it(
    tmp_path: pathlib.Path,
) -> None:
    package = _office(
        tmp_path,
        "OBLIGATIONS = (CHECK_IN, REVIEW, REPLY, CALL_BACK, ACKNOWLEDGE)",
        "OBLIGATIONS = (CHECK_IN, REVIEW, REPLY, CALL_BACK)",
    )
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    assert "ACKNOWLEDGE ('acknowledge')" in error.reason
    assert "not declared in OBLIGATIONS" in error.reason
    assert (str(package / "rules.py"), _line_of(package / "rules.py", "ACKNOWLEDGE = ")) == (
        error.file,
        error.line,
    )


# ------------------------------------------------------------------------------------- lint
def test_lint_of_the_handbook_warns_of_values_no_rule_names_at_their_line() -> None:
    findings = lint()
    assert findings
    assert {"warning"} == {finding.level for finding in findings}
    other = next(f for f in findings if f.message.startswith("Team.OTHER "))
    assert "value_unused" == other.code
    assert other.file is not None
    assert other.line is not None
    assert "OTHER" in linecache.getline(other.file, other.line)


def test_lint_warns_of_the_rules_no_history_reaches() -> None:
    policy = default_policy()
    engine = PolicyEngine(policy)
    with OUTAGE.open("rb") as stream:
        reached = {rule for _, fact in read_facts(stream) for rule in engine.handle(fact).matched}
    with OUTAGE.open("rb") as stream:
        history = [fact for _, fact in read_facts(stream)]
    findings = lint(histories=[history])
    unreached = {f.rule for f in findings if f.code == "rule_unreached"}
    assert set(policy.rules) - reached == unreached
    for finding in findings:
        if finding.code == "rule_unreached":
            assert finding.file is not None
            assert finding.line is not None
            assert finding.rule is not None
            assert finding.rule.rpartition("/")[2].rpartition(".")[2].split("_")[0] in (
                linecache.getline(finding.file, finding.line)
                + linecache.getline(finding.file, finding.line + 1)
            )


def test_lint_warns_of_a_setting_given_its_default_at_its_declaration() -> None:
    default = communication.CREATED_POST.default
    findings = lint(settings={"created_post_within": default})
    given = [f for f in findings if f.code == "setting_default"]
    assert 1 == len(given)
    declared = communication.CREATED_POST.defined_at
    assert declared is not None
    assert (declared.file, declared.line) == (given[0].file, given[0].line)
    assert [] == [
        f for f in lint(settings={"created_post_within": "3h"}) if f.code == given[0].code
    ]


def test_lint_warns_of_open_hours_reminders_no_require_asks_for(tmp_path: pathlib.Path) -> None:
    """``remind_in_open_hours`` moves reminders; with no ``remind_before`` there is none."""
    assert [] == [f for f in lint(str(OFFICE)) if f.code == "reminder_unused"]
    package = _office(tmp_path, "                remind_before=dt.timedelta(hours=2),\n", "")
    (finding,) = [f for f in lint(str(package)) if f.code == "reminder_unused"]
    rules = package / "rules.py"
    assert ("warning", str(rules), _line_of(rules, "ACKNOWLEDGE = Obligation(")) == (
        finding.level,
        finding.file,
        finding.line,
    )
    assert "acknowledge" in finding.message


def test_lint_warns_of_an_obligation_no_reaction_fulfils_or_drops(tmp_path: pathlib.Path) -> None:
    """Required but never met nor dropped: every instance ends in a violation. One that a
    reaction only drops is a timer (a violation unless something comes), not warned of."""
    timer = _office(
        tmp_path,
        "        then=(Fulfil(obligation=ACKNOWLEDGE),),\n",
        "        then=(Cancel(obligations=(ACKNOWLEDGE,)),),\n",
    )
    assert [] == [f for f in lint(str(timer)) if f.code == "obligation_never_met"]


def test_lint_warns_of_an_obligation_nothing_ends(tmp_path: pathlib.Path) -> None:
    package = _office(
        tmp_path,
        "        then=(Fulfil(obligation=ACKNOWLEDGE),),\n",
        "        then=(Cancel(obligations=(REPLY,)),),\n",
    )
    rules = package / "rules.py"
    rules.write_text(
        rules.read_text().replace(
            "Cancel(obligations=(CHECK_IN, REVIEW, REPLY, CALL_BACK, ACKNOWLEDGE))",
            "Cancel(obligations=(CHECK_IN, REVIEW, REPLY, CALL_BACK))",
        )
    )
    (finding,) = [f for f in lint(str(package)) if f.code == "obligation_never_met"]
    assert ("warning", str(rules), _line_of(rules, "ACKNOWLEDGE = Obligation(")) == (
        finding.level,
        finding.file,
        finding.line,
    )
    assert "acknowledge" in finding.message


def test_lint_warns_of_a_setting_no_rule_uses(tmp_path: pathlib.Path) -> None:
    """A ``Setting`` declared in a rule module whose rules write a value instead: not one of
    the policy's settings, and ``--setting`` refuses it."""
    declared = (
        '\nUNUSED_WITHIN = Setting(name="unused_within", default=dt.timedelta(hours=4), '
        'description="never used")\n'
    )
    package = _office(tmp_path, "\nCHECK_IN = Obligation(", declared + "\nCHECK_IN = Obligation(")
    rules = package / "rules.py"
    if "Setting" not in rules.read_text().split("UNUSED_WITHIN")[0]:
        rules.write_text("from escalation_policy.vocabulary import Setting\n" + rules.read_text())
    (finding,) = [f for f in lint(str(package)) if f.code == "setting_unused"]
    assert ("warning", str(rules), _line_of(rules, "UNUSED_WITHIN = Setting(")) == (
        finding.level,
        finding.file,
        finding.line,
    )
    assert "unused_within" in finding.message
    assert "lint_office.rules" == finding.module


@pytest.mark.parametrize(
    ("declared", "field"),
    [
        ('default=BusinessTime(dt.timedelta(hours=9)), description="x"', "default"),
        ('default=BusinessTime(dt.timedelta(hours=4)), description="another"', "description"),
    ],
)
def test_lint_warns_of_a_setting_declared_again_otherwise(
    tmp_path: pathlib.Path, declared: str, field: str
) -> None:
    """A second ``Setting`` under the name of one the rules use, declared otherwise and used
    by no rule: editing its default changes nothing. Declared alike, it is the same setting."""

    def package_declaring(again: str, folder: str) -> pathlib.Path:
        used = (
            '\nREPLY_WITHIN = Setting(name="reply_within", '
            'default=BusinessTime(dt.timedelta(hours=4)), description="x")\n'
        )
        added = f'{used}\nREPLY_AGAIN = Setting(name="reply_within", {again})\n'
        (tmp_path / folder).mkdir()
        package = _office(
            tmp_path / folder, "\nCHECK_IN = Obligation(", f"{added}\nCHECK_IN = Obligation("
        )
        rules = package / "rules.py"
        text = rules.read_text()
        if "Setting" not in text.split("REPLY_WITHIN")[0]:
            text = "from escalation_policy.vocabulary import Setting\n" + text
        reply = "within=BusinessTime(dt.timedelta(hours=4))"
        assert reply in text, "the office's reply is due in 4h of business time"
        rules.write_text(text.replace(reply, "within=REPLY_WITHIN", 1))
        return package

    package = package_declaring(declared, "shadowed")
    rules = package / "rules.py"
    findings = [f for f in lint(str(package)) if f.code.startswith("setting_")]
    assert [("setting_shadowed", _line_of(rules, "REPLY_AGAIN = Setting("))] == [
        (f.code, f.line) for f in findings
    ]
    assert f"with the {field} " in findings[0].message
    assert f"{rules}:{_line_of(rules, 'REPLY_WITHIN = Setting(')}" in findings[0].message
    alike = package_declaring(
        'default=BusinessTime(dt.timedelta(hours=4)), description="x"', "alike"
    )
    assert [] == [f for f in lint(str(alike)) if f.code.startswith("setting_")]


def test_a_module_global_whose_class_raises_is_passed_over(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loader and lint look through a rule module's globals for obligations and settings
    by their type: a global whose ``__class__`` raises (a proxy, a lazy object) is none of
    them, and neither stops the policy loading nor ends a command in an internal error."""
    sneaky = (
        "\n\nclass _Sneaky:\n    @property\n    def __class__(self):  # type: ignore\n"
        '        raise RuntimeError("no class here")\n\n\nSNEAKY = _Sneaky()\n'
    )
    package = _office(tmp_path)
    rules = package / "rules.py"
    rules.write_text(rules.read_text() + sneaky)
    assert [] == [f for f in lint(str(package)) if f.level == "error"]
    assert load_policy(str(package)).identity
    for command in (["lint"], ["rules"]):
        assert 0 == main([*command, "--policy", str(package)])
        assert "internal error" not in capsys.readouterr().err


def test_lint_warns_of_each_setting_the_owner_declared_and_nothing_else(
    tmp_path: pathlib.Path,
) -> None:
    """``setting_unused`` names each declaration of the package's own that no rule uses, two
    of one name each at its line; a setting of another package imported (the handbook's) is
    not the owner's; a ``Setting`` whose name is no text, or whose default cannot be compared,
    is looked at without an internal error."""
    declared = (
        "\nfrom escalation_policy.rules.communication import CREATED_POST\n"
        "\n\nclass _Odd:\n    def __eq__(self, other: object) -> bool:\n"
        '        raise RuntimeError("no")\n\n    __hash__ = object.__hash__\n\n\n'
        'FIRST = Setting(name="spare_within", default=dt.timedelta(hours=1), description="a")\n'
        'SECOND = Setting(name="spare_within", default=dt.timedelta(hours=2), description="b")\n'
        'NAMELESS = Setting(name=["x"], default=1, description="c")  # type: ignore\n'
        'ODD = Setting(name="reply_within", default=_Odd(), description="d")\n'
        'REPLY_WITHIN = Setting(name="reply_within", default=BusinessTime(dt.timedelta(hours=4)), '
        'description="x")\n'
    )
    package = _office(tmp_path, "\nCHECK_IN = Obligation(", declared + "\nCHECK_IN = Obligation(")
    rules = package / "rules.py"
    text = rules.read_text()
    if "Setting" not in text.split("FIRST")[0]:
        text = "from escalation_policy.vocabulary import Setting\n" + text
    reply = "within=BusinessTime(dt.timedelta(hours=4))"
    rules.write_text(text.replace(reply, "within=REPLY_WITHIN", 1))
    findings = [f for f in lint(str(package)) if f.code.startswith("setting_")]
    assert [
        ("setting_unused", _line_of(rules, "FIRST = Setting(")),
        ("setting_unused", _line_of(rules, "SECOND = Setting(")),
        ("setting_shadowed", _line_of(rules, "ODD = Setting(")),
    ] == [(f.code, f.line) for f in findings]
    assert all(f.file == str(rules) for f in findings)


def test_lint_reports_the_error_that_stops_a_policy_loading(tmp_path: pathlib.Path) -> None:
    package = _office(tmp_path, ASKED, f"{ASKED}    on_day: dt.date\n")
    (error,) = lint(str(package))
    assert ("error", "policy_definition") == (error.level, error.code)
    assert (str(package / "rules.py"), _line_of(package / "rules.py", "on_day")) == (
        error.file,
        error.line,
    )


def _lint(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "escalation_policy", "lint", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_the_command_exits_0_with_warnings_1_with_strict_and_2_for_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == main(["lint"])
    out = capsys.readouterr().out
    assert "src/escalation_policy/rules/terms.py:" in out or "terms.py:" in out
    assert out.endswith("0 errors, 6 warnings\n")
    assert 1 == main(["lint", "--strict"])
    capsys.readouterr()
    broken = _office(tmp_path, ASKED, f"{ASKED}    on_day: dt.date\n")
    assert 2 == main(["lint", "--policy", str(broken)])
    out = capsys.readouterr().out
    assert f"rules.py:{_line_of(broken / 'rules.py', 'on_day')}: error:" in out
    assert out.endswith("1 error, 0 warnings\n")


def test_the_command_lints_against_histories_and_prints_json(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "opened"}\n')
    assert 0 == main(["lint", "--history", str(OUTAGE), str(bad), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    codes = [finding["code"] for finding in report["findings"]]
    assert "rule_unreached" in codes
    refused = [f for f in report["findings"] if f["code"] == "history_refused"]
    assert 1 == len(refused)
    assert f"{bad}: the policy refused 1 of 1 lines" in refused[0]["message"]
    assert report["warnings"] == len(report["findings"])
    assert 2 == main(["lint", "--history", str(tmp_path / "missing.jsonl")])
    assert "cannot read" in capsys.readouterr().err


def test_lint_runs_from_the_command_line_as_a_ci_job_would() -> None:
    done = _lint("--policy", str(LATER), "--history", *map(str, (LATER / "examples").glob("*")))
    assert 0 == done.returncode, done.stderr
    assert "examples/policies/later_process/owners.py:" in done.stdout
    assert "[rule_unreached]" in done.stdout


# ------------------------------------------------- mistakes that loaded silently, now found
NEW_WARNINGS = (
    "business_time_without_calendar",
    "plan_unapplied",
    "obligation_never_met",
    "setting_unused",
    "setting_shadowed",
)
OFFICE_CALENDARS = """CALENDARS = Calendars(
    default=NEW_YORK, by="region", choose={Region.EMEA: LONDON}, zone_from="time_zone"
)
"""
EXAMPLE_POLICIES = sorted(
    folder for folder in (ROOT / "examples" / "policies").iterdir() if folder.is_dir()
)


def test_lint_warns_of_business_time_in_a_policy_without_a_calendar(
    tmp_path: pathlib.Path,
) -> None:
    """Without ``CALENDARS`` every instant is open: two business hours from Friday 15:30 UTC
    are due at 17:30 UTC that Friday. The policy loads; lint names each rule that asks for
    business time, at its line."""
    package = _office(tmp_path, OFFICE_CALENDARS, "")
    engine = PolicyEngine(load_policy(str(package)))
    opened = {"escalation_id": "E-1", "customer": "Acme", "severity": "low"}
    engine.handle({"type": "opened", "at": "2026-03-06T15:00:00Z", **opened})
    engine.handle({"type": "call_requested", "at": "2026-03-06T15:30:00Z", "escalation_id": "E-1"})
    state = engine.escalation("E-1")
    assert state is not None
    (call_back,) = [p for p in state.pending if p.obligation == "call_back"]
    assert "2026-03-06T17:30:00+00:00" == call_back.due.isoformat()

    findings = [f for f in lint(str(package)) if f.code == "business_time_without_calendar"]
    rules = package / "rules.py"
    assert [
        ("warning", "office.asked", str(rules), _line_of(rules, 'id="office.asked"') - 1),
        (
            "warning",
            "office.call_requested",
            str(rules),
            _line_of(rules, 'id="office.call_requested"') - 1,
        ),
        ("warning", "office.plan/high", str(rules), _line_of(rules, 'id="high"') - 1),
        ("warning", "office.plan/high", str(rules), _line_of(rules, 'id="high"') - 1),
        ("warning", None, str(rules), _line_of(rules, "ACKNOWLEDGE = Obligation(")),
    ] == [(f.level, f.rule, f.file, f.line) for f in findings]
    asked, call, row, weekly, reminded = (f.message for f in findings)
    assert asked.startswith("the obligation reply is due within 4h of business time")
    assert "call_back is due within 2h of business time" in call
    assert row.startswith("check_in_every is each business day in office.plan/high")
    # A number of times a week asks, in its first week, by the business days left in it.
    assert weekly.startswith("review_every is 1 per week in office.plan/high")
    for message in (asked, call, row, weekly):
        assert "declares no CALENDARS" in message
        assert "runs as calendar time" in message
    assert reminded.startswith(
        "the obligation acknowledge sets remind_in_open_hours, but the policy declares no "
        "CALENDARS: every hour is then open, so its reminders are never moved"
    )
    assert [] == [f for f in lint(str(OFFICE)) if f.code in NEW_WARNINGS]


def test_business_time_a_setting_makes_calendar_time_is_not_warned_of() -> None:
    """What counts is the value the policy runs with: a setting may give calendar time."""
    from escalation_policy.rules import MODULES, severity

    without = types.ModuleType(severity.__name__)  # the handbook's, without its CALENDARS
    without.__dict__.update({k: v for k, v in vars(severity).items() if k != "CALENDARS"})
    modules = [without if name == severity.__name__ else name for name in MODULES]

    def warned(settings: dict[str, object]) -> set[str | None]:
        policy = load_policy(modules, settings=settings)
        return {f.rule for f in lint_loaded(policy) if f.code == "business_time_without_calendar"}

    assert "communication.post_when_created" in warned({})
    assert {"communication.post_when_created"} == warned({}) - warned(
        {"created_post_within": "2h of calendar time"}
    )


def test_lint_warns_of_an_early_grace_of_business_time_without_a_calendar() -> None:
    """The handbook's posts count work a business day of open time before (the raise's update
    an hour): without its CALENDARS that is calendar time, and lint says so at each
    obligation."""
    from escalation_policy.rules import MODULES, severity

    without = types.ModuleType(severity.__name__)
    without.__dict__.update({k: v for k, v in vars(severity).items() if k != "CALENDARS"})
    modules = [without if name == severity.__name__ else name for name in MODULES]
    messages = sorted(
        f.message
        for f in lint_loaded(load_policy(modules))
        if f.code == "business_time_without_calendar" and "counts work done" in f.message
    )
    assert [
        "the obligation channel_post counts work done up to 8h of business time before it is "
        "required",
        "the obligation inform_tam counts work done up to 1h of business time before it is "
        "required",
        "the obligation raise_update counts work done up to 1h of business time before it is "
        "required",
        "the obligation risk_reduced_post counts work done up to 8h of business time before it "
        "is required",
    ] == [message.split(", but")[0] for message in messages]
    assert [] == [f for f in lint_loaded(load_policy()) if f.code in NEW_WARNINGS]


def test_lint_warns_of_a_plan_no_reaction_applies(tmp_path: pathlib.Path) -> None:
    """Without ``ApplyPlan()`` escalations get no owner and no ``assign_owner``, silently."""
    package = _office(tmp_path, "            ApplyPlan(),\n", "")
    engine = PolicyEngine(load_policy(str(package)))
    decision = engine.handle(
        {
            "type": "opened",
            "at": "2026-03-06T15:00:00Z",
            "escalation_id": "E-1",
            "customer": "Acme",
            "severity": "high",
        }
    )
    assert "assign_owner" not in [action.TYPE for action in decision.actions]
    state = engine.escalation("E-1")
    assert state is not None
    assert state.owner is None

    (finding,) = [f for f in lint(str(package)) if f.code == "plan_unapplied"]
    rules = package / "rules.py"
    assert ("warning", str(rules), _line_of(rules, 'id="office.plan"') - 1) == (
        finding.level,
        finding.file,
        finding.line,
    )
    assert finding.message.startswith(
        "the table office.plan gives the plan (owner, cadence, involvement), but no reaction "
        "on Opened applies it"
    )
    assert "add ApplyPlan() to the reaction on Opened" in finding.message
    assert "office.plan" == finding.rule


def test_lint_warns_of_a_plan_applied_only_after_the_opening() -> None:
    """``ApplyPlan()`` on a later fact only: escalations open with no owner, silently."""
    import attrs

    from escalation_policy.rules import MODULES, severity
    from escalation_policy.rules.terms import Opened, SeverityChanged

    later = types.ModuleType(severity.__name__)  # the handbook's, its plan on a change only
    later.__dict__.update(vars(severity))
    vars(later)["REACTIONS"] = tuple(
        attrs.evolve(reaction, on=(SeverityChanged,))
        if reaction.id == "severity.plan"
        else reaction
        for reaction in severity.REACTIONS
    )
    modules = [later if name == severity.__name__ else name for name in MODULES]
    policy = load_policy(modules)
    decision = PolicyEngine(policy).handle(
        Opened(
            at=dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc),
            escalation_id="E-1",
            customer="Acme",
            segment="enterprise",
            severity="critical",
        )
    )
    assert "assign_owner" not in [action.TYPE for action in decision.actions]
    findings = [f for f in lint_loaded(policy) if f.code == "plan_unapplied"]
    assert {
        "severity.levels",
        "severity.issue_type_involvement",
        "responsibilities.owner",
    } == {f.rule for f in findings}
    for finding in findings:
        assert "no reaction on Opened applies it" in finding.message
    assert [] == [f for f in lint_loaded(default_policy()) if f.code == "plan_unapplied"]


@pytest.mark.parametrize(
    "package",
    [
        "escalation_policy.rules",
        "tests.policies.office",
        "tests.policies.new_owner",
        *map(str, EXAMPLE_POLICIES),
    ],
)
def test_the_handbook_and_the_examples_raise_none_of_the_new_warnings(package: str) -> None:
    assert [] == [f for f in lint(package) if f.code in NEW_WARNINGS]


def test_the_command_warns_of_neither_on_the_handbook_or_an_example() -> None:
    assert EXAMPLE_POLICIES
    for arguments in (["--format", "json"], *(["--policy", str(p)] for p in EXAMPLE_POLICIES)):
        done = _lint(*arguments)
        assert 0 == done.returncode, done.stderr
        assert not any(code in done.stdout for code in NEW_WARNINGS), done.stdout


@pytest.mark.parametrize(
    ("annotation", "shown"),
    [("str", "str"), ("Severity | None = None", "Severity | None")],
    ids=["text", "optional"],
)
def test_an_opening_severity_that_is_no_enumeration_fails_at_its_line(
    tmp_path: pathlib.Path, annotation: str, shown: str
) -> None:
    package = _office(tmp_path, "    severity: Severity\n", f"    severity: {annotation}\n")
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    rules = package / "rules.py"
    assert (str(rules), _line_of(rules, f"severity: {annotation}")) == (error.file, error.line)
    assert error.reason.startswith(
        f"Opened.severity is annotated {shown}, expected an enumeration of the severities"
    )


def test_a_calendar_in_a_misspelt_zone_fails_at_its_line(tmp_path: pathlib.Path) -> None:
    package = _office(tmp_path, 'zone="America/New_York"', 'zone="America/New_Yrok"')
    (error,) = lint(str(package))
    rules = package / "rules.py"
    assert ("error", str(rules), _line_of(rules, "NEW_YORK = Calendar.weekdays(")) == (
        error.level,
        error.file,
        error.line,
    )
    assert error.message.startswith(
        "calendar 'new_york': unknown time zone 'America/New_Yrok' (did you mean"
    )


def test_a_value_the_vocabulary_refuses_fails_at_the_policys_line(tmp_path: pathlib.Path) -> None:
    """Not at the line of the library's class that refused it."""
    package = _office(
        tmp_path, "BusinessTime(dt.timedelta(hours=4))", "BusinessTime(dt.timedelta(0))"
    )
    (error,) = lint(str(package))
    rules = package / "rules.py"
    assert (str(rules), _line_of(rules, "BusinessTime(dt.timedelta(0))")) == (
        error.file,
        error.line,
    )
    assert "a business time must be a positive duration" in error.message


def test_a_reminder_given_in_business_time_is_refused_saying_why(tmp_path: pathlib.Path) -> None:
    package = _office(
        tmp_path,
        "remind_before=dt.timedelta(hours=1, minutes=45)",
        "remind_before=BusinessTime(dt.timedelta(hours=1))",
    )
    (error,) = lint(str(package))
    rules = package / "rules.py"
    assert (str(rules), _line_of(rules, 'id="office.call_requested"') - 1) == (
        error.file,
        error.line,
    )
    assert "expected a positive timedelta or None: a reminder's lead is counted on the " in (
        error.message
    )
    assert "so it is a plain timedelta even when within is a BusinessTime" in error.message


def test_a_policy_installed_in_the_standard_librarys_folder_is_still_located(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python installed without a virtual environment (the official Docker images) keeps
    site-packages in the standard library's folder: the policy's lines there are its own."""
    import os
    import sysconfig

    package = _office(tmp_path, 'zone="America/New_York"', 'zone="America/New_Yrok"')
    monkeypatch.setattr(os, "__file__", str(tmp_path / "os.py"))
    site = {"purelib": str(tmp_path), "platlib": str(tmp_path)}
    monkeypatch.setattr(sysconfig, "get_paths", lambda: site)
    (error,) = lint(str(package))
    rules = package / "rules.py"
    assert (str(rules), _line_of(rules, "NEW_YORK = Calendar.weekdays(")) == (
        error.file,
        error.line,
    )


# ---------------------------------------------- errors about CALENDARS and the terms, at their line
CALENDARS_DECLARED = 'CALENDARS = Calendars(\n    default=NEW_YORK, by="region",'


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        pytest.param(
            CALENDARS_DECLARED,
            'CALENDARS = NEW_YORK\n_UNUSED = dict(\n    default=NEW_YORK, by="region",',
            "CALENDARS: got Calendar(name='new_york', zone='America/New_York', hours=",
            id="a calendar, not calendars",
        ),
        pytest.param(
            "choose={Region.EMEA: LONDON}",
            'choose={Region.EMEA: "london"}',
            "CALENDARS: got 'london', expected a Calendar",
            id="a name, not a calendar",
        ),
        pytest.param(
            'by="region"',
            'by="regoin"',
            "CALENDARS.by: the opened fact has no field 'regoin' (did you mean 'region'?)",
            id="a misspelt by",
        ),
        pytest.param(
            'zone_from="time_zone"',
            'zone_from="zone"',
            "CALENDARS.zone_from: the opened fact has no field 'zone'",
            id="a misspelt zone_from",
        ),
        pytest.param(
            'by="region", ',
            "",
            "CALENDARS: choose gives calendars by value, but by names no field",
            id="choose without by",
        ),
        pytest.param(
            'name="london"',
            'name="london@emea"',
            "CALENDARS: a calendar's name may not hold '@' (got 'london@emea')",
            id="a name with @",
        ),
    ],
)
def test_a_wrong_calendars_declaration_fails_at_the_line_assigning_it(
    tmp_path: pathlib.Path, old: str, new: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _office(tmp_path, old, new)
    rules = package / "rules.py"
    line = _line_of(rules, "CALENDARS = ")
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    assert (str(rules), line, "lint_office.rules") == (error.file, error.line, error.module)
    assert error.reason.startswith(reason)
    assert 2 == main(["lint", "--policy", str(package)])
    captured = capsys.readouterr()
    assert f"rules.py:{line}: error: {reason}" in captured.out
    assert ("", "1 error, 0 warnings\n") == (captured.err, captured.out.splitlines(True)[-1])


def test_calendars_declared_twice_fails_at_the_second_declaration(tmp_path: pathlib.Path) -> None:
    """The second declaration here imports the first: it is located at that import."""
    package = tmp_path / "lint_twice"
    shutil.copytree(OFFICE, package, ignore=shutil.ignore_patterns("__pycache__"))
    init = package / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("tests.policies.office.", "lint_twice.")
        .replace('"lint_twice.rules",', '"lint_twice.rules", "lint_twice.again",')
    )
    again = package / "again.py"
    again.write_text('"""The same calendars again."""\n\nfrom lint_twice.rules import CALENDARS\n')
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    assert (str(again), 3) == (error.file, error.line)
    assert error.reason.startswith(
        "CALENDARS is declared more than once (lint_twice.rules, lint_twice.again)"
    )


CHECKED_IN = 'TYPE: ClassVar[str] = "checked_in"'


@pytest.mark.parametrize(
    ("old", "new", "fact", "reason"),
    [
        pytest.param(
            CHECKED_IN,
            'TYPE: ClassVar[str] = "Checked In"',
            "CheckedIn",
            "CheckedIn.TYPE is 'Checked In', expected a lower-case name other than 'tick'",
            id="a TYPE that is no name",
        ),
        pytest.param(
            CHECKED_IN,
            'TYPE: ClassVar[str] = "opened"',
            "CheckedIn",
            "two fact types are named 'opened': Opened (in lint_office.rules) and CheckedIn",
            id="a TYPE another fact has",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    SETS: ClassVar[Mapping[str, str]] = {{"note": "nothing"}}',
            "CheckedIn",
            "CheckedIn.SETS: 'note' from 'nothing', but checked_in facts have no field 'nothing'",
            id="SETS from no field",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    SETS: ClassVar[Mapping[str, str]] = {{"status": "customer"}}'
            "\n    customer: str",
            "CheckedIn",
            "CheckedIn.SETS: 'status' is not an attribute a fact may set",
            id="SETS an attribute of the engine's",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    SETS: ClassVar[Mapping[str, str]] = {{"region": "customer"}}'
            "\n    customer: str",
            "CheckedIn",
            "CheckedIn.SETS: 'region' is a ",
            id="SETS an attribute of another type",
        ),
        pytest.param(
            '{"active": "closed"}',
            '{"active": "Closed"}',
            "Closed",
            "Closed.STATUS: 'Closed' is not a lower-case name",
            id="a STATUS that is no name",
        ),
        pytest.param(
            '{"active": "closed"}',
            '{"active": "closed", "closed": "active"}',
            "Closed",
            "Closed.STATUS: nothing moves a closed escalation",
            id="a STATUS that reopens",
        ),
        pytest.param(
            '{"active": "closed"}',
            '{"active": "closed"}\n    STATUS_WHEN: ClassVar[str] = "raised"',
            "Closed",
            "Closed.STATUS_WHEN: got 'raised'; a move to 'closed' is never conditional",
            id="a conditional closing",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    STATUS: ClassVar[Mapping[str, str]] = {{"active": "waiting"}}'
            '\n    STATUS_WHEN: ClassVar[str] = "raised"',
            "CheckedIn",
            "CheckedIn.STATUS_WHEN: got 'raised'; the fact type does not set the severity (SETS)",
            id="STATUS_WHEN on a fact that sets no severity",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    STATUS: ClassVar[Mapping[str, str]] = {{"active": "waiting"}}'
            '\n    STATUS_WHEN: ClassVar[str] = "higher"',
            "CheckedIn",
            "CheckedIn.STATUS_WHEN: got 'higher'; expected one of 'raised', 'lowered', "
            "'changed', or None",
            id="STATUS_WHEN that names no change",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    STATUS: ClassVar[Mapping[str, str]] = {{"active": "waiting"}}'
            '\n    STATUS_WHEN: ClassVar[object] = __import__("enum").Enum("W", '
            '[("raised", "raised")], type=str).raised',
            "CheckedIn",
            "CheckedIn.STATUS_WHEN: got <W.raised: 'raised'>; expected one of 'raised'",
            id="STATUS_WHEN that is no plain text",
        ),
        pytest.param(
            "    OPENS: ClassVar[bool] = True\n",
            "    OPENS: ClassVar[bool] = True\n"
            '    STATUS: ClassVar[Mapping[str, str]] = {"a": "b"}\n',
            "Opened",
            "Opened.STATUS: an escalation opens as 'active'",
            id="a STATUS on the opening fact",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    SETS: ClassVar[Mapping[str, str]] = "note"',
            "CheckedIn",
            "CheckedIn.SETS: got 'note', expected a mapping of the attributes it sets to the "
            "fields they come from",
            id="SETS that is no mapping",
        ),
        pytest.param(
            '{"active": "closed"}',
            '("active", "closed")',
            "Closed",
            "Closed.STATUS: got ('active', 'closed'), expected a mapping of a status to the one "
            "the fact moves it to",
            id="a STATUS that is no mapping",
        ),
        pytest.param(
            CHECKED_IN,
            f'{CHECKED_IN}\n    on_day: "Nothing" = None',
            "CheckedIn",
            "CheckedIn: an annotation cannot be read: name 'Nothing' is not defined",
            id="an annotation that names nothing",
        ),
    ],
)
def test_a_wrong_fact_type_fails_at_its_class(
    tmp_path: pathlib.Path, old: str, new: str, fact: str, reason: str
) -> None:
    package = _office(tmp_path, old, new)
    rules = package / "rules.py"
    with pytest.raises(PolicyDefinitionError) as caught:
        load_policy(str(package))
    error = caught.value
    # The definition starts at the class's decorator, the line above it.
    assert (str(rules), _line_of(rules, f"class {fact}(") - 1) == (error.file, error.line)
    assert error.reason.startswith(reason)
