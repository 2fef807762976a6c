"""A griffe extension for the site's API reference: the docstrings' Sphinx roles as Markdown.

The docstrings name other objects as ``:class:`~escalation_policy.PolicyEngine``` (read by
``help()`` and editors as is); the site shows them as code, ``PolicyEngine``, and double
backticks as single ones.
"""

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|attr|mod|data|exc|obj):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring as the objects are loaded: each object's, and the package's
    own (griffe reports a package's members to ``on_object``, not the package)."""

    def on_object(self, *, obj: griffe.Object, **_: Any) -> None:
        if obj.docstring is not None:
            text = ROLE.sub(_plain, obj.docstring.value)
            obj.docstring.value = re.sub(r"``([^`]+)``", r"`\1`", text)

    def on_package(self, *, pkg: griffe.Module, **_: Any) -> None:
        self.on_object(obj=pkg)
