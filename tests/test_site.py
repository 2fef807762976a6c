"""The documentation site builds with `mkdocs build --strict`, and its API reference, made
from the docstrings, documents every public name, method and property."""

import enum
import html
import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator

import attrs
import pytest

import escalation_policy
import escalation_policy.rules
import escalation_policy.testing
from tests.browser import browser

ROOT = pathlib.Path(__file__).parent.parent
TESTING = (
    "Timeline",
    "PolicyCoverage",
    "assert_actions",
    "assert_compliant",
    "policy_engine",
    "timeline",
    "make_timeline",
)


def public_api() -> Iterator[tuple[str, object]]:
    """What the reference documents, by the name a user imports it under."""
    for module in (escalation_policy, escalation_policy.rules):
        for name in sorted(module.__all__, key=str.lower):
            if not name.startswith("__"):
                yield f"{module.__name__}.{name}", getattr(module, name)
    for name in TESTING:
        yield f"escalation_policy.testing.{name}", getattr(escalation_policy.testing, name)


def members(cls: type) -> Iterator[tuple[str, object]]:
    """A class's public methods and properties, as its body defines them (not inherited)."""
    for name, value in cls.__dict__.items():
        if name.startswith("_"):
            continue
        if isinstance(value, (property, staticmethod, classmethod)) or inspect.isfunction(value):
            yield name, value


def _function(member: object) -> object:
    if isinstance(member, property):
        return member.fget
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    return member


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package of a dotted name is missing
        return False


def _doc(obj: object) -> str:
    if inspect.isclass(obj):
        text = obj.__dict__.get("__doc__")  # its own: an inherited one describes the base
        if issubclass(obj, enum.Enum) and text == "An enumeration.":
            text = None  # what Python 3.10 gives an enumeration without a docstring
    else:
        text = inspect.getdoc(obj)
    return inspect.cleandoc(text or "")


SITE_TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
"""What building the site needs: the `[dev]` extra installs them."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    missing = [name for name in SITE_TOOLS if not _installed(name)]
    if missing:
        pytest.skip(
            f"the site is not built: {', '.join(missing)} not installed "
            "(pip install -e '.[dev]' installs them)"
        )
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "", "HOME": str(folder)},
        timeout=300,
    )
    assert 0 == built.returncode, built.stdout + built.stderr
    assert [] == [line for line in built.stderr.splitlines() if line.startswith("WARNING")]
    return folder


DOCS = ROOT / "docs"
API_PAGES = {
    "engine": "escalation_policy.PolicyEngine",
    "service": "escalation_policy.Service",
    "audit": "escalation_policy.audit",
    "slack": "escalation_policy.slack.message",
}
"""The reference's landing pages by task, each with the object its task starts with."""


def _reference(site: pathlib.Path) -> dict[str, str]:
    """The API reference's pages, by their place in the site: the landing page and the rest."""
    pages = [site / "reference" / "index.html", *sorted((site / "api").glob("*/index.html"))]
    return {str(page.parent.relative_to(site)): page.read_text() for page in pages}


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(site: pathlib.Path) -> None:
    pages = sorted(str(path.relative_to(DOCS).with_suffix("")) for path in DOCS.rglob("*.md"))
    assert [] == [page for page in pages if not (site / page / "index.html").exists()]
    home = (site / "index.html").read_text()
    assert "Quick start" in home, "the home page is the README"
    text = _text(home)
    assert text.index("pip install escalation-policy") < text.index("python dev.py demo"), (
        "the home page says how to install before how to work on a clone"
    )


@pytest.mark.slow
def test_the_api_reference_is_organised_by_task_in_pages_of_moderate_size(
    site: pathlib.Path,
) -> None:
    """A landing page links a page per task; each task's page opens with the object the task
    starts with; no page is the whole reference (it was one page of 795 kB)."""
    pages = _reference(site)
    landing = pages["reference"]
    for name, first in API_PAGES.items():
        assert f'href="../api/{name}/"' in landing
        anchors = re.findall(r'id="(escalation_policy\.[\w.]+)"', pages[f"api/{name}"])
        assert first == anchors[0], name
    assert [] == [(place, len(page)) for place, page in pages.items() if len(page) > 400_000]


