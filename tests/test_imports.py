"""The package's modules import one another in one direction: no cycle anywhere, so that the
loader, the core and the matchers stay layers (the loader knows no matcher)."""

import ast
import json
import pathlib
import subprocess
import sys
import typing
import warnings

import pytest

import escalation_policy
from escalation_policy.cli import COMMANDS

PACKAGE = pathlib.Path(__file__).parent.parent / "src" / "escalation_policy"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Every import between the package's modules, at any depth of the code (imports made
    only for type checkers and imports inside functions count too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [t for t in submodules if t in modules] or [node.module]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_no_module_of_the_package_imports_itself_back() -> None:
    graph = _graph()
    # The package's front door re-exports its modules; they never import it back.
    importing_the_front = sorted(
        m for m, targets in graph.items() if "escalation_policy" in targets
    )
    assert [] == importing_the_front
    assert [] == _cycle(graph), " -> ".join(_cycle(graph))


def test_the_loader_knows_no_matcher_and_the_core_no_engine() -> None:
    graph = _graph()
    assert not graph["escalation_policy.policy"] & {
        "escalation_policy._engines.native",
        "escalation_policy._engines.durable",
        "escalation_policy._core",
    }
    assert not graph["escalation_policy._core"] & {
        "escalation_policy._engines.native",
        "escalation_policy._engines.durable",
        "escalation_policy.engine",
    }


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_engine_knows_no_handbook() -> None:
    """Nothing of the library imports the handbook's policy, the front door included: the
    engine, the loader, the converter, the command line, the audit and the testing kit read
    whatever policy they are given (the loader names the handbook's package only as its
    default)."""
    graph = _graph()
    handbook = {name for name in graph if name.startswith("escalation_policy.rules")}
    for name in sorted(graph):
        if name in handbook:
            continue
        reached = _reachable(graph, name) & handbook
        assert not reached, f"{name} imports the handbook's {sorted(reached)}"


def test_a_rule_package_imports_the_policy_language_and_nothing_else_of_the_library() -> None:
    """The handbook's package and the later-process example import from the library only
    ``escalation_policy.vocabulary`` and ``escalation_policy.model``: a package needs nothing
    else, and nothing private."""
    root = PACKAGE.parent.parent
    folders = [PACKAGE / "rules", root / "examples" / "policies" / "later_process"]
    allowed = {"escalation_policy.vocabulary", "escalation_policy.model"}
    imported: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    if name.partition(".")[0] == "escalation_policy":
                        imported.setdefault(path.name, set()).add(name)
    own = "escalation_policy.rules"  # the handbook's package may import its own modules

    def foreign(module: str) -> bool:
        return module not in allowed and module != own and not module.startswith(own + ".")

    outside = {
        name: sorted(filter(foreign, found))
        for name, found in imported.items()
        if any(map(foreign, found))
    }
    assert {} == outside


def _imported_for_type_checkers() -> dict[str, str]:
    """The names the front door imports for type checkers, and the module of each."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.name: node.module or ""
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_type_checkers_see_exactly_the_public_names_each_from_its_module() -> None:
    assert escalation_policy._EXPORTS == _imported_for_type_checkers()


def test_every_public_name_imports_and_is_listed_by_dir() -> None:
    public = [name for name in escalation_policy.__all__ if name != "__version__"]
    assert [] == [name for name in public if getattr(escalation_policy, name, None) is None]
    assert set(public) <= set(dir(escalation_policy))
    assert not set(escalation_policy._MOVED) & set(dir(escalation_policy))


def test_the_type_hints_of_every_public_class_resolve() -> None:
    # Tools that read annotations at run time (documentation, run-time type checkers) call
    # typing.get_type_hints: a name imported only for the type checker would fail there.
    public = [getattr(escalation_policy, name) for name in escalation_policy.__all__]
    classes = [value for value in public if isinstance(value, type)]
    assert escalation_policy.PolicyDefinitionError in classes
    for cls in classes:
        typing.get_type_hints(cls)
    assert typing.get_type_hints(escalation_policy.PolicyError)["code"] is str


def test_importing_the_package_loads_none_of_its_modules() -> None:
    """``import escalation_policy`` is cheap: each name loads its module on first use."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, escalation_policy; "
            "print(sorted(m for m in sys.modules if m.startswith('escalation_policy.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[]" == loaded.stdout.strip()


# What a host that only decides never pays for: each is loaded by what needs it (reading JSON
# that the fast readers decline, printing on a terminal, the durable engine, a report, a
# distribution's metadata, a policy package loaded from a folder or failing to import), never
# by starting an engine. Nor OpenSSL's hashlib (its digests come from CPython's own) or
# string (which compiles a pattern when imported).
NOT_FOR_A_HOST = (
    "cattrs",
    "rich",
    "durable",
    "hypothesis",
    "email",
    "importlib.metadata",
    "importlib.resources",
    "importlib.util",
    "pathlib",
    "traceback",
    "hashlib",
    "string",
    "escalation_policy._audit",
    "escalation_policy._digest",
    "escalation_policy._explain",
    "escalation_policy._html",
    "escalation_policy._impact",
    "escalation_policy.cli",
    "escalation_policy.render",
    "escalation_policy.service",
    "escalation_policy.slack",
    "escalation_policy.store",
    "escalation_policy.testing",
)


