"""Generate the policy's reference pages from the code: ``python docs/generate.py``.

- ``docs/rules.md``: every rule of the handbook's policy (reactions and decision-table rows),
  with its id, title and citation: what an action's ``rule`` and ``cites`` refer to.
- ``docs/schema.json``: the JSON Schema of the handbook's policy's facts and actions.

The API reference is generated from the docstrings when the site is built (``mkdocs build``,
``docs/reference.md``). ``tests/test_docs.py`` fails when a committed page differs from what
this script generates.
"""

import json
import sys
from pathlib import Path

from escalation_policy import default_policy
from escalation_policy.render import policy_reference
from escalation_policy.schema import json_schema

DOCS = Path(__file__).resolve().parent


def rules() -> str:
    """The handbook's policy's reference (``escalation-policy rules`` prints it for any)."""
    return policy_reference(default_policy(), "The rules of the handbook's policy")


def schema() -> str:
    """The JSON Schema of the handbook's policy (``escalation-policy schema`` for any)."""
    return json.dumps(json_schema(default_policy()), indent=2) + "\n"


PAGES = {"rules.md": rules, "schema.json": schema}


def main() -> int:
    for name, build in PAGES.items():
        (DOCS / name).write_text(build())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
