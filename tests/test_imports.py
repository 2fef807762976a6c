"""The package's modules import one another in one direction: no cycle anywhere, so that the
loader, the core and the matchers stay layers (the loader knows no matcher)."""

import ast
import pathlib

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
        "escalation_policy._native",
        "escalation_policy._durable",
        "escalation_policy._core",
    }
    assert not graph["escalation_policy._core"] & {
        "escalation_policy._native",
        "escalation_policy._durable",
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
    """Nothing but the package's front door imports the handbook's policy: the engine, the
    loader, the converter, the command line, the audit and the testing kit read whatever
    policy they are given (the loader names the handbook's package only as its default)."""
    graph = _graph()
    handbook = {name for name in graph if name.startswith("escalation_policy.rules")}
    for name in sorted(graph):
        if name == "escalation_policy" or name in handbook:
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
    outside = {name: sorted(found - allowed) for name, found in imported.items() if found - allowed}
    assert {} == outside