def _loaded_in_a_fresh_interpreter(code: str, *unwanted: str) -> list[str]:
    """Which of ``unwanted`` (modules, with their submodules) ``code`` loads, run alone."""
    script = (
        f"import json, sys\n{code}\n"
        f"unwanted = {unwanted!r}\n"
        "found = [m for m in sys.modules\n"
        "         if any(m == u or m.startswith(u + '.') for u in unwanted)]\n"
        "sys.stderr.write(json.dumps(sorted(found)))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(run.stderr)
    return loaded


def test_a_host_deciding_on_a_json_fact_loads_no_edge_of_the_library() -> None:
    """Starting an engine and reading a well-formed fact loads the engine and the policy only:
    not the converter's cattrs, the terminal, the reports, the stores, the command line, nor
    the standard library's metadata and e-mail parsers."""
    code = (
        "import escalation_policy as e\n"
        "engine = e.PolicyEngine(e.load_policy())\n"
        "decision = engine.handle({'type': 'opened', 'at': '2026-03-02T09:00:00Z',"
        " 'escalation_id': 'ESC-1', 'customer': 'Acme', 'segment': 'enterprise',"
        " 'severity': 'critical'})\n"
        "assert decision.actions, 'the opened escalation has actions'"
    )
    assert [] == _loaded_in_a_fresh_interpreter(code, *NOT_FOR_A_HOST)


def test_the_version_loads_no_command_and_a_command_only_its_own() -> None:
    """``--version`` loads no command's module (nor the policy); a command loads its own."""
    commands = tuple(f"escalation_policy.cli.{name}" for name in ("audit", "replay", "table"))
    version = (
        "from escalation_policy.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    )
    unwanted = (*commands, "escalation_policy.policy", "escalation_policy.cli._common")
    assert [] == _loaded_in_a_fresh_interpreter(version, *unwanted)
    table = "from escalation_policy.cli import main\nmain(['table'])"
    assert ["escalation_policy.cli.table"] == _loaded_in_a_fresh_interpreter(table, *commands)


# What no parser needs: the help of the command line and of each command, and a wrong
# argument, are answered without the policy, the engines, attrs, typing or a command's own
# module.
NOT_FOR_A_PARSER = (
    "attrs",
    "attr",
    "cattrs",
    "rich",
    "importlib.metadata",
    "inspect",
    "typing",
    "escalation_policy.engine",
    "escalation_policy.model",
    "escalation_policy.policy",
    "escalation_policy.rules",
    "escalation_policy.cli._common",
    *(f"escalation_policy.cli.{name.replace('-', '_')}" for name in COMMANDS),
)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_loads_neither_the_policy_nor_a_command(command: str) -> None:
    """``--help``, a command's ``--help`` and ``--version`` build parsers only."""
    arguments = [*command.split(), "--help"]
    code = (
        "import contextlib, io\n"
        "from escalation_policy.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    for arguments in ({arguments!r}, ['--version']):\n"
        "        try:\n            main(arguments)\n        except SystemExit:\n            pass"
    )
    assert [] == _loaded_in_a_fresh_interpreter(code, *NOT_FOR_A_PARSER)


def test_a_command_loads_no_openssl() -> None:
    """The digest of a long source name is CPython's own SHA-256: a command does not start
    OpenSSL's ``hashlib`` for it."""
    table = "from escalation_policy.cli import main\nmain(['table'])"
    assert [] == _loaded_in_a_fresh_interpreter(table, "hashlib", "_hashlib")


@pytest.mark.parametrize(
    ("name", "home"),
    [("Severity", "escalation_policy.rules"), ("Values", "escalation_policy.vocabulary")],
)
def test_a_name_that_moved_still_imports_with_a_warning_naming_its_new_place(
    name: str, home: str
) -> None:
    with pytest.warns(DeprecationWarning, match=f"import it from {home}$"):
        moved = getattr(escalation_policy, name)
    assert getattr(sys.modules[home], name) is moved


def test_the_names_that_moved_are_all_where_they_went() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        missing = [
            f"{home}.{name}"
            for name, home in escalation_policy._MOVED.items()
            if getattr(escalation_policy, name) is not getattr(sys.modules[home], name)
        ]
    assert [] == missing


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """No import cycle hides behind the order in which modules happen to be imported: each
    module of the package imports on its own, before any other of the package."""
    script = """
import importlib, pkgutil, sys
import escalation_policy
names = [
    m.name
    for m in pkgutil.walk_packages(escalation_policy.__path__, "escalation_policy.")
    if not m.name.endswith("__main__")  # runs the command line
]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m.startswith("escalation_policy")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as error:
        if "durable" not in name:  # durable_rules is optional
            failed.append(f"{name}: {error}")
print("\\n".join(failed))
"""
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "" == found.stdout.strip()
