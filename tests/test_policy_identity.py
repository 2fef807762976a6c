"""A policy's identity: the same for the same policy anywhere, another for any change that
matters, the same for changes that do not; and every action a store keeps names it."""

import concurrent.futures
import json
import os
import pathlib
import re
import subprocess
import sys
import threading
from typing import Any

import pytest

from escalation_policy import Service, default_policy, load_policy
from escalation_policy.cli import main
from escalation_policy.policy.identity import document

from .test_edited_policy import ALL_FOUR, EDITS, RULES, Edit, combined, edited_package

ROOT = pathlib.Path(__file__).parent.parent
LATER_PROCESS = ROOT / "examples" / "policies" / "later_process"
HANDBOOK = default_policy().identity

# An edit that changes what the policy says, though no decision: a table's title.
TITLE: Edit = {
    "severity.py": [
        (
            'title="How often meetings and communication to the customer happen at each cadence"',
            'title="How often the team meets and talks to the customer at each cadence"',
        )
    ]
}


def copied(folder: pathlib.Path, edit: Edit) -> str:
    """The identity of the handbook's package copied to ``folder`` with ``edit`` made."""
    return load_policy(str(edited_package(folder, edit))).identity


def test_an_identity_is_a_sha256_digest() -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", HANDBOOK)


