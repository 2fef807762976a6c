"""A policy's identity: the same for the same policy anywhere, another for any change that
matters, the same for changes that do not; and every action a store keeps names it."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from escalation_policy import Service, default_policy, load_policy
from escalation_policy.cli import main

from .test_edited_policy import ALL_FOUR, EDITS, RULES, Edit, edited_package

ROOT = pathlib.Path(__file__).parent.parent
LATER_PROCESS = ROOT / "examples" / "policies" / "later_process"
HANDBOOK = default_policy().identity

# An edit that changes what the policy says, though no decision: a table's title.
TITLE: Edit = {
    "severity.py": [
        (
            'title="How often meetings must be held at each cadence"',
            'title="How often meetings are held at each cadence"',
        )
    ]
}


def copied(folder: pathlib.Path, edit: Edit) -> str:
    """The identity of the handbook's package copied to ``folder`` with ``edit`` made."""
    return load_policy(str(edited_package(folder, edit))).identity


def test_an_identity_is_a_sha256_digest() -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", HANDBOOK)


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
