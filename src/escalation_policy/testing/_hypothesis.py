"""Hypothesis' way in: the ``hypothesis`` entry point of the package calls :func:`register`.

Hypothesis runs its entry points while it is being imported, so this module imports nothing
from hypothesis, and it copes with being called while the strategies module is itself being
imported (a test that imports the strategies before hypothesis: the strategies module imports
hypothesis, which calls this).
"""

import importlib
import sys

_STRATEGIES = "escalation_policy.testing.strategies"


def register() -> None:
    """Make ``st.from_type`` draw valid facts and actions of the library's types.

    The strategies module registers them when its import completes; importing it is enough.
    If it is already in ``sys.modules`` it has registered them, or will as its import ends.
    """
    if _STRATEGIES not in sys.modules:
        importlib.import_module(_STRATEGIES)