@pytest.mark.slow
def test_the_same_policy_has_the_same_identity_in_every_process() -> None:
    """Loaded again, in another process, with another hash seed, the identity is the same."""
    code = (
        "from escalation_policy import default_policy, load_policy\n"
        f"print(default_policy().identity, load_policy({str(LATER_PROCESS)!r}).identity)\n"
    )
    seen = set()
    for seed in ("0", "1", "4242"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        seen.add(result.stdout.strip())
    assert {f"{HANDBOOK} {load_policy(str(LATER_PROCESS)).identity}"} == seen


def test_a_copy_of_the_package_is_the_same_policy(tmp_path: pathlib.Path) -> None:
    """Another folder, another module name: the same declarations, the same identity."""
    assert HANDBOOK == copied(tmp_path / "company_rules", {})


def test_comments_blank_lines_and_moved_lines_leave_the_identity(tmp_path: pathlib.Path) -> None:
    """Where a declaration sits in its file takes no part: lines added above every rule of two
    modules move them all."""
    commented: Edit = {
        name: [(first, f"# Reviewed by the policy owner.\n\n\n{first}")]
        for name in ("severity.py", "scope.py")
        for first in [_first_import(name)]
    }
    assert HANDBOOK == copied(tmp_path / "commented", commented)


def _first_import(name: str) -> str:
    return next(
        line
        for line in (RULES / name).read_text().splitlines()
        if line.startswith(("import ", "from "))
    )


# A computed context field's function, the helper it calls and the table the helper reads.
HELPER: Edit = {
    "severity.py": [
        (
            "    return _ORDER[before.value], _ORDER[now.value]",
            "    return _ORDER[now.value], _ORDER[before.value]",
        )
    ]
}
CONSTANT: Edit = {
    "severity.py": [
        (
            "_ORDER = {severity.value: rank for rank, severity in enumerate(Severity)}",
            "_ORDER = {severity.value: -rank for rank, severity in enumerate(Severity)}",
        )
    ]
}
# The same function with a comment, a docstring and another layout: the same code.
RELAID: Edit = {
    "severity.py": [
        (
            "def _raised(situation: Situation) -> bool:\n    before, now = _ranks(situation)\n"
            "    return now < before\n",
            'def _raised(situation: Situation) -> bool:\n    """Raised: more severe now."""\n'
            "    # Ranks: 0 is the most severe.\n    before, now = _ranks(\n        situation,\n"
            "    )\n    return (now\n            < before)  # a lower rank\n",
        )
    ]
}


def test_the_code_a_computed_field_runs_is_part_of_the_identity(tmp_path: pathlib.Path) -> None:
    """A helper the field's function calls and a table the helper reads count, as the
    function itself does (they decide as much)."""
    changed = {
        copied(tmp_path / "helper", HELPER),
        copied(tmp_path / "constant", CONSTANT),
    }
    assert HANDBOOK not in changed
    assert 2 == len(changed)


def test_comments_docstrings_and_layout_inside_a_function_leave_the_identity(
    tmp_path: pathlib.Path,
) -> None:
    assert HANDBOOK == copied(tmp_path / "relaid", RELAID)


@pytest.mark.parametrize("edit", [*EDITS, "all four", "a title"])
def test_every_edit_of_what_the_policy_says_gives_another_identity(
    tmp_path: pathlib.Path, edit: str
) -> None:
    made = {**EDITS, "all four": ALL_FOUR, "a title": TITLE}[edit]
    assert HANDBOOK != copied(tmp_path / "edited", made)


def test_the_edits_give_identities_all_different(tmp_path: pathlib.Path) -> None:
    """Each policy owner's edit of the tutorial, the four together, a title, and the later
    process: no two alike."""
    made = {**EDITS, "all four": ALL_FOUR, "a title": TITLE}
    identities = {
        copied(tmp_path / f"edited_{number}", edit) for number, edit in enumerate(made.values())
    }
    identities |= {HANDBOOK, load_policy(str(LATER_PROCESS)).identity}
    assert len(made) + 2 == len(identities)


def test_settings_are_part_of_the_identity() -> None:
    setting = "high_update_every"
    default = default_policy().settings[setting]
    assert HANDBOOK == load_policy(settings={setting: default}).identity  # the same value
    assert HANDBOOK != load_policy(settings={setting: "2d"}).identity


def test_another_policy_package_has_another_identity() -> None:
    assert HANDBOOK != load_policy(str(LATER_PROCESS)).identity


# ------------------------------------------------------------------------------ where it shows
def test_every_action_a_store_keeps_names_the_policy_that_decided_it() -> None:
    later = load_policy(str(LATER_PROCESS))
    opened = {
        "type": "opened",
        "id": "crm-1",
        "at": "2026-03-02T09:00:00Z",
        "escalation_id": "ESC-1",
        "customer": "Acme",
        "segment": "enterprise",
        "severity": "critical",
        "tam": "Priya",
    }
    with Service(":memory:") as service:
        handled = service.handle(opened)
        assert handled.deliveries
        assert {HANDBOOK} == {delivery.policy for delivery in handled.deliveries}
        assert {HANDBOOK} == {delivery.policy for delivery in service.outbox()}
        assert {HANDBOOK} == {d.policy for d in service.claim(handled.fact.at, limit=50)}
        assert {HANDBOOK} == {d.policy for d in service.handle(opened).deliveries}  # again
        body = handled.deliveries[0].to_json()
        assert ["id", "policy", "type"] == list(body)[:3]
        assert HANDBOOK == body["policy"]
    assert later.identity != HANDBOOK


def test_the_identity_command_prints_the_policys_identity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 0 == main(["identity"])
    assert HANDBOOK == capsys.readouterr().out.strip()
    assert 0 == main(["identity", "--policy", str(LATER_PROCESS)])
    assert load_policy(str(LATER_PROCESS)).identity == capsys.readouterr().out.strip()
    assert 0 == main(["identity", "--setting", "high_update_every=2d"])
    assert load_policy(settings={"high_update_every": "2d"}).identity == (
        capsys.readouterr().out.strip()
    )


# ------------------------------------------------------------------------------------- diff
def _swapped_owner_rows() -> Edit:
    """The last two rows of the first-hit owner table in the other order. They match no input
    in common, so the loader takes it; the order of a first-hit table's rows is part of it."""
    source = (RULES / "responsibilities.py").read_text()
    second = source.index('            Row(\n                id="critical_and_high",')
    third = source.index('            Row(\n                id="medium_and_low"')
    end = source.index("        ),\n    ),\n)", third)
    first, last = source[second:third], source[third:end]
    return {"responsibilities.py": [(first + last, last + first)]}


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The handbook's policy and policies that differ from it in one way each, or not at all."""
    folder = tmp_path_factory.mktemp("variants")
    edits = {**EDITS, "all four": ALL_FOUR, "a title": TITLE, "rows swapped": _swapped_owner_rows()}
    loaded = {
        name: load_policy(str(edited_package(folder / f"variant_{n}", edit)))
        for n, (name, edit) in enumerate(edits.items())
    }
    # Not a folder named "copy": loaded as a package of that name, it would replace the
    # standard library's copy module (and is refused).
    loaded["a copy"] = load_policy(str(edited_package(folder / "handbook_copy", {})))
    loaded["a setting"] = load_policy(settings={"high_update_every": "2d"})
    loaded["later process"] = load_policy(str(LATER_PROCESS))
    return {"handbook": default_policy(), **loaded}


@pytest.mark.slow
def test_two_policies_differ_somewhere_exactly_when_their_identities_differ(
    variants: dict[str, Any],
) -> None:
    for old_name, old in variants.items():
        for new_name, new in variants.items():
            same = old.identity == new.identity
            assert same == (old.diff(new) == ()), (old_name, new_name)


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            "a setting",
            [
                '~ settings/high_update_every: "each business day" -> "2d"',
                "~ tables/communication.updates/rows/high/then/update_every: "
                '"each business day" -> "2d"',
            ],
        ),
        (
            "a public_sector segment, always in scope",
            [
                '+ values/Segment/PUBLIC_SECTOR: ["public_sector", "Public sector"]',
                '~ context/segment/domain: ["enterprise", "commercial", "smb"] -> '
                '["enterprise", "commercial", "smb", "public_sector"]',
                "+ tables/scope.customers/rows/public_sector",
            ],
        ),
        (
            "a title",
            [
                '~ tables/severity.cadence/title: "How often meetings and communication to the '
                'customer happen at each cadence" -> "How often the team meets and talks to the '
                'customer at each cadence"'
            ],
        ),
        (
            "rows swapped",
            [
                "~ tables/responsibilities.owner/rows (order): "
                '["critical_and_high_without_tam", "critical_and_high", "medium_and_low"] -> '
                '["critical_and_high_without_tam", "medium_and_low", "critical_and_high"]'
            ],
        ),
    ],
)
def test_a_diff_names_each_change_by_its_rule_ids(
    variants: dict[str, Any], variant: str, expected: list[str]
) -> None:
    assert expected == [str(change) for change in variants["handbook"].diff(variants[variant])]


