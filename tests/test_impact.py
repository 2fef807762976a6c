"""``escalation-policy impact``: what a change of policy would have done differently over a
recorded history, checked against a replay of each escalation under both policies."""

import collections
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

import escalation_policy
from escalation_policy import (
    Fact,
    ImpactReport,
    Policy,
    PolicyDefinitionError,
    PolicyEngine,
    Tick,
    default_policy,
    impact,
    load_policy,
    make_converter,
)
from escalation_policy.cli import main
from escalation_policy.testing import strategies
from tests.conftest import examples

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
RULES = pathlib.Path(escalation_policy.__file__).parent / "rules"
CHANGE = {"high_update_every": "2d"}
"""One cadence of the handbook changed: High escalations are updated every two days."""


def _workload() -> Any:
    spec = importlib.util.spec_from_file_location("workload", ROOT / "benchmarks" / "workload.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(facts: int) -> list[dict[str, Any]]:
    """A long history as the benchmarks generate it (many escalations, some non-compliant)."""
    return [json.loads(line) for line in _workload().history_lines(facts)]


def read(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def copied_package(folder: pathlib.Path, edits: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """A copy of the handbook's package in ``folder`` (its MODULES naming its own modules),
    with each file's text replaced as ``edits`` say."""
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace('"escalation_policy.rules.', f'"{folder.name}.'))
    for name, replacements in edits.items():
        text = (folder / name).read_text()
        for old, new in replacements:
            assert 1 == text.count(old), (name, old)
            text = text.replace(old, new)
        (folder / name).write_text(text)
    return str(folder)


# ----------------------------------------------------------- each escalation, replayed alone
def _plain(value: object) -> object:
    if isinstance(value, list):
        return tuple(_plain(item) for item in value)
    return value


def alone(
    history: Sequence[Mapping[str, Any]], policy: Policy, renamed: Mapping[str, str]
) -> dict[tuple[str, str], collections.Counter[object]]:
    """Each escalation replayed on its own under ``policy``: its facts, and every other fact's
    time as a tick (time passes for it as any fact passes it); its actions, as JSON, with the
    renamed rules under their new ids."""
    converter = make_converter(policy)
    found: dict[tuple[str, str], collections.Counter[object]] = {}
    openings = [(index, item) for index, item in enumerate(history) if item["type"] == "opened"]
    for start, opening in openings:
        escalation = opening["escalation_id"]
        engine = PolicyEngine(policy)
        actions: list[Any] = []
        for item in history[start:]:
            if item.get("escalation_id") == escalation:
                actions += engine.handle(item).actions
            else:
                actions += engine.handle(Tick(at=converter.structure(item, Fact).at)).actions
        actions += engine.release_held()
        counted: collections.Counter[object] = collections.Counter()
        for action in actions:
            assert action.escalation_id == escalation
            data = json.loads(json.dumps(converter.unstructure(action)))
            data["rule"] = renamed.get(data["rule"], data["rule"])
            counted[tuple(sorted((k, _plain(v)) for k, v in data.items()))] += 1
        found[(escalation, opening["at"])] = counted
    return found


def check_against_replays_alone(
    history: Sequence[Mapping[str, Any]], base: Policy, policy: Policy, report: ImpactReport
) -> None:
    """The escalations the report lists are exactly those whose actions differ when each is
    replayed alone under both policies, and each lists as many actions added and removed
    (a change is one of each) as differ."""
    before = alone(history, base, report.renamed)
    after = alone(history, policy, {})
    assert len(before) == report.totals.escalations
    expected = {}
    for key, actions in after.items():
        added, removed = actions - before[key], before[key] - actions
        if added or removed:
            expected[key[0]] = (sum(added.values()), sum(removed.values()))
    reported = {
        e.escalation_id: (
            e.count("added") + e.count("changed"),
            e.count("removed") + e.count("changed"),
        )
        for e in report.escalations
    }
    assert expected == reported


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_a_changed_cadence_shows_exactly_the_escalations_of_the_examples_it_changes(
    example: pathlib.Path,
) -> None:
    history = read(example)
    base, policy = default_policy(), load_policy(settings=CHANGE)
    report = impact(history, base=base, policy=policy)
    check_against_replays_alone(history, base, policy, report)


def test_a_changed_cadence_shows_exactly_the_escalations_of_a_long_history_it_changes() -> None:
    history = generated(1_500)
    base, policy = default_policy(), load_policy(settings=CHANGE)
    report = impact(history, base=base, policy=policy)
    assert report.different, "High escalations are updated on another cadence"
    assert 0 < report.totals.affected < report.totals.escalations
    check_against_replays_alone(history, base, policy, report)


def test_a_moved_due_time_is_a_change_not_an_action_added_and_one_removed() -> None:
    report = impact(
        read(ROOT / "examples" / "strategic-partner.jsonl"),
        base=default_policy(),
        policy=load_policy(settings=CHANGE),
    )
    (escalation,) = report.escalations
    assert {("changed", "post_to_channel", ("due",))} == {
        (change.kind, change.type, change.fields) for change in escalation.changes
    }
    for change in escalation.changes:
        assert change.before is not None
        assert change.after is not None
        assert change.before["due"] < change.after["due"], "updated every two days, not daily"
    assert {"communication.updates/high": (0, 0, 3)} == {
        rule: attrs.astuple(counts) for rule, counts in report.totals.by_rule.items()
    }


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.histories())
def test_a_policy_has_no_impact_on_itself_and_a_change_mirrors_its_undoing(
    history: list[Fact],
) -> None:
    converter = make_converter()
    data = [converter.unstructure(fact, Fact) for fact in history]
    changed = load_policy(settings=CHANGE)
    assert not impact(data, base=default_policy()).different
    there = impact(data, base=default_policy(), policy=changed)
    back = impact(data, base=changed, policy=default_policy())
    assert [e.escalation_id for e in there.escalations] == [
        e.escalation_id for e in back.escalations
    ]
    mirrored = {"added": "removed", "removed": "added", "changed": "changed"}
    assert [sorted(mirrored[c.kind] for c in e.changes) for e in there.escalations] == [
        sorted(c.kind for c in e.changes) for e in back.escalations
    ]


# ------------------------------------------------------------------------------------ renames
RENAMES = {
    "communication.py": [
        (
            '        id="communication.post_when_created",',
            '        id="communication.created_post",\n'
            '        replaces="communication.post_when_created",',
        ),
        (
            '                id="critical",\n'
            '                when={"severity": Severity.CRITICAL},\n'
            '                then={"update_every": DAILY_UPDATES_SETTING},',
            '                id="most_severe",\n'
            '                replaces="critical",\n'
            '                when={"severity": Severity.CRITICAL},\n'
            '                then={"update_every": DAILY_UPDATES_SETTING},',
        ),
    ]
}


def test_a_rule_renamed_with_replaces_is_no_difference(tmp_path: pathlib.Path) -> None:
    renamed = load_policy(copied_package(tmp_path / "renamed_rules", RENAMES))
    assert renamed.identity != default_policy().identity
    history = generated(1_500)
    for facts in [history, *(read(path) for path in EXAMPLES)]:
        report = impact(facts, base=default_policy(), policy=renamed)
        assert () == report.escalations
        assert {
            "communication.post_when_created": "communication.created_post",
            "communication.updates/critical": "communication.updates/most_severe",
        } == dict(report.renamed)
    # Without replaces, the same rename is every action of those rules removed and added.
    unmarked = {
        "communication.py": [
            (old, new.replace('\n        replaces="communication.post_when_created",', ""))
            for old, new in RENAMES["communication.py"]
        ]
    }
    unmarked["communication.py"] = [
        (old, new.replace('                replaces="critical",\n', ""))
        for old, new in unmarked["communication.py"]
    ]
    noisy = load_policy(copied_package(tmp_path / "unmarked_rules", unmarked))
    report = impact(history, base=default_policy(), policy=noisy)
    assert {"communication.created_post", "communication.updates/most_severe"} <= set(
        report.totals.by_rule
    )
    assert 0 == report.totals.changed
    assert report.totals.added == report.totals.removed > 0


def test_replaces_naming_a_rule_the_policy_still_has_is_refused(tmp_path: pathlib.Path) -> None:
    edit = {
        "communication.py": [
            (
                '        id="communication.post_when_created",',
                '        id="communication.post_when_created",\n'
                '        replaces="communication.update_made",',
            )
        ]
    }
    policy = load_policy(copied_package(tmp_path / "still_there", edit))
    with pytest.raises(PolicyDefinitionError, match=r"communication\.update_made.*still has"):
        impact([], base=default_policy(), policy=policy)


# ------------------------------------------------------------- facts the base does not know
PRIORITY = {
    "terms.py": [
        (
            "    by: Team\n    url: str | None = None\n",
            "    by: Team\n    url: str | None = None\n    priority: str | None = None\n",
        )
    ]
}


def test_facts_the_base_does_not_know_are_listed_and_skipped_for_the_base_alone(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = copied_package(tmp_path / "priority_rules", PRIORITY)
    history = read(ROOT / "examples" / "critical-outage.jsonl")
    posts = [index for index, item in enumerate(history) if item["type"] == "posted"]
    for index in posts[:2]:
        history[index] = {**history[index], "priority": "p1"}
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in history))
    status = main(
        ["impact", str(path), "--policy", policy, "--base", "handbook", "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert 1 == status, "the base misses two posts: it reports what they would have met"
    assert [(str(path), index + 1, "invalid_fact", "$.priority") for index in posts[:2]] == [
        (item["file"], item["line"], item["code"], item["path"]) for item in data["skipped_by_base"]
    ]
    assert [] == data["refused"]
    by_code = data["totals"]["by_violation_code"]
    assert by_code, "without those posts, the base reports them missed"
    assert all(0 == counts["added"] + counts["changed"] for counts in by_code.values())


# ------------------------------------------------------------------------- the command line
def history_file(folder: pathlib.Path, facts: list[dict[str, Any]], *extra: str) -> str:
    path = folder / "history.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in facts) + "".join(extra))
    return str(path)


def test_cli_exit_status_is_1_on_a_difference_0_on_none_and_2_on_a_refused_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = history_file(tmp_path, read(ROOT / "examples" / "strategic-partner.jsonl"))
    common = ["impact", path, "--base", "handbook", "--format", "text"]
    assert 0 == main(common)
    assert "No difference over" in capsys.readouterr().out
    assert 1 == main([*common, "--setting", "high_update_every=2d"])
    text = capsys.readouterr().out
    assert "1 of 2 escalations change" in text
    assert "~changed" in text
    assert "communication.updates/high  +0 -0 ~3" in text
    facts = read(ROOT / "examples" / "strategic-partner.jsonl")
    bad = history_file(tmp_path, facts, "{oops\n")
    assert 2 == main(["impact", bad, "--base", "handbook"])
    assert f"history.jsonl: line {len(facts) + 1}: not valid JSON" in capsys.readouterr().err
    assert 2 == main(["impact", bad, "--base", "handbook", "--keep-going", "--format", "json"])
    captured = capsys.readouterr()
    assert [len(facts) + 1] == [item["line"] for item in json.loads(captured.out)["refused"]]
    assert f"1 of {len(facts) + 1} lines refused" in captured.err
    assert 2 == main(["impact", path, "--base", "no_such_policy_package"])
    assert "no policy package 'no_such_policy_package'" in capsys.readouterr().err


AWKWARD = "ESC-<b>*x*</b>|`"


def awkward_history() -> list[dict[str, Any]]:
    history = read(ROOT / "examples" / "strategic-partner.jsonl")
    return [
        {**item, "escalation_id": AWKWARD} if item.get("escalation_id") == "ESC-412" else item
        for item in history
    ]


def test_markdown_and_html_show_what_the_history_says_as_text_never_as_markup(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = history_file(tmp_path, awkward_history())
    common = ["impact", path, "--base", "handbook", "--setting", "high_update_every=2d"]
    assert 1 == main([*common, "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert "| ESC-&#60;b&#62;&#42;x&#42;&#60;/b&#62;&#124;&#96; |" in markdown
    assert "<b>" not in markdown
    assert "| `communication.updates/high` | 0 | 0 | 3 |" in markdown
    assert 1 == main([*common, "--format", "html"])
    page = capsys.readouterr().out
    assert "<b>" not in page
    assert "ESC-&lt;b&gt;*x*&lt;/b&gt;|`" in page
    assert "<script" not in page
    assert page.isascii()


def test_cli_json_report_is_the_python_reports(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = read(ROOT / "examples" / "severity-change.jsonl")
    path = history_file(tmp_path, history)
    main(["impact", path, "--base", "handbook", "--setting", "high_update_every=2d"])
    printed = json.loads(capsys.readouterr().out)
    report = impact(history, base=default_policy(), policy=load_policy(settings=CHANGE))
    assert json.loads(json.dumps(report.to_json())) == printed
    assert {"base", "policy", "facts", "renamed", "escalations", "totals"} <= set(printed)


def test_jobs_run_partitions_in_processes_and_give_the_report_of_one(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same report, whatever the number of processes: refused lines and facts the base
    skips included, each listed once."""
    policy = copied_package(tmp_path / "priority_jobs", PRIORITY)
    history = generated(2_000)
    for index in range(5, len(history), 97):
        if history[index]["type"] == "posted":
            history[index] = {**history[index], "priority": "p2"}
    path = history_file(tmp_path, history, "not json\n", '{"type": "tick"}\n')
    command = ["impact", path, "--policy", policy, "--base", "handbook", "--keep-going"]
    command += ["--setting", "high_update_every=2d", "--format", "json"]
    assert 2 == main(command)
    one = capsys.readouterr().out
    assert 2 == main([*command, "--jobs", "3"])
    three = capsys.readouterr().out
    assert one == three
    data = json.loads(one)
    assert data["skipped_by_base"]
    assert data["escalations"]
    assert 2 == len(data["refused"])


def test_dask_partitions_of_json_lines_and_parquet_give_the_report_of_one_process(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two workers of a local Dask cluster replay three partitions of a history, in JSON lines
    and in Parquet, with a base the workers load by name: the report of one process."""
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (escalation-policy[dask])"
    )
    pyarrow = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    parquet = pytest.importorskip("pyarrow.parquet")
    policy = copied_package(tmp_path / "priority_dask", PRIORITY)
    history = generated(600)
    for index in range(5, len(history), 37):
        if history[index]["type"] == "posted":
            history[index] = {**history[index], "priority": "p2"}
    path = history_file(tmp_path, history, "not json\n")
    columns = sorted({key for item in history for key in item})
    table = tmp_path / "history.parquet"
    parquet.write_table(
        pyarrow.table({key: [item.get(key) for item in history] for key in columns}), table
    )
    options: dict[str, Any] = {"package": policy, "settings": CHANGE, "keep_going": True}
    one = escalation_policy.impact_partitioned([path], base="handbook", parts=1, **options)
    of_rows = escalation_policy.impact_partitioned([table], base="handbook", parts=1, **options)
    assert one.escalations
    assert one.skipped_by_base
    assert 1 == len(one.refused)
    assert not of_rows.refused
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=False,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787: it may be taken
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_lines = escalation_policy.impact_partitioned(
            [path], base="handbook", parts=3, client=client, **options
        )
        on_rows = escalation_policy.impact_partitioned(
            [table], base="handbook", parts=3, client=client, **options
        )
    assert one.to_json() == on_lines.to_json()
    assert of_rows.to_json() == on_rows.to_json()
    in_memory = impact(history, base="handbook", policy=load_policy(policy, settings=CHANGE))
    assert in_memory.escalations == of_rows.escalations

    command = ["impact", path, "--policy", policy, "--base", "handbook", "--keep-going"]
    command += ["--setting", "high_update_every=2d", "--format", "json"]
    assert 2 == main(command)
    alone = capsys.readouterr().out
    assert 2 == main([*command, "--dask", "local", "--workers", "2"])
    assert alone == capsys.readouterr().out
    assert json.loads(alone) == json.loads(json.dumps(one.to_json()))


# ----------------------------------------------------------------------------- git revisions
def _git(folder: pathlib.Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *arguments],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repository(tmp_path: pathlib.Path) -> pathlib.Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    folder = tmp_path / "repo"
    folder.mkdir()
    _git(folder, "init", "-q")
    copied_package(folder / "acme_rules", {})
    _git(folder, "add", ".")
    _git(folder, "commit", "-qm", "the policy as shipped")
    return folder


def test_base_git_revision_is_the_package_as_that_revision_had_it(
    repository: pathlib.Path, capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    package = repository / "acme_rules"
    shipped = tmp_path / "shipped" / "acme_rules"  # a copy as shipped, under its own name
    shutil.copytree(package, shipped)
    communication = package / "communication.py"
    text = communication.read_text()
    communication.write_text(
        text.replace(
            '        id="communication.post_when_created",',
            '        id="communication.created_post",',
        )
    )
    path = history_file(tmp_path, read(ROOT / "examples" / "critical-outage.jsonl"))
    common = ["impact", path, "--policy", str(package), "--format", "json"]
    assert 1 == main([*common, "--base", "git:HEAD"])
    from_git = json.loads(capsys.readouterr().out)
    assert 1 == main([*common, "--base", str(shipped)])
    from_copy = json.loads(capsys.readouterr().out)
    assert from_copy == from_git
    assert from_git["base"] == load_policy(str(shipped)).identity
    assert {"communication.created_post", "communication.post_when_created"} == set(
        from_git["totals"]["by_rule"]
    )
    _git(repository, "commit", "-qam", "renamed")
    assert 0 == main([*common, "--base", "git:HEAD"])
    capsys.readouterr()
    assert 2 == main([*common, "--base", "git:no-such-revision"])
    error = capsys.readouterr().err
    assert error.startswith("escalation-policy: --base git:no-such-revision: the git repository")
    assert "has no revision 'no-such-revision'" in error
    assert 1 == len(error.splitlines())
    assert (
        "acme_rules" not in sys.modules
        or pathlib.Path(sys.modules["acme_rules"].__file__ or "").parent == package.resolve()
    ), "the revision's copy leaves no module behind"


# ------------------------------------------------------------------- never a traceback
def _run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "escalation_policy", "impact", *args],
        input=stdin,
        capture_output=True,
        check=False,
    )


OPENED = (
    '{"type": "opened", "at": "2026-03-02T09:00:00Z", "escalation_id": "E1", '
    '"customer": "Acme", "segment": "enterprise", "severity": "high"}\n'
)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 (byte 0xff at column 1)"),
        (b'{"type": "tick", "type": "tick", "at": "2026-03-02T10:00:00Z"}', "the key 'type'"),
        (b'{"type": "openned", "at": "2026-03-02T10:00:00Z"}', "did you mean 'opened'?"),
    ],
)
def test_a_bad_line_is_one_message_naming_file_and_line_with_status_2(
    tmp_path: pathlib.Path, line: bytes, reason: str
) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_bytes(OPENED.encode() + line + b"\n")
    result = _run(str(path), "--base", "handbook")
    assert 2 == result.returncode
    (message,) = result.stderr.decode().splitlines()
    assert message.startswith(f"escalation-policy: {path}: line 2: ")
    assert reason in message


def test_standard_input_is_read_with_jobs_too_and_help_lists_the_exit_statuses() -> None:
    history = (ROOT / "examples" / "strategic-partner.jsonl").read_bytes()
    common = ["-", "--base", "handbook", "--setting", "high_update_every=2d", "--format", "json"]
    one, two = _run(*common, stdin=history), _run(*common, "--jobs", "2", stdin=history)
    assert (1, 1) == (one.returncode, two.returncode)
    assert json.loads(one.stdout) == json.loads(two.stdout)
    spoiled = _run(*common, "--jobs", "2", "--keep-going", stdin=history + b"x\n")
    assert 2 == spoiled.returncode
    refused = json.loads(spoiled.stdout)["refused"]
    assert [("<stdin>", history.count(b"\n") + 1)] == [(r["file"], r["line"]) for r in refused]
    out = _run("--help").stdout.decode()
    assert "impact: some action differs" in " ".join(out.split())


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="names a pipe /dev/fd/N")
def test_a_pipe_is_read_with_jobs_as_standard_input_is(tmp_path: pathlib.Path) -> None:
    """``impact <(zcat history.gz) --jobs 2`` names a pipe, which only one process can read:
    it is copied to a file first, as standard input is. Before: "No such file or directory",
    from processes that do not have it open (and a named pipe waited for ever)."""
    path = ROOT / "examples" / "strategic-partner.jsonl"
    common = ["--base", "handbook", "--setting", "high_update_every=2d", "--format", "json"]
    reader, writer = os.pipe()
    os.write(writer, path.read_bytes())  # less than a pipe holds
    os.close(writer)
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    try:
        assert 1 == main(["impact", f"/dev/fd/{reader}", *common, "--jobs", "2", "-o", str(two)])
    finally:
        os.close(reader)
    assert 1 == main(["impact", str(path), *common, "-o", str(one)])
    assert json.loads(one.read_text()) == json.loads(two.read_text())


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="names a pipe /dev/fd/N")
def test_a_pipe_is_refused_with_a_schedulers_address_as_standard_input_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cluster's workers read the files themselves: a pipe is refused, before connecting."""
    reader, writer = os.pipe()
    name = f"/dev/fd/{reader}"
    try:
        assert 2 == main(["impact", name, "--base", "handbook", "--dask", "127.0.0.1:9"])
    finally:
        os.close(reader)
        os.close(writer)
    expected = (
        "escalation-policy: --dask with a scheduler's address reads files, not pipes or "
        f"devices: {name} is a pipe\n"
    )
    assert expected == capsys.readouterr().err
