"""Development tasks that need nothing but Python.

Each task creates an environment for the Python that runs this script, ``.venv/3.12`` for
Python 3.12, and installs what it needs there: each Python keeps its own, so
``python3.10 dev.py test`` and ``python3.12 dev.py test`` do not undo each other's work.

    python dev.py demo [FILE]        run an example escalation through a SQLite store
    python dev.py test [ARGS]        lint, type-check and run the quick tests, those not marked
                                     slow (ARGS go to pytest)
    python dev.py test --all [ARGS]  the same with every test: what CI runs
    python dev.py docs               build the documentation site into site/ (open site/index.html)

The first run of a task installs what it needs, which takes a few minutes; later runs start at
once.
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


def step(doing: str) -> None:
    """Say what is about to take a while, before it starts."""
    print(f"==> {doing}", flush=True)


def pip_install(*requirements: str, check: bool = True) -> int:
    """pip with one line per package it collects (not --quiet: a long install is not a hang)."""
    return run(PYTHON, "-m", "pip", "install", "--progress-bar", "off", *requirements, check=check)


def ensure(extras: str) -> None:
    """Create the virtual environment and install the package with ``extras``, once."""
    where = VENV.relative_to(ROOT)
    if not PYTHON.exists():
        if (ROOT / ".venv" / "pyvenv.cfg").exists():
            print("note: the environment an older dev.py made in .venv itself is no longer used")
        step(f"creating {where} for Python {VERSION} (first run only)")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extras or 'base'}-{digest}"
    if stamp.exists():
        return
    package = f"escalation-policy[{extras}]" if extras else "escalation-policy"
    step(
        f"installing {package} into {where} (on the first run, or after pyproject.toml "
        f"changed; {'a few minutes' if extras else 'about a minute'})"
    )
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    pip_install("-e", f".[{extras}]" if extras else ".")
    stamp.touch()


def ensure_durable() -> None:
    """durable-rules builds from source (a C compiler) and not on Python 3.13+: optional."""
    if sys.version_info >= (3, 13):
        print("note: durable-rules does not run on Python 3.13+; its tests will be skipped")
        return
    stamp = VENV / ".installed-durable"
    if stamp.exists():
        return
    step("installing durable-rules, the optional engine (built from source where no wheel fits)")
    if pip_install("-e", ".[durable]", check=False) == 0:
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
    step("installing zen-engine, a peer the benchmarks compare against")
    if pip_install("-e", ".[bench]", check=False) == 0:
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
    """Lint, type-check and run the quick tests; with ``--all``, every test."""
    everything = "--all" in args
    args = [arg for arg in args if arg != "--all"]
    ensure("dev")
    ensure_durable()
    ensure_bench()
    linted = [name for name in LINTED if (ROOT / name).exists()]
    step("lint, format and types")
    for command in (
        (PYTHON, "-m", "ruff", "check", *linted),
        (PYTHON, "-m", "ruff", "format", "--check", *linted),
        (PYTHON, "-m", "mypy", "--strict", "src"),
    ):
        if run(*command, check=False) != 0:
            return 1
    coverage = ("--policy-coverage", "--policy-coverage-fail-under=100")
    if everything:
        step("every test (as CI runs them)")
        return run(PYTHON, "-m", "pytest", *coverage, *args, check=False)
    # The quick set, with a quarter of the examples (tests/conftest.py); an -m given in ARGS
    # comes after this one, and pytest takes the last.
    step("the quick tests (python dev.py test --all runs every test)")
    quick = ("-m", "not slow", "--hypothesis-profile=fast")
    status = run(PYTHON, "-m", "pytest", *quick, *coverage, *args, check=False)
    print(
        "\nThose were the quick tests. The slow ones (crash runs, suites run inside the suite, "
        "the docs site, the benchmarks, the soak test, tests that start many processes) run "
        "with every other test in:\n"
        "    python dev.py test --all",
        flush=True,
    )
    return status


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
