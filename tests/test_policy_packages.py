"""A company's policy is a package of rule modules outside this library: loaded by folder or
by module name, with `load_policy` and with `--policy` on every command, and no change to
the engine."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from escalation_policy import PolicyDefinitionError, PolicyEngine, load_policy
from escalation_policy import rules as handbook
from escalation_policy.cli import main

FACTS = [
    {
        "type": "opened",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": "E",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "medium",
    },
    {"type": "tick", "at": "2026-03-10T09:00:00Z"},
]


@pytest.fixture
def weekly(tmp_path: pathlib.Path) -> pathlib.Path:
    """The handbook's policy as a company's own package, with Medium meeting weekly."""
    package = tmp_path / "acme_escalations"
    shutil.copytree(pathlib.Path(handbook.__file__).parent, package)
    for compiled in package.rglob("__pycache__"):
        shutil.rmtree(compiled)
    init = package / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', '"acme_escalations.'))
    severity = package / "severity.py"
    text = severity.read_text()
    assert "    default=TimesPerWeek(1, weeks=2),\n" in text
    severity.write_text(text.replace("TimesPerWeek(1, weeks=2)", "TimesPerWeek(1)"))
    return package


def _missed_cadence(policy: object) -> list[str]:
    engine = PolicyEngine(policy)  # type: ignore[arg-type]
    return [
        a.due.isoformat()  # type: ignore[attr-defined]
        for fact in FACTS
        for a in engine.handle(fact).actions
        if getattr(a, "code", None) == "cadence_missed"
    ]


def test_a_policy_package_loads_from_its_folder(weekly: pathlib.Path) -> None:
    """Medium, opened on a Monday, meets once in that calendar week: the week that ends as the
    next Monday begins. The handbook's once in two weeks is not yet due."""
    assert ["2026-03-09T00:00:00+00:00"] == _missed_cadence(load_policy(str(weekly)))
    assert [] == _missed_cadence(load_policy()), "the handbook's Medium meets bi-weekly"


def test_a_policy_package_loads_by_module_name(
    weekly: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(weekly.parent))
    for name in [key for key in sys.modules if key.startswith("acme_escalations")]:
        monkeypatch.delitem(sys.modules, name)
    policy = load_policy("acme_escalations")
    assert ["2026-03-09T00:00:00+00:00"] == _missed_cadence(policy)
    assert all(rule.module.startswith("acme_escalations.") for rule in policy.rules.values())


@pytest.mark.parametrize("command", [["replay", "-"], ["audit", "-", "--format", "json"]])
def test_every_command_takes_the_policy_package(weekly: pathlib.Path, command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", *command, "--policy", str(weekly)],
        input="\n".join(json.dumps(fact) for fact in FACTS),
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert "2026-03-09T00:00:00+00:00" in result.stdout


def test_the_table_command_renders_the_packages_table(weekly: pathlib.Path) -> None:
    severity = weekly / "severity.py"
    text = severity.read_text()
    assert "risking current adoption and renewal." in text
    severity.write_text(text.replace("risking current adoption and renewal.", "per Acme."))
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "table", "--policy", str(weekly)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert "per Acme." in result.stdout
    assert "risking current adoption and renewal." not in result.stdout


def test_the_rules_command_documents_the_packages_terms(weekly: pathlib.Path) -> None:
    """`rules --policy` prints the package's own reference: a value it adds appears in its
    facts' JSON contract."""
    terms = weekly / "terms.py"
    text = terms.read_text()
    assert '    SMB = "smb", "SMB"\n' in text
    terms.write_text(
        text.replace(
            '    SMB = "smb", "SMB"\n',
            '    SMB = "smb", "SMB"\n    PUBLIC_SECTOR = "public_sector"\n',
        )
    )
    scope = weekly / "scope.py"
    scope.write_text(
        scope.read_text().replace(
            "one_of(Segment.COMMERCIAL, Segment.SMB)",
            "one_of(Segment.COMMERCIAL, Segment.SMB, Segment.PUBLIC_SECTOR)",
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "rules", "--policy", str(weekly)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    assert "one of `enterprise`, `commercial`, `smb`, `public_sector`" in result.stdout
    assert "`acme_escalations.scope`" in result.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder, "expected an __init__.py declaring MODULES"),
        (lambda folder: folder / "missing", "no policy package"),
    ],
)
def test_a_folder_that_is_no_policy_package_fails_clearly(
    tmp_path: pathlib.Path, make: object, message: str
) -> None:
    with pytest.raises(PolicyDefinitionError, match=message):
        load_policy(str(make(tmp_path)))  # type: ignore[operator]


