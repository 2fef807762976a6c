"""``escalation-policy audit`` on a long generated history: CPU time and peak memory of the
command, one process against partitions (``--jobs``, ``--dask local``).

    python benchmarks/audit_stream.py                       # 1,000,000 facts, one process
    python benchmarks/audit_stream.py --facts 2000000 --jobs 2 --dask 2
    python benchmarks/audit_stream.py --src /elsewhere/src  # another checkout's code, to compare
    python benchmarks/audit_stream.py --quick               # seconds: 20,000 facts
    python benchmarks/audit_stream.py --python              # audit() against audit_streamed()
    python benchmarks/audit_stream.py --instructions --facts 20000   # callgrind, steady figures
    python benchmarks/audit_stream.py --parquet ...         # the same history as a Parquet file

Each run is the command a user types, in a process of its own: its CPU time and peak resident
memory are the child's, read with ``resource.getrusage(RUSAGE_CHILDREN)`` (for ``--jobs`` and
``--dask`` the workers are the command's own children and are counted in the CPU time; the peak
is the largest single process's). The command's own CPU time (reading the parts back and
writing the report) is shown apart; what is left, shared by the parts, is a part's CPU time:
on as many free cores as parts, the wall time follows it. The reports of every run must be the
same bytes.

``--python`` runs the Python API instead, each in a process of its own on the same facts
(read from the file a line at a time): ``audit()``, whose report holds every escalation, and
``audit_streamed()``, whose escalations wait on disk, each writing the report's JSON form.

``--instructions`` counts with callgrind (slow: give a small ``--facts``) the instructions of
the one-process audit (the command's work, after its imports) and of one part of two (what a
worker of ``--jobs 2`` runs): on a shared machine, the steady figures. Each is counted on the
history and on its first 200 facts, and the difference gives the instructions of a fact
without what every run costs once.

``--parquet`` writes the history as a Parquet file (a column a field, each a text but the
booleans, ``null`` where a fact has no such field) and runs everything on it instead.
"""

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import workload

ROOT = Path(__file__).resolve().parent.parent


def write_history(path: Path, facts: int) -> None:
    with path.open("w") as stream:
        for line in workload.history_lines(facts):
            stream.write(line + "\n")


def write_parquet(lines: Path, path: Path, facts: int | None = None) -> None:
    """The history in ``lines`` (its first ``facts``) as a Parquet file: a column a field, of
    the type of its first value; written 100,000 rows at a time."""
    import json

    import pyarrow
    import pyarrow.parquet

    def rows() -> typing.Iterator[dict[str, typing.Any]]:
        with lines.open("rb") as stream:
            for _, line in zip(range(facts or sys.maxsize), stream, strict=False):
                yield json.loads(line)

    types: dict[str, typing.Any] = {}
    for row in rows():
        for field, value in row.items():
            if field not in types and value is not None:
                types[field] = pyarrow.scalar(value).type
    schema = pyarrow.schema(list(types.items()))
    with pyarrow.parquet.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, typing.Any]] = []
        for row in rows():
            chunk.append(row)
            if len(chunk) == 100_000:
                writer.write_table(pyarrow.Table.from_pylist(chunk, schema))
                chunk = []
        if chunk:
            writer.write_table(pyarrow.Table.from_pylist(chunk, schema))


