"""``python -m escalation_policy.cli``: the command line, as ``python -m escalation_policy``."""

import sys

from escalation_policy.cli import main

sys.exit(main())