def implementation_shown(page: str) -> list[str]:
    """The signatures that show an attribute with the code that sets it: ``engine = engine``,
    ``policy = policy or default_policy()``, ``kind: str = field(default=None, ...)``."""
    signatures = re.findall(r'<div class="doc-signature highlight">(.*?)</div>', page, re.S)
    assigned = re.compile(r"^\s*[\w.]+(\s*:[^=(]+)?\s*=")
    return [text.strip() for text in map(_text, signatures) if assigned.match(text)]


@pytest.mark.slow
def test_the_api_reference_shows_no_implementation_code(site: pathlib.Path) -> None:
    shown = {
        place: found
        for place, page in _reference(site).items()
        if (found := implementation_shown(page))
    }
    assert {} == shown


@pytest.mark.slow
def test_code_blocks_of_up_to_100_columns_are_not_clipped_on_a_laptop_screen(
    site: pathlib.Path,
) -> None:
    """Every page, 1280 pixels wide: a block whose lines have at most 100 columns (the
    project's line length) shows them whole, with no scrolling."""
    measure = """[...document.querySelectorAll('pre > code')]
        .filter(code => Math.max(...code.textContent.split('\\n').map(l => l.length)) <= 100)
        .filter(code => code.scrollWidth > code.clientWidth + 1)
        .map(code => code.textContent.split('\\n')[0])"""
    clipped = {}
    with browser() as chromium:
        for page in sorted(site.rglob("index.html")):
            session = chromium.load("about:blank")
            chromium.send(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=1280,
                height=800,
                deviceScaleFactor=1,
                mobile=False,
            )
            before = len(chromium.events)
            chromium.send("Page.navigate", session, url=page.as_uri())
            chromium.wait_for("Page.loadEventFired", after=before)
            found = chromium.evaluate(session, measure)
            if found:
                clipped[str(page.relative_to(site))] = found
    assert {} == clipped


def test_the_home_page_names_each_path_once() -> None:
    """A link to a file of the repository that is not a page of the site is shown as its path,
    once: not ``src/escalation_policy/rules/`` (``src/escalation_policy/rules/``)."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    home = hooks.home_page()
    assert "`src/escalation_policy/rules/`" in home
    twice = re.findall(r"`([^`]+?)/?` \(`\1/?`\)", home)
    assert [] == twice


@pytest.mark.slow
def test_the_api_reference_documents_every_public_name_method_and_property(
    site: pathlib.Path,
) -> None:
    anchors = {
        anchor
        for page in _reference(site).values()
        for anchor in re.findall(r'id="(escalation_policy\.[\w.]+)"', page)
    }
    expected = []
    for qualified, obj in public_api():
        expected.append(qualified)
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            expected += [f"{qualified}.{member}" for member, _ in members(obj)]
    assert "escalation_policy.PolicyEngine.handle" in expected
    assert "escalation_policy.Service.handle" in expected
    assert [] == [name for name in expected if name not in anchors]


@pytest.mark.slow
def test_the_reference_shows_roles_as_code_not_sphinx_markup(site: pathlib.Path) -> None:
    shown = [
        (place, role)
        for place, page in _reference(site).items()
        for role in re.findall(r":(?:class|meth|func|attr|exc|mod|data|obj):(?:`|<code>)", page)
    ]
    assert [] == shown


def test_every_public_function_method_and_property_has_a_docstring() -> None:
    missing = []
    for qualified, obj in public_api():
        if inspect.isclass(obj):
            plain_data = attrs.has(obj) or issubclass(obj, enum.Enum)
            if not plain_data and not _doc(obj):
                missing.append(qualified)
            missing += [
                f"{qualified}.{member}"
                for member, value in members(obj)
                if not _doc(_function(value))
            ]
        elif inspect.isroutine(obj) and not _doc(obj):
            missing.append(qualified)
    assert [] == missing