def run_audit(history: Path, out: Path, src: Path, *extra: str) -> dict[str, float]:
    """One ``escalation-policy audit`` in a process of its own: wall and CPU seconds, the peak
    resident memory in MB."""
    command = [
        sys.executable,
        "-c",
        # The peak of this process and its children, read before it exits: RUSAGE_CHILDREN of
        # the benchmark would count only the processes it waited for itself.
        "import resource, sys\n"
        "from escalation_policy.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "finally:\n"
        "    own = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    peak = own.ru_maxrss\n"
        "    try:  # ru_maxrss keeps the peak of the process that forked this one\n"
        "        with open('/proc/self/status') as status:\n"
        "            peak = int(status.read().split('VmHWM:')[1].split()[0])\n"
        "    except (OSError, IndexError, ValueError):\n"
        "        pass\n"
        "    kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "    cpu = own.ru_utime + own.ru_stime\n"
        "    print(f'peak-kb {peak} {kids.ru_maxrss} {cpu}', file=sys.stderr)\n"
        "sys.exit(code)\n",
        "audit",
        str(history),
        "--format",
        "json",
        "--keep-going",
        "-o",
        str(out),
        *extra,
    ]
    environment = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"the audit failed ({done.returncode}):\n{done.stderr}")
    own, kids, own_cpu = next(
        (int(a), int(b), float(c))
        for line in done.stderr.splitlines()
        if line.startswith("peak-kb ")
        for _, a, b, c in [line.split()]
    )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "cpu": cpu,
        "own_cpu": own_cpu,
        "peak_mb": own / 1024,
        "workers_peak_mb": kids / 1024,
    }


PYTHON_API = """
import json, resource, sys
from escalation_policy import Fact, audit, audit_streamed, make_converter

converter = make_converter()
def facts():
    with open(sys.argv[1], "rb") as stream:
        for line in stream:
            yield converter.structure(json.loads(line), Fact)

with open(sys.argv[2], "w") as out:
    if sys.argv[3] == "audit":
        report = audit(facts(), keep_going=True)
        out.write(json.dumps(report.to_json(), indent=2) + "\\n")
    else:
        with audit_streamed(facts(), keep_going=True) as streamed:
            streamed.write_json(out.write)
own = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:
    peak = int(status.read().split("VmHWM:")[1].split()[0])
print(f"peak-kb {peak} 0 {own.ru_utime + own.ru_stime}", file=sys.stderr)
"""


def run_python(history: Path, out: Path, src: Path, how: str) -> dict[str, float]:
    """``audit()`` or ``audit_streamed()`` on the history, in a process of its own: wall and
    CPU seconds, the peak resident memory in MB."""
    command = [sys.executable, "-c", PYTHON_API, str(history), str(out), how]
    environment = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the audit failed ({done.returncode}):\n{done.stderr}")
    peak, cpu = next(
        (int(a), float(c))
        for line in done.stderr.splitlines()
        if line.startswith("peak-kb ")
        for _, a, _, c in [line.split()]
    )
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 1024}


def python_api(history: Path, folder: str, facts: int, src: Path) -> int:
    print(f"the Python API, keep_going=True, the report's JSON form written, {facts:,} facts")
    print("| run | wall s | CPU s | peak MB |")
    print("| --- | --- | --- | --- |")
    digests = set()
    for how in ("audit", "audit_streamed"):
        out = Path(folder) / "report.json"
        figures = run_python(history, out, src, how)
        digests.add(_digest(out))
        print(
            f"| `{how}()` | {figures['wall']:.1f} | {figures['cpu']:.1f} | "
            f"{figures['peak_mb']:.0f} |",
            flush=True,
        )
    if len(digests) != 1:
        print("the runs' reports DIFFER")
        return 1
    print(f"every run's report the same ({next(iter(digests))[:12]})")
    return 0


BETWEEN_MARKS = """
import os, sys, tempfile
from escalation_policy.cli import main
from escalation_policy._partitioned import PartTask, run_part

history, out, how = sys.argv[1:4]
task = PartTask(
    paths=(history,), names=(history,), package=None, settings=(), part=0, parts=2,
    as_of=None, engine="native", keep_going=True, json=True, folder=tempfile.mkdtemp(),
)
os.getppid()
if how == "one process":
    main(["audit", history, "--format", "json", "--keep-going", "-o", out])
else:
    run_part(task)
os.getppid()
"""


FIRST = 200
"""``--instructions`` also counts the history's first this many facts: what a run costs
however long its history (the imports the command makes, the policy loaded, the code
generated), taken off to give the cost of a fact."""


