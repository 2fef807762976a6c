"""The documentation is true: its Python runs, and the generated pages are current.

Every ```python block of README.md and docs/ (its folders too) runs, each page's blocks in
order in one namespace, as a reader would paste them. Test functions a page defines
(``def test_...``) are then called, with the testing kit's fixtures by name, so examples of
host tests run too. A block that cannot run on its own (a fragment of a rule module, say) is
fenced ```python notest; such blocks are rare, and the prose around them says why.
"""

import ast
import importlib.util
import inspect
import json
import pathlib
import re
import traceback
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from escalation_policy import EngineUnavailableError, PolicyEngine
from escalation_policy.testing import Timeline

ROOT = pathlib.Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
FENCE = re.compile(r"^```(?P<info>.*)$")


@attrs.frozen
class Block:
    page: pathlib.Path
    line: int  # of the first line of code, 1-based
    info: str
    code: str

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}, the block at line {self.line}"


def blocks(page: pathlib.Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their info strings."""
    found = []
    opened: tuple[int, str] | None = None
    lines: list[str] = []
    for number, text in enumerate(page.read_text().splitlines(), start=1):
        fence = FENCE.match(text)
        if opened is None:
            if fence:
                opened, lines = (number + 1, fence["info"].strip()), []
        elif fence and not fence["info"].strip():
            found.append(Block(page, opened[0], opened[1], "\n".join(lines) + "\n"))
            opened = None
        else:
            lines.append(text)
    assert opened is None, f"{page}: the code block at line {opened[0]} is never closed"
    return found


def python_blocks(page: pathlib.Path) -> list[Block]:
    return [block for block in blocks(page) if block.info == "python"]


FIXTURES: dict[str, Callable[[], object]] = {
    "timeline": Timeline,
    "make_timeline": lambda: Timeline,
    "policy_engine": PolicyEngine,
}


def run_page(page: pathlib.Path) -> list[str]:
    """Runs the page's blocks and calls the tests they define; returns what ran, in order:
    each block's place, and after it each test it defined (``place: test_name``)."""
    ran = []
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in python_blocks(page):
        # Blank lines before the code make tracebacks name the page's own line numbers.
        code = compile("\n" * (block.line - 1) + block.code, str(block.page), "exec")
        before = set(namespace)
        _run(block, lambda: exec(code, namespace))  # noqa: B023 (called at once)
        ran.append(block.where)
        for name in sorted(set(namespace) - before):
            test = namespace[name]
            if name.startswith("test_") and callable(test):
                arguments = {
                    parameter: _fixture(block, name, parameter)
                    for parameter in inspect.signature(test).parameters
                }
                _run(block, lambda: test(**arguments), f"calling {name}")  # noqa: B023
                ran.append(f"{block.where}: {name}")
    return ran


def _defined_tests(block: Block) -> list[str]:
    """The test functions a block defines at its top level, read from its source."""
    return sorted(
        node.name
        for node in ast.parse(block.code).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


def _fixture(block: Block, test: str, name: str) -> object:
    if name not in FIXTURES:
        pytest.fail(f"{block.where}: {test} takes {name!r}, not a fixture of the testing kit")
    return FIXTURES[name]()


def _run(block: Block, step: Callable[[], object], doing: str = "running it") -> None:
    skipped = failure = ""
    try:
        step()
    except EngineUnavailableError as error:  # the durable engine is optional
        skipped = f"{block.where}: {error}"
    except Exception as error:
        # The traceback from the page's own frames: the harness's frames say nothing.
        stack = traceback.extract_tb(error.__traceback__)
        frames = traceback.StackSummary.from_list([f for f in stack if f.filename != __file__])
        failure = "".join([*frames.format(), *traceback.format_exception_only(error)])
    # Outside the except clauses, so that the report does not chain the two exceptions.
    if failure:
        pytest.fail(f"{block.where} fails ({doing}):\n{failure}", pytrace=False)
    if skipped:
        pytest.skip(skipped)


@pytest.mark.parametrize(
    "page",
    [page for page in PAGES if python_blocks(page)],
    ids=lambda page: str(page.relative_to(ROOT)),
)
def test_the_python_of_each_page_runs(page: pathlib.Path) -> None:
    """Every block runs to its end, in order, and every test a block defines is called."""
    expected = [
        entry
        for block in python_blocks(page)
        for entry in [block.where, *(f"{block.where}: {name}" for name in _defined_tests(block))]
    ]
    assert expected == run_page(page)


def test_blocks_not_run_are_few_and_marked() -> None:
    """Python is fenced ```python (run) or ```python notest (a rare fragment), nothing else."""
    infos = [block.info for page in PAGES for block in blocks(page)]
    other_spellings = [info for info in infos if info.lower().startswith("py")]
    assert [] == [info for info in other_spellings if info not in ("python", "python notest")]
    assert infos.count("python notest") <= 2, "a page's Python should run: make it runnable"


def test_a_failing_block_is_named_by_page_and_line(tmp_path: pathlib.Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Intro.\n\n```python\nx = 1\n```\n\nThen:\n\n```python\nassert x == 2\n```\n")
    with pytest.raises(pytest.fail.Exception) as caught:
        run_page(page)
    message = str(caught.value)
    assert "the block at line 10 fails (running it)" in message
    assert f'File "{page}", line 10' in message


# ---------------------------------------------------------------------------- generated pages
def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["rules.md", "schema.json"])
def test_generated_page_is_current(page: str) -> None:
    build = _generator().PAGES[page]
    assert build() == (DOCS / page).read_text(), f"run: python docs/generate.py ({page})"


def test_every_rule_of_the_policy_is_in_the_rule_catalogue() -> None:
    from escalation_policy import default_policy

    catalogue = (DOCS / "rules.md").read_text()
    assert [] == [rule for rule in default_policy().rules if f"`{rule}`" not in catalogue]


# ------------------------------------------------------------------------ the violation codes
def _violation_rows(heading: str) -> dict[str, list[str]]:
    """The codes in the table under ``## heading`` of docs/violations.md, each with the rule
    ids its row names in the rules column."""
    page = (DOCS / "violations.md").read_text()
    section = page.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        code = re.fullmatch(r"`([a-z_]+)`", cells[0])
        if line.startswith("| `") and code:
            rows[code[1]] = re.findall(r"`([a-z_]+\.[a-z_./]+)`", cells[2])
    return rows


@pytest.mark.parametrize(
    ("heading", "package"),
    [
        ("The handbook's policy", "escalation_policy.rules"),
        ("The later process", str(ROOT / "examples" / "policies" / "later_process")),
    ],
)
def test_every_violation_code_is_documented_with_the_rules_that_raise_it(
    heading: str, package: str
) -> None:
    """docs/violations.md lists exactly the codes each shipped policy declares, and names only
    rules the policy has: a new code, or a renamed rule, cannot go undocumented."""
    from escalation_policy import load_policy

    policy = load_policy(package)
    rows = _violation_rows(heading)
    assert sorted(policy.violation_codes) == sorted(rows)
    named = [rule for rules in rows.values() for rule in rules]
    assert [] == [rule for rule in named if rule not in policy.rules]
    assert all(rows.values()), "each code names the rules that raise it"


def test_the_readmes_json_example_is_what_the_engine_says() -> None:
    """The README's example of the JSON contract: its facts, handled in order, and a tick at
    the time of its actions, give those actions, field for field."""
    (block,) = [
        b
        for b in blocks(ROOT / "README.md")
        if b.info == "json" and '"type": "violation"' in b.code
    ]
    decoder, text, objects = json.JSONDecoder(), block.code.strip(), []
    while text:
        value, end = decoder.raw_decode(text)
        objects.append(value)
        text = text[end:].strip()
    engine = PolicyEngine()
    facts = [o for o in objects if o["type"] in engine.policy.terms.facts]
    shown = [o for o in objects if o not in facts]
    said = [json.loads(line) for fact in facts for line in engine.handle_json(json.dumps(fact))]
    tick = {"type": "tick", "at": max(action["at"] for action in shown)}
    said += [json.loads(line) for line in engine.handle_json(json.dumps(tick))]
    assert shown
    assert [action for action in shown if action not in said] == [], said


def test_the_json_contracts_table_of_facts_names_every_fact_and_field() -> None:
    """docs/json-contract.md lists each fact type the handbook's policy declares, each with
    every field a host may send."""
    text = (DOCS / "json-contract.md").read_text()
    table = text[text.index("## Facts (host to library)") : text.index("### Limits")]
    rows = {
        match["type"]: match["rest"]
        for match in re.finditer(r"^\| `(?P<type>[a-z_]+)` \|(?P<rest>.*)$", table, re.M)
    }
    facts = PolicyEngine().policy.terms.facts
    assert sorted([*facts, "tick"]) == sorted(rows)
    for tag, cls in facts.items():
        fields = {f.name for f in attrs.fields(cls)} - {"escalation_id", "at", "id"}
        assert [] == [name for name in sorted(fields) if f"`{name}`" not in rows[tag]], tag
