"""Fingerprints of everything the library outputs for a corpus of histories.

A restructure that must change no output byte is checked by fingerprinting the same histories
on the code before it and on the code after it, and comparing::

    # once, on the code before: draw the histories, and fingerprint them
    PYTHONPATH=src python tests/fingerprint.py --histories /tmp/fp/histories \\
        --generate 1000 --seed 0 --out /tmp/fp/before.txt

    # on the code after (its own src on PYTHONPATH), with the same histories
    PYTHONPATH=src python tests/fingerprint.py --histories /tmp/fp/histories \\
        --out /tmp/fp/after.txt --compare /tmp/fp/before.txt

``--compare`` prints every (history, output) whose fingerprint differs, or is missing on one
side (PostgreSQL reachable on one run only, say), and exits with status 1 if there is any;
with ``--compare`` and no ``--histories``, the two files are compared as they are. Run both
sides in the same environment: every output goes through cattrs, so other versions of the
dependencies make other bytes.

Drawing 1,000 histories takes a few minutes (the compliant ones of the later process most);
fingerprinting them, about three minutes of one core.

``--generate N`` draws N histories with the library's own Hypothesis strategy of whole
histories (``escalation_policy.testing.strategies.histories``), half for the handbook's policy
and half for ``examples/policies/later_process``, each from a seeded random source, so the same
``--seed`` draws the same histories; it adds the examples shipped for each policy. They are
written as JSON lines into ``DIR/handbook`` and ``DIR/later_process``: fingerprint the code
after a restructure with the histories drawn before it, not with histories drawn again.

Each history's outputs are computed through the public interface only, so that a restructure
that keeps the public names can be fingerprinted unchanged:

- ``replay.E``, ``decisions.E``, ``snapshot.E``: ``PolicyEngine(policy, engine=E)`` handling the
  facts (their JSON objects) in order: the actions as JSON lines; each decision's fulfilments
  and matched rules; the snapshot's JSON at the end. E is ``native``, and ``durable`` when
  durable_rules is installed.
- ``decide``: ``decide`` over each escalation's own facts from no state, then ``advance`` a
  month past the history's end: each decision's actions, fulfilments, matches and state.
- ``service.S.*`` for a fresh SQLite file and a fresh PostgreSQL schema (skipped, and said so,
  without a server at ``$ESCALATION_POLICY_TEST_POSTGRES``): ``handled``, what ``handle_many``
  returned for the facts (the deliveries' JSON with their ids); ``outbox``; ``escalations``
  and ``snapshot``; ``run_due``, what falls due a month past the history's end, and the
  escalations after it; ``delivery``, a round of ``claim`` and ``ack`` and what is left.
- ``cli.replay``, ``cli.audit.json``, ``cli.audit.text``, ``cli.audit.markdown``, and
  ``cli.audit.html`` for the examples and every 25th drawn history: ``escalation-policy``
  run in this process (``escalation_policy.cli.main``), its exit status, standard output and
  standard error.
- per policy (history ``policy/NAME``): its identity, its JSON schema, and the ``rules`` and
  ``table`` commands' output.

An output that raises is fingerprinted as the exception's type and message. The output file
has one line per (history, output), ``HISTORY KIND SHA256 BYTES``, sorted, after a header of
``#`` lines: what was skipped, the counts, and a digest of all the lines. Two runs on the same
code and histories write the same file.
"""