DESCRIPTION: Edit = {"severity.py": [("relationship and brand.", "relationship and reputation.")]}


def test_a_diff_shows_where_long_values_differ_and_when_code_changed(
    tmp_path: pathlib.Path,
) -> None:
    """A long text is cut to where the two differ, never where they are alike; a function's
    code is said to have changed, by the path of the field that runs it."""
    edit = combined(DESCRIPTION, HELPER)
    changes = [
        str(c)
        for c in default_policy().diff(load_policy(str(edited_package(tmp_path / "long", edit))))
    ]
    assert [
        "~ context/severity_raised/read/uses/_ranks/code: the function's code changed",
        "~ tables/severity.levels/rows/critical/then/description: … risk to the relationship "
        'and brand." -> … risk to the relationship and reputation."',
    ] == changes


def test_a_diff_names_what_an_edit_adds_and_what_it_changes(variants: dict[str, Any]) -> None:
    changes = {str(change) for change in variants["handbook"].diff(variants["all four"])}
    assert {
        "+ obligations/product_dri",
        "+ reactions/responsibilities.product_dri",
        "+ facts/product_dri_assigned",
        '+ facts/opened/fields/product_related: ["bool", false, {}]',
        '+ attributes/product_related: ["bool", {"set_by": "the opening fact"}]',
        "- tables/severity.cadence/rows/weekly_to_biweekly",
        '+ tables/severity.cadence/rows/weekly: {"cites": null, "id": "weekly", "kind": "Row", '
        '"then": {"cadence_every": "1 per week"}, "when": {"cadence": "weekly"}}',
        '- settings/weekly_to_biweekly_cadence: "1 per 2 weeks"',
        '+ settings/weekly_cadence: "1 per week"',
        '~ tables/severity.levels/rows/medium/then/cadence: "weekly_to_biweekly" -> "weekly"',
    } <= changes
    removed = {str(change) for change in variants["all four"].diff(variants["handbook"])}
    assert "- obligations/product_dri" in removed  # the other way round


def test_the_diff_command_prints_the_changes_and_exits_1_when_they_differ(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 0 == main(["diff", "handbook"])
    assert [f"{HANDBOOK} -> {HANDBOOK}", "no changes"] == capsys.readouterr().out.splitlines()
    assert 1 == main(["diff", "handbook", "--setting", "high_update_every=2d"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{HANDBOOK} -> sha256:")
    assert '~ settings/high_update_every: "each business day" -> "2d"' == lines[1]
    assert "2 changes: 2 changed" == lines[-1]
    assert 1 == main(["diff", str(LATER_PROCESS)])
    lines = capsys.readouterr().out.splitlines()
    changes = lines[1:-1]
    signs = {kind: sum(line.startswith(f"{sign} ") for line in changes) for sign, kind in KINDS}
    counted = [f"{signs[kind]} {kind}" for _, kind in KINDS if signs[kind]]
    assert f"{len(changes)} changes: {', '.join(counted)}" == lines[-1]
    assert len(changes) > 10


KINDS = (("+", "added"), ("-", "removed"), ("~", "changed"))


def test_the_identities_quoted_in_the_documentation_are_the_handbooks() -> None:
    """The docs show the handbook's identity in their examples: it must be today's. Its
    reference shows its calendar's too, which must be today's as well."""
    quoted = {
        (page.name, identity)
        for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for identity in re.findall(r"sha256:[0-9a-f]{64}", page.read_text())
    }
    assert quoted
    calendars = default_policy().calendars
    assert calendars is not None
    calendar = calendars.default.identity
    assert ("rules.md", calendar) in quoted
    assert {
        (page, calendar if identity == calendar else HANDBOOK) for page, identity in quoted
    } == (quoted)


def test_a_policys_identity_worked_out_in_many_threads_at_once_is_its_identity() -> None:
    """Threads that work out policies' identities at once (a Dask worker's, a service's) each
    get the identity, without an error: Python 3.11 cannot build syntax trees in two threads
    at once (its ``ast.parse`` may raise ``SystemError``), so the library parses one at a time."""
    policy = load_policy(settings={"high_update_every": "2d"})
    expected = json.dumps(document(policy), sort_keys=True)
    start = threading.Barrier(8)

    def worked_out() -> list[str]:
        start.wait()
        return [json.dumps(document(policy), sort_keys=True) for _ in range(6)]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: worked_out(), range(8)))
    finally:
        sys.setswitchinterval(interval)
    assert [[expected] * 6] * 8 == results
