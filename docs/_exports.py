"""A griffe extension for the site's API reference: the package's public names.

``escalation_policy`` builds ``__all__`` from its one list of exports, which a reader of the
source (griffe) cannot evaluate. Running the module's file gives it: the file imports nothing
of the package until a name is used.
"""

import importlib.util
from typing import Any

import griffe


class PublicNames(griffe.Extension):
    """Gives the top-level module the ``__all__`` its file computes."""

    def on_module_members(self, *, mod: griffe.Module, **_: Any) -> None:
        if mod.path != "escalation_policy":
            return
        spec = importlib.util.spec_from_file_location("_escalation_policy_names", mod.filepath)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot read the public names of {mod.filepath}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        mod.exports = list(module.__all__)