import argparse
import collections
import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import pathlib
import random
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
POLICIES = {
    "handbook": None,  # the handbook's policy, the library's default
    "later_process": ROOT / "examples" / "policies" / "later_process",
}
EXAMPLES = {
    "handbook": ROOT / "examples",
    "later_process": ROOT / "examples" / "policies" / "later_process" / "examples",
}
POSTGRES = os.environ.get(
    "ESCALATION_POLICY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
LATER = dt.timedelta(days=30)
"""How far past a history's end ``run_due`` and ``advance`` let time pass."""
HTML_EVERY = 25
"""The HTML audit is fingerprinted for the examples and every HTML_EVERY-th drawn history."""

VARIANTS: tuple[tuple[int, str, dict[str, Any]], ...] = (
    (6, "mixed", {}),
    (2, "long", {"max_escalations": 6, "max_steps": 120}),
    (2, "compliant", {"compliant": True}),
)
"""The histories drawn for each policy: (share of them, name, the strategy's arguments)."""


# ------------------------------------------------------------------------------------ drawing
def generate(folder: pathlib.Path, count: int, seed: int) -> None:
    """Draw ``count`` histories (half per policy) into ``folder``, with the examples."""
    from hypothesis.errors import StopTest
    from hypothesis.internal.conjecture.data import ConjectureData

    import escalation_policy as ep
    from escalation_policy.testing.strategies import histories

    for name in POLICIES:
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for example in sorted(EXAMPLES[name].glob("*.jsonl")):
            shutil.copyfile(example, target / f"example-{example.name}")
    per_policy = {name: count // len(POLICIES) for name in POLICIES}
    per_policy["handbook"] += count - sum(per_policy.values())
    total = sum(share for share, _, _ in VARIANTS)
    for name, location in POLICIES.items():
        policy = _load(location)
        converter = ep.make_converter(policy)
        wanted = per_policy[name]
        counts = [wanted * share // total for share, _, _ in VARIANTS]
        counts[0] += wanted - sum(counts)
        number = 0
        for (_, variant, arguments), how_many in zip(VARIANTS, counts, strict=True):
            strategy = histories(policy=policy, **arguments)
            drawn = attempt = 0
            while drawn < how_many:
                source = random.Random(_derived_seed(seed, name, variant, attempt))
                attempt += 1
                try:
                    history = ConjectureData(random=source).draw(strategy)
                except StopTest:  # ran out of choices: draw again from the next seed
                    continue
                drawn += 1
                number += 1
                lines = [json.dumps(converter.unstructure(fact, ep.Fact)) for fact in history]
                path = folder / name / f"drawn-{number:04d}-{variant}.jsonl"
                path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        print(f"drew {number} histories for {name}", file=sys.stderr)


def _derived_seed(seed: int, *parts: object) -> int:
    text = ":".join(str(part) for part in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _load(location: pathlib.Path | None) -> Any:
    import escalation_policy as ep

    return ep.default_policy() if location is None else ep.load_policy(str(location))


def history_files(folder: pathlib.Path) -> list[tuple[str, pathlib.Path]]:
    """``(policy name, file)`` of every history in ``folder``, in order."""
    found = []
    for name in POLICIES:
        for path in sorted((folder / name).glob("*.jsonl")):
            found.append((name, path))
    if not found:
        raise SystemExit(f"no histories in {folder}/{{{','.join(POLICIES)}}}/*.jsonl")
    return found


# ------------------------------------------------------------------------------------ outputs
def dumps(value: object) -> str:
    return json.dumps(value)


def lines(values: Sequence[object]) -> str:
    return "".join(dumps(value) + "\n" for value in values)


def failure(error: BaseException) -> str:
    return f"raised {type(error).__name__}: {error}\n"


class Context:
    """What one run shares: the policies, their converters, the stores."""

    def __init__(self, folder: pathlib.Path, work: pathlib.Path) -> None:
        import escalation_policy as ep

        self.ep = ep
        self.folder = folder
        self.work = work
        self.policies = {name: _load(location) for name, location in POLICIES.items()}
        self.converters = {name: ep.make_converter(p) for name, p in self.policies.items()}
        self.engines = ["native"]
        self.skipped: list[str] = []
        try:
            import durable  # noqa: F401
        except ImportError:
            self.skipped.append("engine durable: durable_rules is not installed")
        else:
            self.engines.append("durable")
        self.postgres: PostgresSchema | None = None
        try:
            self.postgres = PostgresSchema(POSTGRES)
        except Exception as error:  # no server, or no psycopg: said in the output's header
            reason = " ".join(str(error).split())
            self.skipped.append(f"service.postgresql: {type(error).__name__}: {reason}")
        self.sqlite_number = 0
        self.statuses: collections.Counter[str] = collections.Counter()

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()

    def json_of(self, policy_name: str, value: object, kind: object = None) -> object:
        converter = self.converters[policy_name]
        return converter.unstructure(value) if kind is None else converter.unstructure(value, kind)


class PostgresSchema:
    """One schema for the run, emptied before each history as the store leaves a new one:
    the tables it creates empty are emptied and its sequences restarted; those it fills (its
    version) are kept. (Emptied rather than truncated: truncating takes a tenth of a second.)"""

    def __init__(self, url: str) -> None:
        import psycopg

        import escalation_policy as ep

        self.name = f"fingerprint_{uuid.uuid4().hex[:12]}"
        self.admin = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self.admin.execute("SET synchronous_commit = off")
        self.admin.execute(f"CREATE SCHEMA {self.name}")
        try:
            # Not waiting for the server to sync each commit changes nothing the store reads.
            self.url = _with_schema(url, self.name, "-csynchronous_commit=off")
            self.store = ep.open_store(self.url)
            tables = [
                row[0]
                for row in self.admin.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY table_name",
                    (self.name,),
                )
            ]
            self.data_tables = [
                table
                for table in tables
                if self.admin.execute(f'SELECT count(*) FROM {self.name}."{table}"').fetchone()
                == (0,)
            ]
            self.sequences = [
                row[0]
                for row in self.admin.execute(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = %s ORDER BY sequence_name",
                    (self.name,),
                )
            ]
        except BaseException:
            self.close()
            raise

    def empty(self) -> None:
        for table in self.data_tables:
            self.admin.execute(f'DELETE FROM {self.name}."{table}"')
        # What a store keeps beside its schema's version (a catching-up service's clock)
        # starts empty too, as in a new schema.
        self.admin.execute(f"DELETE FROM {self.name}.ep_meta WHERE key <> 'schema'")
        for sequence in self.sequences:
            self.admin.execute(f'ALTER SEQUENCE {self.name}."{sequence}" RESTART')

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        self.admin.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        self.admin.close()


def _with_schema(url: str, schema: str, *options: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query.append(("options", " ".join([f"-csearch_path={schema}", *options])))
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


Group = tuple[tuple[str, ...], Callable[[], dict[str, str]]]
"""Outputs computed together: their kinds, and what computes each kind's text."""


def outputs(context: Context, policy_name: str, path: pathlib.Path, *, html: bool) -> list[Group]:
    """The outputs of one history, in groups computed together."""
    ep = context.ep
    policy = context.policies[policy_name]
    text = path.read_text(encoding="utf-8")
    facts = [json.loads(line) for line in text.splitlines() if line.strip()]
    times = [_parse(fact["at"]) for fact in facts]
    later = max(times) + LATER if times else None
    to_json = context.json_of
    groups: list[Group] = []

    def replay(engine_name: str) -> dict[str, str]:
        engine = ep.PolicyEngine(policy, engine=engine_name)
        actions: list[object] = []
        decisions: list[object] = []
        error = ""
        try:
            for decision in engine.replay(facts):
                actions.extend(to_json(policy_name, a, ep.Action) for a in decision.actions)
                decisions.append(
                    {
                        "fulfilled": [to_json(policy_name, f) for f in decision.fulfilled],
                        "matched": list(decision.matched),
                    }
                )
        except Exception as raised:
            error = failure(raised)
        return {
            f"replay.{engine_name}": lines(actions) + error,
            f"decisions.{engine_name}": lines(decisions) + error,
            f"snapshot.{engine_name}": dumps(to_json(policy_name, engine.snapshot())) + "\n",
        }

    for engine_name in context.engines:
        kinds = tuple(f"{kind}.{engine_name}" for kind in ("replay", "decisions", "snapshot"))
        groups.append((kinds, functools.partial(replay, engine_name)))

    def decide() -> dict[str, str]:
        by_escalation: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            if "escalation_id" in fact:
                by_escalation.setdefault(fact["escalation_id"], []).append(fact)
        out: list[str] = []
        for escalation_id in sorted(by_escalation):
            out.append(dumps(escalation_id) + "\n")
            state = None
            try:
                for fact in by_escalation[escalation_id]:
                    decision = ep.decide(state, fact, policy=policy)
                    state = decision.state
                    out.append(_decision_line(context, policy_name, decision))
                if state is not None and later is not None:
                    decision = ep.advance(state, later, policy=policy)
                    out.append(_decision_line(context, policy_name, decision))
            except Exception as raised:
                out.append(failure(raised))
        return {"decide": "".join(out)}

    groups.append((("decide",), decide))

    stores: list[tuple[str, Callable[[], Any]]] = [("sqlite", lambda: _sqlite_store(context))]
    if context.postgres is not None:
        stores.append(("postgresql", lambda: _postgres_store(context)))
    for store_name, open_store in stores:
        kinds = tuple(f"service.{store_name}.{name}" for name in SERVICE_OUTPUTS)
        run = functools.partial(_service, context, policy_name, facts, later, open_store)
        groups.append((kinds, functools.partial(_prefixed, f"service.{store_name}.", run)))

    relative = str(path.relative_to(context.folder))
    policy_args = [] if POLICIES[policy_name] is None else ["--policy", str(POLICIES[policy_name])]
    commands = {"cli.replay": ["replay", *policy_args, "--format", "json", relative]}
    for fmt in ["json", "text", "markdown", *(["html"] if html else [])]:
        commands[f"cli.audit.{fmt}"] = ["audit", *policy_args, "--format", fmt, relative]
    for kind, argv in commands.items():
        groups.append(((kind,), functools.partial(_cli_output, context, kind, argv)))
    return groups


def _prefixed(prefix: str, compute: Callable[[], dict[str, str]]) -> dict[str, str]:
    return {prefix + name: text for name, text in compute().items()}


def _cli_output(context: "Context", kind: str, argv: list[str]) -> dict[str, str]:
    return {kind: cli(context, argv)}


SERVICE_OUTPUTS = ("handled", "outbox", "escalations", "snapshot", "run_due", "delivery")


def _decision_line(context: Context, policy_name: str, decision: Any) -> str:
    ep = context.ep
    to_json = context.json_of
    return (
        dumps(
            {
                "fact": to_json(policy_name, decision.fact, ep.Fact),
                "actions": [to_json(policy_name, a, ep.Action) for a in decision.actions],
                "fulfilled": [to_json(policy_name, f) for f in decision.fulfilled],
                "matched": list(decision.matched),
                "state": None if decision.state is None else to_json(policy_name, decision.state),
            }
        )
        + "\n"
    )


def _sqlite_store(context: Context) -> Any:
    context.sqlite_number += 1
    return context.ep.open_store(f"sqlite:///{context.work / f'{context.sqlite_number}.db'}")


def _postgres_store(context: Context) -> Any:
    assert context.postgres is not None
    context.postgres.empty()
    return context.postgres.store


def _service(
    context: Context,
    policy_name: str,
    facts: list[dict[str, Any]],
    later: dt.datetime | None,
    open_store: Callable[[], Any],
) -> dict[str, str]:
    ep = context.ep
    policy = context.policies[policy_name]
    store = open_store()
    shared = context.postgres is not None and store is context.postgres.store
    service = ep.Service(store, policy)
    results: dict[str, str] = {}

    def deliveries(found: Sequence[Any]) -> list[object]:
        return [delivery.to_json(policy) for delivery in found]

    def states(found: Sequence[Any]) -> list[object]:
        return [context.json_of(policy_name, state) for state in found]

    def attempt(name: str, run: Callable[[], str]) -> None:
        try:
            results[name] = run()
        except Exception as raised:
            results[name] = failure(raised)

    def handled() -> str:
        out = []
        for result in service.handle_many(facts):
            if isinstance(result, ep.InputError):
                out.append(failure(result))
                continue
            out.append(
                dumps(
                    {
                        "deliveries": deliveries(result.deliveries),
                        "duplicate": result.duplicate,
                        "fulfilled": [context.json_of(policy_name, f) for f in result.fulfilled],
                        "matched": list(result.matched),
                    }
                )
                + "\n"
            )
        return "".join(out)

    def run_due() -> str:
        if later is None:
            return ""
        before = service.next_wakeup()
        emitted = service.run_due(later)
        return (
            dumps(None if before is None else before.isoformat())
            + "\n"
            + lines(deliveries(emitted))
            + lines(states(service.escalations()))
            + dumps(None if (after := service.next_wakeup()) is None else after.isoformat())
            + "\n"
        )

    def delivery() -> str:
        if later is None:
            return ""
        claimed = service.claim(later, limit=100_000)
        service.ack([d.id for d in claimed], later)
        return (
            lines([[d.id, d.attempts] for d in claimed])
            + lines(deliveries(service.outbox(delivered=False)))
            + lines([d.id for d in service.outbox(delivered=True)])
        )

    try:
        attempt("handled", handled)
        attempt("outbox", lambda: lines(deliveries(service.outbox())))
        attempt("escalations", lambda: lines(states(service.escalations())))
        attempt("snapshot", lambda: dumps(context.json_of(policy_name, service.snapshot())) + "\n")
        attempt("run_due", run_due)
        attempt("delivery", delivery)
    finally:
        if not shared:
            service.close()
    return results


@contextlib.contextmanager
def policies_loaded_once() -> Iterator[None]:
    """Let the command line load each policy package once per run rather than once per call
    (tens of milliseconds each, most of a short history's cost). It only saves time: where the
    command line no longer reads the policy through ``escalation_policy.cli.load_policy``,
    every call loads it again, and the outputs are the same."""
    import escalation_policy.cli as module

    original = getattr(module, "load_policy", None)
    if original is None:
        yield
        return
    loaded: dict[str, Any] = {}

    def load_policy(*args: Any, **kwargs: Any) -> Any:
        key = repr((args, sorted(kwargs.items(), key=repr)))
        if key not in loaded:
            loaded[key] = original(*args, **kwargs)
        return loaded[key]

    module.load_policy = load_policy  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.load_policy = original  # type: ignore[attr-defined]


def cli(context: Context, argv: list[str]) -> str:
    """``escalation-policy ARGV`` in this process, from the histories' folder: its exit
    status, standard output and standard error."""
    from escalation_policy.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(context.folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    finally:
        os.chdir(here)
    context.statuses[f"{argv[0]} {status}"] += 1
    return f"exit {status}\n--- stdout\n{out.getvalue()}--- stderr\n{err.getvalue()}"


def policy_outputs(context: Context, name: str) -> list[Group]:
    """The outputs of one policy, whatever the history."""
    ep = context.ep
    policy = context.policies[name]
    args = [] if POLICIES[name] is None else ["--policy", str(POLICIES[name])]
    return [
        (("identity",), lambda: {"identity": policy.identity + "\n"}),
        (
            ("json_schema",),
            lambda: {"json_schema": json.dumps(ep.json_schema(policy), indent=2) + "\n"},
        ),
        (("cli.rules",), functools.partial(_cli_output, context, "cli.rules", ["rules", *args])),
        (("cli.table",), functools.partial(_cli_output, context, "cli.table", ["table", *args])),
    ]


# -------------------------------------------------------------------------------------- runs
def fingerprint(folder: pathlib.Path, out: pathlib.Path) -> None:
    started = time.monotonic()
    files = history_files(folder)
    rows: list[str] = []
    # The SQLite stores in memory where there is a tmpfs: waiting for the disk to sync each
    # transaction would take most of the run.
    shm = pathlib.Path("/dev/shm")
    memory = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    work = pathlib.Path(tempfile.mkdtemp(prefix="fingerprint-", dir=memory))
    context = Context(folder, work)
    timings: dict[str, tuple[float, float]] = {}

    def record(history: str, groups: list[Group]) -> None:
        for kinds, compute in groups:
            began, wall = time.process_time(), time.monotonic()
            try:
                texts = compute()
            except Exception as raised:
                texts = dict.fromkeys(kinds, failure(raised))
            for kind in kinds:
                data = texts[kind].encode("utf-8", "surrogateescape")
                rows.append(f"{history} {kind} {hashlib.sha256(data).hexdigest()} {len(data)}")
            group = kinds[0] if len(kinds) == 1 else f"{kinds[0]} and {len(kinds) - 1} more"
            cpu, waited = timings.get(group, (0.0, 0.0))
            timings[group] = (
                cpu + time.process_time() - began,
                waited + time.monotonic() - wall,
            )

    try:
        with policies_loaded_once():
            for name in POLICIES:
                record(f"policy/{name}", policy_outputs(context, name))
            drawn = 0
            for number, (name, path) in enumerate(files, start=1):
                html = path.name.startswith("example-")
                if path.name.startswith("drawn-"):
                    drawn += 1
                    html = drawn % HTML_EVERY == 1
                history = str(path.relative_to(folder))
                record(history, outputs(context, name, path, html=html))
                for leftover in work.iterdir():  # the history's SQLite store
                    leftover.unlink()
                if number % 100 == 0:
                    print(
                        f"{number}/{len(files)} histories, {time.monotonic() - started:.0f}s",
                        file=sys.stderr,
                    )
    finally:
        context.close()
        shutil.rmtree(work, ignore_errors=True)
    rows.sort()
    kinds = sorted({row.split(" ")[1] for row in rows})
    digest = hashlib.sha256("".join(row + "\n" for row in rows).encode()).hexdigest()
    header = [
        f"# histories: {len(files)}",
        f"# output kinds: {len(kinds)} ({', '.join(kinds)})",
        f"# fingerprints: {len(rows)}",
        "# exit statuses of the commands: "
        + ", ".join(f"{key}: {count}" for key, count in sorted(context.statuses.items())),
        *(f"# skipped {reason}" for reason in sorted(context.skipped)),
        f"# digest of the lines below: sha256:{digest}",
    ]
    out.write_text("".join(line + "\n" for line in [*header, *rows]), encoding="utf-8")
    elapsed = time.monotonic() - started
    print("\n".join(header), file=sys.stderr)
    print(
        f"wrote {out} in {elapsed:.0f}s ({time.process_time():.0f}s of CPU); "
        "seconds by output (CPU, wall):",
        file=sys.stderr,
    )
    for kind, (cpu, wall) in sorted(timings.items(), key=lambda item: -item[1][1]):
        print(f"  {cpu:7.1f} {wall:7.1f}  {kind}", file=sys.stderr)


def read_rows(path: pathlib.Path) -> tuple[dict[tuple[str, str], str], list[str]]:
    rows: dict[tuple[str, str], str] = {}
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            header.append(line)
            continue
        history, kind, rest = line.split(" ", 2)
        rows[history, kind] = rest
    return rows, header


def compare(new: pathlib.Path, old: pathlib.Path) -> int:
    """Print each (history, kind) whose fingerprint differs; 1 if any does, else 0."""
    new_rows, new_header = read_rows(new)
    old_rows, old_header = read_rows(old)
    differing = 0
    for key in sorted(new_rows.keys() | old_rows.keys()):
        before, after = old_rows.get(key), new_rows.get(key)
        if before == after:
            continue
        differing += 1
        history, kind = key
        if before is None:
            print(f"{history} {kind}: only in {new}")
        elif after is None:
            print(f"{history} {kind}: only in {old}")
        else:
            print(f"{history} {kind}: {old} {before} != {new} {after}")
    skipped = sorted({line for line in new_header + old_header if line.startswith("# skipped")})
    for line in skipped:
        print(f"note: {line[2:]}")
    if differing:
        by_kind = collections.Counter(
            kind
            for key in new_rows.keys() | old_rows.keys()
            if old_rows.get(key) != new_rows.get(key)
            for kind in [key[1]]
        )
        print("differing by output: " + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())))
        print(f"{differing} of {len(new_rows.keys() | old_rows.keys())} fingerprints differ")
        return 1
    print(f"all {len(new_rows)} fingerprints are the same")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=pathlib.Path, metavar="DIR")
    parser.add_argument("--out", type=pathlib.Path, metavar="FILE", required=True)
    parser.add_argument("--generate", type=int, metavar="N", help="draw N histories into DIR")
    parser.add_argument("--seed", type=int, default=0, help="the seed of --generate (default 0)")
    parser.add_argument("--compare", type=pathlib.Path, metavar="OTHER_FILE")
    args = parser.parse_args(argv)
    if args.histories is None:
        if args.compare is None or args.generate is not None:
            parser.error("--histories is needed, except to --compare two existing files")
        return compare(args.out, args.compare)
    folder = args.histories.resolve()
    out = args.out.resolve()
    if args.generate is not None:
        generate(folder, args.generate, args.seed)
    fingerprint(folder, out)
    return compare(out, args.compare.resolve()) if args.compare is not None else 0


if __name__ == "__main__":
    sys.exit(main())
