"""Generate the reference pages from the code: ``python docs/generate.py``.

- ``docs/reference.md``: the public API (``escalation_policy.__all__`` and the testing kit),
  with signatures and docstrings.
- ``docs/rules.md``: every rule of the handbook's policy (reactions and decision-table rows),
  with its id, title and citation: what an action's ``rule`` and ``cites`` refer to.

``tests/test_docs.py`` fails when a committed page differs from what this script generates.
"""

import enum
import inspect
import re
import sys
from pathlib import Path

import attrs

import escalation_policy
import escalation_policy.testing
from escalation_policy import default_policy
from escalation_policy.vocabulary import HitPolicy

DOCS = Path(__file__).resolve().parent


def _doc(obj: object) -> str:
    # A class's own docstring only: inherited ones describe the base class, not this one.
    text = obj.__dict__.get("__doc__") if inspect.isclass(obj) else inspect.getdoc(obj)
    return inspect.cleandoc(text or "")


def _short(signature: str) -> str:
    """Annotations without module paths: ``EscalationState``, not ``escalation_policy....``."""
    return re.sub(r"\b(?:escalation_policy(?:\.\w+)*|collections\.abc|typing)\.", "", signature)


def _describe(name: str, obj: object) -> list[str]:
    lines = []
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        values = ", ".join(f"`{member.value}`" for member in obj)
        lines += [f"### `{name}`", "", f"Enumeration: {values}.", ""]
    elif inspect.isclass(obj) and attrs.has(obj):
        fields = ", ".join(f"`{field.name}`" for field in attrs.fields(obj))
        tag = getattr(obj, "TYPE", "")
        lines += [f"### `{name}`", ""]
        if tag:
            lines += [f'JSON `"type"`: `{tag}`.', ""]
        lines += [f"Fields: {fields}.", ""]
    elif inspect.isclass(obj):
        lines += [f"### `{name}`", ""]
    elif callable(obj):
        try:
            signature = _short(str(inspect.signature(obj)))
        except (TypeError, ValueError):
            signature = "(...)"
        lines += [f"### `{name}{signature}`", ""]
    else:
        lines += [f"### `{name}`", "", f"`{obj!r}`", ""]
    doc = _doc(obj)
    if doc:
        lines += [doc, ""]
    return lines


def reference() -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the code by `python docs/generate.py`; do not edit by hand.",
        "",
        "## `escalation_policy`",
        "",
    ]
    for name in sorted(escalation_policy.__all__, key=str.lower):
        if name.startswith("__"):
            continue
        lines += _describe(name, getattr(escalation_policy, name))
    lines += ["## `escalation_policy.testing`", ""]
    for name in ("Timeline", "assert_actions", "assert_compliant", "PolicyCoverage"):
        lines += _describe(name, getattr(escalation_policy.testing, name))
    return "\n".join(lines).rstrip() + "\n"


def rules() -> str:
    policy = default_policy()
    lines = [
        "# The rules of the handbook's policy",
        "",
        "Generated from the rule modules by `python docs/generate.py`; do not edit by hand.",
        "Every action names one of these ids in `rule`, and its citation in `cites`.",
        "",
        "## Decision tables",
        "",
    ]
    for compiled in policy.tables:
        table = compiled.table
        policy_name = {
            HitPolicy.UNIQUE: "unique",
            HitPolicy.FIRST: "first",
            HitPolicy.COLLECT: "collect",
        }[table.hit_policy]
        lines += [
            f"### `{table.id}`: {table.title}",
            "",
            f"Module `{compiled.module}`; cites *{table.cites}*; hit policy {policy_name}; "
            f"inputs {', '.join(table.inputs)}; outputs {', '.join(table.outputs)}.",
            "",
        ]
        if not table.rows:
            lines += ["(No rows.)", ""]
            continue
        lines += ["| rule id | cites |", "| --- | --- |"]
        for row_id in compiled.row_ids:
            lines.append(f"| `{row_id}` | {policy.rules[row_id].cites} |")
        lines.append("")
    lines += ["## Reactions", "", "| rule id | on | what | cites |", "| --- | --- | --- | --- |"]
    for compiled in policy.reactions:
        reaction = compiled.reaction
        on = ", ".join(sorted(compiled.types))
        lines.append(f"| `{reaction.id}` | {on} | {reaction.title} | {reaction.cites} |")
    return "\n".join(lines).rstrip() + "\n"


PAGES = {"reference.md": reference, "rules.md": rules}


def main() -> int:
    for name, build in PAGES.items():
        (DOCS / name).write_text(build())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