def instructions(history: Path, folder: str, facts: int, src: Path) -> int:
    from run import callgrind_between_marks

    first = Path(folder) / "first.jsonl"
    if history.suffix == ".parquet":
        first = first.with_suffix(".parquet")
        write_parquet(history.with_suffix(".jsonl"), first, FIRST)
    else:
        with history.open("rb") as stream, first.open("wb") as out:
            for _, line in zip(range(FIRST), stream, strict=False):
                out.write(line)
    print(f"instructions (callgrind), {facts:,} facts ({src})")
    print(f"| run | instructions | the first {FIRST} facts | a fact after them |")
    print("| --- | --- | --- | --- |")
    os.environ["PYTHONPATH"] = f"{src}{os.pathsep}{ROOT}"  # callgrind's child inherits it
    out = str(Path(folder) / "report.json")
    per_fact: dict[str, float] = {}
    for how in ("one process", "part 0 of 2"):
        counts = [
            callgrind_between_marks([sys.executable, "-c", BETWEEN_MARKS, str(path), out, how])
            for path in (history, first)
        ]
        if None in counts:
            print(f"| {how} | (callgrind cannot see the marks) | | |")
            continue
        total, start = typing.cast(list[int], counts)
        per_fact[how] = (total - start) / (facts - FIRST)
        print(f"| {how} | {total:,} | {start:,} | {per_fact[how]:,.0f} |", flush=True)
    if len(per_fact) == 2:
        ratio = per_fact["part 0 of 2"] / per_fact["one process"]
        print(f"a part's instructions a fact: {ratio:.3f} of one process's")
    return 0


def _digest(path: Path) -> str:
    """The file's SHA-256, read a block at a time: this process stays small, for the peak of
    the next run's process starts from it."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 facts")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the code to run")
    parser.add_argument("--jobs", type=int, default=0, help="also run with --jobs N")
    parser.add_argument("--dask", type=int, default=0, help="also run on N local Dask workers")
    parser.add_argument("--history", type=Path, help="reuse (or keep) the history in this file")
    parser.add_argument("--python", action="store_true", help="audit() against audit_streamed()")
    parser.add_argument("--instructions", action="store_true", help="callgrind's counts")
    parser.add_argument("--parquet", action="store_true", help="the history as a Parquet file")
    args = parser.parse_args()
    facts = 20_000 if args.quick else args.facts
    with tempfile.TemporaryDirectory(prefix="audit-stream-") as folder:
        history = args.history or Path(folder) / "history.jsonl"
        if not history.exists():
            write_history(history, facts)
        if args.parquet:
            lines, history = history, history.with_suffix(".parquet")
            if lines.suffix != ".jsonl":
                parser.error("--parquet: give --history a .jsonl file")
            if not history.exists():
                write_parquet(lines, history)
        if args.python:
            return python_api(history, folder, facts, args.src)
        if args.instructions:
            return instructions(history, folder, facts, args.src)
        runs: list[tuple[str, list[str]]] = [("one process", [])]
        if args.jobs:
            runs.append((f"--jobs {args.jobs}", ["--jobs", str(args.jobs)]))
        if args.dask:
            runs.append((f"--dask local --workers {args.dask}", ["--dask", "local"]))
            runs[-1][1].extend(["--workers", str(args.dask)])
        print(f"escalation-policy audit --format json --keep-going, {facts:,} facts ({args.src})")
        print(
            "| run | wall s | CPU s | CPU s (command's own) | CPU s a part | peak MB (command) "
            "| peak MB (largest worker) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        digests = set()
        for name, extra in runs:
            out = Path(folder) / "report.json"
            figures = run_audit(history, out, args.src, *extra)
            digests.add(_digest(out))
            parts = int(extra[-1]) if extra else 1
            workers = figures["cpu"] - figures["own_cpu"]
            part = f"{workers / parts:.1f}" if extra else "-"
            print(
                f"| {name} | {figures['wall']:.1f} | {figures['cpu']:.1f} | "
                f"{figures['own_cpu']:.1f} | {part} | "
                f"{figures['peak_mb']:.0f} | {figures['workers_peak_mb']:.0f} |",
                flush=True,
            )
        if len(digests) != 1:
            print("the runs' reports DIFFER")
            return 1
        print(f"every run's report the same ({next(iter(digests))[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
