"""The README's Python examples run, so they cannot rot."""

import pathlib
import re

import pytest

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS


RUNNABLE = [block for block in BLOCKS if "pytest_plugins" not in block]


@pytest.mark.parametrize("block", RUNNABLE)
def test_readme_python_block_runs(block: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out


def test_readme_testing_kit_example_runs() -> None:
    """The host-suite example: its test function, run with a real timeline."""
    from escalation_policy.testing import Timeline

    (block,) = [block for block in BLOCKS if "pytest_plugins" in block]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    test = namespace["test_forgetting_the_update_is_caught"]
    test(Timeline())  # type: ignore[operator]
