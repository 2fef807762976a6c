"""The generated reference pages are current: regenerate with `python docs/generate.py`."""

import importlib.util
import pathlib

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("generate", DOCS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["reference.md", "rules.md"])
def test_generated_page_is_current(page: str) -> None:
    build = _generator().PAGES[page]  # type: ignore[attr-defined]
    assert build() == (DOCS / page).read_text(), f"run: python docs/generate.py ({page})"


def test_every_rule_of_the_policy_is_in_the_rule_catalogue() -> None:
    from escalation_policy import default_policy

    catalogue = (DOCS / "rules.md").read_text()
    assert [] == [rule for rule in default_policy().rules if f"`{rule}`" not in catalogue]
