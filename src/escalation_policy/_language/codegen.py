"""Generated functions that tracebacks and debuggers can show.

A few functions run on every fact and are generated, unrolled over a class's fields, where a
measurement showed it pays (docs/design.md, "Generated code"). As attrs does in
``_make._linecache_and_compile``, each one's source is registered with :mod:`linecache` under
a readable file name, so a traceback through it shows its real lines instead of ``<string>``.
"""

import linecache
from collections.abc import Mapping
from typing import Any

from escalation_policy._sha256 import sha256_hex

__all__ = ["generate"]


def generate(lines: list[str], namespace: Mapping[str, Any], what: str) -> Any:
    """Compile ``lines`` (one ``def``) in a copy of ``namespace`` and return the function.

    ``what`` says what the function is for (``"reader for Opened"``); with a digest of the
    source it makes the file name tracebacks show, the same for the same source:
    ``<escalation_policy generated reader for Opened 3f2a91c0>``.
    """
    source = "\n".join(lines) + "\n"
    digest = sha256_hex(source.encode())[:8]
    filename = f"<escalation_policy generated {what} {digest}>"
    code = compile(source, filename, "exec")
    scope = dict(namespace)
    exec(code, scope)
    name = lines[0].split("def ", 1)[1].split("(", 1)[0]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return scope[name]
