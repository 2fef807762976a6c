"""The documentation site builds with `mkdocs build --strict`, and its API reference, made
from the docstrings, documents every public name, method and property."""

import enum
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


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(site: pathlib.Path) -> None:
    pages = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))
    assert [] == [page for page in pages if not (site / page / "index.html").exists()]
    home = (site / "index.html").read_text()
    assert "Quick start" in home, "the home page is the README"


@pytest.mark.slow
def test_the_api_reference_documents_every_public_name_method_and_property(
    site: pathlib.Path,
) -> None:
    page = (site / "reference" / "index.html").read_text()
    anchors = set(re.findall(r'id="(escalation_policy\.[\w.]+)"', page))
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
    page = (site / "reference" / "index.html").read_text()
    assert [] == re.findall(r":(?:class|meth|func|attr|exc):`", page)


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
