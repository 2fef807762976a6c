import sys

from escalation_policy.cli import main

sys.exit(main())
