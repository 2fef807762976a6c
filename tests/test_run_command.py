"""`escalation-policy run` and `worker`: facts through a store, the outbox delivered."""

import datetime as dt
import io
import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Any

import pytest

from escalation_policy import PolicyEngine, Service, default_policy, make_converter
from escalation_policy.cli import main
from escalation_policy.model import Action, parse_timestamp

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
CONVERTER = make_converter()


def facts_of(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replayed(path: pathlib.Path) -> list[dict[str, Any]]:
    engine = PolicyEngine()
    return [
        CONVERTER.unstructure(action, Action)
        for fact in facts_of(path)
        for action in engine.handle(fact).actions
    ]


def printed(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def by_escalation(actions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for action in actions:
        grouped.setdefault(action["escalation_id"], []).append(action)
    return grouped


def without_ids(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions as the in-memory engine writes them: without the id and the policy's
    identity a store adds."""
    return [
        {key: value for key, value in action.items() if key not in ("id", "policy")}
        for action in actions
    ]


@pytest.mark.parametrize("example", ["critical-outage.jsonl", "non-compliant.jsonl"])
def test_run_prints_the_replays_actions_each_with_its_id(
    new_store_url: Any, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = EXAMPLES / example
    assert 0 == main(["run", "--store", new_store_url(), "--format", "json", str(path)])
    actions = printed(capsys.readouterr().out)
    assert replayed(path) == without_ids(actions)
    assert len({a["id"] for a in actions}) == len(actions)
    assert all(a["id"].startswith(a["escalation_id"] + "/") for a in actions)
    assert {default_policy().identity} == {a["policy"] for a in actions}
    assert all(list(a)[:3] == ["id", "policy", "type"] for a in actions)


def test_run_again_skips_what_was_committed_and_goes_on_with_new_lines(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    lines = (EXAMPLES / "severity-change.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(lines[:5]))
    assert 0 == main(["run", "--store", store, "--batch", "2", str(path)])
    first = printed(capsys.readouterr().out)
    assert 0 == main(["run", "--store", store, str(path)])
    assert "" == capsys.readouterr().out
    path.write_text("".join(lines))
    assert 0 == main(["run", "--store", store, str(path)])
    rest = printed(capsys.readouterr().out)
    assert replayed(EXAMPLES / "severity-change.jsonl") == without_ids(first + rest)


def test_a_bad_line_stops_run_after_committing_the_lines_before_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    lines = (EXAMPLES / "critical-outage.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join([*lines[:3], '{"type": "posted"}\n', *lines[3:]]))
    assert 2 == main(["run", "--store", store, str(path)])
    captured = capsys.readouterr()
    assert f"{path}: line 4:" in captured.err
    before = printed(captured.out)
    path.write_text("".join(lines[:3]) + "\n" + "".join(lines[3:]))  # line 4 fixed (blank)
    assert 0 == main(["run", "--store", store, str(path)])
    after = printed(capsys.readouterr().out)
    assert replayed(EXAMPLES / "critical-outage.jsonl") == without_ids(before + after)


def test_keep_going_reports_each_refused_line_and_exits_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (EXAMPLES / "critical-outage.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join([lines[0], "not json\n", *lines[1:]]))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert 2 == main(["run", "--store", store, "--keep-going", str(path)])
    out = printed(capsys.readouterr().out)
    refused = [line for line in out if line["type"] == "refused"]
    assert [2] == [line["line"] for line in refused]
    assert replayed(EXAMPLES / "critical-outage.jsonl") == without_ids(
        [line for line in out if line["type"] != "refused"]
    )


def test_keep_going_leaves_a_last_line_still_being_written_for_the_next_run(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file being written as `run --keep-going` reads it: its last line, without a newline
    yet and not a fact, is neither refused nor read past; once finished, the next run handles
    it. A last fact whole but without a newline is handled."""
    lines = (EXAMPLES / "critical-outage.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(lines[:3]) + lines[3][:40])
    store = f"sqlite:///{tmp_path / 'store.db'}"
    run = ["run", "--store", store, "--keep-going", "--format", "json", str(path)]
    assert 0 == main(run)
    out, err = capsys.readouterr()
    assert (
        f"escalation-policy: {path}: line 4 has no newline at its end and is not a fact: left "
        "unread, as a line still being written; the next run reads it\n"
    ) == err
    first = printed(out)
    path.write_text("".join(lines[:4]) + lines[4].rstrip("\n"))
    assert 0 == main(run)
    rest = printed(capsys.readouterr().out)
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(lines[:5]))
    assert replayed(whole) == without_ids(first + rest)  # nothing refused, nothing twice
    with Service(store) as service:
        assert (5, []) == (service.position("file:" + os.path.realpath(path)), service.refusals())


def test_facts_with_ids_given_twice_are_printed_once(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = facts_of(EXAMPLES / "critical-outage.jsonl")
    with_ids = [{"id": f"crm-{n}", **fact} for n, fact in enumerate(facts)]
    doubled = [fact for fact in with_ids for _ in range(2)]
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(fact) + "\n" for fact in doubled))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert 0 == main(["run", "--store", store, "--batch", "3", str(path)])
    assert replayed(EXAMPLES / "critical-outage.jsonl") == without_ids(
        printed(capsys.readouterr().out)
    )


@pytest.mark.slow
def test_standard_input_resumes_only_under_a_source_name(
    tmp_path: pathlib.Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    text = "".join((EXAMPLES / "critical-outage.jsonl").read_text().splitlines(True)[:3])
    command = [sys.executable, "-m", "escalation_policy", "run", "--store", store]
    named = [*command, "--source", "crm-export", "-"]
    first = subprocess.run(named, input=text, capture_output=True, text=True, check=True)
    again = subprocess.run(named, input=text, capture_output=True, text=True, check=True)
    assert first.stdout
    assert "" == again.stdout
    unnamed = subprocess.run([*command, "-"], input=text, capture_output=True, text=True)
    assert 2 == unnamed.returncode  # read again from the start: older than the store's clock
    assert "facts must arrive in time order" in unnamed.stderr


def test_two_runs_of_one_file_at_once_handle_each_line_once(
    new_store_url: Any, tmp_path: pathlib.Path
) -> None:
    """Two `run`s of the same file started together (a cron job that overlaps itself, say)
    leave the store as one run alone does, and both succeed: the lines one handled, the other
    skips."""
    opens = tmp_path / "opens.jsonl"
    posts = tmp_path / "posts.jsonl"
    count = 300
    opens.write_text(
        "".join(
            json.dumps(
                {
                    "type": "opened",
                    "at": "2026-03-02T09:00:00Z",
                    "escalation_id": f"E{n}",
                    "customer": "Acme",
                    "segment": "enterprise",
                    "severity": "low",
                }
            )
            + "\n"
            for n in range(count)
        )
    )
    posts.write_text(
        "".join(
            json.dumps(
                {
                    "type": "posted",
                    "at": "2026-03-02T09:10:00Z",
                    "escalation_id": f"E{n}",
                    "channel": "#escalated_customers",
                    "purpose": "update",
                    "by": "tam",  # the wrong person: a violation each time it is handled
                }
            )
            + "\n"
            for n in range(count)
        )
    )
    command = [sys.executable, "-m", "escalation_policy", "run", "--format", "json"]
    shared, alone = new_store_url(), new_store_url()
    for store in (shared, alone):
        subprocess.run([*command, "--store", store, str(opens)], capture_output=True, check=True)
    runs = [
        subprocess.Popen(
            [*command, "--store", shared, "--batch", "10", str(posts)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    single = subprocess.run(
        [*command, "--store", alone, "--batch", "10", str(posts)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [(0, ""), (0, "")] == [
        (run.returncode, err) for run, (_, err) in zip(runs, outputs, strict=True)
    ]
    assert sorted(printed(single.stdout), key=str) == sorted(
        (action for out, _ in outputs for action in printed(out)), key=str
    )
    with Service(shared) as both, Service(alone) as one:
        assert [(d.id, d.action) for d in one.outbox()] == [(d.id, d.action) for d in both.outbox()]


def test_a_replaced_file_shorter_than_what_was_read_under_its_name_is_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file rotated or replaced at the same path, with fewer lines than were read from it:
    `run` says so and exits 2, rather than skip its lines in silence; under a new name it is
    read."""
    store = f"sqlite:///{tmp_path / 'store.db'}"
    lines = (EXAMPLES / "severity-change.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(lines[:6]))
    assert 0 == main(["run", "--store", store, str(path)])
    capsys.readouterr()
    path.write_text("".join(lines[6:9]))
    assert 2 == main(["run", "--store", store, str(path)])
    out, err = capsys.readouterr()
    assert "" == out
    assert (
        f"escalation-policy: {path}: ends at line 3, but lines up to 6 were read under the name "
        f"{os.path.realpath(path)} before: a new or rotated input is not read under an old "
        "name; read it under a new one, --source NEW-NAME\n"
    ) == err
    assert 0 == main(["run", "--store", store, "--source", "feed-2", str(path)])
    with Service(store) as service:
        assert 3 == service.position("feed-2")


def test_a_new_stream_under_a_source_name_shorter_than_what_was_read_is_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    lines = (EXAMPLES / "severity-change.jsonl").read_text().splitlines(keepends=True)
    run = ["run", "--store", store, "--source", "crm-export", "-"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("".join(lines[:6]).encode())))
    assert 0 == main(run)
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("".join(lines[6:9]).encode())))
    assert 2 == main(run)
    out, err = capsys.readouterr()
    assert "" == out
    assert "<stdin>: ends at line 3, but lines up to 6 were read under the name crm-export" in err


def test_the_default_store_is_a_sqlite_file_in_the_current_directory(
    tmp_path: pathlib.Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ESCALATION_POLICY_STORE"}
    path = EXAMPLES / "medium-support-led.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "escalation_policy", "run", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert replayed(path) == without_ids(printed(done.stdout))
    assert (tmp_path / "escalations.db").exists()


def test_the_store_can_come_from_the_environment(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "from-env.db"
    monkeypatch.setenv("ESCALATION_POLICY_STORE", f"sqlite:///{store}")
    assert 0 == main(["run", str(EXAMPLES / "medium-support-led.jsonl")])
    assert store.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "--store", "mysql://x/y", "FILE"], "scheme 'mysql'"),
        (["worker", "--store", "mysql://x/y", "--once"], "scheme 'mysql'"),
    ],
)
def test_a_store_that_cannot_be_used_exits_5_with_one_line(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = [
        str(EXAMPLES / "medium-support-led.jsonl") if a == "FILE" else a for a in arguments
    ]
    assert 5 == main(arguments)
    err = capsys.readouterr().err
    assert message in err
    assert 1 == len(err.splitlines())


def status_of(arguments: list[str]) -> int:
    """``main``'s exit status, whether it returns it or argparse exits with it."""
    try:
        return main(arguments)
    except SystemExit as stop:
        return int(stop.code or 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["worker", "--now", "2026-01-01T00:00:00Z"], "--now is for one round"),
        (["worker", "--once", "--now", "yesterday"], "--now"),
        (["run", "--batch", "0", "FILE"], "expected a whole number of 1 or more"),
        (["run", "--lateness", "soon", "FILE"], "expected a duration such as 90s"),
        (["worker", "--interval", "-1"], "expected a positive number of seconds"),
        (["run", "--source", "x", "FILE", "FILE"], "--source names one input"),
        (["prune"], "say what to prune"),
        (["prune", "--facts-older-than", "soon"], "expected a duration such as 90s"),
        (["prune", "--facts-older-than", "1d", "--now", "today"], "--now"),
        (["prune", "--delivered-older-than", "9999999d"], "before the year 1"),
        (["run", "--lateness", "9999999d", "FILE"], "expected a duration from 0 to 7d"),
        (["run", "--lateness", "7d1s", "FILE"], "expected a duration"),
        (["worker", "--once", "--lateness", "8d"], "expected a duration from 0 to 7d"),
        (["worker", "--interval", "1e12"], "positive number of seconds, at most 86400"),
        (["worker", "--once", "--timeout", "1e300"], "positive number of seconds, at most 86400"),
        (["worker", "--once", "--timeout", "nan"], "positive number of seconds"),
        (["run", "--source", "s" * 257, "FILE"], "(257 characters), expected a name of at most"),
        (
            ["run", "--setting", "high_update_every=3650000d", "FILE"],
            "setting high_update_every: got '3650000d', expected at most 366 days",
        ),
        (
            ["worker", "--once", "--setting", "critical_update_every=every 999 business days"],
            "expected at most 366 days",
        ),
    ],
)
def test_wrong_options_are_explained(
    tmp_path: pathlib.Path,
    arguments: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(EXAMPLES / "medium-support-led.jsonl")
    arguments = [path if a == "FILE" else a for a in arguments]
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert 2 == status_of([*arguments, "--store", store])
    err = capsys.readouterr().err
    assert message in err
    assert 1 == len(err.splitlines()), "one line, as every error of the command line"


@pytest.mark.parametrize("command", ["run", "worker"])
def test_the_longest_lateness_and_waits_are_taken(
    command: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    if command == "run":
        arguments = ["run", "--lateness", "7d", str(EXAMPLES / "medium-support-led.jsonl")]
    else:
        arguments = ["worker", "--once", "--lateness", "7d", "--interval", "86400"]
        arguments += ["--timeout", "86400", "--now", "2026-03-02T12:00:00Z"]
    assert 0 == main([*arguments, "--store", store])
    assert "" == capsys.readouterr().err


def test_run_refuses_a_line_with_a_key_given_twice_on_every_store(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``{"type": "tick", "type": "opened", ...}`` opened an escalation (the last key won):
    it is refused, and nothing is opened."""
    first = facts_of(EXAMPLES / "critical-outage.jsonl")[0]
    doubled = json.dumps(first).replace('{"type": "opened"', '{"type": "tick", "type": "opened"')
    path = tmp_path / "feed.jsonl"
    path.write_text(doubled + "\n")
    store = new_store_url()
    assert 2 == main(["run", "--store", store, "--format", "json", "--keep-going", str(path)])
    (refused,) = printed(capsys.readouterr().out)
    assert ("refused", 1) == (refused["type"], refused["line"])
    assert "the key 'type' is given more than once" in refused["reason"]
    with Service(store) as service:
        assert () == service.escalations()


# ------------------------------------------------------------------------------------- prune
def test_prune_forgets_what_is_older_than_the_durations_and_says_how_much(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_store_url()
    facts = facts_of(EXAMPLES / "non-compliant.jsonl")
    source = tmp_path / "feed.jsonl"
    source.write_text(
        "".join(json.dumps({**fact, "id": f"crm-{n}"}) + "\n" for n, fact in enumerate(facts))
    )
    assert 0 == main(["run", "--store", url, "--format", "json", str(source)])
    emitted = printed(capsys.readouterr().out)
    end = facts[-1]["at"]
    assert 0 == main(["worker", "--store", url, "--once", "--now", end])
    capsys.readouterr()
    # A day after the last fact: every fact is older than an hour, and every action was
    # delivered at the last fact's time, a day before; none is older than 30 days.
    later = parse_timestamp(end) + dt.timedelta(days=1)
    arguments = ["prune", "--store", url, "--now", later.isoformat()]
    assert 0 == main([*arguments, "--facts-older-than", "30d", "--delivered-older-than", "30d"])
    report = json.loads(capsys.readouterr().out)
    assert (0, 0) == (report["facts"], report["actions"])
    assert 0 == main([*arguments, "--facts-older-than", "1h", "--delivered-older-than", "1h"])
    report = json.loads(capsys.readouterr().out)
    assert (len(facts), len(emitted)) == (report["facts"], report["actions"])
    cut = (later - dt.timedelta(hours=1)).isoformat()
    assert cut == report["facts_before"] == report["delivered_before"]
    with Service(url) as service:
        assert [] == service.outbox()
        assert service.escalations()  # states are never pruned
    assert 2 == main([*arguments, "--facts-older-than", "300000d"])
    assert "outside the times the policy supports" in capsys.readouterr().err


def test_prune_of_a_store_that_is_not_there_is_an_error_and_makes_none(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    assert 5 == main(["prune", "--store", f"sqlite:///{missing}", "--facts-older-than", "1d"])
    err = capsys.readouterr().err
    assert f"no store at {missing}" in err
    assert 1 == len(err.splitlines())
    assert not missing.exists()


# ------------------------------------------------------------------------------------ worker
def test_worker_once_delivers_the_outbox_to_standard_output_once(
    new_store_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_store_url()
    path = EXAMPLES / "non-compliant.jsonl"
    assert 0 == main(["run", "--store", url, str(path)])
    emitted = printed(capsys.readouterr().out)
    end = facts_of(path)[-1]["at"]
    assert 0 == main(["worker", "--store", url, "--once", "--now", end])
    delivered = printed(capsys.readouterr().out)
    assert by_escalation(emitted) == by_escalation(delivered)  # each in its order
    assert len(emitted) == len(delivered)
    assert 0 == main(["worker", "--store", url, "--once", "--now", end])
    assert "" == capsys.readouterr().out


def test_worker_reports_what_fell_due_by_its_clock(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    path = EXAMPLES / "non-compliant.jsonl"
    main(["run", "--store", url, str(path)])
    capsys.readouterr()
    later = parse_timestamp(facts_of(path)[-1]["at"]) + dt.timedelta(days=30)
    expected = replayed(path)
    engine = PolicyEngine()
    for fact in facts_of(path):
        engine.handle(fact)
    expected += [
        CONVERTER.unstructure(a, Action)
        for a in engine.handle({"type": "tick", "at": later.isoformat()}).actions
    ]
    assert 0 == main(["worker", "--store", url, "--once", "--now", later.isoformat()])
    assert by_escalation(expected) == by_escalation(without_ids(printed(capsys.readouterr().out)))


def test_worker_delivers_through_a_command_and_retries_a_failure(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    main(["run", "--store", url, str(EXAMPLES / "medium-support-led.jsonl")])
    capsys.readouterr()
    received = tmp_path / "received.jsonl"
    flag = tmp_path / "down"
    flag.touch()
    deliver = (
        f'test ! -e "{flag}" && '
        f'{{ cat >> "{received}"; echo "$ESCALATION_POLICY_ACTION_ID" >> "{received}.ids"; }}'
    )
    now = "2026-06-01T00:00:00Z"
    assert 0 == main(["worker", "--store", url, "--once", "--now", now, "--deliver", deliver])
    err = capsys.readouterr().err
    assert "failed (the command exited with status 1); retrying at" in err
    assert not received.exists()
    flag.unlink()
    assert 0 == main(["worker", "--store", url, "--once", "--now", now, "--deliver", deliver])
    assert not received.exists(), "the back-off is not over yet"
    later = "2026-06-01T02:00:00Z"
    assert 0 == main(["worker", "--store", url, "--once", "--now", later, "--deliver", deliver])
    ids = (tmp_path / "received.jsonl.ids").read_text().split()
    with Service(url) as service:
        assert [d.id for d in service.outbox()] == ids
        assert [] == service.outbox(delivered=False)
    assert ids == [json.loads(line)["id"] for line in received.read_text().splitlines()]


def test_worker_stops_cleanly_on_sigterm(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "escalation_policy", "worker", "--store", url, "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "store.db").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the store is opened once the worker handles SIGTERM
        time.sleep(0.5)
        worker.terminate()
        _, err = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert 0 == worker.returncode, err
    assert "" == err


# ---------------------------------------------------------------- refusals, dead letters, status
def test_a_refused_line_is_reported_by_every_run_until_acknowledged(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (EXAMPLES / "critical-outage.jsonl").read_text().splitlines(keepends=True)
    path = tmp_path / "feed.jsonl"
    path.write_text("".join([lines[0], '{"type": "openned", "id": "crm-9"}\n', *lines[1:]]))
    store = new_store_url()
    run = ["run", "--store", store, "--keep-going", "--format", "json", str(path)]
    assert 2 == main(run)
    capsys.readouterr()
    assert 2 == main(run)  # nothing new is read, and the refusal is still reported
    out, err = capsys.readouterr()
    assert "" == out
    assert f"{path}: line 2: unknown fact type 'openned'" in err
    assert "not acknowledged" in err
    assert 0 == main(["status", "--store", store])
    assert 1 == json.loads(capsys.readouterr().out)["refused"]
    assert 0 == main(["refused", "--store", store])
    (listed,) = printed(capsys.readouterr().out)
    assert (str(path), 2, "crm-9", "invalid_fact") == (
        listed["file"],
        listed["line"],
        listed["fact_id"],
        listed["code"],
    )
    assert 0 == main(["refused", "--store", store, "--acknowledge", "--source", "elsewhere"])
    assert [] == printed(capsys.readouterr().out)  # another source's: nothing acknowledged
    assert 2 == main(run)
    assert 0 == main(["refused", "--store", store, "--acknowledge", str(path)])
    assert [listed] == printed(capsys.readouterr().out)
    assert 0 == main(run)
    assert 0 == main(["refused", "--store", store])
    assert "" == capsys.readouterr().out


def test_run_names_a_refused_line_as_given_and_the_store_by_its_absolute_path(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` reports a refused line under the file's name as given, as `audit` does; the
    store keys it by the absolute path, so `refused` names that path, and finds the line
    from another folder under another name for the same file."""
    lines = (EXAMPLES / "critical-outage.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "feed.jsonl").write_text("".join([lines[0], "not json\n", *lines[1:]]))
    absolute = os.path.realpath(tmp_path / "feed.jsonl")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.chdir(tmp_path)
    assert 2 == main(["run", "--store", store, "--keep-going", "--format", "json", "feed.jsonl"])
    (reported,) = [line for line in printed(capsys.readouterr().out) if line["type"] == "refused"]
    assert ("feed.jsonl", 2) == (reported["file"], reported["line"])
    assert 2 == main(["audit", "--keep-going", "--format", "json", "feed.jsonl"])
    assert [("feed.jsonl", 2)] == [
        (item["file"], item["line"]) for item in json.loads(capsys.readouterr().out)["refused"]
    ]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert 0 == main(["refused", "--store", store, "../feed.jsonl"])
    (listed,) = printed(capsys.readouterr().out)
    assert (absolute, "file:" + absolute, 2) == (listed["file"], listed["source"], listed["line"])
    assert 2 == main(["run", "--store", store, "--format", "json", "../feed.jsonl"])
    out, err = capsys.readouterr()
    assert "" == out  # nothing new is read from the same file under another name
    assert f"{absolute}: line 2: " in err


def test_worker_sets_an_unreadable_action_aside_and_delivers_the_others(
    new_store_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = new_store_url()
    path = EXAMPLES / "non-compliant.jsonl"
    assert 0 == main(["run", "--store", url, "--format", "json", str(path)])
    emitted = printed(capsys.readouterr().out)
    broken = emitted[0]["id"]
    with Service(url) as service, service.store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]
        db.execute(
            service.store._sql("UPDATE ep_outbox SET action = ? WHERE action_id = ?"),
            ('{"type": "assign_owner", "owner', broken),
        )
    end = facts_of(path)[-1]["at"]
    assert 0 == main(["worker", "--store", url, "--once", "--now", end, "--batch", "3"])
    out, err = capsys.readouterr()
    assert {a["id"] for a in emitted} - {broken} == {a["id"] for a in printed(out)}
    assert "1 action is set aside as dead letters" in err
    assert 0 == main(["dead-letters", "--store", url])
    (letter,) = printed(capsys.readouterr().out)
    assert broken == letter["id"]
    assert "JSON cannot be read" in letter["error"]
    assert 0 == main(["status", "--store", url])
    status = json.loads(capsys.readouterr().out)
    assert (1, 0) == (status["dead_letters"], status["undelivered"])
    assert 0 == main(["dead-letters", "--store", url, "--retry", "ESC-none/1"])
    assert "put 0 dead letters back" in capsys.readouterr().err
    assert 0 == main(["dead-letters", "--store", url, "--retry"])
    assert "put 1 dead letter back" in capsys.readouterr().err
    assert 0 == main(["status", "--store", url])
    assert 1 == json.loads(capsys.readouterr().out)["undelivered"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("action", b"\x00\xff", id="bytes for the action's text"),
        pytest.param("dead", 2**63 - 1, id="a time out of range"),
    ],
)
def test_dead_letters_names_a_damaged_one_lists_the_others_and_puts_none_back(
    new_store_url: Any, capsys: pytest.CaptureFixture[str], column: str, value: object
) -> None:
    """A dead letter the store holds in a shape no store writes (a damaged SQLite file can
    hold bytes in any column): `dead-letters` lists the others, names it by its position and
    ends with exit status 5; with --retry, it puts nothing back."""
    url = new_store_url()
    if isinstance(value, bytes) and url.startswith("postgresql"):
        pytest.skip("a PostgreSQL text column holds no bytes")
    path = EXAMPLES / "non-compliant.jsonl"
    assert 0 == main(["run", "--store", url, "--format", "json", str(path)])
    emitted = printed(capsys.readouterr().out)
    with Service(url) as service, service.store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]
        db.execute("UPDATE ep_outbox SET action = 'not json' WHERE position <= 2")
    end = facts_of(path)[-1]["at"]
    assert 0 == main(["worker", "--store", url, "--once", "--now", end])
    capsys.readouterr()
    with Service(url) as service, service.store.transaction() as tx:
        db = tx.db  # type: ignore[attr-defined]
        db.execute(
            service.store._sql(f"UPDATE ep_outbox SET {column} = ? WHERE position = 1"), (value,)
        )
    damaged, readable = emitted[0]["id"], emitted[1]["id"]
    for retry in ([], ["--retry"]):
        assert 5 == main(["dead-letters", "--store", url, *retry])
        out, err = capsys.readouterr()
        assert [readable] == [letter["id"] for letter in printed(out)]
        (line,) = err.splitlines()
        assert f"the dead letter '{damaged}' (position 1 of the outbox) holds " in line
        assert line.endswith("the store was damaged; restore it from a backup")
    assert 0 == main(["status", "--store", url])
    assert 2 == json.loads(capsys.readouterr().out)["dead_letters"]  # none was put back


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("reason", b"\x00\xff", id="bytes for the reason's text"),
        pytest.param("refused", 2**63 - 1, id="a time out of range"),
    ],
)
def test_refused_names_a_damaged_refusal_lists_the_others_and_acknowledges_none(
    new_store_url: Any,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    column: str,
    value: object,
) -> None:
    url = new_store_url()
    if isinstance(value, bytes) and url.startswith("postgresql"):
        pytest.skip("a PostgreSQL text column holds no bytes")
    path = tmp_path / "feed.jsonl"
    path.write_text('{"type": "openned", "id": "crm-1"}\n{"type": "openned", "id": "crm-2"}\n')
    assert 2 == main(["run", "--store", url, "--keep-going", "--format", "json", str(path)])
    capsys.readouterr()
    with Service(url) as service, service.store.transaction() as tx:
        db: Any = tx.db  # type: ignore[attr-defined]
        db.execute(
            service.store._sql(f"UPDATE ep_refusals SET {column} = ? WHERE fact_id = 'crm-1'"),
            (value,),
        )
        (number,) = [
            refusal.number for refusal in service.store.refusals() if refusal.fact_id == "crm-1"
        ]
    for acknowledge in ([], ["--acknowledge"]):
        assert 5 == main(["refused", "--store", url, *acknowledge])
        out, err = capsys.readouterr()
        assert ["crm-2"] == [refusal["fact_id"] for refusal in printed(out)]
        (line,) = err.splitlines()
        assert f"the refusal numbered {number} holds " in line
        assert line.endswith("the store was damaged; restore it from a backup")
    assert 0 == main(["status", "--store", url])
    assert 2 == json.loads(capsys.readouterr().out)["refused"]  # none was acknowledged


@pytest.mark.parametrize("command", ["status", "refused", "dead-letters"])
def test_reading_commands_refuse_a_store_that_is_not_there(
    command: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    assert 5 == main([command, "--store", f"sqlite:///{missing}"])
    assert "no store at" in capsys.readouterr().err
    assert not missing.exists()


def test_replan_moves_due_times_after_a_calendar_change_and_says_what_moved(
    new_store_url: Any, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The office policy, then the same with a holiday added on the day a reply was due:
    `replan --dry-run` says what would move and moves nothing; `replan` moves it; again,
    nothing is left to re-plan."""
    url = new_store_url()
    feed = tmp_path / "feed.jsonl"
    opened = {
        "type": "opened",
        "at": "2026-03-09T10:00:00-04:00",
        "escalation_id": "E1",
        "customer": "Acme",
        "severity": "low",
    }
    asked = {"type": "asked", "at": "2026-03-09T15:00:00-04:00", "escalation_id": "E1"}
    feed.write_text(json.dumps(opened) + "\n" + json.dumps(asked) + "\n")
    office = ["--policy", "tests.policies.office"]
    assert 0 == main(["run", "--store", url, "--format", "json", *office, str(feed)])
    package = tmp_path / "office_with_a_holiday"
    package.mkdir()
    (package / "__init__.py").write_text(
        'MODULES = ("office_with_a_holiday.rules",)\nSECTIONS = ("Office hours",)\n'
    )
    (package / "rules.py").write_text(
        "import datetime as dt\n\n"
        "import attrs\n\n"
        "from tests.policies.office.rules import *  # noqa: F403\n"
        "from tests.policies.office.rules import CALENDARS as _BEFORE, NEW_YORK as _NY\n\n"
        "CALENDARS = attrs.evolve(\n"
        "    _BEFORE, default=attrs.evolve(_NY, holidays=(*_NY.holidays, dt.date(2026, 3, 10)))\n"
        ")\n"
    )
    capsys.readouterr()
    replan = [
        "replan",
        "--store",
        url,
        "--policy",
        str(package),
        "--now",
        "2026-03-09T16:00:00-04:00",
    ]
    assert 0 == main([*replan, "--dry-run"])
    (would,) = printed(capsys.readouterr().out)
    assert (False, "new_york") == (would["applied"], would["calendar"])
    assert [("reply", "2026-03-10T15:00:00+00:00", "2026-03-11T15:00:00+00:00")] == [
        (m["obligation"], m["before"], m["after"]) for m in would["moved"]
    ]
    assert 0 == main(replan)
    (done,) = printed(capsys.readouterr().out)
    assert (True, would["moved"]) == (done["applied"], done["moved"])
    assert 0 == main(replan)
    assert "" == capsys.readouterr().out
