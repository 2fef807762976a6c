"""Development tasks that need nothing but Python.

Each task creates an environment for the Python that runs this script, ``.venv/3.12`` for
Python 3.12, and installs what it needs there: each Python keeps its own, so
``python3.10 dev.py test`` and ``python3.12 dev.py test`` do not undo each other's work.

    python dev.py demo [FILE]   run an example escalation through a SQLite store, as a timeline
    python dev.py test [ARGS]   lint, type-check and run the test suite (ARGS go to pytest)
    python dev.py docs          build the documentation site into site/ (open site/index.html)
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VERSION = "{}.{}".format(*sys.version_info[:2])
if sys.implementation.name != "cpython":
    VERSION = sys.implementation.name + VERSION  # pypy3.10 beside 3.10
VENV = ROOT / ".venv" / VERSION
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
LINTED = ("src", "tests", "examples", "benchmarks", "docs", "dev.py")


def run(*command: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=ROOT, check=check).returncode


def ensure(extras: str) -> None:
    """Create the virtual environment and install the package with ``extras``, once."""
    if not PYTHON.exists():
        if (ROOT / ".venv" / "pyvenv.cfg").exists():
            print("note: the environment an older dev.py made in .venv itself is no longer used")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extras or 'base'}-{digest}"
    if stamp.exists():
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]" if extras else ".")
    stamp.touch()


def ensure_durable() -> None:
    """durable-rules builds from source (a C compiler) and not on Python 3.13+: optional."""
    if sys.version_info >= (3, 13):
        print("note: durable-rules does not run on Python 3.13+; its tests will be skipped")
        return
    stamp = VENV / ".installed-durable"
    if stamp.exists():
        return
    if run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[durable]", check=False) == 0:
        stamp.touch()
    else:
        print(
            "note: durable-rules did not install (is a C compiler present?); "
            "tests of the durable engine will be skipped"
        )


def ensure_bench() -> None:
    """The benchmarks' peers (zen-engine ships wheels; best effort where it does not)."""
    stamp = VENV / ".installed-bench"
    if stamp.exists():
        return
    if run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[bench]", check=False) == 0:
        stamp.touch()
    else:
        print("note: zen-engine did not install; the benchmarks will skip it")


def demo(args: list[str]) -> int:
    """The main job on its embedded default: the facts through a fresh SQLite store."""
    ensure("")
    path = args[0] if args else "examples/critical-outage.jsonl"
    store = ROOT / ".demo" / "escalations.db"
    store.parent.mkdir(exist_ok=True)
    for stale in store.parent.glob("escalations.db*"):
        stale.unlink()  # each demo starts from an empty store
    return run(
        BIN / "escalation-policy",
        "run",
        "--store",
        f"sqlite:///{store}",
        "--format",
        "table",
        path,
        check=False,
    )


def test(args: list[str]) -> int:
    ensure("dev")
    ensure_durable()
    ensure_bench()
    linted = [name for name in LINTED if (ROOT / name).exists()]
    for command in (
        (PYTHON, "-m", "ruff", "check", *linted),
        (PYTHON, "-m", "ruff", "format", "--check", *linted),
        (PYTHON, "-m", "mypy", "--strict", "src"),
    ):
        if run(*command, check=False) != 0:
            return 1
    coverage = ("--policy-coverage", "--policy-coverage-fail-under=100")
    return run(PYTHON, "-m", "pytest", *coverage, *args, check=False)


def docs(args: list[str]) -> int:
    ensure("dev")
    return run(PYTHON, "-m", "mkdocs", "build", "--strict", *args, check=False)


TASKS = {"demo": demo, "test": test, "docs": docs}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        return 2
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