def test_a_package_without_modules_fails_clearly(tmp_path: pathlib.Path) -> None:
    package = tmp_path / "empty_policy"
    package.mkdir()
    (package / "__init__.py").write_text('"""No rules yet."""\n')
    with pytest.raises(PolicyDefinitionError, match="declares MODULES"):
        load_policy(str(package))


def test_a_violation_code_no_rule_reports_fails_to_load(weekly: pathlib.Path) -> None:
    """A violation code no obligation or reaction reports can never be reported."""
    terms = weekly / "terms.py"
    text = terms.read_text()
    marker = '    WRONG_POSTER = "wrong_poster"\n'
    assert marker in text
    terms.write_text(text.replace(marker, marker + '    NEVER_USED = "never_used"\n'))
    with pytest.raises(PolicyDefinitionError, match=r"ViolationCode\.NEVER_USED"):
        load_policy(str(weekly))


def test_the_testing_kits_timeline_opens_with_the_policys_own_opening_fact() -> None:
    """A company's opening fact may lack the handbook's segment: the timeline fills only what
    the fact has (here the later process's, with fields of its own)."""
    from escalation_policy.testing import Timeline

    folder = pathlib.Path(__file__).parent.parent / "examples" / "policies" / "later_process"
    later = load_policy(str(folder))
    timeline = Timeline(PolicyEngine(later)).open(
        short_name="acme", crm_case="CRM-1", immediate_asks="restore", exit_criteria="stable"
    )
    (opened,) = timeline.facts
    assert (later.terms.opening, "Acme") == (type(opened), opened.customer)  # type: ignore[attr-defined]
    assert "assign_owner" in [action.TYPE for action in timeline.last.actions]


@pytest.mark.parametrize("name", ["json", "csv", "sys"])
def test_a_folder_named_like_another_module_is_refused_and_replaces_nothing(
    weekly: pathlib.Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loaded as a package of its name, the folder would take the place of the standard
    library's module for the whole process."""
    folder = weekly.parent / name
    weekly.rename(folder)
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"acme_escalations.', f'"{name}.'))
    before = sys.modules.get(name)
    with pytest.raises(PolicyDefinitionError, match=f"would load as the package '{name}'"):
        load_policy(str(folder))
    assert 2 == main(["rules", "--policy", str(folder)])
    assert "which is the name of another module" in capsys.readouterr().err
    assert 2 == main(["diff", str(folder)])
    assert "Rename the folder" in capsys.readouterr().err
    assert before is sys.modules.get(name)
    assert not any(key.startswith(f"{name}.severity") for key in sys.modules)


def test_a_package_loaded_again_from_another_folder_of_the_same_name_replaces_it(
    weekly: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """Edited copies of one package, each in a folder of the package's name: the last one
    loaded is the one used."""
    first = load_policy(str(weekly))
    copy = tmp_path / "copy" / weekly.name
    shutil.copytree(weekly, copy)
    severity = copy / "severity.py"
    severity.write_text(severity.read_text().replace("TimesPerWeek(1)", "TimesPerWeek(1, weeks=2)"))
    second = load_policy(str(copy))
    assert ["2026-03-09T00:00:00+00:00"] == _missed_cadence(first)
    assert [] == _missed_cadence(second)
